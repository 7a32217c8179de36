import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '../core/index.ts';
import type { NewRun } from './index.ts';
import { type TestStore, testBackends } from './testing.ts';

function run(overrides: Partial<NewRun> = {}): NewRun {
  return {
    id: newId(),
    playbookId: 'p',
    playbookVersion: 1,
    definition: { id: 'p', version: 1 },
    inputs: { ip: '192.0.2.1' },
    status: 'queued',
    wakeAt: 1000,
    createdAt: 1000,
    ...overrides,
  };
}

for (const backend of testBackends()) {
  describe(`engine repository contract (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('claims only due, unleased runs; an expired lease is taken over; a waiting run without wake time is not claimed', async () => {
      const due = run();
      const later = run({ wakeAt: 5000 });
      const parked = run({ status: 'waiting', wakeAt: null });
      await t.store.engine.insertRuns([due, later, parked]);
      const first = await t.store.engine.claimRunnable('a', 2000, 1000, 10);
      assert.deepEqual(
        first.map((r) => r.id),
        [due.id],
      );
      assert.equal(first[0]?.status, 'running');
      assert.deepEqual(first[0]?.definition, { id: 'p', version: 1 });
      assert.deepEqual(await t.store.engine.claimRunnable('b', 2500, 1000, 10), [], 'still leased by a');
      const takeover = await t.store.engine.claimRunnable('b', 3500, 1000, 10);
      assert.deepEqual(
        takeover.map((r) => [r.id, r.leaseOwner, r.attempt]),
        [[due.id, 'b', 2]],
      );
      assert.equal(await t.store.engine.extendLeases('a', 9999, [due.id]), 0, 'a lost its lease');
      assert.equal(await t.store.engine.extendLeases('b', 9999, [due.id]), 1);
      assert.deepEqual(
        (await t.store.engine.claimRunnable('c', 6000, 1000, 10)).map((r) => r.id),
        [later.id],
      );
      assert.equal(await t.store.engine.wakeRun(parked.id, 7000), true);
      assert.deepEqual(
        (await t.store.engine.claimRunnable('c', 7000, 1000, 10, [parked.id])).map((r) => r.id),
        [parked.id],
      );
      assert.equal(await t.store.engine.wakeRun(parked.id, 7000), false, 'a leased run is woken by its holder, not here');
    });

    test('concurrent claimers never get the same run', async () => {
      const runs = Array.from({ length: 200 }, () => run({ wakeAt: 10 }));
      await t.store.engine.insertRuns(runs);
      const batches = await Promise.all(Array.from({ length: 4 }, (_, i) => t.store.engine.claimRunnable(`w${i}`, 20, 60_000, 80)));
      const ids = batches.flat().map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(ids.length > 0);
    });

    test('journal appends keep order per run; a wait resolves once', async () => {
      const r = run();
      await t.store.engine.insertRuns([r]);
      await t.store.engine.appendJournal([
        { runId: r.id, kind: 'step_completed', stepKey: 'a', data: { output: 1 } },
        { runId: r.id, kind: 'step_completed', stepKey: 'b', data: { output: { nested: ['x'] } } },
      ]);
      await t.store.engine.appendJournal([{ runId: r.id, kind: 'step_failed', stepKey: 'c', data: { error: { code: 'x' } } }]);
      const journal = await t.store.engine.journal(r.id);
      assert.deepEqual(
        journal.map((e) => e.stepKey),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(journal[1]?.data, { output: { nested: ['x'] } });
      assert.equal(await t.store.engine.lastJournalId(r.id), journal[2]?.id);
      await t.store.engine.insertWaits([{ runId: r.id, stepKey: 'ask', kind: 'approval', wakeAt: null, request: { prompt: '?' } }]);
      assert.equal(await t.store.engine.resolveWait(r.id, 'ask', { decision: 'approve' }), true);
      assert.equal(await t.store.engine.resolveWait(r.id, 'ask', { decision: 'reject' }), false);
      assert.deepEqual((await t.store.engine.getWait(r.id, 'ask'))?.resolution, { decision: 'approve' });
    });

    test('fair share: a flood of one playbook does not crowd the others out of a claim', async () => {
      const own = await backend.open();
      try {
        const flood = Array.from({ length: 300 }, (_, i) => run({ playbookId: 'flood', wakeAt: 1000 + i }));
        const others = ['a', 'b', 'c'].map((playbookId) => run({ playbookId, wakeAt: 5000 }));
        await own.store.engine.insertRuns([...flood, ...others]);
        const claimed = await own.store.engine.claimRunnable('w', 10_000, 60_000, 40);
        const byPlaybook = new Map<string, number>();
        for (const row of claimed) byPlaybook.set(row.playbookId, (byPlaybook.get(row.playbookId) ?? 0) + 1);
        assert.deepEqual(
          ['a', 'b', 'c'].map((p) => byPlaybook.get(p)),
          [1, 1, 1],
          'the later-queued runs of other playbooks are served in the same claim as the flood',
        );
        assert.ok((byPlaybook.get('flood') ?? 0) <= 10, 'the flood gets its share of the batch, not all of it');
        const floodIds = claimed
          .filter((r) => r.playbookId === 'flood')
          .map((r) => r.id)
          .sort();
        assert.deepEqual(
          floodIds,
          flood
            .slice(0, floodIds.length)
            .map((r) => r.id)
            .sort(),
          'oldest first within a playbook',
        );
      } finally {
        await own.dispose();
      }
    });

    test('lease fence: only the current owner at the current epoch holds a run', async () => {
      const r = run({ wakeAt: 1 });
      const own = await backend.open();
      try {
        await own.store.engine.insertRuns([r]);
        const [first] = await own.store.engine.claimRunnable('a', 100, 50, 10);
        assert.ok(first);
        assert.deepEqual([...(await own.store.engine.heldLeases('a', [{ id: r.id, epoch: first.attempt }]))], [r.id]);
        assert.equal((await own.store.engine.heldLeases('b', [{ id: r.id, epoch: first.attempt }])).size, 0, "not b's lease");
        // a is cut off past its lease; b takes over; a's old epoch no longer holds, even if a claims again.
        const [second] = await own.store.engine.claimRunnable('b', 200, 50, 10);
        assert.equal(second?.attempt, first.attempt + 1);
        assert.equal((await own.store.engine.heldLeases('a', [{ id: r.id, epoch: first.attempt }])).size, 0, 'a lost it');
        await own.store.engine.claimRunnable('a', 300, 50, 10);
        assert.equal((await own.store.engine.heldLeases('a', [{ id: r.id, epoch: first.attempt }])).size, 0, 'a stale epoch never holds again');
      } finally {
        await own.dispose();
      }
    });
  });
}
