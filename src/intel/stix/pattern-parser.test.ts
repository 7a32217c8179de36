import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRiposteError } from '../../core/index.ts';
import { compilePattern } from './pattern-matcher.ts';
import { parsePattern } from './pattern-parser.ts';

/** The patterns printed in STIX 2.1 §9 (patterning) and its examples: every one must parse and compile. */
const SPEC_EXAMPLES = [
  "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
  String.raw`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
  "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']",
  "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
  String.raw`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 300 SECONDS`,
  "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
  String.raw`[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']`,
  String.raw`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
  "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
  "[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']",
  "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
  "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
  "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
  "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
  "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
  String.raw`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']`,
  "[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
  "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
  "[x-usb-device:usbdrive.serial_number = '575833334A343933313239363039']",
  "[process:command_line MATCHES '^.+>-add GlobalSettings.+$']",
  "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '203.0.113.10' AND network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.25' AND network-traffic:dst_port = 443]",
  "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
  "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
  "[ipv4-addr:value ISSUPERSET '198.51.100.0/24']",
  String.raw`[directory:path LIKE 'C:\\Windows\\%\\foo']`,
  "[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
  '[file:size IN (1024, 2048, 4096)]',
  '[network-traffic:dst_port NOT IN (80, 443)]',
  "[file:name NOT = 'foo.exe']",
  "([ipv4-addr:value = '198.51.100.1/32'] FOLLOWEDBY [domain-name:value = 'example.com']) WITHIN 300 SECONDS",
  "[windows-registry-key:values[*].name = 'ShellExecuteHooks' OR windows-registry-key:values[0].data = 'x']",
  "[process:extensions.'windows-process-ext'.aslr_enabled = true]",
  "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
  "[file:created > t'2016-01-01T00:00:00.123Z' AND EXISTS file:hashes]",
];

describe('STIX 2.1 specification examples', () => {
  for (const pattern of SPEC_EXAMPLES) {
    test(pattern.slice(0, 90), () => {
      assert.doesNotThrow(() => compilePattern(pattern));
    });
  }
});

function errorOf(pattern: string): { message: string; offset: number; expected: string[] } {
  try {
    parsePattern(pattern);
  } catch (error) {
    assert.ok(isRiposteError(error));
    assert.equal(error.code, 'stix.pattern_invalid');
    return { message: error.message, offset: error.details?.offset as number, expected: error.details?.expected as string[] };
  }
  assert.fail(`expected ${pattern} to be invalid`);
}

describe('parser structure', () => {
  test('observation operators: AND binds tighter than OR, OR tighter than FOLLOWEDBY', () => {
    const ast = parsePattern('[a:b = 1] FOLLOWEDBY [a:b = 2] OR [a:b = 3] AND [a:b = 4]');
    assert.equal(ast.kind, 'followedby');
    assert.ok(ast.kind === 'followedby' && ast.right.kind === 'or' && ast.right.right.kind === 'and');
  });
  test('comparison AND binds tighter than OR; parentheses override', () => {
    const ast = parsePattern('[a:b = 1 OR a:c = 2 AND a:d = 3]');
    assert.ok(ast.kind === 'observation' && ast.comparison.kind === 'comparison-or' && ast.comparison.right.kind === 'comparison-and');
    const grouped = parsePattern('[(a:b = 1 OR a:c = 2) AND a:d = 3]');
    assert.ok(grouped.kind === 'observation' && grouped.comparison.kind === 'comparison-and');
  });
  test('qualifiers stack postfix', () => {
    const ast = parsePattern("[a:b = 1] REPEATS 2 TIMES WITHIN 10.5 SECONDS START t'2020-01-01T00:00:00Z' STOP t'2020-02-01T00:00:00Z'");
    assert.equal(ast.kind, 'start-stop');
    assert.ok(ast.kind === 'start-stop' && ast.expression.kind === 'within' && ast.expression.seconds === 10.5 && ast.expression.expression.kind === 'repeats');
  });
  test('literals: escapes, negative and float numbers, booleans, hex, binary, timestamps', () => {
    const ast = parsePattern(String.raw`[x:y IN ('it\'s', 'back\\slash', -5, -0.5, .25, true, false, h'0A0b', b'AAE=', t'2020-02-29T23:59:59.999999Z')]`);
    assert.ok(ast.kind === 'observation' && ast.comparison.kind === 'comparison');
    const values = ast.comparison.value as Array<{ kind: string; value: unknown }>;
    assert.deepEqual(
      values.map((v) => [v.kind, v.value]),
      [
        ['string', "it's"],
        ['string', 'back\\slash'],
        ['int', -5],
        ['float', -0.5],
        ['float', 0.25],
        ['bool', true],
        ['bool', false],
        ['hex', '0a0b'],
        ['binary', 'AAE='],
        ['timestamp', '2020-02-29T23:59:59.999999Z'],
      ],
    );
  });
  test('object paths: quoted names, indices, [*], custom types with hyphens', () => {
    const ast = parsePattern("[x-my-type:'odd name'.list[-1].inner[*].x_ref.value = 'a']");
    assert.ok(ast.kind === 'observation' && ast.comparison.kind === 'comparison');
    assert.equal(ast.comparison.path.objectType, 'x-my-type');
    assert.deepEqual(ast.comparison.path.steps, [
      { kind: 'property', name: 'odd name' },
      { kind: 'property', name: 'list' },
      { kind: 'index', index: -1 },
      { kind: 'property', name: 'inner' },
      { kind: 'any-index' },
      { kind: 'property', name: 'x_ref' },
      { kind: 'property', name: 'value' },
    ]);
  });
  test("the grammar's Unicode whitespace is skipped", () => {
    assert.doesNotThrow(() => parsePattern("[file:name\u00a0=\u3000'x'\u2028]"));
  });
  test('comments and the == / <> spellings', () => {
    assert.doesNotThrow(() => parsePattern("/* c */ [a:b == 'x' // line\n AND a:c <> 'y']"));
  });
  test('2.0 START/STOP string timestamps only with stixVersion 2.0', () => {
    const p = "[a:b = 1] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'";
    assert.doesNotThrow(() => parsePattern(p, { stixVersion: '2.0' }));
    assert.match(errorOf(p).message, /timestamp literal/);
  });
});

describe('parser errors point at the offending token', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /expected '\[', '\('/],
    ["[file:name = 'x'", 16, /expected '\]'/],
    ["[file:name 'x']", 11, /unexpected string/],
    ["[file:name = 'x\\n']", 15, /invalid escape/],
    ["[file:name = 'x]", 13, /unterminated string/],
    ["[file:name = 'x'] WITHIN 0 SECONDS", 25, /positive number/],
    ["[file:name = 'x'] REPEATS 1.5 TIMES", 26, /positive integer/],
    ["[file:name = 'x'] WITHIN 5", 26, /SECONDS/],
    ['[file:size > true]', 11, /orderable/],
    ['[file:name LIKE 5]', 16, /string literal/],
    ["[file:name = t'2020-13-01T00:00:00Z']", 13, /invalid timestamp/],
    ["[file:name = t'2019-02-29T00:00:00Z']", 13, /invalid timestamp/],
    ["[file:name = h'abc']", 13, /invalid hex/],
    ["[file:name = b'abc']", 13, /invalid binary/],
    ['[file:size = 007]', 13, /leading zero/],
    ["[file:name = 'x'] [file:name = 'y']", 18, /expected AND, OR, FOLLOWEDBY/],
    ['[file:hashes.SHA-256 = 1]', 13, /quote it/],
    ['[file:name = 1] and [a:b = 2]', 16, /unexpected/],
    ['[:name = 1]', 1, /object type/],
    ['[file:name = 1] FOLLOWEDBY', 26, /end of pattern/],
    ['[file:name = FALSE]', 13, /unexpected "FALSE"/],
    ["[file:hashes.'SHA-256' = 'f00']", 25, /not a valid SHA-256 hash/],
    ["[file:hashes.MD5 IN ('79054025255fb1a26e4bc422aef54eb4', 'xyz')]", 57, /not a valid MD5 hash/],
    ['[a:b = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS', 27, /duplicate WITHIN/],
    ['([a:b = 1] REPEATS 2 TIMES REPEATS 3 TIMES)', 27, /duplicate REPEATS/],
    [
      "[a:b = 1] START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z' START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z'",
      69,
      /duplicate START\/STOP/,
    ],
    ['file:size = 1280', 0, /expected '\[', '\('/],
    ['[file:size = ]', 13, /expected literal/],
    ['[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]', 19, /unexpected/],
    ['[file.size = 1280]', 5, /expected ':'/],
    ['[file:name MATCHES /.*\\.dll/]', 19, /unexpected character/],
    ["[a:b = 'x'] WITHIN 5 HOURS", 21, /expected SECONDS/],
    ["[a:b = 'x'] WITHIN -5 SECONDS", 19, /positive number/],
    ['[network-traffic:dst_ref.value ISSUBSET ]', 40, /string literal/],
    ["[file:hashes.MD5 =? 'x']", 18, /unexpected character/],
    ["[file:name = b'']", 13, /invalid binary/],
    ['[file:LAST = 1]', 6, /property name/],
    ['[file:true = 1]', 6, /property name/],
    ['[file:name = 1] within 5 SECONDS', 16, /unexpected "within"/],
    ['[file:name \ufeff= 1]', 11, /unexpected character/],
  ];
  for (const [pattern, offset, message] of cases) {
    test(JSON.stringify(pattern), () => {
      const error = errorOf(pattern);
      assert.match(error.message, message);
      assert.equal(error.offset, offset, error.message);
    });
  }
  test('line and column across newlines', () => {
    assert.match(errorOf("[file:name = 'x'\n  AND ]").message, /line 2 column 7/);
  });
});

