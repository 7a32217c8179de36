import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestStore, testBackends } from '../../store/testing.ts';
import { formatMicros, IndicatorStore, stixTimestampMicros, storedObjectOf } from './indicator-store.ts';

const NOW = Date.parse('2026-03-01T00:00:00Z');
const clock = { now: () => NOW };

function indicator(n: number, pattern: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    created: '2026-02-01T00:00:00.000Z',
    modified: '2026-02-01T00:00:00.000Z',
    pattern,
    pattern_type: 'stix',
    valid_from: '2026-02-01T00:00:00Z',
    ...extra,
  };
}

test('timestamps keep microseconds both ways', () => {
  const us = stixTimestampMicros('2026-02-01T10:11:12.123456Z') as number;
  assert.equal(formatMicros(us), '2026-02-01T10:11:12.123456Z');
  assert.equal(formatMicros(stixTimestampMicros('2026-02-01T10:11:12Z') as number), '2026-02-01T10:11:12.000000Z');
});

test('a stored row takes its version from modified, else created, else the add time', () => {
  const sco = storedObjectOf({ type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '198.51.100.3' }, 1_700_000_000_000_000);
  assert.equal(sco.version, '2023-11-14T22:13:20.000000Z');
  assert.equal(sco.specVersion, '2.1');
  const ind = storedObjectOf(indicator(1, "[ipv4-addr:value = '1.2.3.4']", { modified: '2026-02-03T00:00:00.5Z', confidence: 70 }), 0, { tlp: 'amber' });
  assert.equal(ind.version, '2026-02-03T00:00:00.5Z');
  assert.equal(ind.confidence, 70);
  assert.equal(ind.tlp, 'amber');
});

for (const backend of testBackends()) {
  describe(`indicator store (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('ingests into the store and the index, reloads after a restart, and keeps sightings', async () => {
      const first = new IndicatorStore({ store: t.store, clock });
      const result = await first.ingest(
        'feed',
        [
          indicator(1, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"),
          indicator(2, "[domain-name:value = 'evil.example']"),
          indicator(3, "[process:name = 'x.exe' AND process:pid = 4]"),
          { ...indicator(4, 'alert tcp any any', { pattern_type: 'snort' }) },
          {
            type: 'malware',
            spec_version: '2.1',
            id: 'malware--00000000-0000-4000-8000-000000000009',
            created: '2026-01-01T00:00:00Z',
            modified: '2026-01-01T00:00:00Z',
            name: 'x',
            is_family: false,
          },
        ],
        { confidence: 60, tlp: 'green' },
      );
      assert.equal(result.added, 5);
      assert.equal(result.indexed, 3);
      assert.deepEqual(
        result.notIndexed.map((n) => n.id),
        [indicator(4, '').id],
      );
      const hit = first.index.lookupIp('203.0.113.9')[0];
      assert.equal(hit?.confidence, 60);
      assert.equal(hit?.tlp, 'green');
      assert.equal((await first.ingest('feed', [indicator(1, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']")])).duplicates, 1);
      await first.recordSighting(indicator(2, '').id, NOW - 10);
      await first.recordSighting(indicator(2, '').id, NOW);

      // A newer revoked version stops the indicator from matching.
      await first.ingest('feed', [indicator(2, "[domain-name:value = 'evil.example']", { modified: '2026-02-02T00:00:00.000Z', revoked: true })]);
      assert.equal(first.index.lookupDomain('a.evil.example').length, 0);

      const restarted = new IndicatorStore({ store: t.store, clock });
      assert.equal(await restarted.load(2), 3);
      assert.equal(restarted.index.lookupIp('203.0.113.200').length, 1);
      assert.equal(restarted.index.lookupDomain('evil.example').length, 0);
      assert.deepEqual(await t.store.intel.getSighting(indicator(2, '').id), {
        indicatorId: indicator(2, '').id,
        count: 2,
        firstSeen: NOW - 10,
        lastSeen: NOW,
      });
    });
  });
}
