import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type HuntRequest, type HuntRunView, openRuntime } from '../../app/index.ts';
import { type Actor, createLogger, describeError, RiposteError, usageError } from '../../core/index.ts';
import { configFor } from '../context.ts';
import { cliStreams, createOutput, formatTable } from '../output.ts';

/**
 * `riposte hunt run`: a hunt from a Sigma rule, a STIX indicator or a registry IOC, through the configured
 * EDR instance (`riposte integrations add …`), with a progress bar on stderr. The hits go on one case with
 * per-host evidence; `--dry-run` touches nothing and prints which hosts remediation would change, in which
 * waves; `--remediate` starts the staged remediation (docs/hunting.md).
 */
const CLI_ACTOR: Actor = { kind: 'system', id: 'cli', name: 'riposte hunt' };

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RiposteError('hunt.unreadable', `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`, { status: 400 });
  }
}

/** KEY[:VALUE[:DATA]]; registry keys have no colon, data may (C:\…), so only the first two split. */
export function parseIoc(text: string): NonNullable<HuntRequest['ioc']> {
  const first = text.indexOf(':');
  if (first < 0) return { key_path: text };
  const second = text.indexOf(':', first + 1);
  const key_path = text.slice(0, first);
  const value_name = second < 0 ? text.slice(first + 1) : text.slice(first + 1, second);
  return { key_path, ...(value_name ? { value_name } : {}), ...(second >= 0 ? { data: text.slice(second + 1) } : {}) };
}

function bar(view: HuntRunView): string {
  const { targeted, answered, pending, hosts_hit } = view.progress;
  const width = 30;
  const done = targeted === 0 ? 0 : Math.min(width, Math.round((answered / targeted) * width));
  return `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${answered}/${targeted} hosts answered, ${pending} pending, ${hosts_hit} hit`;
}

