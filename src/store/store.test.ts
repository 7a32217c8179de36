import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../core/index.ts';
import { openStore, SQLITE_FILE_NAME } from './index.ts';
import { migrations } from './migrations/index.ts';
import { type TestStore, testBackends } from './testing.ts';

for (const backend of testBackends()) {
  describe(`store contract (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('applies every migration on open and reports them applied', async () => {
      const status = await t.store.migrationStatus();
      assert.deepEqual(
        status.map((s) => s.name),
        migrations.map((m) => m.name),
      );
      assert.ok(status.every((s) => typeof s.appliedAt === 'number'));
      assert.deepEqual(await t.store.migrate(), [], 'a second migrate applies nothing');
    });

    test('settings round-trip JSON values exactly', async () => {
      const value = { nested: { list: [1, 2.5, 'três', null, true] }, emoji: '🛡️', big: 2 ** 52 };
      await t.store.settings.set('instance.profile', value);
      assert.deepEqual(await t.store.settings.get('instance.profile'), value);
      assert.equal(await t.store.settings.get('missing'), undefined);
      await t.store.settings.set('instance.profile', 'replaced');
      assert.equal(await t.store.settings.get('instance.profile'), 'replaced');
    });

    test('setMany/getMany/list handle more rows than one statement holds', async () => {
      const entries = Array.from({ length: 1234 }, (_, i) => [`bulk.${String(i).padStart(5, '0')}`, { i }] as const);
      await t.store.settings.setMany(entries);
      const got = await t.store.settings.getMany(entries.map(([k]) => k).concat(['bulk.absent']));
      assert.equal(got.size, 1234);
      assert.deepEqual(got.get('bulk.01000'), { i: 1000 });
      const listed = await t.store.settings.list('bulk.');
      assert.equal(listed.length, 1234);
      assert.equal(listed[0]?.key, 'bulk.00000');
      assert.ok(await t.store.settings.delete('bulk.00000'));
      assert.equal(await t.store.settings.delete('bulk.00000'), false);
    });

    test('a transaction that throws leaves nothing behind; one that returns commits', async () => {
      await assert.rejects(
        t.store.transaction(async (tx) => {
          await tx.settings.set('tx.rolled-back', 1);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await t.store.settings.get('tx.rolled-back'), undefined);
      const result = await t.store.transaction(async (tx) => {
        await tx.settings.set('tx.committed', 1);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal(await t.store.settings.get('tx.committed'), 1);
    });

    test('concurrent transactions stay isolated: failures roll back only their own writes', async () => {
      const attempts = Array.from({ length: 24 }, (_, i) =>
        t.store.transaction(async (tx) => {
          await tx.settings.set(`iso.${i}.a`, i);
          await new Promise((r) => setTimeout(r, i % 3));
          await tx.settings.set(`iso.${i}.b`, i);
          if (i % 2 === 1) throw new Error(`fail ${i}`);
        }),
      );
      const outcomes = await Promise.allSettled(attempts);
      assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 12);
      const rows = await t.store.settings.list('iso.');
      const expected = Array.from({ length: 12 }, (_, k) => k * 2).flatMap((i) => [`iso.${i}.a`, `iso.${i}.b`]);
      assert.deepEqual(rows.map((r) => r.key).sort(), expected.sort());
    });

    // PostgreSQL only: several stores on one SQLite file inside one process would block each other's
    // synchronous busy-wait (the embedded store is one process by design).
    test('processes starting together on a fresh database apply each migration exactly once', { skip: backend.backend === 'sqlite' }, async () => {
      const fresh = await backend.open({ migrate: false });
      try {
        const [a, b, c] = await Promise.all([fresh.reopen({ migrate: false }), fresh.reopen({ migrate: false }), fresh.reopen({ migrate: false })]);
        assert.ok(a && b && c);
        const applied = await Promise.all([a.migrate(), b.migrate(), c.migrate()]);
        assert.deepEqual(applied.flat().sort(), migrations.map((m) => m.name).sort(), 'every migration once, across all three');
        assert.ok((await a.migrationStatus()).every((s) => s.appliedAt !== undefined));
        await Promise.all([a.close(), b.close(), c.close()]);
      } finally {
        await fresh.dispose();
      }
    });

    test('data survives closing and reopening the store', async () => {
      const other = await backend.open();
      await other.store.settings.set('durable', { yes: true });
      await other.store.close();
      const reopened = await other.reopen();
      try {
        assert.deepEqual(await reopened.settings.get('durable'), { yes: true });
      } finally {
        await reopened.close();
        await other.dispose();
      }
    });
  });
}

describe('store open errors name the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-open-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a file that is not a SQLite database is reported as corrupt', async () => {
    const dataDir = join(dir, 'corrupt');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, SQLITE_FILE_NAME), 'this is not a database, it is a grocery list\n'.repeat(200));
    await assert.rejects(openStore({ dataDir }), (error: unknown) => {
      assert.ok(error instanceof RiposteError);
      assert.equal(error.code, 'store.corrupt');
      assert.match(error.message, /riposte\.db is corrupt or not a database/);
      return true;
    });
  });

  test('a data path that cannot be opened is reported as unreadable', async () => {
    const dataDir = join(dir, 'unreadable');
    mkdirSync(join(dataDir, SQLITE_FILE_NAME), { recursive: true });
    await assert.rejects(openStore({ dataDir }), (error: unknown) => {
      assert.ok(error instanceof RiposteError);
      assert.equal(error.code, 'store.unreadable');
      assert.match(error.message, /is a directory/);
      return true;
    });
  });

  test('an unreachable PostgreSQL is reported with its address and no password', async () => {
    await assert.rejects(openStore({ databaseUrl: 'postgres://riposte:hunter2@127.0.0.1:1/nope' }), (error: unknown) => {
      assert.ok(error instanceof RiposteError);
      assert.equal(error.code, 'store.unreachable');
      assert.match(error.message, /cannot reach PostgreSQL at postgres:\/\/riposte@127\.0\.0\.1:1\/nope/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });
});
