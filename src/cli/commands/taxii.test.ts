import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CasesService } from '../../cases/index.ts';
import { type TestStore, testBackends } from '../../store/testing.ts';
import { runCli } from '../main.ts';
import { withCliStreams } from '../output.ts';

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  let stdout = '';
  let stderr = '';
  Object.assign(process.env, env);
  try {
    const code = await withCliStreams({ stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } }, () =>
      runCli(args),
    );
    return { code, stdout, stderr };
  } finally {
    for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

for (const backend of testBackends()) {
  describe(`riposte taxii (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
      await new CasesService({ store: t.store }).createCase({ title: 'Shared case', tlp: 'clear', observables: [{ type: 'domain', value: 'bad.example' }] });
    });
    after(async () => {
      await t.dispose();
    });

    test('export-case prints the case as a STIX bundle', async () => {
      const result = await cli(t.env, 'taxii', 'export-case', '1');
      assert.equal(result.code, 0, result.stderr);
      const bundle = JSON.parse(result.stdout);
      assert.equal(bundle.type, 'bundle');
      assert.ok(bundle.objects.some((o: { type: string; value?: string }) => o.type === 'domain-name' && o.value === 'bad.example'));
      assert.ok(bundle.objects.some((o: { type: string; name?: string }) => o.type === 'report' && o.name === 'Case #1: Shared case'));
    });

    test('pull names an unknown feed; push refuses a file that is not a bundle; credentials come only from the environment', async () => {
      const pull = await cli(t.env, 'taxii', 'pull', 'nope');
      assert.equal(pull.code, 1);
      const push = await cli(t.env, 'taxii', 'push', 'https://taxii.example/api1/', 'c1', '/nonexistent.json');
      assert.equal(push.code, 2);
      const missing = await cli(t.env, 'taxii', 'collections', 'https://taxii.example/api1/', '--token-env', 'RIPOSTE_TEST_NO_SUCH_VAR');
      assert.equal(missing.code, 2);
    });
  });
}
