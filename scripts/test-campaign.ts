/**
 * Runs a test campaign and prints its figures.
 *   node scripts/test-campaign.ts all        every test (what `npm test` runs after the checks)
 *   node scripts/test-campaign.ts security   authorisation matrix, SSRF, secrets, sandbox, approvals, fuzzing
 *   node scripts/test-campaign.ts chaos      SIGKILLs, partitions, lease fences, backup/restore
 * Tests append figures through test/campaign-figures.ts; this script sums them per campaign and prints one
 * table and one JSON line per campaign (`{"campaign":"chaos","faults_injected":…,"data_lost":0}`).
 */
import { spawn } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CAMPAIGNS: Record<string, string[]> = {
  all: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  security: [
    'test/route-inventory.test.ts',
    'test/secrets-leak.test.ts',
    'test/ssrf.test.ts',
    'test/guardrails.test.ts',
    'test/approvals-flow.test.ts',
    'src/server/auth.test.ts',
    'src/auth/*.test.ts',
    'src/cases/webhook-auth.test.ts',
    'src/integrations/sdk/**/*.test.ts',
    'src/engine/expressions/*.test.ts',
    'src/policy/approvals.test.ts',
    'src/**/*fuzz*.test.ts',
    'test/**/*fuzz*.test.ts',
    'test/security-*.test.ts',
    'test/ui-xss*.test.ts',
  ],
  chaos: ['test/engine-crash.test.ts', 'test/scale-out.test.ts', 'test/lease-fence.test.ts', 'test/backup-restore.test.ts', 'test/chaos-*.test.ts'],
};

const name = process.argv[2] ?? 'all';
const patterns = CAMPAIGNS[name];
if (!patterns) {
  process.stderr.write(`test-campaign: unknown campaign ${JSON.stringify(name)}; use ${Object.keys(CAMPAIGNS).join(', ')}\n`);
  process.exit(2);
}
const files = name === 'all' ? patterns : [...new Set(patterns.flatMap((pattern) => globSync(pattern)))].sort();
if (files.length === 0) {
  process.stderr.write(`test-campaign: no test files for ${name}\n`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'riposte-campaign-'));
const figuresFile = join(dir, 'figures.jsonl');
const started = Date.now();
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, RIPOSTE_CAMPAIGN_FIGURES: figuresFile },
});
const code: number = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));

const totals = new Map<string, Map<string, number>>();
let text = '';
try {
  text = readFileSync(figuresFile, 'utf8');
} catch {
  // No test recorded a figure.
}
for (const line of text.split('\n')) {
  if (!line.trim()) continue;
  const { campaign, name: figure, value } = JSON.parse(line) as { campaign: string; name: string; value: number };
  const sums = totals.get(campaign) ?? new Map<string, number>();
  sums.set(figure, (sums.get(figure) ?? 0) + value);
  totals.set(campaign, sums);
}
rmSync(dir, { recursive: true, force: true });

const shown = name === 'all' ? [...totals.keys()].sort() : [name];
for (const campaign of shown) {
  const sums = totals.get(campaign) ?? new Map<string, number>();
  process.stdout.write(`\n${campaign} campaign figures (${((Date.now() - started) / 1000).toFixed(0)} s, tests ${code === 0 ? 'passed' : 'FAILED'}):\n`);
  for (const [figure, value] of [...sums.entries()].sort()) process.stdout.write(`  ${figure.padEnd(40)} ${value.toLocaleString('en')}\n`);
  process.stdout.write(`${JSON.stringify({ campaign, passed: code === 0, ...Object.fromEntries(sums) })}\n`);
}
process.exit(code);
