import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseIoc } from '../src/cli/commands/hunt.ts';
import { createFleet, EdrBehaviour, fleetDmHandler, SIMULATOR_FLEET_API_TOKEN, startSimulator, type VendorSimulator } from '../src/lab/index.ts';

/**
 * `riposte hunt run` against the Fleet simulator: a dry run lists the infected hosts and the waves and
 * changes nothing; a real run opens a case; bad usage exits 2 with a message.
 */
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'riposte-hunt-cli-'));
const fleet = createFleet({ size: 40, seed: 9, infected: 3 });
for (const e of fleet.endpoints) e.online = true;
let sim: VendorSimulator;

before(async () => {
  sim = await startSimulator(fleetDmHandler(fleet, new EdrBehaviour()));
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function riposte(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'riposte'), ...args],
      {
        cwd: dir,
        env: {
          ...process.env,
          RIPOSTE_DATA_DIR: join(dir, 'data'),
          RIPOSTE_LOG_LEVEL: 'silent',
          RIPOSTE_INTEGRATIONS_HTTP_ALLOW: '127.0.0.1',
          RIPOSTE_MASTER_KEY: 'aa'.repeat(32),
          RIPOSTE_ADMIN_PASSWORD: 'correct-horse-battery-staple-1',
          FLEET_TOKEN: SIMULATOR_FLEET_API_TOKEN,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('--ioc splits on the first two colons only (data may hold C:\\…)', () => {
  assert.deepEqual(parseIoc('HKLM\\Run:Updater:C:\\x.exe'), { key_path: 'HKLM\\Run', value_name: 'Updater', data: 'C:\\x.exe' });
  assert.deepEqual(parseIoc('HKLM\\Run'), { key_path: 'HKLM\\Run' });
});

describe('riposte hunt run', () => {
  test('dry run shows hosts and waves without a case; a real run opens one; bad usage exits 2', async () => {
    const added = await riposte(['integrations', 'add', 'fleet', '--product', 'fleetdm', '--base-url', sim.url, '--secret-env', 'apiToken=FLEET_TOKEN']);
    assert.equal(added.code, 0, added.stderr);
    const ioc = 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run:OneDriveUpdate';
    const dry = await riposte(['hunt', 'run', '--ioc', ioc, '--attack', 'T1547.001', '--edr', 'fleet', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /\[#+\] 40\/40 hosts answered/);
    const out = JSON.parse(dry.stdout) as { hunt: { case_id: string | null; progress: { hosts_hit: number } }; plan: Array<{ hosts: unknown[] }> };
    assert.equal(out.hunt.case_id, null);
    assert.equal(out.hunt.progress.hosts_hit, 3);
    assert.deepEqual(
      out.plan.map((w) => w.hosts.length),
      [1, 1, 1],
    );
    assert.equal(fleet.infected().length, 3, 'the dry run changed nothing');
    const rule = join(dir, 'rule.yml');
    writeFileSync(
      rule,
      "title: Run key in AppData\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s:\n        TargetObject|contains: '\\CurrentVersion\\Run\\'\n        Details|contains: '\\AppData\\Roaming\\'\n    condition: s\ntags: [attack.t1547.001]\n",
    );
    const real = await riposte(['hunt', 'run', '--sigma', rule]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /case: \S+/);
    assert.match(real.stdout, /remediation waves:\n {2}1\. canary: /);
    const bad = await riposte(['hunt', 'run', '--sigma', rule, '--ioc', 'HKLM\\X']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /exactly one of --sigma, --stix or --ioc/);
    const help = await riposte(['hunt', 'run', '--help']);
    assert.match(help.stdout, /Examples:/);
  });
});