describe('parser robustness (property tests)', () => {
  const alphabet = [
    '[',
    ']',
    '(',
    ')',
    "'",
    ':',
    '.',
    ',',
    '=',
    '!=',
    '<',
    '>=',
    ' ',
    'a',
    'file',
    'name',
    '1',
    '-',
    '*',
    'AND',
    'OR',
    'NOT',
    'IN',
    'FOLLOWEDBY',
    'WITHIN',
    'SECONDS',
    'REPEATS',
    'TIMES',
    "t'",
    "h'",
    "b'",
    '\\',
    '/*',
    '\n',
    'START',
    'STOP',
    'é',
    'MATCHES',
    'EXISTS',
  ];
  test('any token soup either parses or throws a positioned RiposteError, quickly', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }), (parts) => {
        const source = parts.join('');
        try {
          compilePattern(source);
        } catch (error) {
          assert.ok(isRiposteError(error), `not a RiposteError: ${String(error)}`);
          const offset = error.details?.offset as number;
          assert.ok(Number.isInteger(offset) && offset >= 0 && offset <= source.length);
        }
      }),
      { numRuns: 3000 },
    );
  });
  test('arbitrary strings never throw anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (source) => {
        try {
          parsePattern(source);
        } catch (error) {
          assert.ok(isRiposteError(error));
        }
      }),
      { numRuns: 3000 },
    );
  });
  test('pathological nesting is refused, not a stack overflow', () => {
    const deep = `${'('.repeat(100_000)}[a:b = 1]${')'.repeat(100_000)}`;
    assert.match(errorOf(deep).message, /nesting deeper/);
  });
});
