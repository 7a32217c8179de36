import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, newId } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';
import type { ApprovalRecord } from './approvals.ts';

function record(clock: ManualClock, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: newId(clock.now()),
    revision: 1,
    status: 'pending',
    runId: 'run-1',
    caseId: null,
    actionId: 'firewall.block_ip',
    createdAt: clock.now(),
    expiresAt: clock.now() + 3_600_000,
    reviewRequired: false,
    document: { arguments: { ip: '203.0.113.9' }, decisions: [] },
    ...overrides,
  };
}

for (const backend of testBackends()) {
  describe(`approvals repository (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('insert, get and a duplicate id refused', async () => {
      const r = record(clock);
      assert.equal(await t.store.approvals.insert(r), true);
      assert.equal(await t.store.approvals.insert(r), false);
      assert.deepEqual(await t.store.approvals.get(r.id), r);
      assert.equal(await t.store.approvals.get(newId()), undefined);
    });

    test('update is compare-and-set on revision: of two concurrent decisions read at one revision, exactly one is saved', async () => {
      const r = record(clock);
      await t.store.approvals.insert(r);
      const a = { ...r, revision: 2, status: 'approved' as const, document: { by: 'alice' } };
      const b = { ...r, revision: 2, status: 'approved' as const, document: { by: 'bob' } };
      const results = await Promise.all([t.store.approvals.update(a, 1), t.store.approvals.update(b, 1)]);
      assert.deepEqual(results.filter(Boolean).length, 1, `exactly one release, got ${results}`);
      const saved = await t.store.approvals.get(r.id);
      assert.equal(saved?.revision, 2);
      assert.equal(saved?.status, 'approved');
      assert.equal(await t.store.approvals.update({ ...r, revision: 3 }, 1), false, 'a stale revision never overwrites');
    });

    test('pending, due, by run and review lists', async () => {
      const due = record(clock, { expiresAt: clock.now() - 1, runId: 'run-due' });
      const breakGlass = record(clock, { status: 'approved', reviewRequired: true, runId: 'run-due' });
      await t.store.approvals.insert(due);
      await t.store.approvals.insert(breakGlass);
      const dueList = await t.store.approvals.listDue(clock.now());
      assert.deepEqual(
        dueList.map((r) => r.id),
        [due.id],
      );
      assert.deepEqual(
        (await t.store.approvals.listByRun('run-due')).map((r) => r.id),
        [due.id, breakGlass.id],
      );
      assert.deepEqual(
        (await t.store.approvals.listReviewRequired()).map((r) => r.id),
        [breakGlass.id],
      );
      const pending = await t.store.approvals.listPending({ limit: 100 });
      assert.ok(pending.every((r) => r.status === 'pending'));
      assert.ok(pending.some((r) => r.id === due.id));
      const afterFirst = await t.store.approvals.listPending({ afterId: pending[0]?.id });
      assert.equal(afterFirst.length, pending.length - 1);
    });

    test('single-use keys: claimed once while live, concurrent claims have one winner, reusable after expiry, pruned', async () => {
      const expires = clock.now() + 60_000;
      assert.equal(await t.store.approvals.claimOnce('approval-link:n1', expires), true);
      assert.equal(await t.store.approvals.claimOnce('approval-link:n1', expires), false);
      const racing = await Promise.all(Array.from({ length: 8 }, () => t.store.approvals.claimOnce('slack:v0=abc', expires)));
      assert.equal(racing.filter(Boolean).length, 1);
      clock.advance(60_000);
      assert.equal(await t.store.approvals.claimOnce('slack:v0=abc', clock.now() + 1000), true, 'an expired claim can be claimed again');
      assert.equal(await t.store.approvals.pruneOnceKeys(clock.now()), 1);
      assert.equal(await t.store.approvals.claimOnce('approval-link:n1', clock.now() + 1000), true);
    });
  });
}
