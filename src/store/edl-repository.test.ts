import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../core/index.ts';
import { type TestStore, testBackends } from './testing.ts';

for (const backend of testBackends()) {
  describe(`EDL repository contract (${backend.backend})`, () => {
    let t: TestStore;
    let now = 1_800_000_000_000;
    const clock: Clock = { now: () => now } as Clock;
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    const entry = (value: string, expiresAt: number | null, list = 'riposte-block') => ({
      list,
      value,
      expiresAt,
      caseId: 'case-1',
      runId: 'run-1',
      addedBy: 'playbook:ip-enrichment',
      reason: 'malicious with confidence 93',
    });

    test('adds entries, serves only unexpired ones in value order, and keeps lists apart', async () => {
      const first = await t.store.edl.put(entry('185.220.101.47', now + 60_000));
      assert.equal(first.created, true);
      assert.equal(first.entry.caseId, 'case-1');
      await t.store.edl.put(entry('45.155.205.233', null));
      await t.store.edl.put(entry('91.240.118.172', now - 1));
      await t.store.edl.put(entry('10.9.9.9', null, 'other'));
      assert.deepEqual(
        (await t.store.edl.active('riposte-block', now)).map((e) => e.value),
        ['185.220.101.47', '45.155.205.233'],
      );
      assert.equal((await t.store.edl.entries('riposte-block')).length, 3);
      assert.deepEqual(await t.store.edl.lists(), ['other', 'riposte-block']);
      now += 120_000;
      assert.deepEqual(
        (await t.store.edl.active('riposte-block', now)).map((e) => e.value),
        ['45.155.205.233'],
      );
    });

    test('adding a listed value again refreshes its expiry and keeps the first addition time', async () => {
      const before = await t.store.edl.get('riposte-block', '185.220.101.47');
      assert.ok(before);
      now += 1000;
      const again = await t.store.edl.put({ ...entry('185.220.101.47', now + 3_600_000), runId: 'run-2' });
      assert.equal(again.created, false);
      assert.equal(again.entry.addedAt, before.addedAt);
      assert.equal(again.entry.expiresAt, now + 3_600_000);
      assert.equal(again.entry.runId, 'run-2');
      assert.ok((await t.store.edl.active('riposte-block', now)).some((e) => e.value === '185.220.101.47'));
    });

    test('removes an entry once, and purges expired ones', async () => {
      const removed = await t.store.edl.remove('riposte-block', '45.155.205.233');
      assert.equal(removed?.value, '45.155.205.233');
      assert.equal(await t.store.edl.remove('riposte-block', '45.155.205.233'), undefined);
      assert.equal(await t.store.edl.purgeExpired(now), 1);
      assert.deepEqual(
        (await t.store.edl.entries('riposte-block')).map((e) => e.value),
        ['185.220.101.47'],
      );
    });
  });
}
