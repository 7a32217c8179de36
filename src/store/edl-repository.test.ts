import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../core/index.ts';
import { executeRaw, type TestStore, testBackends } from './testing.ts';

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

    test('a later block never shortens an earlier one, and the entry remembers which action first listed it', async () => {
      const first = await t.store.edl.put({ ...entry('198.51.100.77', now + 7_200_000), createdByKey: 'run-1:block' });
      assert.equal(first.entry.createdByKey, 'run-1:block');
      const shorter = await t.store.edl.put({ ...entry('198.51.100.77', now + 60_000), runId: 'run-3', createdByKey: 'run-3:block' });
      assert.equal(shorter.entry.expiresAt, now + 7_200_000);
      assert.equal(shorter.previous?.createdByKey, 'run-1:block');
      assert.equal(shorter.entry.createdByKey, 'run-1:block', 'a refresh does not take over the entry');
      const forever = await t.store.edl.put(entry('198.51.100.77', null));
      assert.equal(forever.entry.expiresAt, null);
      assert.equal((await t.store.edl.put(entry('198.51.100.77', now + 1))).entry.expiresAt, null);
    });

    test("a list's type is fixed once: the first to fix it wins, later callers learn it", async () => {
      assert.equal(await t.store.edl.listType('proxy-urls'), undefined);
      assert.deepEqual(await Promise.all([t.store.edl.fixListType('proxy-urls', 'url'), t.store.edl.fixListType('proxy-urls', 'url')]), ['url', 'url']);
      assert.equal(await t.store.edl.fixListType('proxy-urls', 'domain'), 'url');
      assert.equal(await t.store.edl.listType('proxy-urls'), 'url');
    });
  });

  describe(`EDL list types migration (${backend.backend})`, () => {
    test('old lists become ip lists; the phishing.blocklist setting nothing enforced moves onto the served url and sender lists', async () => {
      const t = await backend.open();
      try {
        await executeRaw(t, [
          'drop table run_idempotency_keys',
          'drop table edl_lists',
          'alter table edl_entries drop column created_by_key',
          "delete from riposte_migration where name in ('0920-edl-list-types', '0921-run-idempotency-keys')",
          "insert into edl_entries (list, value, expires_at, case_id, run_id, added_by, reason, added_at, updated_at) values ('fw-old', '203.0.113.1', null, null, null, 'olga', null, 1, 1)",
          `insert into settings (key, value, updated_at) values ('phishing.blocklist', '{"senders":["Bad@Evil.example","junk"],"urls":["https://Evil.example/login#x","not a url"]}', 1)`,
        ]);
        assert.deepEqual(await t.store.migrate(), ['0920-edl-list-types', '0921-run-idempotency-keys']);
        assert.equal(await t.store.edl.listType('fw-old'), 'ip');
        assert.equal(await t.store.edl.listType('riposte-urls'), 'url');
        assert.equal(await t.store.edl.listType('riposte-senders'), 'sender');
        const now = Date.now();
        assert.deepEqual(
          (await t.store.edl.active('riposte-urls', now)).map((e) => e.value),
          ['evil.example/login'],
        );
        const senders = await t.store.edl.active('riposte-senders', now);
        assert.deepEqual(
          senders.map((e) => e.value),
          ['bad@evil.example'],
        );
        // Old blocks had no end; moved ones get the 30 days a fresh phishing block gets.
        const days = ((senders[0]?.expiresAt ?? 0) - now) / 86_400_000;
        assert.ok(days > 29.9 && days <= 30, String(days));
        assert.equal(await t.store.settings.get('phishing.blocklist'), undefined);
      } finally {
        await t.dispose();
      }
    });
  });
}
