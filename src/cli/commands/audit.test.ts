import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CasesService } from '../../cases/index.ts';
import { type TestStore, tamperRow, testBackends } from '../../store/testing.ts';

const riposte = new URL('../../../riposte', import.meta.url).pathname;

for (const backend of testBackends()) {
  describe(`riposte audit (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
      const cases = new CasesService({ store: t.store });
      const c = await cases.createCase({ title: 'Audit me' });
      await cases.updateCase(c.id, { severity: 'high' });
      await cases.addComment(c.id, { body: 'looked at it' });
    });
    after(async () => {
      await t.dispose();
    });

    const run = (...args: string[]) =>
      spawnSync(riposte, args, { env: { ...process.env, ...t.env, RIPOSTE_CONFIG: '', RIPOSTE_LOG_LEVEL: 'silent' }, encoding: 'utf8', cwd: '/tmp' });

    test('verify passes on an intact chain, export writes JSON Lines, --since filters', () => {
      const verify = run('audit', 'verify', '--json');
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal(JSON.parse(verify.stdout).records, 3);
      const exported = run('audit', 'export');
      assert.equal(exported.status, 0, exported.stderr);
      const lines = exported.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => l.action),
        ['case.created', 'case.updated', 'comment.added'],
      );
      assert.equal(run('audit', 'export', '--since', '2999-01-01T00:00:00Z').stdout, '');
      const bad = run('audit', 'export', '--since', 'yesterday-ish');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--since "yesterday-ish" is not an ISO 8601 time/);
    });

    test('a field changed directly in the database makes verify exit 1 naming the record', async () => {
      await tamperRow(t, { table: 'audit_log', keyColumn: 'seq', key: 2, column: 'target', value: 'case:someone-else' });
      const verify = run('audit', 'verify');
      assert.equal(verify.status, 1);
      assert.match(verify.stdout, /audit chain BROKEN at record 2: hash does not match its contents/);
    });
  });
}
