import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { integrationInstanceService } from '../../app/index.ts';
import { MasterKey } from '../../integrations/sdk/index.ts';
import { testBackends } from '../../store/testing.ts';
import { openTestServer, type TestServer } from '../testing.ts';

for (const backend of testBackends()) {
  describe(`integrations API (${backend.backend})`, () => {
    let server: TestServer;
    before(async () => {
      const key = MasterKey.generate();
      server = await openTestServer(backend, {
        services: (store, config) => ({ integrations: integrationInstanceService({ store, config, masterKey: () => key }) }),
      });
    });
    after(() => server.dispose());

    test('an admin creates an instance; secrets are write-only; viewers read, cannot write', async () => {
      const admin = await server.as('admin');
      const put = await server.app.inject({
        method: 'PUT',
        url: '/api/v1/integrations/abuse_main',
        headers: admin,
        payload: { integration: 'abuseipdb', config: { maxAgeInDays: 30 }, secrets: { apiKey: 'super-secret-value' } },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.ok(!put.body.includes('super-secret-value'));
      assert.deepEqual(put.json().actions, ['abuse_main.check']);
      const viewer = await server.as('viewer');
      const list = await server.app.inject({ url: '/api/v1/integrations', headers: viewer });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().items[0].secrets[0].set, true);
      assert.ok(!list.body.includes('super-secret-value'));
      const denied = await server.app.inject({ method: 'DELETE', url: '/api/v1/integrations/abuse_main', headers: viewer });
      assert.equal(denied.statusCode, 403);
      const bad = await server.app.inject({
        method: 'PUT',
        url: '/api/v1/integrations/x',
        headers: admin,
        payload: { integration: 'abuseipdb', config: { maxAgeInDays: 9999 } },
      });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail ?? bad.body, /maxAgeInDays/);
      const deleted = await server.app.inject({ method: 'DELETE', url: '/api/v1/integrations/abuse_main', headers: admin });
      assert.equal(deleted.statusCode, 204);
      const missing = await server.app.inject({ method: 'POST', url: '/api/v1/integrations/abuse_main/test', headers: admin });
      assert.equal(missing.statusCode, 404);
    });
  });
}
