import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';

for (const backend of testBackends()) {
  describe(`hunts repository (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('a run is stored whole and listed newest first; writes are fenced by the lease', async () => {
      const repo = t.store.hunts;
      const view = { id: 'h1', progress: { targeted: 3 }, sightings: [{ host_id: '1', data: 'C:\\Users\\a\\AppData\\x.exe' }] };
      await repo.create('h1', { status: 'running', remediationStatus: 'not_started', view, options: {} }, { owner: 'p1', expiresAt: clock.now() + 1000 });
      clock.advance(1);
      await repo.create('h2', { status: 'completed', remediationStatus: 'not_started', view: { id: 'h2' }, options: {} }, { owner: null, expiresAt: null });
      assert.deepEqual((await repo.get('h1'))?.view, view);
      assert.deepEqual(
        (await repo.list()).map((r) => r.id),
        ['h2', 'h1'],
      );
      assert.equal(
        await repo.update('h1', { status: 'completed', remediationStatus: 'running', view: { id: 'h1', v: 2 } }, 'p2'),
        false,
        'not the lease holder',
      );
      assert.equal(await repo.update('h1', { status: 'completed', remediationStatus: 'running', view: { id: 'h1', v: 2 }, options: { a: 1 } }, 'p1'), true);
      const got = await repo.get('h1');
      assert.deepEqual([got?.status, got?.remediationStatus, got?.view, got?.options], ['completed', 'running', { id: 'h1', v: 2 }, { a: 1 }]);
      assert.equal(await repo.get('nope'), undefined);
    });

    test('one of two processes claims a run; a lapsed lease is taken over; orphans are runs with work left and no live lease', async () => {
      const repo = t.store.hunts;
      const now = clock.now();
      await repo.create('h3', { status: 'completed', remediationStatus: 'waiting_approval', view: {}, options: {} }, { owner: null, expiresAt: null });
      assert.ok((await repo.listOrphaned(now)).some((r) => r.id === 'h3'));
      assert.ok(!(await repo.listOrphaned(now)).some((r) => r.id === 'h2'), 'a finished run is no orphan');
      const [a, b] = await Promise.all([repo.claim('h3', 'pa', now, 1000), repo.claim('h3', 'pb', now, 1000)]);
      assert.equal(Number(a) + Number(b), 1, 'exactly one claims it');
      const winner = a ? 'pa' : 'pb';
      const loser = a ? 'pb' : 'pa';
      assert.ok(!(await repo.listOrphaned(now)).some((r) => r.id === 'h3'), 'a leased run is driven');
      assert.equal(await repo.claim('h3', winner, now, 1000), true, 'the holder may claim again');
      assert.equal(await repo.extendLeases(winner, ['h3'], now + 5000), 1);
      assert.equal(await repo.extendLeases(loser, ['h3'], now + 9000), 0);
      assert.equal(await repo.claim('h3', loser, now + 4000, 1000), false);
      assert.equal(await repo.claim('h3', loser, now + 5001, 1000), true, 'a lapsed lease is taken over');
      assert.equal(await repo.update('h3', { status: 'completed', remediationStatus: 'running', view: {} }, winner), false, 'the old holder is fenced off');
      assert.equal(await repo.releaseLeases(loser), 1);
      assert.equal((await repo.get('h3'))?.leaseOwner, null);
      await repo.claim('h3', 'pc', now, 1000);
      assert.equal(await repo.takeOverAllLeases('pc'), 1, 'h1 was leased by another process');
      assert.equal((await repo.get('h3'))?.leaseOwner, 'pc', 'this process keeps the runs it drives');
      assert.equal(await repo.takeOverAllLeases(), 1);
      assert.equal((await repo.get('h1'))?.leaseOwner, null);
    });

    test('steps: a host command moves from sending to done; an approval is recorded once', async () => {
      const repo = t.store.hunts;
      const step = { huntId: 'h1', key: 'delete:7:HKU\\Run:Updater', kind: 'delete' as const, wave: 0, hostId: '7' };
      await repo.putStep({ ...step, status: 'sending', data: { input: { host_id: 7 } } });
      clock.advance(1);
      await repo.putStep({ ...step, status: 'done', data: { input: { host_id: 7 }, output: { ok: true } } });
      assert.equal(await repo.addStep({ huntId: 'h1', key: 'approve:2:alice', kind: 'approve', wave: 2, hostId: null, status: 'done', data: {} }), true);
      assert.equal(await repo.addStep({ huntId: 'h1', key: 'approve:2:alice', kind: 'approve', wave: 2, hostId: null, status: 'done', data: {} }), false);
      const steps = await repo.steps('h1');
      assert.deepEqual(
        steps.map((s) => [s.key, s.status, s.wave]),
        [
          ['delete:7:HKU\\Run:Updater', 'done', 0],
          ['approve:2:alice', 'done', 2],
        ],
      );
      assert.deepEqual(steps[0]?.data, { input: { host_id: 7 }, output: { ok: true } });
      assert.deepEqual(await repo.steps('h2'), []);
    });
  });
}
