import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { collectObservations, parsePattern } from '../stix/index.ts';
import { extractAtomicKeys } from './atomic-extraction.ts';
import { IndicatorIndex } from './indicator-index.ts';
import { normaliseUrl } from './normalise.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
let n = 0;
function indicator(pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${++n}`,
    pattern,
    pattern_type: 'stix',
    valid_from: '2025-12-01T00:00:00Z',
    confidence: 80,
    ...extra,
  };
}

describe('atomic extraction', () => {
  const atomic = (p: string) => extractAtomicKeys(parsePattern(p))?.map((k) => k.kind);
  test('simple equality, IN, OR of atomics and ISSUBSET are atomic', () => {
    assert.deepEqual(atomic("[ipv4-addr:value = '198.51.100.1']"), ['ip']);
    assert.deepEqual(atomic("[ipv4-addr:value ISSUBSET '198.51.100.0/24']"), ['ip']);
    assert.deepEqual(atomic("[domain-name:value = 'evil.example']"), ['domain']);
    assert.deepEqual(atomic("[url:value = 'http://evil.example/x']"), ['url']);
    assert.deepEqual(
      atomic(
        "[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR file:hashes.MD5 IN ('79054025255fb1a26e4bc422aef54eb4', 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee')]",
      ),
      ['hash', 'hash', 'hash'],
    );
  });
  test('anything else goes to the matcher', () => {
    assert.equal(atomic("[ipv4-addr:value = '10.0.0.0/8']"), undefined, '= with a CIDR is string equality');
    assert.equal(atomic("[ipv4-addr:value != '1.2.3.4']"), undefined);
    assert.equal(atomic("[file:name = 'x' AND file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']"), undefined);
    assert.equal(atomic("[domain-name:value = 'a'] AND [domain-name:value = 'b']"), undefined);
    assert.equal(atomic("[domain-name:value = 'a'] WITHIN 5 SECONDS"), undefined);
    assert.equal(atomic("[domain-name:value LIKE '%.evil']"), undefined);
  });
});

describe('indicator index', () => {
  test('IP lookups: exact, CIDR containment (v4 and v6), misses', () => {
    const index = new IndicatorIndex({ clock: new ManualClock(NOW) });
    index.add(indicator("[ipv4-addr:value = '198.51.100.7']", { id: 'indicator--exact' }));
    index.add(indicator("[ipv4-addr:value ISSUBSET '198.51.0.0/16']", { id: 'indicator--net' }));
    index.add(indicator("[ipv4-addr:value ISSUBSET '0.0.0.0/0']", { id: 'indicator--all', confidence: 5 }));
    index.add(indicator("[ipv6-addr:value ISSUBSET '2001:db8::/32']", { id: 'indicator--v6' }));
    assert.deepEqual(
      index.lookupIp('198.51.100.7').map((h) => [h.indicatorId, h.match, h.key]),
      [
        ['indicator--exact', 'exact', '198.51.100.7'],
        ['indicator--net', 'network', '198.51.0.0/16'],
        ['indicator--all', 'network', '0.0.0.0/0'],
      ],
    );
    assert.deepEqual(
      index.lookupIp('203.0.113.1').map((h) => h.indicatorId),
      ['indicator--all'],
    );
    assert.deepEqual(
      index.lookupIp('2001:db8:0:1::5').map((h) => h.indicatorId),
      ['indicator--v6'],
    );
    assert.deepEqual(
      index.lookupIp('198.51.7.0/24').map((h) => h.indicatorId),
      ['indicator--net', 'indicator--all'],
    );
    assert.deepEqual(index.lookupIp('not an ip'), []);
  });
  test('domains match exactly and through parents; URLs normalised; hashes case-insensitive by algorithm', () => {
    const index = new IndicatorIndex({ clock: new ManualClock(NOW) });
    index.add(indicator("[domain-name:value = 'Evil.Example.']", { id: 'indicator--d' }));
    index.add(indicator("[url:value = 'HTTP://Evil.Example:80/a%7Eb?q=1#frag']", { id: 'indicator--u' }));
    index.add(indicator("[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F']", { id: 'indicator--h' }));
    assert.deepEqual(
      index.lookupDomain('evil.example').map((h) => h.match),
      ['exact'],
    );
    assert.deepEqual(
      index.lookupDomain('a.b.EVIL.example').map((h) => h.match),
      ['parent-domain'],
    );
    assert.deepEqual(index.lookupDomain('a.evil.example', { includeParents: false }), []);
    assert.deepEqual(index.lookupDomain('notevil.example'), []);
    assert.deepEqual(
      index.lookupUrl('http://evil.example/a~b?q=1').map((h) => h.indicatorId),
      ['indicator--u'],
    );
    assert.deepEqual(
      index.lookupHash('sha256', 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f').map((h) => h.indicatorId),
      ['indicator--h'],
    );
    assert.equal(normaliseUrl('https://x.example:443'), 'https://x.example/');
  });
  test('validity window, revocation and newer versions', () => {
    const clock = new ManualClock(NOW);
    const index = new IndicatorIndex({ clock });
    index.add(indicator("[ipv4-addr:value = '192.0.2.1']", { id: 'indicator--v', valid_until: '2026-01-02T00:00:00Z', modified: '2025-12-01T00:00:00.000Z' }));
    index.add(indicator("[ipv4-addr:value = '192.0.2.2']", { id: 'indicator--future', valid_from: '2026-06-01T00:00:00Z' }));
    assert.equal(index.lookupIp('192.0.2.1').length, 1);
    assert.equal(index.lookupIp('192.0.2.2').length, 0, 'not yet valid');
    clock.advance(86_400_000);
    assert.equal(index.lookupIp('192.0.2.1').length, 0, 'valid_until is exclusive');
    clock.set(NOW);
    assert.equal(
      index.add(indicator("[ipv4-addr:value = '192.0.2.9']", { id: 'indicator--v', modified: '2025-11-01T00:00:00.000Z' })),
      'ignored',
      'older version',
    );
    assert.equal(index.add(indicator("[ipv4-addr:value = '192.0.2.9']", { id: 'indicator--v', modified: '2025-12-15T00:00:00.000Z' })), 'atomic');
    assert.equal(index.lookupIp('192.0.2.1').length, 0, 'the replaced version no longer matches');
    assert.equal(index.lookupIp('192.0.2.9').length, 1);
    assert.equal(index.revoke('indicator--v'), true);
    assert.equal(index.lookupIp('192.0.2.9').length, 0);
    index.add(indicator("[ipv4-addr:value = '192.0.2.3']", { revoked: true }));
    assert.equal(index.lookupIp('192.0.2.3').length, 0);
  });
  test('decay halves confidence every half-life; hashes never decay', () => {
    const clock = new ManualClock(Date.parse('2025-12-01T00:00:00Z'));
    const index = new IndicatorIndex({ clock });
    index.add(indicator("[ipv4-addr:value = '192.0.2.1']", { confidence: 80 }));
    index.add(indicator("[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']", { confidence: 80 }));
    assert.equal(index.lookupIp('192.0.2.1')[0]?.score, 80);
    clock.advance(30 * 86_400_000);
    assert.equal(Math.round(index.lookupIp('192.0.2.1')[0]?.score ?? 0), 40);
    assert.equal(index.lookupHash('MD5', '79054025255FB1A26E4BC422AEF54EB4')[0]?.score, 80);
  });
  test('TLP from the marking refs', () => {
    const index = new IndicatorIndex({ clock: new ManualClock(NOW) });
    index.add(indicator("[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: ['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'] }));
    assert.equal(index.lookupIp('192.0.2.1')[0]?.tlp, 'amber');
  });
  test('matchObservations: atomic through the maps, complex through the matcher, each indicator once', () => {
    const index = new IndicatorIndex({ clock: new ManualClock(NOW) });
    index.add(indicator("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", { id: 'indicator--net' }));
    index.add(indicator("[domain-name:value = 'example.com']", { id: 'indicator--parent' }));
    assert.equal(index.add(indicator("[file:name = 'a.exe' AND file:size > 10]", { id: 'indicator--complex' })), 'pattern');
    const observations = collectObservations([
      {
        type: 'observed-data',
        id: 'observed-data--1',
        first_observed: '2026-01-01T00:00:00Z',
        last_observed: '2026-01-01T00:00:00Z',
        number_observed: 1,
        object_refs: ['ipv4-addr--1', 'file--1', 'domain-name--1', 'ipv4-addr--2'],
      },
      { type: 'ipv4-addr', id: 'ipv4-addr--1', value: '198.51.100.7' },
      { type: 'ipv4-addr', id: 'ipv4-addr--2', value: '198.51.100.8' },
      { type: 'domain-name', id: 'domain-name--1', value: 'www.example.com' },
      { type: 'file', id: 'file--1', name: 'a.exe', size: 11 },
    ]);
    assert.deepEqual(
      index.matchObservations(observations).map((h) => [h.indicatorId, h.match]),
      [
        ['indicator--net', 'network'],
        ['indicator--complex', 'pattern'],
      ],
    );
    assert.deepEqual(index.recordSighting('indicator--net', NOW), { count: 1, firstSeen: NOW, lastSeen: NOW });
  });
  test('bad indicators are refused naming the field', () => {
    const index = new IndicatorIndex();
    assert.throws(() => index.add(indicator('[a:b = 1]', { valid_from: 'soon' })), /valid_from/);
    assert.throws(() => index.add(indicator('[a:b = 1]', { confidence: 300 })), /confidence/);
    assert.throws(() => index.add(indicator('[a:b = ')), /pattern/);
  });
});

test('an indicator listing thousands of IPs with OR is served atomically', () => {
  const index = new IndicatorIndex({ clock: new ManualClock(NOW) });
  const pattern = `[${Array.from({ length: 10_000 }, (_, i) => `ipv4-addr:value = '172.16.${(i >> 8) & 255}.${i & 255}'`).join(' OR ')}]`;
  assert.equal(index.add(indicator(pattern, { id: 'indicator--list' })), 'atomic');
  assert.deepEqual(
    index.lookupIp('172.16.39.15').map((h) => h.indicatorId),
    ['indicator--list'],
  );
});
