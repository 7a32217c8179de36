import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type Runtime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { createFleet, EdrBehaviour, fleetDmHandler, SIMULATOR_FLEET_API_TOKEN, startSimulator, type VendorSimulator } from '../src/lab/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * playbooks/registry-hunt.yml through the real runner and the built-in policy: a hunt through Fleet finds
 * the infected hosts, the playbook remediates canary and 10% without asking, and the wave holding the
 * critical server (criticality from the CMDB) waits for an approver; approved, it runs and every implant
 * is gone from the fleet.
 */
const RULE = `title: Run key value in AppData
logsource: {category: registry_set, product: windows}
detection:
    s:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
        Details|contains: '\\AppData\\Roaming\\'
    condition: s
tags: [attack.t1547.001]
`;

for (const backend of testBackends()) {
  describe(`registry-hunt playbook (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-rhp-'));
    const fleet = createFleet({ size: 200, seed: 42, infected: 6 });
    for (const e of fleet.endpoints) e.online = true;
    const critical = fleet.infected().find((e) => e.criticality === 'critical') as (typeof fleet.endpoints)[number];
    let sim: VendorSimulator;
    let testStore: TestStore;
    let runtime: Runtime;

    async function boot(): Promise<void> {
      const config = loadConfig({
        env: testStore.env,
        cwd: dir,
        overrides: {
          'log.level': 'silent',
          'engine.playbooks_dir': join(dir, 'playbooks'),
          'integrations.http_allow': ['127.0.0.1'],
          data_dir: join(dir, 'data'),
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), {
        env: { RIPOSTE_MASTER_KEY: 'cd'.repeat(32) },
        announce: () => {},
        runner: { pollMs: 20 },
      });
    }

    before(async () => {
      sim = await startSimulator(fleetDmHandler(fleet, new EdrBehaviour()));
      mkdirSync(join(dir, 'playbooks'));
      copyFileSync(new URL('../playbooks/registry-hunt.yml', import.meta.url), join(dir, 'playbooks', 'registry-hunt.yml'));
      writeFileSync(join(dir, 'assets.csv'), `name,hostname,owner,criticality,environment\nDC,${critical.hostname},IT,critical,prod\n`);
      testStore = await backend.open();
      await testStore.store.close();
      await boot();
      await runtime.integrations.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await runtime.integrations.add({
        name: 'fleet',
        integration: 'fleetdm',
        config: { baseUrl: sim.url, pollIntervalMs: 10 },
        secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN },
      });
      await runtime.close();
      await boot();
    });
    after(async () => {
      await runtime.close();
      await sim.close();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    test('canary and 10% run, the critical server wave waits for approval, then all is clean', async () => {
      const hunt = await runtime.hunts.run({ sigma: RULE, edr: 'fleet' }, { kind: 'user', id: 'alice', name: 'alice' });
      assert.equal(hunt.progress.hosts_hit, 6);
      const plan = await runtime.hunts.plan(hunt.id);
      assert.ok(plan[2]?.hosts.some((h) => h.hostname === critical.hostname && h.criticality === 'critical'));
      const playbook = runtime.playbooks.get('registry-hunt');
      assert.ok(playbook, 'the playbook loads');
      const runId = await runtime.engine.startRun(playbook, { hunt_id: hunt.id }, { startedBy: 'alice' });
      await runtime.engine.start();
      const waiting = await runtime.engine.waitForRun(runId, 60_000, { untilWaiting: true });
      assert.equal(waiting.status, 'waiting');
      const mid = runtime.hunts.runs.get(hunt.id);
      assert.equal(mid.remediation.waves[0]?.status, 'verified');
      assert.equal(mid.remediation.waves[1]?.status, 'verified');
      assert.equal(mid.remediation.waves[2]?.status, 'planned');
      assert.ok(critical.implants.length > 0, 'the critical server is untouched while it waits');
      const item = (await runtime.guardrails.inbox()).find((a) => a.run_id === runId && a.kind === 'policy');
      assert.ok(item, 'a policy approval for the critical wave');
      const detail = await runtime.guardrails.get(item.id);
      await runtime.guardrails.decide(
        item.id,
        { id: 'bob', roles: ['approver'], name: 'bob' },
        { decision: 'approve', arguments_hash: detail.request?.arguments_hash ?? '', comment: 'DC cleanup agreed' },
      );
      const done = await runtime.engine.waitForRun(runId, 60_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error ?? null));
      assert.equal(fleet.infected().length, 0);
      assert.equal(runtime.hunts.runs.get(hunt.id).remediation.status, 'completed');
    });
  });
}