export function registerHunt(program: Command): void {
  const hunt = program.command('hunt').description('Hunt across the fleet through the configured EDR (Defender, Fleet, CrowdStrike) and remediate in stages');
  hunt
    .command('run')
    .description('Run a hunt from a Sigma rule, a STIX indicator or a registry IOC; hits go on one case')
    .option('--sigma <file>', 'a Sigma rule (YAML)')
    .option('--stix <file>', 'a STIX 2.1 indicator (JSON) or bundle with one indicator, or a pattern in a text file')
    .option('--ioc <key[:value[:data]]>', 'a registry IOC: key path, optional value name and data')
    .option('--attack <ids>', 'ATT&CK technique ids, comma-separated (added to those the rule names)')
    .option('--edr <instance>', 'integration instance to hunt through (default: the first defender, fleetdm or crowdstrike instance)')
    .option('--expires <seconds>', 'stop retrying offline hosts after this long (default 600)', Number)
    .option('--dry-run', 'change nothing, open no case: print the hits and the remediation waves')
    .option('--remediate', 'after the hunt, start staged remediation (canary, 10%, rest; approvals for critical hosts)')
    .option('--json', 'print the hunt as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  riposte hunt run --sigma rules/run-key.yml --edr fleet --dry-run\n  riposte hunt run --ioc "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run:OneDriveUpdate" --attack T1547.001\n',
    )
    .action(
      async (
        options: {
          sigma?: string;
          stix?: string;
          ioc?: string;
          attack?: string;
          edr?: string;
          expires?: number;
          dryRun?: boolean;
          remediate?: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const sources = [options.sigma, options.stix, options.ioc].filter((x) => x !== undefined).length;
        if (sources !== 1) throw usageError('give exactly one of --sigma, --stix or --ioc');
        if (options.expires !== undefined && !(options.expires >= 0)) throw usageError('--expires must be a number of seconds');
        let stix: unknown;
        if (options.stix) {
          const text = readText(options.stix, 'STIX file');
          try {
            stix = JSON.parse(text);
          } catch {
            stix = text.trim();
          }
        }
        const request: HuntRequest = {
          ...(options.sigma ? { sigma: readText(options.sigma, 'Sigma rule') } : {}),
          ...(options.stix ? { stix } : {}),
          ...(options.ioc ? { ioc: parseIoc(options.ioc) } : {}),
          ...(options.attack ? { attack: options.attack.split(',').map((s) => s.trim()) } : {}),
          ...(options.edr ? { edr: options.edr } : {}),
          ...(options.dryRun ? { dry_run: true } : {}),
          ...(options.expires !== undefined ? { expires_in_ms: options.expires * 1000 } : {}),
        };
        const out = createOutput(Boolean(options.json));
        const config = configFor(command);
        const runtime = await openRuntime(config, createLogger({ level: 'silent' }));
        try {
          const stderr = cliStreams().stderr;
          const view = await runtime.hunts.run(request, CLI_ACTOR, (v) => stderr.write(bar(v)));
          stderr.write('\n');
          const plan = view.sightings.length > 0 ? await runtime.hunts.plan(view.id) : [];
          if (options.remediate && !options.dryRun && view.case_id) {
            out.note(`remediation: started; approve waiting waves at POST /api/v1/hunts/${view.id}/waves/N/approve while \`riposte serve\` runs`);
            const done = await runtime.hunts.runs.remediate(view.id, { actor: CLI_ACTOR });
            out.note(`remediation: ${done.remediation.status}: ${done.remediation.message ?? ''}`);
          }
          out.data({ hunt: runtime.hunts.runs.get(view.id), plan }, () =>
            [
              `hunt ${view.id}: ${view.status}; ${view.progress.hosts_hit} host(s) hit of ${view.progress.targeted} (${view.progress.pending} did not answer)`,
              view.case_id ? `case: ${view.case_id}` : view.dry_run ? 'dry run: no case opened, nothing changed' : 'no hits: no case opened',
              ...view.sightings.map((s) => `  ${s.hostname}  ${s.key}\\${s.value} = ${s.data}`),
              ...(plan.length > 0 ? ['remediation waves:'] : []),
              ...plan.map(
                (w) =>
                  `  ${w.index + 1}. ${w.name}: ${w.hosts.map((h) => `${h.hostname}${h.criticality === 'critical' ? ' (critical)' : ''}`).join(', ')}${w.approvals_required ? ` — needs ${w.approvals_required} approver(s)` : ''}`,
              ),
            ].join('\n'),
          );
        } finally {
          await runtime.close();
        }
      },
    );

  hunt
    .command('list')
    .description('List hunt runs (newest first) with their progress and remediation state')
    .option('--limit <n>', 'how many (default 50)', Number)
    .option('--json', 'print the hunts as JSON')
    .action(async (options: { limit?: number; json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const runtime = await openRuntime(configFor(command), createLogger({ level: 'silent' }));
      try {
        const hunts = (await runtime.hunts.runs.listAll(options.limit ?? 50)).map(({ sightings: _s, ...rest }) => rest);
        out.data({ items: hunts }, () =>
          hunts.length === 0
            ? 'no hunts'
            : formatTable(
                ['id', 'started', 'status', 'edr', 'hit', 'remediation', 'waves', 'title'],
                hunts.map((h) => [
                  h.id,
                  h.started_at,
                  h.status,
                  h.edr.instance,
                  `${h.progress.hosts_hit}/${h.progress.targeted}`,
                  h.remediation.status,
                  h.remediation.waves.map((w) => `${w.name}:${w.status}`).join(' '),
                  h.definition.title,
                ]),
              ),
        );
      } finally {
        await runtime.close();
      }
    });
  hunt
    .command('show')
    .description('Show one hunt run: progress, sightings, case, and each remediation wave with its hosts')
    .argument('<id>', 'the hunt id')
    .option('--json', 'print the hunt as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const runtime = await openRuntime(configFor(command), createLogger({ level: 'silent' }));
      try {
        const view = await runtime.hunts.runs.load(id);
        out.data({ hunt: view }, () =>
          [
            `hunt ${view.id}: ${view.status}; ${view.progress.hosts_hit} host(s) hit of ${view.progress.targeted} (${view.progress.pending} did not answer)`,
            `definition: ${view.definition.title} (${view.definition.source}${view.definition.attack.length ? `, ${view.definition.attack.join(', ')}` : ''}) through ${view.edr.instance}`,
            view.case_id ? `case: ${view.case_id}` : view.dry_run ? 'dry run: no case opened' : 'no case',
            ...view.sightings.map((s) => `  ${s.hostname}  ${s.key}\\${s.value} = ${s.data}`),
            `remediation: ${view.remediation.status}${view.remediation.message ? `: ${view.remediation.message}` : ''}`,
            ...view.remediation.waves.map(
              (w) =>
                `  ${w.index + 1}. ${w.name} (${w.status}${w.approvals_required ? `, approvals ${w.approved_by.length}/${w.approvals_required}` : ''}): ${w.hosts.map((h) => `${h.hostname} ${h.status}`).join(', ')}`,
            ),
            ...view.errors.map((e) => `error: ${e}`),
          ].join('\n'),
        );
      } finally {
        await runtime.close();
      }
    });
}
