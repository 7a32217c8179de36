import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRiposteError, RiposteError } from '../../core/index.ts';
import { compileSigmaRule } from './rule-evaluator.ts';
import { parseSigmaRule, validateSigmaRule } from './rule-parser.ts';

/**
 * Validation: problems come back with line:column and name the construct at fault; unsupported Sigma
 * features are refused by name; random input never crashes the parser (only RiposteError).
 */

const HEAD = 'title: t\nlogsource:\n    product: windows\n';

function issuesOf(text: string) {
  const result = validateSigmaRule(text);
  assert.equal(result.ok, false, 'expected the rule to be rejected');
  return result.ok ? [] : result.issues;
}

describe('rule metadata', () => {
  test('reads the specification example rule with its metadata', () => {
    const rule = parseSigmaRule(`title: Whoami Execution
description: Detects a whoami.exe execution
references:
      - https://speakerdeck.com/heirhabarov/hunting-for-privilege-escalation-in-windows-environment
author: Florian Roth
date: 2019-10-23
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image: 'C:\\Windows\\System32\\whoami.exe'
    condition: selection
level: high
fields:
    - CommandLine
falsepositives: Admin activity
tags:
    - attack.discovery
    - attack.t1033
`);
    assert.equal(rule.title, 'Whoami Execution');
    assert.equal(rule.level, 'high');
    assert.deepEqual(rule.logsource, { category: 'process_creation', product: 'windows' });
    assert.deepEqual(rule.fields, ['CommandLine']);
    assert.deepEqual(rule.falsepositives, ['Admin activity']);
    assert.deepEqual(rule.attackTechniques, ['T1033']);
    assert.equal(rule.date, '2019-10-23');
  });

  test('missing required parts, bad id, level, status and tags are each reported with a position', () => {
    const issues = issuesOf('id: not-a-uuid\nstatus: done\nlevel: severe\ntags:\n    - Attack.T1059\nlogsource: {}\n');
    const messages = issues.map((i) => i.message).join('\n');
    assert.match(messages, /missing required field 'title'/);
    assert.match(messages, /missing required field 'detection'/);
    assert.match(messages, /id "not-a-uuid" must be a UUID/);
    assert.match(messages, /status must be one of stable, test, experimental, deprecated, unsupported/);
    assert.match(messages, /level must be one of informational, low, medium, high, critical/);
    assert.match(messages, /tag "Attack.T1059" must be namespaced and lower-case/);
    const id = issues.find((i) => /UUID/.test(i.message));
    assert.deepEqual([id?.line, id?.column], [1, 5]);
    const tag = issues.find((i) => /tag/.test(i.message));
    assert.deepEqual([tag?.line, tag?.column], [5, 7]);
  });

  test('YAML syntax errors carry line and column', () => {
    const issues = issuesOf(`${HEAD}detection:\n    selection:\n        Image: 'unterminated\n    condition: selection\n`);
    assert.equal(issues[0]?.code, 'sigma.yaml');
    assert.ok((issues[0]?.line ?? 0) >= 6);
  });

  test('parseSigmaRule throws sigma.invalid_rule naming the first problem, with all of them in details', () => {
    assert.throws(
      () => parseSigmaRule(`${HEAD}detection:\n    selection:\n        Image|endwith: x\n    condition: selection\n`, { source: 'r.yml' }),
      (error: unknown) => {
        assert.ok(error instanceof RiposteError);
        assert.equal(error.code, 'sigma.invalid_rule');
        assert.equal(error.message, "invalid Sigma rule: r.yml:6:9: Image|endwith: unknown modifier 'endwith'");
        assert.equal((error.details?.issues as unknown[] | undefined)?.length, 1);
        return true;
      },
    );
  });
});

