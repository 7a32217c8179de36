import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildCasesService, HuntService } from '../../app/index.ts';
import { createLogger } from '../../core/index.ts';
import { integrationById } from '../../integrations/catalog.ts';
import { createIntegrationInstance } from '../../integrations/sdk/index.ts';
import { createFleet, EdrBehaviour, fleetDmHandler, SIMULATOR_FLEET_API_TOKEN, startSimulator, type VendorSimulator } from '../../lab/index.ts';
import { testBackends } from '../../store/testing.ts';
import { openTestServer, type TestServer } from '../testing.ts';

/**
 * The hunts API: a responder starts an IOC hunt through the Fleet simulator (202), polls its progress
 * until it completes, reads the dry-run plan (which hosts, which waves); a viewer reads but cannot start
 * one; a definition that is not exactly one of sigma/stix/ioc is a 400/422, not a crash.
 */
for (const backend of testBackends()) {
  describe(`hunts API (${backend.backend})`, () => {
    let server: TestServer;
    let sim: VendorSimulator;
    const fleet = createFleet({ size: 50, seed: 3, infected: 3 });
    for (const e of fleet.endpoints) e.online = true;
    before(async () => {
      sim = await startSimulator(fleetDmHandler(fleet, new EdrBehaviour()));
      const instance = createIntegrationInstance(
        integrationById('fleetdm') as never,
        { name: 'fleet', config: { baseUrl: sim.url, pollIntervalMs: 10 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
        { guard: { allow: ['127.0.0.1'] } },
      );
      server = await openTestServer(backend, {
        services: (store, config) => {
          const logger = createLogger({ level: 'silent' });
          const cases = buildCasesService(store, config, logger);
          return { cases, hunts: new HuntService({ cases, logger, instances: async () => [instance] }) };
        },
      });
    });
    after(async () => {
      await server.dispose();
      await sim.close();
    });

    test('start, watch progress, read the plan; viewers read only', async () => {
      const responder = await server.as('responder');
      const start = await server.app.inject({
        method: 'POST',
        url: '/api/v1/hunts',
        headers: responder,
        payload: {
          ioc: { key_path: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', value_name: 'OneDriveUpdate' },
          attack: ['T1547.001'],
          edr: 'fleet',
        },
      });
      assert.equal(start.statusCode, 202, start.body);
      const id = start.json().hunt.id as string;
      let hunt: { status: string; progress: { hosts_hit: number }; case_id: string | null } | undefined;
      for (let i = 0; i < 200; i++) {
        const got = await server.app.inject({ url: `/api/v1/hunts/${id}`, headers: await server.as('viewer') });
        assert.equal(got.statusCode, 200);
        hunt = got.json().hunt;
        if (hunt?.status !== 'running' && hunt?.case_id) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(hunt?.status, 'completed');
      assert.equal(hunt?.progress.hosts_hit, 3);
      const plan = await server.app.inject({ url: `/api/v1/hunts/${id}/plan`, headers: responder });
      assert.equal(plan.statusCode, 200);
      assert.deepEqual(
        plan.json().waves.map((w: { hosts: unknown[] }) => w.hosts.length),
        [1, 1, 1],
      );
      const list = await server.app.inject({ url: '/api/v1/hunts', headers: await server.as('viewer') });
      assert.equal(list.json().items.length, 1);
      const denied = await server.app.inject({
        method: 'POST',
        url: '/api/v1/hunts',
        headers: await server.as('viewer'),
        payload: { ioc: { key_path: 'HKLM\\X' } },
      });
      assert.equal(denied.statusCode, 403);
      const both = await server.app.inject({ method: 'POST', url: '/api/v1/hunts', headers: responder, payload: { sigma: 'x', ioc: { key_path: 'HKLM\\X' } } });
      assert.equal(both.statusCode, 400);
      const missing = await server.app.inject({ url: '/api/v1/hunts/nope', headers: responder });
      assert.equal(missing.statusCode, 404);
    });
  });
}
