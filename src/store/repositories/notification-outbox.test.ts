import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';

for (const backend of testBackends()) {
  describe(`notification outbox (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 4));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('enqueue is idempotent by id; a row is leased to one deliverer until its lease runs out', async () => {
      const entry = { id: 'a1/1/slack', topic: 'approval.request', channel: 'slack', subject: 'a1', payload: { approval_id: 'a1' } };
      assert.equal(await t.store.notifications.enqueue([entry]), 1);
      assert.equal(await t.store.notifications.enqueue([entry, { ...entry, id: 'a1/1/teams', channel: 'teams' }]), 1);
      const now = clock.now();
      const first = await t.store.notifications.claimDue(now, now + 30_000);
      assert.deepEqual(first.map((r) => r.id).sort(), ['a1/1/slack', 'a1/1/teams']);
      assert.equal(first[0]?.attempts, 1);
      assert.deepEqual(await t.store.notifications.claimDue(now, now + 30_000), [], 'leased rows are not handed out twice');
      clock.advance(31_000);
      const later = clock.now();
      const taken = await t.store.notifications.claimDue(later, later + 30_000);
      assert.equal(taken.length, 2, 'an expired lease is taken over');
      assert.equal(await t.store.notifications.markSent('a1/1/slack', { ts: '1.2' }, now + 30_000), false, 'the old lease holder cannot finish');
      assert.equal(await t.store.notifications.markSent('a1/1/slack', { ts: '1.2' }, later + 30_000), true);
      assert.equal(await t.store.notifications.reschedule('a1/1/teams', later + 5_000, 'HTTP 429', later + 30_000), true);
      assert.deepEqual(await t.store.notifications.claimDue(later, later + 30_000), [], 'rescheduled rows wait');
      clock.advance(5_000);
      const [again] = await t.store.notifications.claimDue(clock.now(), clock.now() + 30_000);
      assert.equal(again?.attempts, 3);
      assert.equal(again?.lastError, 'HTTP 429');
      assert.equal(await t.store.notifications.markFailed('a1/1/teams', 'gave up', clock.now() + 30_000), true);
      const rows = await t.store.notifications.listBySubject('a1');
      assert.deepEqual(
        rows.map((r) => [r.id, r.status]),
        [
          ['a1/1/slack', 'sent'],
          ['a1/1/teams', 'failed'],
        ],
      );
      assert.deepEqual(rows[0]?.result, { ts: '1.2' });
      clock.advance(1000);
      assert.equal(await t.store.notifications.prune(clock.now()), 2);
    });
  });
}
