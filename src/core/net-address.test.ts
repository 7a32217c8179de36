import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson } from './canonical-json.ts';
import { CidrSet, cidrContains, DomainSet, formatIpAddress, hostOf, isSameOrSubdomain, normalizeDomain, parseCidr, parseIpAddress } from './net-address.ts';

describe('IP addresses', () => {
  test('parses IPv4 strictly: no leading zeros, no out-of-range parts', () => {
    assert.deepEqual(parseIpAddress('203.0.113.7'), { family: 4, value: 0xcb007107n });
    assert.equal(parseIpAddress('010.0.0.1'), undefined);
    assert.equal(parseIpAddress('256.0.0.1'), undefined);
    assert.equal(parseIpAddress('1.2.3'), undefined);
    assert.equal(parseIpAddress('example.com'), undefined);
  });

  test('parses IPv6 forms and formats them per RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['[fe80::1]', 'fe80::1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, expected] of cases) {
      const parsed = parseIpAddress(input);
      assert.ok(parsed, input);
      assert.equal(formatIpAddress(parsed), expected);
    }
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::1', ':::', 'fe80::1%eth0']) assert.equal(parseIpAddress(bad), undefined, bad);
  });

  test('IPv4-mapped IPv6 is the IPv4 address it carries', () => {
    assert.deepEqual(parseIpAddress('::ffff:192.0.2.1'), parseIpAddress('192.0.2.1'));
    assert.deepEqual(parseIpAddress('::ffff:c000:201'), parseIpAddress('192.0.2.1'));
  });
});

describe('CIDR ranges', () => {
  test('parse clears host bits and accepts bare addresses', () => {
    assert.equal(parseCidr('10.1.2.3/8')?.text, '10.0.0.0/8');
    assert.equal(parseCidr('192.0.2.7')?.text, '192.0.2.7/32');
    assert.equal(parseCidr('2001:db8:1::/32')?.text, '2001:db8::/32');
    assert.equal(parseCidr('::ffff:10.0.0.0/104')?.text, '10.0.0.0/8');
    assert.equal(parseCidr('0.0.0.0/0')?.text, '0.0.0.0/0');
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', 'nope/8']) assert.equal(parseCidr(bad), undefined, bad);
  });

  test('containment respects family and prefix boundaries', () => {
    const range = parseCidr('198.51.100.0/24');
    assert.ok(range);
    const inside = parseIpAddress('198.51.100.255');
    const outside = parseIpAddress('198.51.101.0');
    assert.ok(inside && outside);
    assert.equal(cidrContains(range, inside), true);
    assert.equal(cidrContains(range, outside), false);
    const v6 = parseIpAddress('::c633:6401');
    assert.ok(v6);
    assert.equal(cidrContains(range, v6), false, 'an IPv6 address is never inside an IPv4 range');
    const everything = parseCidr('0.0.0.0/0');
    assert.ok(everything);
    assert.equal(cidrContains(everything, inside), true);
  });

  test('CidrSet finds the narrowest range and covers mapped addresses', () => {
    const set = new CidrSet(['10.0.0.0/8', '10.20.0.0/16', '2001:db8::/32', '192.0.2.1']);
    assert.equal(set.match('10.20.3.4')?.text, '10.20.0.0/16');
    assert.equal(set.match('10.21.3.4')?.text, '10.0.0.0/8');
    assert.equal(set.match('::ffff:10.21.3.4')?.text, '10.0.0.0/8');
    assert.equal(set.match('2001:db8:ffff::1')?.text, '2001:db8::/32');
    assert.equal(set.has('192.0.2.1'), true);
    assert.equal(set.has('192.0.2.2'), false);
    assert.equal(set.has('not an ip'), false);
    assert.equal(set.size, 4);
    assert.throws(() => new CidrSet(['10.0.0.0/99']), /is not an IP address or CIDR range/);
  });
});

describe('domains', () => {
  test('subdomains match their parent, look-alikes do not', () => {
    assert.equal(isSameOrSubdomain('cdn.partner.example', 'partner.example'), true);
    assert.equal(isSameOrSubdomain('PARTNER.example.', 'partner.example'), true);
    assert.equal(isSameOrSubdomain('evilpartner.example', 'partner.example'), false);
    assert.equal(isSameOrSubdomain('partner.example.evil.test', 'partner.example'), false);
    const set = new DomainSet(['example.com', 'mail.example.com', '*.cdn.test']);
    assert.equal(set.match('a.mail.example.com'), 'mail.example.com');
    assert.equal(set.match('www.example.com'), 'example.com');
    assert.equal(set.match('x.cdn.test'), 'cdn.test');
    assert.equal(set.match('example.org'), undefined);
    assert.equal(normalizeDomain('bad_label-.com'), undefined);
  });

  test('hostOf takes the host out of URLs and e-mail addresses', () => {
    assert.equal(hostOf('https://Login.Example.com:8443/path?q=1'), 'login.example.com');
    assert.equal(hostOf('alice@partner.example'), 'partner.example');
    assert.equal(hostOf('http://[2001:db8::1]/x'), '2001:db8::1');
    assert.equal(hostOf('plain.example'), 'plain.example');
  });
});

describe('canonical JSON (RFC 8785)', () => {
  test('sorts keys by UTF-16 code units and serialises numbers as ECMAScript does', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 1e21, 0.1], '\u20ac': 'x', '\ud83d\ude00': 'y' }), '{"a":[true,null,1e+21,0.1],"b":1,"€":"x","😀":"y"}');
    assert.throws(() => canonicalJson({ n: Number.NaN }), /cannot represent/);
  });
});

describe('net-address properties', () => {
  test('CidrSet agrees with a direct containment check, and formatting round-trips', async () => {
    const fc = await import('fast-check');
    const v4 = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
      .map((o) => o.join('.'));
    const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
    const cidr = fc.oneof(
      fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
      fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
    );
    fc.assert(
      fc.property(fc.array(cidr, { minLength: 1, maxLength: 8 }), fc.oneof(v4, v6), (ranges, address) => {
        const ip = parseIpAddress(address);
        assert.ok(ip);
        const parsed = ranges.map((r) => parseCidr(r));
        const expected = parsed.some((r) => r !== undefined && cidrContains(r, ip));
        assert.equal(new CidrSet(ranges).has(ip), expected);
        assert.deepEqual(parseIpAddress(formatIpAddress(ip)), ip);
      }),
      { numRuns: 300 },
    );
  });
});
