import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_TAXII_COLLECTION_ID } from './migrations/0700-intel-objects.ts';
import type { IntelObjectInput } from './repositories/intel.ts';
import { type TestStore, testBackends } from './testing.ts';

const ID_A = 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f';
const ID_B = 'indicator--1d6b5f02-9a5e-4b5a-8a5f-7f3f5c2f6b10';

function object(id: string, version: string, extra: Partial<IntelObjectInput> = {}): IntelObjectInput {
  return {
    id,
    type: id.split('--')[0] as string,
    specVersion: '2.1',
    version,
    versionUs: Date.parse(version) * 1000,
    raw: { type: id.split('--')[0], id, spec_version: '2.1', modified: version, x_custom: { kept: true } },
    confidence: 80,
    tlp: 'green',
    validFrom: Date.parse(version),
    validUntil: null,
    revoked: false,
    ...extra,
  };
}

for (const backend of testBackends()) {
  describe(`intel repository contract (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('a fresh store has the default collection readable by intel:read and writable by intel:write', async () => {
      const collections = await t.store.intel.listCollections('default');
      assert.deepEqual(
        collections.map((c) => [c.id, c.readAccess, c.writeAccess]),
        [[DEFAULT_TAXII_COLLECTION_ID, ['intel:read'], ['intel:write']]],
      );
      await t.store.intel.putCollection({
        id: 'c2',
        apiRoot: 'partners',
        title: 'Partners',
        description: null,
        alias: null,
        readAccess: ['analyst'],
        writeAccess: [],
      });
      assert.equal((await t.store.intel.getCollection('c2'))?.apiRoot, 'partners');
      assert.equal((await t.store.intel.listCollections('default')).length, 1);
    });

    test('adds versions with strictly increasing date_added, keeps raw JSON, and ignores a version already held', async () => {
      const c = 'versions';
      const first = await t.store.intel.addObjects(c, [object(ID_A, '2026-01-01T00:00:00.000Z'), object(ID_B, '2026-01-02T00:00:00.000Z')]);
      const second = await t.store.intel.addObjects(c, [object(ID_A, '2026-02-01T00:00:00.000Z'), object(ID_A, '2026-01-01T00:00:00.000Z')]);
      assert.deepEqual(
        [...first, ...second].map((r) => r.outcome),
        ['added', 'added', 'added', 'duplicate'],
      );
      assert.ok((second[0]?.dateAddedUs ?? 0) > (first[1]?.dateAddedUs ?? 0) && (first[1]?.dateAddedUs ?? 0) > (first[0]?.dateAddedUs ?? 0));

      const last = await t.store.intel.queryObjects({ collection: c, limit: 10 });
      assert.deepEqual(
        last.objects.map((o) => [o.id, o.version]),
        [
          [ID_B, '2026-01-02T00:00:00.000Z'],
          [ID_A, '2026-02-01T00:00:00.000Z'],
        ],
      );
      assert.deepEqual(last.objects[0]?.raw.x_custom, { kept: true });
      assert.equal(last.more, false);

      const all = await t.store.intel.queryObjects({ collection: c, versions: ['all'], limit: 2 });
      assert.equal(all.objects.length, 2);
      assert.equal(all.more, true);
      const rest = await t.store.intel.queryObjects({ collection: c, versions: ['all'], limit: 2, addedAfterUs: all.objects[1]?.dateAddedUs as number });
      assert.deepEqual(
        rest.objects.map((o) => o.version),
        ['2026-02-01T00:00:00.000Z'],
      );
      assert.equal(rest.more, false);

      const firstVersions = await t.store.intel.queryObjects({ collection: c, versions: ['first'], ids: [ID_A], limit: 10 });
      assert.deepEqual(
        firstVersions.objects.map((o) => o.version),
        ['2026-01-01T00:00:00.000Z'],
      );
      const exact = await t.store.intel.queryObjects({ collection: c, versions: [Date.parse('2026-01-02T00:00:00.000Z') * 1000], limit: 10 });
      assert.deepEqual(
        exact.objects.map((o) => o.id),
        [ID_B],
      );
      assert.equal((await t.store.intel.queryObjects({ collection: c, types: ['malware'], limit: 10 })).objects.length, 0);
      assert.equal((await t.store.intel.queryObjects({ collection: c, specVersions: ['2.0'], limit: 10 })).objects.length, 0);
      assert.equal(await t.store.intel.countObjects(c), 3);
    });

    test('an object without modified/created (an SCO) is added once, however often it is re-sent', async () => {
      const sco = (at: string) =>
        object('ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4', at, { unversioned: true, confidence: null, tlp: null, validFrom: null });
      const first = await t.store.intel.addObjects('scos', [sco('2026-01-01T00:00:00.000000Z')]);
      const again = await t.store.intel.addObjects('scos', [sco('2026-01-02T00:00:00.000000Z')]);
      assert.deepEqual(
        [...first, ...again].map((r) => r.outcome),
        ['added', 'duplicate'],
      );
    });

    test('without match[spec_version] only the newest spec version of an object is served', async () => {
      const c = 'specs';
      await t.store.intel.addObjects(c, [
        object(ID_A, '2026-01-01T00:00:00.000Z', { specVersion: '2.0' }),
        object(ID_A, '2026-01-05T00:00:00.000Z', { specVersion: '2.1' }),
      ]);
      const latest = await t.store.intel.queryObjects({ collection: c, versions: ['all'], limit: 10 });
      assert.deepEqual(
        latest.objects.map((o) => o.specVersion),
        ['2.1'],
      );
      const old = await t.store.intel.queryObjects({ collection: c, specVersions: ['2.0'], limit: 10 });
      assert.deepEqual(
        old.objects.map((o) => o.version),
        ['2026-01-01T00:00:00.000Z'],
      );
    });

    test('deletes all versions by default, or only the matched ones', async () => {
      const c = 'deletes';
      await t.store.intel.addObjects(c, [
        object(ID_A, '2026-01-01T00:00:00.000Z'),
        object(ID_A, '2026-01-02T00:00:00.000Z'),
        object(ID_B, '2026-01-03T00:00:00.000Z'),
      ]);
      assert.equal(await t.store.intel.deleteObject(c, ID_A, { versions: ['last'] }), 1);
      // With its last version gone, the one before it is what a default query serves.
      const served = await t.store.intel.queryObjects({ collection: c, ids: [ID_A], limit: 10 });
      assert.deepEqual(
        served.objects.map((o) => o.version),
        ['2026-01-01T00:00:00.000Z'],
      );
      await t.store.intel.addObjects(c, [object(ID_A, '2026-01-02T00:00:00.000Z')]);
      assert.equal(await t.store.intel.deleteObject(c, ID_A, { versions: ['first'] }), 1);
      assert.equal(await t.store.intel.deleteObject(c, ID_A), 1);
      assert.equal(await t.store.intel.deleteObject(c, ID_A), 0);
      assert.equal(await t.store.intel.countObjects(c), 1);
    });

    test('scans indicators across collections for loading an index', async () => {
      const rows = await t.store.intel.scanObjects({ types: ['indicator'], limit: 1000 });
      assert.ok(rows.length >= 5);
      for (let i = 1; i < rows.length; i++) assert.ok((rows[i]?.dateAddedUs as number) > (rows[i - 1]?.dateAddedUs as number));
      const after = await t.store.intel.scanObjects({ types: ['indicator'], afterUs: rows[rows.length - 2]?.dateAddedUs as number, limit: 1000 });
      assert.equal(after.length, 1);
    });

    test('statuses and sightings persist', async () => {
      await t.store.intel.putStatus({ id: 's1', apiRoot: 'default', owner: 'u1', body: { status: 'complete', total_count: 1 } });
      assert.deepEqual((await t.store.intel.getStatus('s1'))?.body, { status: 'complete', total_count: 1 });
      assert.equal(await t.store.intel.getStatus('s2'), undefined);
      await t.store.intel.recordSighting(ID_A, 2000);
      await t.store.intel.recordSighting(ID_A, 1000, 2);
      const tally = await t.store.intel.recordSighting(ID_A, 3000);
      assert.deepEqual(tally, { indicatorId: ID_A, count: 4, firstSeen: 1000, lastSeen: 3000 });
    });
  });
}
