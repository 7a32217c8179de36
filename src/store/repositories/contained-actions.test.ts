import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';
import type { NewContainedAction } from './contained-actions.ts';

function action(id: string, overrides: Partial<NewContainedAction> = {}): NewContainedAction {
  return {
    id,
    runId: id.split(':')[0] as string,
    stepKey: 'block',
    caseId: null,
    action: 'firewall.block_ip',
    target: '203.0.113.9',
    arguments: { ip: '203.0.113.9', ttl: '24h' },
    inverseAction: 'firewall.unblock_ip',
    inverseArguments: { ip: '203.0.113.9' },
    expiresAt: null,
    performedBy: 'rita',
    reason: 'policy high-confidence',
    ...overrides,
  };
}

for (const backend of testBackends()) {
  describe(`contained actions repository (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('an action is recorded once with its exact arguments and inverse; listings filter by status and case, newest first', async () => {
      const repo = t.store.containedActions;
      assert.equal(await repo.insert(action('r1:block', { caseId: 'case-1' })), true);
      assert.equal(await repo.insert(action('r1:block', { caseId: 'case-1' })), false, 'the same idempotency key is not recorded twice');
      clock.advance(1);
      await repo.insert(action('r2:block', { arguments: { ip: '198.51.100.4', nested: { tags: ['a', 'b'] } } }));
      const got = await repo.get('r2:block');
      assert.deepEqual(got?.arguments, { ip: '198.51.100.4', nested: { tags: ['a', 'b'] } });
      assert.equal(got?.status, 'active');
      assert.equal(got?.inverseAction, 'firewall.unblock_ip');
      assert.deepEqual(
        (await repo.list()).map((r) => r.id),
        ['r2:block', 'r1:block'],
      );
      assert.deepEqual(
        (await repo.list({ caseId: 'case-1' })).map((r) => r.id),
        ['r1:block'],
      );
      assert.deepEqual(
        (await repo.list({ beforeId: 'r2:block' })).map((r) => r.id),
        ['r1:block'],
      );
      assert.equal((await repo.list({ status: 'rolled_back' })).length, 0);
      assert.equal(await repo.get('nope'), undefined);
    });

    test('a rollback starts once: the conditional status change lets one of two concurrent callers win', async () => {
      const repo = t.store.containedActions;
      await repo.insert(action('r3:block'));
      const [a, b] = await Promise.all([
        repo.beginRollback('r3:block', ['active'], { runId: 'undo-a', by: 'alice', reason: 'false positive' }),
        repo.beginRollback('r3:block', ['active'], { runId: 'undo-b', by: 'bob', reason: 'false positive' }),
      ]);
      assert.equal(Number(a) + Number(b), 1, 'exactly one rollback begins');
      const row = await repo.get('r3:block');
      assert.equal(row?.status, 'rolling_back');
      assert.deepEqual(await repo.listRollingBack(), [row]);
      assert.equal((await repo.getByRollbackRun(row?.rollbackRunId as string))?.id, 'r3:block');
      assert.equal(await repo.getByRollbackRun('some-other-run'), undefined);
      const winner = row?.rollbackRunId as string;
      assert.equal(
        await repo.finishRollback('r3:block', winner === 'undo-a' ? 'undo-b' : 'undo-a', { status: 'rolled_back' }),
        false,
        'the loser cannot finish it',
      );
      assert.equal(await repo.finishRollback('r3:block', winner, { status: 'rollback_failed', error: { code: 'policy.denied' } }), true);
      assert.deepEqual((await repo.get('r3:block'))?.rollbackError, { code: 'policy.denied' });
      assert.equal(await repo.beginRollback('r3:block', ['active'], { runId: 'undo-c', by: 'alice', reason: 'again' }), false);
      assert.equal(
        await repo.beginRollback('r3:block', ['active', 'rollback_failed'], { runId: 'undo-c', by: 'alice', reason: 'again' }),
        true,
        'a failed rollback may be tried again',
      );
      assert.equal(await repo.finishRollback('r3:block', 'undo-c', { status: 'rolled_back' }), true);
      assert.equal(await repo.finishRollback('r3:block', 'undo-c', { status: 'rolled_back' }), false, 'finished once');
    });

    test('due rows: active ones whose expiry has passed, oldest first', async () => {
      const repo = t.store.containedActions;
      const now = clock.now();
      await repo.insert(action('r4:block', { expiresAt: now + 60_000 }));
      await repo.insert(action('r5:block', { expiresAt: now - 10 }));
      await repo.insert(action('r6:block', { expiresAt: now - 20 }));
      assert.deepEqual(
        (await repo.listDue(now)).map((r) => r.id),
        ['r6:block', 'r5:block'],
      );
      await repo.beginRollback('r6:block', ['active'], { runId: 'undo-6', by: 'system:expiry', reason: 'expired' });
      assert.deepEqual(
        (await repo.listDue(now + 60_000)).map((r) => r.id),
        ['r5:block', 'r4:block'],
      );
    });
  });
}