describe('detection and modifiers: unsupported constructs are named', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown modifier', "        Image|foo: 'x'", /Image\|foo: unknown modifier 'foo'/],
    ['expand', "        User|expand: '%Admins%'", /modifier 'expand' is not supported: placeholders/],
    ['fieldref', "        User|fieldref: 'TargetUser'", /modifier 'fieldref' is not supported/],
    ['time part', '        Time|hour: 3', /modifier 'hour' is not supported: time-part/],
    ['all on one value', "        CommandLine|contains|all: 'x'", /'all' needs a list of two or more values/],
    ['base64 of a wildcard', "        CommandLine|base64: 'a*b'", /base64: values with wildcards cannot be base64-encoded/],
    ['sub-modifier without re', "        CommandLine|i: 'x'", /i: is a sub-modifier of 're' and must follow it/],
    ['utf16 without base64', "        CommandLine|wide: 'x'", /wide: must be followed by base64 or base64offset/],
    ['re after contains', "        CommandLine|contains|re: 'x'", /re: only applies to an unmodified value/],
    ['regex backreference', "        CommandLine|re: '(a)\\1'", /backreferences and lookaround are not part of the Sigma/],
    ['invalid regex', "        CommandLine|re: '(unclosed'", /re: invalid regular expression/],
    ['catastrophic regex', "        CommandLine|re: '(a+)+(?=b)'", /backreferences and lookaround|catastrophic/],
    ['bad cidr', "        DestinationIp|cidr: '10.0.0.0/33'", /cidr: "10.0.0.0\/33" is not an IPv4 or IPv6 network/],
    ['gt on text', "        Size|gt: 'big'", /gt: the value must be a number/],
    ['exists on a string', "        Field|exists: 'yes'", /exists: the value must be true or false/],
    ['nested map', '        Field:\n            a: 1', /a field's value must be a value or a list of values, not a map/],
    ['null with a modifier', '        Field|contains: null', /contains: applies to strings, not to null/],
  ];
  for (const [name, body, message] of cases) {
    test(name, () => {
      const issues = issuesOf(`${HEAD}detection:\n    selection:\n${body}\n    condition: selection\n`);
      assert.match(issues.map((i) => i.message).join('\n'), message);
      assert.equal(issues[0]?.line, 6, 'points at the offending line');
    });
  }

  test('a value list entry at fault is pointed at by index', () => {
    const issues = issuesOf(
      `${HEAD}detection:\n    selection:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - 'nope'\n    condition: selection\n`,
    );
    assert.equal(issues[0]?.line, 8);
    assert.equal(issues[0]?.column, 15);
  });

  test('correlation rules, filters, rule collections, timeframe and aggregations are refused by name', () => {
    assert.match(issuesOf('title: c\ncorrelation:\n    type: event_count\n')[0]?.message ?? '', /correlation rules are not supported/);
    assert.match(issuesOf('title: f\nlogsource: {product: windows}\nfilter:\n    rules: [x]\n')[0]?.message ?? '', /filters \(meta-rules\) are not supported/);
    assert.match(issuesOf(`action: global\ntitle: a\n---\n${HEAD}`)[0]?.message ?? '', /multi-document rule files/);
    assert.match(
      issuesOf(`${HEAD}detection:\n    selection:\n        A: 1\n    timeframe: 5m\n    condition: selection\n`)
        .map((i) => i.message)
        .join(),
      /'timeframe' .* is not supported/,
    );
    const agg = issuesOf(`${HEAD}detection:\n    selection:\n        A: 1\n    condition: selection | count() by B > 5\n`);
    assert.match(agg[0]?.message ?? '', /aggregation expressions .* are not supported/);
    assert.deepEqual([agg[0]?.line, agg[0]?.column], [7, 26]);
  });

  test('condition errors point into the condition', () => {
    const cases: Array<[string, RegExp, number]> = [
      ['selection and', /unexpected end of condition/, 29],
      ['selection and filter', /unknown search identifier "filter"/, 30],
      ['2 of selection*', /"2 of" is not supported: only "1 of" and "all of"/, 16],
      ['1 of filter*', /"filter\*" matches no search identifier/, 21],
      ['(selection', /expected "\)" to close/, 26],
      ['selection selection', /unexpected "selection"/, 26],
      ['sel*', /wildcards are only allowed after "1 of" or "all of"/, 16],
    ];
    for (const [condition, message, column] of cases) {
      const issues = issuesOf(`${HEAD}detection:\n    selection:\n        A: 1\n    condition: ${condition}\n`);
      assert.match(issues[0]?.message ?? '', message, condition);
      assert.equal(issues[0]?.code, 'sigma.condition');
      assert.deepEqual([issues[0]?.line, issues[0]?.column], [7, column], condition);
    }
  });

  test('identifiers that are condition keywords and mixed lists are refused', () => {
    assert.match(
      issuesOf(`${HEAD}detection:\n    them:\n        A: 1\n    condition: them\n`)[0]?.message ?? '',
      /must be letters, digits.* and not a condition keyword/,
    );
    assert.match(
      issuesOf(`${HEAD}detection:\n    selection:\n        - A: 1\n        - 'keyword'\n    condition: selection\n`)[0]?.message ?? '',
      /a list must hold only maps .* or only plain values/,
    );
  });
});

