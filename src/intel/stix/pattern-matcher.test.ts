import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRiposteError } from '../../core/index.ts';
import { collectObservations, type StixRecord } from './observations.ts';
import { compilePattern } from './pattern-matcher.ts';

let counter = 0;
/** A STIX 2.1 observed-data with its SCOs (ids assigned), as an input list for collectObservations. */
function observed(objects: StixRecord[], at = '2020-01-01T00:00:00Z', options: { last?: string; count?: number } = {}): StixRecord[] {
  const withIds = objects.map((o) => ({ id: `${o.type}--${++counter}`, ...o }));
  return [
    {
      type: 'observed-data',
      id: `observed-data--${++counter}`,
      first_observed: at,
      last_observed: options.last ?? at,
      number_observed: options.count ?? 1,
      object_refs: withIds.map((o) => o.id as string),
    },
    ...withIds,
  ];
}

function matches(pattern: string, ...observationInputs: StixRecord[][]): boolean {
  return compilePattern(pattern).matches(collectObservations(observationInputs.flat()));
}

describe('comparison operators', () => {
  const file = observed([
    {
      type: 'file',
      name: 'report.pdf',
      size: 2048,
      hashes: { 'SHA-256': 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f', MD5: '79054025255fb1a26e4bc422aef54eb4' },
      created: '2014-01-13T07:03:17.000Z',
      magic_number_hex: 'ffd8',
      x_tags: ['a', 'b'],
      is_encrypted: false,
    },
  ]);
  const cases: Array<[string, boolean]> = [
    ["[file:name = 'report.pdf']", true],
    ["[file:name = 'REPORT.pdf']", false],
    ["[file:name != 'other.pdf']", true],
    ["[file:name NOT = 'report.pdf']", false],
    ["[file:name NOT != 'report.pdf']", true],
    ['[file:size = 2048]', true],
    ['[file:size = 2048.0]', true],
    ["[file:size = '2048']", false],
    ["[file:size NOT = '2048']", true],
    ["[file:size != 'world']", true],
    ['[file:size != true]', true],
    ["[file:size > h'0102']", false],
    ["[file:size NOT LIKE 'he%']", true],
    ["[file:size NOT ISSUBSET '10.0.0.0/8']", true],
    ['[file:size NOT IN ()]', true],
    ['[file:size IN ()]', false],
    ['[file:size IN (1, 2048.0)]', true],
    ["[file:missing != 'x']", false],
    ['[file:size > 1024 AND file:size <= 2048]', true],
    ['[file:size < 2048]', false],
    ['[file:size >= 2049]', false],
    ['[file:size NOT > 4096]', true],
    ["[file:name > 'a' AND file:name < 'z']", true],
    ['[file:size IN (1, 2048, 3)]', true],
    ['[file:size NOT IN (1, 2048, 3)]', false],
    ["[file:size IN ('2048')]", false],
    ["[file:name LIKE 'rep%.pdf']", true],
    ["[file:name LIKE 'rep_rt.pdf']", true],
    ["[file:name LIKE 'rep_.pdf']", false],
    ["[file:name LIKE 'report.p.f']", false],
    ["[file:name NOT LIKE '%.exe']", true],
    ["[file:name MATCHES '^rep.+\\\\.pdf$']", true],
    ["[file:name MATCHES 'port']", true],
    ["[file:name MATCHES '(?i)^REPORT']", true],
    ["[file:name MATCHES '^REPORT']", false],
    ["[file:name NOT MATCHES '^x']", true],
    ["[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", true],
    ["[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4' OR file:hashes.'SHA-1' = '0000000000000000000000000000000000000000']", true],
    ['[EXISTS file:hashes.MD5]', true],
    ["[EXISTS file:hashes.'SHA-512']", false],
    ['[NOT EXISTS file:hashes.SHA512 AND file:size = 2048]', true],
    ["[file:created = t'2014-01-13T07:03:17Z']", true],
    ["[file:created > t'2014-01-13T07:03:16.999Z']", true],
    ["[file:magic_number_hex = h'ffd8']", true],
    ["[file:magic_number_hex = h'ffd9']", false],
    ["[file:x_tags[*] = 'b']", true],
    ["[file:x_tags[0] = 'b']", false],
    ["[file:x_tags[-1] = 'b']", true],
    ["[file:x_tags[*] != 'a']", true],
    ["[file:x_tags = 'a']", false],
    ['[file:is_encrypted = false]', true],
    ['[file:is_encrypted = true]', false],
    ["[file:name = 'report.pdf' AND file:size = 1]", false],
    ["[file:name = 'nope' OR file:size = 2048]", true],
  ];
  for (const [pattern, expected] of cases) {
    test(`${pattern} → ${expected}`, () => assert.equal(matches(pattern, file), expected));
  }
});

describe('semantics', () => {
  test('strings compare after Unicode NFC normalisation', () => {
    const composed = observed([{ type: 'file', name: 'caf\u00e9.txt' }]);
    assert.equal(matches("[file:name = 'cafe\u0301.txt']", composed), true);
    assert.equal(matches("[file:name LIKE 'caf_.txt']", observed([{ type: 'file', name: 'cafe\u0301.txt' }])), true);
  });
  test('binary and hex: _bin properties are base64, _hex properties hex, other strings their Latin-1 bytes', () => {
    const o = observed([
      { type: 'x-bin', name: 'alice', name_u: '\u0103lice', name_hex: '616c696365', name_bin: 'YWxpY2U=', payload_bin: 'dGhpcyBpcyBhIHRlc3Q=' },
    ]);
    const cases: Array<[string, boolean]> = [
      ["[x-bin:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']", true],
      ["[x-bin:name = h'616c696365']", true],
      ["[x-bin:name = b'YWxpY2U=']", true],
      ["[x-bin:name_bin = h'616c696365']", true],
      ["[x-bin:name_bin = 'alice']", true],
      ["[x-bin:name_hex = b'YWxpY2U=']", true],
      ["[x-bin:name_hex > 'aardvark']", true],
      ["[x-bin:name_bin > h'616172647661726b']", true],
      ["[x-bin:name_hex MATCHES '\\\\x61li[c\\\\x01]e']", true],
      ["[x-bin:name_bin LIKE '%lic%']", true],
      ["[x-bin:name_bin = '\u0103lice']", false],
      ["[x-bin:name_bin < '\u0103lice']", false],
      ["[x-bin:name_u = h'616c696365']", false],
      ["[x-bin:name_u < h'616c696365']", false],
      ["[x-bin:name_u > h'616c696365']", false],
    ];
    for (const [pattern, expected] of cases) assert.equal(matches(pattern, o), expected, pattern);
  });
  test('timestamps compare exactly, beyond the millisecond; a malformed observed timestamp is an error', () => {
    const o = observed([{ type: 'event', ts: '2010-05-21T13:21:43.123456789Z', bad: '2010-05-21T13:21:43' }]);
    assert.equal(matches("[event:ts = t'2010-05-21T13:21:43.123456789Z']", o), true);
    assert.equal(matches("[event:ts = t'2010-05-21T13:21:43.123456788Z']", o), false);
    assert.equal(matches("[event:ts > t'2010-05-21T13:21:43.1234567Z']", o), true);
    assert.throws(
      () => matches("[event:bad = t'2010-05-21T13:21:43Z']", o),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.match_invalid_timestamp',
    );
  });
  test('null values: only != holds', () => {
    const o = observed([{ type: 'x-null', name: null }]);
    assert.equal(matches("[x-null:name != 'alice']", o), true);
    for (const p of [
      "[x-null:name = 'alice']",
      "[x-null:name > 'alice']",
      "[x-null:name LIKE 'a%']",
      "[x-null:name MATCHES 'a']",
      "[x-null:name IN ('alice')]",
      "[x-null:name ISSUBSET '10.0.0.0/8']",
    ]) {
      assert.equal(matches(p, o), false, p);
    }
  });
  test('IN sets must hold one type (ints and floats are one)', () => {
    assert.throws(() => compilePattern('[a:b IN (1, true)]'), /one type/);
    assert.doesNotThrow(() => compilePattern('[a:b IN (1, 2.5)]'));
  });
  test('ISSUBSET / ISSUPERSET are CIDR containment for IPv4 and IPv6', () => {
    const v4 = observed([{ type: 'ipv4-addr', value: '198.51.100.7' }]);
    assert.equal(matches("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", v4), true);
    assert.equal(matches("[ipv4-addr:value ISSUBSET '198.51.101.0/24']", v4), false);
    assert.equal(matches("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", v4), true);
    const net = observed([{ type: 'ipv4-addr', value: '198.51.100.0/24' }]);
    assert.equal(matches("[ipv4-addr:value ISSUPERSET '198.51.100.128/25']", net), true);
    assert.equal(matches("[ipv4-addr:value ISSUPERSET '198.51.0.0/16']", net), false);
    const v6 = observed([{ type: 'ipv6-addr', value: '2001:db8::1' }]);
    assert.equal(matches("[ipv6-addr:value ISSUBSET '2001:0db8:0000::/32']", v6), true);
    assert.equal(matches("[ipv6-addr:value ISSUBSET '2001:db9::/32']", v6), false);
  });
  test('_ref and _refs dereference to the referenced SCO', () => {
    const ip = { type: 'ipv4-addr', id: 'ipv4-addr--dst', value: '203.0.113.33' };
    const domain = { type: 'domain-name', id: 'domain-name--d', value: 'www.5z8.info', resolves_to_refs: ['ipv4-addr--dst'] };
    const traffic = { type: 'network-traffic', id: 'network-traffic--t', dst_ref: 'ipv4-addr--dst', protocols: ['tcp'] };
    const input = [
      {
        type: 'observed-data',
        id: 'observed-data--x',
        first_observed: '2020-01-01T00:00:00Z',
        last_observed: '2020-01-01T00:00:00Z',
        number_observed: 1,
        object_refs: ['network-traffic--t', 'domain-name--d'],
      },
      ip,
      domain,
      traffic,
    ];
    const observations = collectObservations(input);
    assert.equal(compilePattern("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33']").matches(observations), true);
    assert.equal(compilePattern("[network-traffic:dst_ref = 'ipv4-addr--dst']").matches(observations), true);
    assert.equal(compilePattern("[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '203.0.113.33']").matches(observations), true);
    assert.equal(compilePattern("[domain-name:resolves_to_refs[*].value = '203.0.113.34']").matches(observations), false);
  });
  test('AND on one object type binds to the same object; OR does not', () => {
    const two = observed([
      { type: 'file', name: 'a.exe', size: 1 },
      { type: 'file', name: 'b.exe', size: 2 },
    ]);
    assert.equal(matches("[file:name = 'a.exe' AND file:size = 2]", two), false);
    assert.equal(matches("[file:name = 'a.exe' AND file:size = 1]", two), true);
    assert.equal(matches("[file:name = 'a.exe' OR file:size = 2]", two), true);
  });
  test('AND across two object types selects no object; OR across types selects either', () => {
    const mixed = observed([
      { type: 'file', name: 'a.exe' },
      { type: 'ipv4-addr', value: '10.0.0.1' },
    ]);
    assert.equal(matches("[file:name = 'a.exe' AND ipv4-addr:value = '10.0.0.1']", mixed), false);
    assert.equal(matches("[file:name = 'a.exe' OR ipv4-addr:value = '10.9.9.9']", mixed), true);
    assert.equal(matches("[(file:name = 'a.exe' OR ipv4-addr:value = '10.0.0.1') AND file:name = 'a.exe']", mixed), true);
  });
  test('custom object types and custom properties', () => {
    assert.equal(matches("[x-usb-device:usbdrive.serial_number = '5758']", observed([{ type: 'x-usb-device', usbdrive: { serial_number: '5758' } }])), true);
    assert.equal(matches('[anything:x_custom_prop = 1]', observed([{ type: 'anything', x_custom_prop: 1 }])), true);
  });
  test('STIX 2.0 observed-data with embedded objects and key references', () => {
    const input = [
      {
        type: 'observed-data',
        id: 'observed-data--1',
        first_observed: '2020-01-01T00:00:00Z',
        last_observed: '2020-01-01T00:00:00Z',
        number_observed: 1,
        objects: { '0': { type: 'ipv4-addr', value: '198.51.100.3' }, '1': { type: 'network-traffic', dst_ref: '0', protocols: ['tcp'] } },
      },
    ];
    const observations = collectObservations(input, { stixVersion: '2.0' });
    assert.equal(compilePattern("[network-traffic:dst_ref.value = '198.51.100.3']", { stixVersion: '2.0' }).matches(observations), true);
    assert.equal(
      compilePattern("[network-traffic:dst_ref.value = '198.51.100.3']").matches(collectObservations(input)),
      true,
      'shape detected without the option',
    );
  });
  test('bundles supply observed-data and SCOs', () => {
    const [od, ...scos] = observed([{ type: 'url', value: 'http://x.example/' }]);
    const bundle = { type: 'bundle', id: 'bundle--1', objects: [od, ...scos] };
    assert.equal(compilePattern("[url:value = 'http://x.example/']").matches(collectObservations([bundle])), true);
  });
  test('malformed observed-data names the JSON path', () => {
    assert.throws(
      () =>
        collectObservations([
          { type: 'observed-data', first_observed: 'yesterday', last_observed: '2020-01-01T00:00:00Z', number_observed: 1, object_refs: [] },
        ]),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.observation_invalid' && /observations\[0\]\.first_observed/.test(e.message),
    );
  });
});

describe('observation operators and qualifiers', () => {
  const a = observed([{ type: 'file', name: 'a' }], '2020-01-01T00:00:00Z');
  const b = observed([{ type: 'file', name: 'b' }], '2020-01-01T00:01:00Z');
  const c = observed([{ type: 'file', name: 'c' }], '2020-01-01T00:10:00Z');
  test('AND needs both, in distinct observations', () => {
    assert.equal(matches("[file:name = 'a'] AND [file:name = 'b']", a, b), true);
    assert.equal(matches("[file:name = 'a'] AND [file:name = 'x']", a, b), false);
    assert.equal(matches("[file:name = 'a'] AND [file:name = 'a']", a), false, 'one observation cannot satisfy both sides');
    assert.equal(matches("[file:name = 'a'] AND [file:name = 'a']", a, observed([{ type: 'file', name: 'a' }])), true);
  });
  test('OR needs either', () => {
    assert.equal(matches("[file:name = 'x'] OR [file:name = 'b']", a, b), true);
    assert.equal(matches("[file:name = 'x'] OR [file:name = 'y']", a, b), false);
  });
  test('FOLLOWEDBY requires order in time', () => {
    assert.equal(matches("[file:name = 'a'] FOLLOWEDBY [file:name = 'b']", b, a), true);
    assert.equal(matches("[file:name = 'b'] FOLLOWEDBY [file:name = 'a']", a, b), false);
  });
  test('WITHIN bounds the span of the binding', () => {
    assert.equal(matches("([file:name = 'a'] AND [file:name = 'b']) WITHIN 60 SECONDS", a, b), true);
    assert.equal(matches("([file:name = 'a'] AND [file:name = 'b']) WITHIN 59.9 SECONDS", a, b), false);
    assert.equal(matches("([file:name = 'a'] FOLLOWEDBY [file:name = 'c']) WITHIN 300 SECONDS", a, c), false);
    assert.equal(
      matches("[file:name = 'a'] WITHIN 1 SECONDS", observed([{ type: 'file', name: 'a' }], '2020-01-01T00:00:00Z', { last: '2020-01-01T00:00:05Z' })),
      true,
      'one observation always fits',
    );
    // A window must touch every observation's interval: [0,3] and [1,2] fit in 1 s; [0,1] and [3,4] need 2 s.
    const long = observed([{ type: 'file', name: 'p' }], '2020-01-01T00:00:00Z', { last: '2020-01-01T00:00:03Z' });
    const inner = observed([{ type: 'file', name: 'q' }], '2020-01-01T00:00:01Z', { last: '2020-01-01T00:00:02Z' });
    assert.equal(matches("([file:name = 'p'] AND [file:name = 'q']) WITHIN 1 SECONDS", long, inner), true);
    const early = observed([{ type: 'file', name: 'p' }], '2020-01-01T00:00:00Z', { last: '2020-01-01T00:00:01Z' });
    const late = observed([{ type: 'file', name: 'q' }], '2020-01-01T00:00:03Z', { last: '2020-01-01T00:00:04Z' });
    assert.equal(matches("([file:name = 'p'] AND [file:name = 'q']) WITHIN 1 SECONDS", early, late), false);
    assert.equal(matches("([file:name = 'p'] AND [file:name = 'q']) WITHIN 2 SECONDS", early, late), true);
  });
  test('REPEATS counts distinct observations and number_observed', () => {
    const a2 = observed([{ type: 'file', name: 'a' }], '2020-01-01T00:00:30Z');
    assert.equal(matches("[file:name = 'a'] REPEATS 2 TIMES", a, a2), true);
    assert.equal(matches("[file:name = 'a'] REPEATS 3 TIMES", a, a2), false);
    assert.equal(
      matches("[file:name = 'a'] REPEATS 3 TIMES", observed([{ type: 'file', name: 'a' }], '2020-01-01T00:00:00Z', { last: '2020-01-01T00:05:00Z', count: 5 })),
      true,
    );
    const far = observed([{ type: 'file', name: 'a' }], '2020-01-02T00:00:00Z');
    assert.equal(matches("[file:name = 'a'] REPEATS 2 TIMES WITHIN 60 SECONDS", far, a, a2), true, 'picks the two close ones');
    assert.equal(matches("[file:name = 'a'] REPEATS 2 TIMES WITHIN 10 SECONDS", far, a, a2), false);
  });
  test('FOLLOWEDBY accepts overlapping intervals when the left can be placed first', () => {
    const long = observed([{ type: 'file', name: 'p' }], '2020-01-01T00:00:00Z', { last: '2020-01-01T00:10:00Z' });
    const inside = observed([{ type: 'file', name: 'q' }], '2020-01-01T00:05:00Z');
    assert.equal(matches("[file:name = 'p'] FOLLOWEDBY [file:name = 'q']", long, inside), true);
    assert.equal(matches("[file:name = 'q'] FOLLOWEDBY [file:name = 'p']", long, inside), true, 'p may also be seen after 00:05');
    const before = observed([{ type: 'file', name: 'r' }], '2019-12-31T23:00:00Z');
    assert.equal(matches("[file:name = 'p'] FOLLOWEDBY [file:name = 'r']", long, before), false);
  });
  test('START/STOP: an observation interval overlapping the window counts', () => {
    const spanning = observed([{ type: 'file', name: 's' }], '2019-12-31T00:00:00Z', { last: '2020-01-01T00:00:00Z' });
    assert.equal(matches("[file:name = 's'] START t'2020-01-01T00:00:00Z' STOP t'2020-02-01T00:00:00Z'", spanning), true, 'touches the start');
    assert.equal(matches("[file:name = 's'] START t'2019-01-01T00:00:00Z' STOP t'2019-12-31T00:00:00Z'", spanning), false, 'touches only the stop');
    assert.equal(matches("[file:name = 's'] START t'2020-02-01T00:00:00Z' STOP t'2020-01-01T00:00:00Z'", spanning), false, 'empty window');
  });
  test('START/STOP: start inclusive, stop exclusive', () => {
    assert.equal(matches("[file:name = 'a'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:01Z'", a), true);
    assert.equal(matches("[file:name = 'b'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:01:00Z'", b), false);
    assert.equal(matches("[file:name = 'c'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:01:00Z'", c), false);
  });
  test('observations and qualifiers combine with precedence', () => {
    assert.equal(matches("[file:name = 'x'] OR [file:name = 'a'] FOLLOWEDBY [file:name = 'c']", a, c), true);
    assert.equal(matches("[file:name = 'c'] FOLLOWEDBY [file:name = 'x'] OR [file:name = 'a']", a, c), false);
  });
  test('combinatorial blow-up hits the step budget instead of hanging', () => {
    const many = Array.from({ length: 400 }, (_, i) => observed([{ type: 'file', name: 'a' }], new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString()));
    assert.throws(
      () => matches("([file:name = 'a'] AND [file:name = 'a'] AND [file:name = 'a']) WITHIN 1 SECONDS", ...many),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.match_budget_exceeded',
    );
  });
});

describe('MATCHES stays linear or refuses', () => {
  test('a catastrophic regex on a long input returns quickly through the linear engine', () => {
    const long = observed([{ type: 'file', name: `${'a'.repeat(100_000)}!` }]);
    assert.equal(matches("[file:name MATCHES '^(a+)+$']", long), false);
  });
  test('backreferences with nested quantifiers are refused at compile time, with the position', () => {
    assert.throws(
      () => compilePattern("[file:name MATCHES '((a+)+)\\\\1']"),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.pattern_invalid' && e.details?.offset === 19,
    );
  });
  test('backreferences in a safe shape work, with an input cap', () => {
    assert.equal(matches("[file:name MATCHES '(ab)\\\\1']", observed([{ type: 'file', name: 'xabab' }])), true);
    assert.equal(compilePattern("[file:name MATCHES '(ab)\\\\1']").matches(collectObservations(observed([{ type: 'file', name: 'ab' }]))), false);
    assert.throws(
      () => matches("[file:name MATCHES '(?<=x)(ab)\\\\1']", observed([{ type: 'file', name: 'a'.repeat(5000) }])),
      (e: unknown) => isRiposteError(e) && e.code === 'stix.match_input_too_long',
    );
    assert.equal(matches("[file:name MATCHES '(?i)^ABAB$']", observed([{ type: 'file', name: 'abab' }])), true, 'case-folded for the linear engine');
  });
  test('invalid regular expressions are pattern errors', () => {
    assert.throws(() => compilePattern("[file:name MATCHES '(unclosed']"), /MATCHES invalid regular expression/);
  });
  test('ISSUBSET with a non-network literal is a pattern error', () => {
    assert.throws(() => compilePattern("[ipv4-addr:value ISSUBSET 'example.com']"), /IPv4 or IPv6/);
  });
});

describe('observation operator precedence over three people (alice 2004, carol 2006, bob 2008)', () => {
  const people = [
    observed([{ type: 'person', name: 'alice', age: 10 }], '2004-10-11T21:44:58Z'),
    observed([{ type: 'person', name: 'bob', age: 17 }], '2008-05-09T01:21:58.6Z'),
    observed([{ type: 'person', name: 'carol', age: 22 }], '2006-11-03T07:42:18.96Z'),
  ];
  const cases: Array<[string, boolean]> = [
    ["[person:name='alice'] AND [person:age>20]", true],
    ["[person:age>10] OR [person:name='bob'] OR [person:name>'amber']", true],
    ["[person:name='alice'] FOLLOWEDBY [person:name>'bill']", true],
    ["[person:age > 20] OR [person:name > 'zelda'] AND [person:age < 0]", true],
    ["([person:name='carol'] FOLLOWEDBY [person:name < 'elizabeth']) AND [person:age < 15]", true],
    ["[person:name='alice'] AND [person:age=10]", false],
    ["[person:name='alice'] FOLLOWEDBY [person:age=10]", false],
    ["[person:name='bob'] FOLLOWEDBY [person:age<15]", false],
    ["[person:age > 20] OR [person:name > 'zelda'] FOLLOWEDBY [person:age < 0]", false],
    ["([person:age > 20] OR [person:name > 'zelda']) AND [person:age < 0]", false],
    ["[person:name='carol'] FOLLOWEDBY [person:name < 'elizabeth'] AND [person:age < 15]", false],
  ];
  for (const [pattern, expected] of cases) test(`${pattern} → ${expected}`, () => assert.equal(matches(pattern, ...people), expected));
});

describe('temporal qualifiers over alice :52, bob :57, carol 13:38:02', () => {
  const people = [
    observed([{ type: 'person', name: 'alice' }], '1994-11-29T13:37:52Z'),
    observed([{ type: 'person', name: 'bob' }], '1994-11-29T13:37:57Z'),
    observed([{ type: 'person', name: 'carol' }], '1994-11-29T13:38:02Z'),
  ];
  const cases: Array<[string, boolean]> = [
    ["[person:name = 'bob'] WITHIN .0001 SECONDS", true],
    ["([person:name = 'alice'] AND [person:name < 'carol']) WITHIN 5 SECONDS", true],
    ["([person:name = 'alice'] AND [person:name < 'carol']) WITHIN 4.9999 SECONDS", false],
    ["([person:name = 'alice'] OR [person:name = 'darlene']) WITHIN 1 SECONDS", true],
    ["[person:name = 'bob'] START t'1994-11-29T13:37:57Z' STOP t'1994-11-29T13:37:58Z'", true],
    ["[person:name = 'bob'] START t'1994-11-29T13:37:58Z' STOP t'1994-11-29T13:37:59Z'", false],
    ["[person:name = 'bob'] START t'1994-11-29T13:37:58Z' STOP t'1994-11-29T13:37:58Z'", false],
    ["([person:name LIKE 'a%'] AND [person:name = 'bob']) START t'1994-11-29T13:37:50Z' STOP t'1994-11-29T13:37:58Z'", true],
    ["([person:name LIKE 'a%'] AND [person:name = 'bob']) START t'1994-11-29T13:37:50Z' STOP t'1994-11-29T13:37:57Z'", false],
    ["[person:name MATCHES ''] REPEATS 2 TIMES START t'1994-11-29T13:37:50Z' STOP t'1994-11-29T13:37:58Z'", true],
    ["[person:name MATCHES ''] REPEATS 3 TIMES START t'1994-11-29T13:37:50Z' STOP t'1994-11-29T13:37:58Z'", false],
    ["[person:name NOT LIKE 'foo'] START t'1994-11-29T13:37:50Z' STOP t'1994-11-29T13:37:57Z' REPEATS 3 TIMES", false],
  ];
  for (const [pattern, expected] of cases) test(`${pattern} → ${expected}`, () => assert.equal(matches(pattern, ...people), expected));
});

describe('number_observed: an observed-data seen n times stands for n observations', () => {
  const people = [
    observed([{ type: 'person', name: 'alice', age: 10 }], '2004-10-11T21:44:58Z', { count: 2 }),
    observed([{ type: 'person', name: 'bob', age: 17 }], '2004-10-11T21:45:01Z', { count: 3 }),
    observed([{ type: 'person', name: 'carol', age: 22 }], '2004-10-11T21:45:02Z', { count: 2 }),
  ];
  const cases: Array<[string, boolean]> = [
    ['[person:age < 20] REPEATS 5 TIMES', true],
    ['([person:age < 20] REPEATS 2 TIMES) REPEATS 2 TIMES', true],
    ["[person:name > 'aaron'] REPEATS 5 TIMES WITHIN 1 SECONDS", true],
    ["([person:age < 30] AND [person:name > 'aaron']) WITHIN 2 SECONDS REPEATS 3 TIMES", true],
    ["[person:name = 'alice'] AND [person:name = 'alice']", true],
    ["[person:name = 'alice'] AND [person:name = 'alice'] AND [person:name = 'alice']", false],
    ['[person:age < 20] REPEATS 10 TIMES', false],
    ['([person:age < 20] REPEATS 2 TIMES) REPEATS 3 TIMES', false],
  ];
  for (const [pattern, expected] of cases) test(`${pattern} → ${expected}`, () => assert.equal(matches(pattern, ...people), expected));
});

describe('combinatorial patterns over 20 STIX 2.0 observations stay fast', () => {
  const input = Array.from({ length: 20 }, (_, i) => {
    const at = new Date(Date.UTC(2004, 9, 11, 21, 44, 58 + i)).toISOString();
    return { type: 'observed-data', first_observed: at, last_observed: at, number_observed: 1, objects: { a0: { type: 'person', name: 'alice', age: i } } };
  });
  const observations = collectObservations(input, { stixVersion: '2.0' });
  const cases: Array<[string, boolean]> = [
    ['[person:age < 20] REPEATS 10 TIMES', true],
    ['[person:age < 20] REPEATS 10 TIMES WITHIN 10 SECONDS', true],
    ['[person:age < 20] REPEATS 10 TIMES WITHIN 8 SECONDS', false],
    ["[person:age < 20] REPEATS 10 TIMES START '2004-10-11T21:40:00Z' STOP '2004-10-11T21:50:00Z'", true],
    ['[person:age < 20] REPEATS 10 TIMES AND [person:age < 20]', true],
    ['[person:age < 20] REPEATS 10 TIMES OR [person:age < 20]', true],
    ['[person:age < 20] REPEATS 10 TIMES FOLLOWEDBY [person:age < 20]', true],
    ['([person:age < 20] REPEATS 5 TIMES) REPEATS 2 TIMES', true],
    ['([person:age < 20] REPEATS 2 TIMES) REPEATS 5 TIMES', true],
    [Array.from({ length: 10 }, () => '[person:age < 20]').join(' AND '), true],
    [Array.from({ length: 10 }, () => '[person:age < 20]').join(' OR '), true],
    ['([person:age < 20] FOLLOWEDBY [person:age > 5]) REPEATS 10 TIMES', true],
  ];
  for (const [pattern, expected] of cases) {
    test(`${pattern.slice(0, 80)} → ${expected}`, () => assert.equal(compilePattern(pattern, { stixVersion: '2.0' }).matches(observations), expected));
  }
});

describe('what a pattern can reach', () => {
  test('only SCOs referenced by observed-data, never the observed-data or other SDOs themselves', () => {
    const input = [
      { type: 'identity', id: 'identity--1', identity_class: 'events' },
      {
        type: 'observed-data',
        id: 'observed-data--1',
        first_observed: '2022-11-27T19:50:46.889315Z',
        last_observed: '2023-01-05T05:35:31.372958Z',
        number_observed: 1,
        object_refs: ['ipv4-addr--1'],
      },
      { type: 'ipv4-addr', id: 'ipv4-addr--1', value: '127.0.0.10' },
      { type: 'ipv4-addr', id: 'ipv4-addr--2', value: '0.0.0.0' },
    ];
    const observations = collectObservations(input);
    assert.equal(compilePattern("[ipv4-addr:value = '127.0.0.10']").findMatch(observations)?.[0]?.id, 'observed-data--1');
    for (const p of ["[ipv4-addr:value = '0.0.0.0']", '[observed-data:number_observed = 1]', "[identity:identity_class = 'events']"]) {
      assert.equal(compilePattern(p).matches(observations), false, p);
    }
  });
  test('quoted property names reach keys with hyphens and dots', () => {
    const o = observed([{ type: 'some-type', 'has-hyphen': 1, 'has.dot': 2, 'has-hyphen.dot': 3 }]);
    assert.equal(matches("[some-type:'has-hyphen' = 1]", o), true);
    assert.equal(matches("[some-type:'has.dot' = 2]", o), true);
    assert.equal(matches("[some-type:'has-hyphen.dot' = 3]", o), true);
    assert.throws(() => compilePattern('[some-type:needs-quotes = 1]'), /quote it/);
  });
});

describe('long patterns', () => {
  test('an IOC list of 20,000 ORs in one observation compiles and matches without deep recursion', () => {
    const pattern = `[${Array.from({ length: 20_000 }, (_, i) => `ipv4-addr:value = '10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}'`).join(' OR ')}]`;
    const compiled = compilePattern(pattern);
    assert.equal(compiled.matches(collectObservations(observed([{ type: 'ipv4-addr', value: '10.0.78.31' }]))), true);
    assert.equal(compiled.matches(collectObservations(observed([{ type: 'ipv4-addr', value: '11.0.0.1' }]))), false);
  });
  test('more than 1,000 observation operators is a positioned pattern error, not a stack overflow', () => {
    const pattern = Array.from({ length: 5000 }, (_, i) => `[a:b = ${i}]`).join(' OR ');
    assert.throws(
      () => compilePattern(pattern),
      (e: unknown) =>
        isRiposteError(e) &&
        e.code === 'stix.pattern_invalid' &&
        /more than 1000 observation operators/.test(e.message) &&
        typeof e.details?.offset === 'number',
    );
  });
});
