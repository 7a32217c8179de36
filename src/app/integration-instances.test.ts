import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, RiposteError } from '../core/index.ts';
import { MasterKey } from '../integrations/sdk/index.ts';
import { type Lab, SIMULATOR_API_KEY, startLab } from '../lab/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { integrationInstanceService, masterKeyFor } from './integration-instances.ts';

for (const backend of testBackends()) {
  describe(`integration instances (${backend.backend})`, () => {
    let t: TestStore;
    let lab: Lab;
    let dir: string;
    before(async () => {
      t = await backend.open();
      lab = await startLab();
      dir = mkdtempSync(join(tmpdir(), 'riposte-int-'));
    });
    after(async () => {
      await lab.close();
      await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    test('secrets are sealed at rest, never listed, opened to call the vendor, and survive key rotation', async () => {
      const config = loadConfig({ env: { RIPOSTE_DATA_DIR: dir, RIPOSTE_INTEGRATIONS_HTTP_ALLOW: '127.0.0.1' }, cwd: dir });
      let key = MasterKey.generate();
      const service = integrationInstanceService({ store: t.store, config, masterKey: () => key });
      const added = await service.add({
        name: 'vt_main',
        integration: 'virustotal',
        config: { baseUrl: lab.simulators.virustotal?.url },
        secrets: { apiKey: SIMULATOR_API_KEY },
      });
      assert.deepEqual(added.secrets, [{ name: 'apiKey', description: 'VirusTotal API key (x-apikey)', set: true }]);
      assert.ok(added.actions.includes('vt_main.ip_report'));
      assert.ok(!JSON.stringify(await service.list()).includes(SIMULATOR_API_KEY));
      assert.ok(!JSON.stringify(await t.store.integrations.get('vt_main')).includes(SIMULATOR_API_KEY), 'plaintext secret in the store');

      const health = await service.test('vt_main');
      assert.equal(health.ok, true, JSON.stringify(health));
      const [instance] = await service.load();
      const out = (await instance?.run('ip_report', { ip: '185.220.101.47' }, { idempotencyKey: 'k' })) as { evidence: { evaluation: string } };
      assert.equal(out.evidence.evaluation, 'malicious');

      const next = MasterKey.generate();
      assert.equal(await service.rotateMasterKey(next), 1);
      key = next;
      assert.equal((await service.test('vt_main')).ok, true);
      key = MasterKey.generate();
      await assert.rejects(service.load(), (error: unknown) => error instanceof RiposteError && error.code === 'secrets.wrong_master_key');
    });

    test('bad names, products, config and secret names are refused with the field named', async () => {
      const config = loadConfig({ env: { RIPOSTE_DATA_DIR: dir }, cwd: dir });
      const key = MasterKey.generate();
      const service = integrationInstanceService({ store: t.store, config, masterKey: () => key });
      const refused = (pattern: RegExp) => (error: unknown) => error instanceof RiposteError && error.code === 'input.invalid' && pattern.test(error.message);
      await assert.rejects(service.add({ name: 'Bad-Name', integration: 'virustotal' }), refused(/^name:/));
      await assert.rejects(service.add({ name: 'x', integration: 'nope' }), refused(/integration: unknown product/));
      await assert.rejects(service.add({ name: 'x', integration: 'virustotal', config: { baseUrl: 'not a url' } }), refused(/^config: baseUrl/));
      await assert.rejects(service.add({ name: 'x', integration: 'virustotal', secrets: { token: 'a' } }), refused(/^secrets: virustotal has no secret token/));
      const bad = await service.add({ name: 'gn_wrong', integration: 'greynoise', config: { baseUrl: 'http://127.0.0.1:9' }, secrets: { apiKey: 'abcd1234' } });
      assert.equal(bad.name, 'gn_wrong');
      const health = await service.test('gn_wrong');
      assert.equal(health.ok, false);
    });

    test('embedded mode generates a master key file once, with a warning', () => {
      const config = loadConfig({ env: { RIPOSTE_DATA_DIR: join(dir, 'keys') }, cwd: dir });
      const warnings: string[] = [];
      const logger = { warn: (_o: unknown, message: string) => warnings.push(message) } as never;
      const first = masterKeyFor(config, logger, {});
      const second = masterKeyFor(config, logger, {});
      assert.equal(first.id, second.id);
      assert.equal(warnings.length, 1);
      assert.match(readFileSync(join(dir, 'keys', 'master.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
      assert.equal(masterKeyFor(config, logger, { RIPOSTE_MASTER_KEY: 'ab'.repeat(32) }).id, new MasterKey(Buffer.alloc(32, 0xab)).id);
    });
  });
}