describe('robustness', () => {
  const detectionValue = fc.oneof(
    fc.constantFrom("'x'", '1', 'null', 'true', "'a*b?c'", "'\\\\*'", '[]', '{}', "'10.0.0.0/8'", "['a', 'b']", "'(a|b)+'", "'%APPDATA%'"),
    fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  );
  const modifier = fc.constantFrom(
    '',
    '|contains',
    '|all',
    '|re',
    '|re|i',
    '|cidr',
    '|base64offset|contains',
    '|wide|base64',
    '|windash',
    '|exists',
    '|gt',
    '|neq',
    '|cased',
    '|bogus',
    '|expand',
  );
  const field = fc.constantFrom('Image', 'TargetObject', '', 'a.b', 'Details');
  const selection = fc
    .array(fc.tuple(field, modifier, detectionValue), { minLength: 0, maxLength: 3 })
    .map((entries) => entries.map(([f, m, v]) => `        '${f}${m}': ${v}`).join('\n') || '        - kw');
  const conditionToken = fc.constantFrom('sel1', 'sel2', 'and', 'or', 'not', '(', ')', '1 of sel*', 'all of them', '|', '2 of x', 'them', 'x');
  const condition = fc.array(conditionToken, { minLength: 0, maxLength: 7 }).map((t) => t.join(' '));
  const ruleText = fc
    .tuple(selection, selection, condition, fc.constantFrom('registry_set', 'process_creation'))
    .map(([s1, s2, c, cat]) => `title: fuzz\nlogsource:\n    category: ${cat}\ndetection:\n    sel1:\n${s1}\n    sel2:\n${s2}\n    condition: ${c}\n`);
  const event = fc.dictionary(
    fc.constantFrom('Image', 'TargetObject', 'a', 'Details'),
    fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string())),
  );

  test('grammar-shaped random rules: valid or RiposteError, and compiled rules evaluate without throwing', () => {
    fc.assert(
      fc.property(ruleText, fc.array(event, { maxLength: 3 }), (text, events) => {
        let rule: ReturnType<typeof parseSigmaRule>;
        try {
          rule = parseSigmaRule(text);
        } catch (error) {
          assert.ok(isRiposteError(error), `not a RiposteError: ${String(error)}`);
          assert.equal(error.code, 'sigma.invalid_rule');
          return;
        }
        const compiled = compileSigmaRule(rule);
        for (const e of events) assert.equal(typeof compiled.matches(e), 'boolean');
      }),
      { numRuns: 400 },
    );
  });

  test('arbitrary text never crashes the parser', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200, unit: 'grapheme' })), (text) => {
        try {
          parseSigmaRule(text);
        } catch (error) {
          assert.ok(isRiposteError(error), `not a RiposteError: ${String(error)}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
