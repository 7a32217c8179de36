import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCasesService, HuntService } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../src/integrations/sdk/index.ts';
import { createFleet, EdrBehaviour, fleetDmHandler, SIMULATOR_FLEET_API_TOKEN, startSimulator, type VendorSimulator } from '../src/lab/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * "Verified by re-query" must mean the host answered the re-query without the value. A host that goes
 * offline right after its removal reported success proves nothing: it is remediated, not verified, and the
 * wave's timeline entry says so (before, silence counted as proof).
 */
const logger = createLogger({ level: 'silent' });

for (const backend of testBackends()) {
  describe(`hunt verification re-query (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-hunt-verify-'));
    const fleet = createFleet({ size: 30, seed: 9, infected: 3 });
    for (const e of fleet.endpoints) e.online = true;
    let sim: VendorSimulator;
    let instance: IntegrationInstance;
    let t: TestStore;
    let goesQuiet: string | undefined;

    before(async () => {
      const base = fleetDmHandler(fleet, new EdrBehaviour());
      // The Fleet API as the hunt sees it, except that one host drops off the network once its script ran.
      sim = await startSimulator({
        ...base,
        handle(request) {
          const answer = base.handle(request);
          const body = answer.body as { exit_code?: number | null; host_name?: string } | undefined;
          if (/\/scripts\/results\//.test(request.path) && body?.exit_code === 0 && body.host_name !== undefined) {
            goesQuiet ??= body.host_name;
            const endpoint = fleet.endpoint(goesQuiet);
            if (endpoint) endpoint.online = false;
          }
          return answer;
        },
      });
      instance = createIntegrationInstance(
        integrationById('fleetdm') as never,
        { name: 'fleet', config: { baseUrl: sim.url, pollIntervalMs: 5 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
        { guard: { allow: ['127.0.0.1'] } },
      );
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a host that does not answer the re-query is remediated but not verified', async () => {
      const config = loadConfig({ env: t.env, cwd: dir, overrides: { 'log.level': 'silent' } });
      const cases = buildCasesService(t.store, config, logger);
      const hunts = new HuntService({ cases, logger, store: t.store, instances: async () => [instance], criticality: async () => 'low' });
      const actor = { kind: 'user' as const, id: 'alice', name: 'alice' };
      const hunt = await hunts.run(
        { ioc: { key_path: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', value_name: 'OneDriveUpdate' }, edr: 'fleet' },
        actor,
      );
      assert.equal(hunt.progress.hosts_hit, 3);
      const done = await hunts.runs.remediate(hunt.id, { actor });
      await hunts.runs.stop();
      const hosts = done.remediation.waves.flatMap((w) => w.hosts);
      assert.ok(goesQuiet, 'one host went offline after its removal');
      const quiet = hosts.find((h) => h.hostname === goesQuiet);
      assert.equal(quiet?.status, 'remediated');
      assert.match(quiet?.error ?? '', /did not answer the verification re-query/);
      assert.deepEqual(
        hosts.filter((h) => h.hostname !== goesQuiet).map((h) => h.status),
        ['verified', 'verified'],
      );
      const timeline = await t.store.cases.timeline(done.case_id as string, { limit: 500 });
      assert.ok(
        timeline.some((e) =>
          /0 of 1 host\(s\) remediated and verified by re-query, 1 remediated but not verified \(no answer to the re-query\)/.test(e.summary),
        ),
        `the timeline says one host is not verified: ${JSON.stringify(timeline.map((e) => e.summary))}`,
      );
    });
  });
}
