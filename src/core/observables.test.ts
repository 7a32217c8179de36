import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json.ts';
import { RiposteError } from './errors.ts';
import {
  detectObservableType,
  extractFromJson,
  extractFromText,
  normalizeObservable,
  OBSERVABLE_TYPES,
  type ObservableType,
  refang,
  tryNormalizeObservable,
} from './observables.ts';

describe('observable normalisation', () => {
  const cases: Array<[ObservableType, string, string]> = [
    ['ipv4', ' 203.0.113.7 ', '203.0.113.7'],
    ['ipv4', '203[.]0[.]113[.]7', '203.0.113.7'],
    ['ipv6', '2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['ipv6', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['ipv6', '::FFFF:192.0.2.1', '::ffff:c000:201'],
    ['ipv6', '[fe80::1]', 'fe80::1'],
    ['ipv6', '1:0:0:0:0:0:0:0', '1::'],
    ['ipv6', '2001:db8:1:1:1:1:1:1', '2001:db8:1:1:1:1:1:1'],
    ['cidr', '10.1.2.3/8', '10.0.0.0/8'],
    ['cidr', '2001:DB8:ffff::/32', '2001:db8::/32'],
    ['cidr', '0.0.0.0/0', '0.0.0.0/0'],
    ['domain', 'Example.COM.', 'example.com'],
    ['domain', 'bücher.example', 'xn--bcher-kva.example'],
    ['domain', 'evil[.]example[.]org', 'evil.example.org'],
    ['domain', 'XN--BCHER-KVA.example', 'xn--bcher-kva.example'],
    ['hostname', 'WS-0042', 'ws-0042'],
    ['url', 'hxxps://Evil.Example.com:443/a/../login?x=1#', 'https://evil.example.com/login?x=1'],
    ['url', 'hxxp[:]//bad[.]example/p', 'http://bad.example/p'],
    ['url', 'http://bücher.example/', 'http://xn--bcher-kva.example/'],
    ['url', 'evil.example.com/path', 'http://evil.example.com/path'],
    ['email', 'Alice.Smith[at]Example[.]COM', 'alice.smith@example.com'],
    ['email', 'mailto:bob@bücher.example', 'bob@xn--bcher-kva.example'],
    ['user', ' CORP\\JDoe ', 'corp\\jdoe'],
    ['md5', 'D41D8CD98F00B204E9800998ECF8427E', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['sha1', 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['sha256', 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['file_name', '  invoice.pdf.exe ', 'invoice.pdf.exe'],
    ['registry_key', 'hklm/Software//Microsoft\\Windows\\CurrentVersion\\Run\\', 'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run'],
    [
      'registry_value',
      'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater',
      'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater',
    ],
    ['process', 'powershell.exe  -enc  SQBFAFgA', 'powershell.exe -enc SQBFAFgA'],
    ['mac', '00-1A-2B-3C-4D-5E', '00:1a:2b:3c:4d:5e'],
    ['mac', '001a.2b3c.4d5e', '00:1a:2b:3c:4d:5e'],
  ];
  for (const [type, raw, expected] of cases) {
    test(`${type} ${JSON.stringify(raw)} → ${JSON.stringify(expected)}`, () => {
      const got = normalizeObservable(type, raw);
      assert.equal(got, expected);
      assert.equal(normalizeObservable(type, got), got, 'normalising twice changes nothing');
    });
  }

  const bad: Array<[ObservableType, string, RegExp]> = [
    ['ipv4', '256.1.1.1', /from 0 to 255/],
    ['ipv4', '010.0.0.1', /leading zeros/],
    ['ipv6', '2001:db8::1::2', /eight hexadecimal groups/],
    ['cidr', '10.0.0.0/33', /0 to 32/],
    ['domain', 'localhost', /at least two labels/],
    ['domain', '-bad-.example', /label/],
    ['url', 'javascript:alert(1)', /scheme javascript/],
    ['email', 'no-at-sign.example', /local-part@domain/],
    ['md5', 'abc', /32 hexadecimal/],
    ['registry_key', 'SOFTWARE\\Foo', /hive/],
    ['mac', '00:11:22:33:44', /six hexadecimal bytes/],
    ['file_name', '   ', /empty/],
  ];
  for (const [type, raw, message] of bad) {
    test(`${type} ${JSON.stringify(raw)} is rejected with a reason`, () => {
      assert.throws(
        () => normalizeObservable(type, raw),
        (error: unknown) => {
          assert.ok(error instanceof RiposteError);
          assert.equal(error.code, 'observable.invalid');
          assert.equal(error.status, 400);
          assert.match(error.message, new RegExp(`is not a valid ${type}`));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test('refang undoes common defanging', () => {
    assert.equal(refang('hxxps://bad[.]example(.)com/x and a[at]b{.}org'), 'https://bad.example.com/x and a@b.org');
  });

  test('normalisation is idempotent for arbitrary IPv4, IPv6, CIDR, domains and URLs (property)', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const ipv6 = fc.ipV6();
    const label = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?$/);
    const domain = fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'org', 'example', 'XN--P1AI', 'de'))
      .map(([l, t]) => `${l.join('.')}.${t}`);
    const unicodeDomain = fc
      .tuple(fc.constantFrom('bücher', 'münchen', 'пример', '例え', 'straße'), fc.constantFrom('de', 'com', 'рф'))
      .map(([a, b]) => `${a}.${b}`);
    const samples = fc.oneof(
      ipv4.map((v) => ['ipv4', v] as const),
      ipv6.map((v) => ['ipv6', v] as const),
      fc.tuple(ipv4, fc.nat(32)).map(([a, p]) => ['cidr', `${a}/${p}`] as const),
      fc.tuple(ipv6, fc.nat(128)).map(([a, p]) => ['cidr', `${a}/${p}`] as const),
      fc.oneof(domain, unicodeDomain).map((v) => ['domain', v] as const),
      fc.webUrl({ withQueryParameters: true, withFragments: true }).map((v) => ['url', v] as const),
      fc.emailAddress().map((v) => ['email', v] as const),
      fc
        .tuple(fc.constantFrom('HKLM', 'hkcu', 'HKEY_USERS'), fc.array(label, { minLength: 1, maxLength: 4 }))
        .map(([h, p]) => ['registry_key', `${h}\\${p.join('\\')}`] as const),
    );
    fc.assert(
      fc.property(samples, ([type, raw]) => {
        const once = tryNormalizeObservable(type, raw);
        if (once === undefined) return; // generators may produce values our validation rightly refuses
        assert.equal(normalizeObservable(type, once), once);
      }),
      { numRuns: 2000 },
    );
  });

  test('every generated IPv4 and IPv6 address is accepted and IPv6 comes out in RFC 5952 form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (raw) => {
        const value = normalizeObservable('ipv6', raw);
        assert.equal(value, value.toLowerCase());
        assert.doesNotMatch(value, /(^|:)0[0-9a-f]/, 'no leading zeros');
        assert.ok((value.match(/::/g) ?? []).length <= 1);
        assert.equal(new URL(`http://[${value}]/`).hostname, `[${new URL(`http://[${raw}]/`).hostname.slice(1, -1)}]`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('observable extraction', () => {
  test('detects the type of bare values', () => {
    assert.equal(detectObservableType('198.51.100.23'), 'ipv4');
    assert.equal(detectObservableType('2001:db8::5'), 'ipv6');
    assert.equal(detectObservableType('https://x.example/a'), 'url');
    assert.equal(detectObservableType('login-microsoftonline[.]com'), 'domain');
    assert.equal(detectObservableType('invoice.exe'), undefined);
    assert.equal(detectObservableType('hello world'), undefined);
    assert.equal(detectObservableType('a@b.example'), 'email');
  });

  test('finds defanged indicators in free text without double-reporting URL hosts', () => {
    const text =
      'Beacon to hxxps://c2[.]evil-example[.]net/gate.php from 10.20.30.40; dropper invoice.pdf.exe (sha256 ' +
      'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855), reply to attacker[at]evil-example.net, also fe80::1.';
    const found = extractFromText(text).map((o) => `${o.type}:${o.value}`);
    assert.deepEqual(found.sort(), [
      'email:attacker@evil-example.net',
      'ipv4:10.20.30.40',
      'ipv6:fe80::1',
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'url:https://c2.evil-example.net/gate.php',
    ]);
  });

  test('types JSON fields by their names, nested or dotted', () => {
    const found = extractFromJson({
      'source.ip': '203.0.113.9',
      destination: { ip: '2001:DB8::7', port: 443 },
      user: { name: 'JDOE' },
      host: { name: 'WS-0042' },
      file: { hash: { sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }, name: 'payload.dll' },
      process: { command_line: 'rundll32.exe payload.dll,Start' },
      registry: { path: 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd' },
      message: 'contacted hxxp://bad[.]example/x',
      count: 3,
    });
    const map = Object.fromEntries(found.map((o) => [o.field, `${o.type}:${o.value}`]));
    assert.equal(map['source.ip'], 'ipv4:203.0.113.9');
    assert.equal(map['destination.ip'], 'ipv6:2001:db8::7');
    assert.equal(map['user.name'], 'user:jdoe');
    assert.equal(map['host.name'], 'hostname:ws-0042');
    assert.equal(map['file.hash.sha256'], 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(map['file.name'], 'file_name:payload.dll');
    assert.equal(map['process.command_line'], 'process:rundll32.exe payload.dll,Start');
    assert.equal(map['registry.path'], 'registry_key:HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd');
    assert.equal(map.message, 'url:http://bad.example/x');
  });
});

describe('canonical JSON (RFC 8785)', () => {
  test('sorts keys by UTF-16 code units and serialises numbers the ECMAScript way', () => {
    assert.equal(
      canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 1e21, '\ud83d\ude00': 0.1, c: { z: -0, y: 1e-7 } }),
      '{"a":[true,null,"x"],"b":1,"c":{"y":1e-7,"z":0},"€":1e+21,"😀":0.1}',
    );
    assert.throws(() => canonicalJson({ x: Number.NaN }), /NaN/);
  });

  test('RFC 8785 appendix example sorts as specified', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const text = canonicalJson(input);
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => text.indexOf(`${JSON.stringify(k)}:`));
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > (order[i - 1] ?? 0))),
      text,
    );
  });
});

test('OBSERVABLE_TYPES lists every type the issue names', () => {
  assert.equal(OBSERVABLE_TYPES.length, 16);
});
