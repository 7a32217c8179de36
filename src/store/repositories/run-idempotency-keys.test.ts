import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';

const DAY = 24 * 3_600_000;

for (const backend of testBackends()) {
  describe(`run idempotency keys repository (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(() => t.dispose());

    const claim = (key: string, runId: string, actor = 'user:u1', fingerprint = 'f1') =>
      t.store.transaction((tx) => tx.runIdempotencyKeys.claim({ actor, key, fingerprint, runId, ttlMs: DAY }));

    test('a key is claimed once per actor; the claim remembers fingerprint, run and the first answer', async () => {
      assert.equal(await claim('k1', 'run-1'), true);
      assert.equal(await claim('k1', 'run-2'), false);
      assert.equal(await claim('k1', 'run-3', 'user:u2'), true, 'another actor has its own key space');
      const held = await t.store.runIdempotencyKeys.get('user:u1', 'k1');
      assert.equal(held?.runId, 'run-1');
      assert.equal(held?.fingerprint, 'f1');
      assert.equal(held?.statusCode, null);
      await t.store.runIdempotencyKeys.setStatus('user:u1', 'k1', 'run-1', 202);
      await t.store.runIdempotencyKeys.setStatus('user:u1', 'k1', 'run-1', 200);
      assert.equal((await t.store.runIdempotencyKeys.get('user:u1', 'k1'))?.statusCode, 202, 'the first answer is kept');
    });

    test('concurrent claims of one key in separate transactions: exactly one wins', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claim('k-race', `run-race-${i}`)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal((await t.store.runIdempotencyKeys.get('user:u1', 'k-race'))?.runId, `run-race-${winner}`);
    });

    test('after 24 hours a key is forgotten: it may start a new run, and purging removes it', async () => {
      assert.equal(await claim('k-old', 'run-old'), true);
      clock.advance(DAY);
      assert.equal(await t.store.runIdempotencyKeys.get('user:u1', 'k-old'), undefined);
      assert.equal(await claim('k-old', 'run-new', 'user:u1', 'f2'), true);
      const fresh = await t.store.runIdempotencyKeys.get('user:u1', 'k-old');
      assert.equal(fresh?.runId, 'run-new');
      assert.equal(fresh?.fingerprint, 'f2');
      clock.advance(DAY);
      assert.ok((await t.store.runIdempotencyKeys.purgeExpired(clock.now())) >= 1);
      assert.equal(await t.store.runIdempotencyKeys.get('user:u1', 'k-old'), undefined);
    });
  });
}
