import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestStore, testBackends } from './testing.ts';

for (const backend of testBackends()) {
  describe(`integrations repository contract (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('puts, replaces, lists and deletes instances, keeping sealed secrets opaque', async () => {
      const sealed = { apiKey: { key_id: 'k1', wrapped_key: 'w', ciphertext: 'c' } };
      const first = await t.store.integrations.put({ name: 'vt_eu', integration: 'virustotal', config: { baseUrl: 'https://vt.example' }, secrets: sealed });
      assert.equal(first.integration, 'virustotal');
      await t.store.integrations.put({ name: 'abuse', integration: 'abuseipdb', config: {}, secrets: {} });
      const replaced = await t.store.integrations.put({
        name: 'vt_eu',
        integration: 'virustotal',
        config: { baseUrl: 'https://vt2.example' },
        secrets: sealed,
      });
      assert.equal(replaced.createdAt, first.createdAt);
      assert.deepEqual(replaced.config, { baseUrl: 'https://vt2.example' });
      assert.deepEqual(replaced.secrets, sealed);
      assert.deepEqual(
        (await t.store.integrations.list()).map((r) => r.name),
        ['abuse', 'vt_eu'],
      );
      assert.equal(await t.store.integrations.delete('abuse'), true);
      assert.equal(await t.store.integrations.delete('abuse'), false);
      assert.equal(await t.store.integrations.get('abuse'), undefined);
    });
  });
}
