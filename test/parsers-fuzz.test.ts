import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ALERT_SOURCES, adaptPayload, verifyWebhook } from '../src/cases/index.ts';
import { RiposteError } from '../src/core/index.ts';
import { compileTemplate, ExpressionError, FILTERS, REGEX_INPUT_LIMIT, TemplateSyntaxError } from '../src/engine/expressions/index.ts';
import { parsePlaybookYaml } from '../src/engine/playbook-loader.ts';
import { compileSafeRegex } from '../src/intel/stix/index.ts';
import { parsePolicyYaml } from '../src/policy/index.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * Fuzzing of everything that turns untrusted text into structure without going through HTTP: vendor alert
 * adapters, playbook and policy YAML, templates over random data, webhook signature headers, and the
 * regular-expression guards. The contract each time: a typed Riposte error (or positioned issues), never a
 * TypeError/RangeError escaping, never a hang. Run counts are modest so the file stays well under a minute
 * on a loaded machine; RIPOSTE_FUZZ_RUNS raises them for a long soak.
 */
const RUNS = Number(process.env.RIPOSTE_FUZZ_RUNS ?? 300);

/** JSON values (finite numbers only, as JSON.parse yields) with the shapes adapters probe: vendor keys at random depth, odd scalar types. */
const vendorKey = fc.constantFrom(
  'title',
  'severity',
  'time',
  'rule',
  'observables',
  'alerts',
  'result',
  'search_name',
  'sid',
  'results_link',
  'kibana',
  'properties',
  'alert',
  'signal',
  '_source',
  '@timestamp',
  'host',
  'user',
  'source',
  'destination',
  'ip',
  'id',
  'dedup_key',
  'tags',
  'techniques',
  'data',
  'incidentNumber',
  'description',
  'status',
  'value',
  'type',
  '__proto__',
  'constructor',
  'toString',
  'name',
  'uid',
);
const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double({ noDefaultInfinity: true, noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('high', '1.2.3.4', 'evil.example', '2026-01-01T00:00:00Z', ''),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('tree'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(vendorKey, fc.string({ maxLength: 8 })), tie('tree'), { maxKeys: 6 }),
}));

function nested(depth: number): unknown {
  let value: unknown = { title: 'deep' };
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { data: value };
  return value;
}

function expectRiposte(error: unknown, where: string): void {
  if (error instanceof RiposteError) return;
  assert.fail(`${where}: ${(error as Error)?.name}: ${(error as Error)?.message}`);
}

describe('alert payload adapters', () => {
  for (const source of ALERT_SOURCES) {
    test(`${source}: random payloads are adapted or refused with a RiposteError`, () => {
      let fuzzed = 0;
      fc.assert(
        fc.property(tree, (payload) => {
          fuzzed++;
          try {
            const alerts = adaptPayload(source, payload, 1_800_000_000_000);
            for (const alert of alerts) assert.equal(typeof alert.title, 'string');
          } catch (error) {
            expectRiposte(error, `${source} ${JSON.stringify(payload).slice(0, 200)}`);
          }
        }),
        { numRuns: RUNS },
      );
      for (const payload of [
        nested(2000),
        { title: 'x'.repeat(2_000_000) },
        { title: 'ok', observables: Array.from({ length: 5000 }, () => ({ type: 'ip', value: '1' })) },
      ]) {
        fuzzed++;
        try {
          adaptPayload(source, payload, 1_800_000_000_000);
        } catch (error) {
          expectRiposte(error, `${source} extreme payload`);
        }
      }
      recordFigure('security', 'inputs_fuzzed', fuzzed);
    });
  }
});

describe('templates', () => {
  const filterName = fc.constantFrom(...FILTERS.keys());
  const atom = fc.oneof(
    fc.constantFrom(
      'inputs',
      'steps',
      'item',
      'alert.title',
      'inputs.list',
      'inputs.n',
      'inputs.s',
      'none',
      'true',
      '"a+b"',
      "'x'",
      '[1,2,3]',
      '{"k": 1}',
      '0',
      '-1',
      '1e308',
      'range(5)',
      'loop',
    ),
    fc.integer({ min: -5, max: 5 }).map(String),
  );
  const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
    e: fc.oneof(
      { depthSize: 'small' },
      atom,
      fc
        .tuple(tie('e') as fc.Arbitrary<string>, filterName, fc.array(atom, { maxLength: 2 }))
        .map(([e, f, args]) => `${e} | ${f}${args.length ? `(${args.join(', ')})` : ''}`),
      fc
        .tuple(
          tie('e') as fc.Arbitrary<string>,
          fc.constantFrom('+', '-', '*', '/', '//', '%', '~', '==', 'and', 'or', 'in', '**', '['),
          tie('e') as fc.Arbitrary<string>,
        )
        .map(([a, op, b]) => (op === '[' ? `${a}[${b}]` : `(${a} ${op} ${b})`)),
    ),
  })).e as fc.Arbitrary<string>;
  const template = fc.oneof(
    expr.map((e) => `{{ ${e} }}`),
    fc.tuple(fc.string({ maxLength: 10 }), expr).map(([t, e]) => `${t}{{ ${e} }}${t}`),
    fc.tuple(expr, expr).map(([a, b]) => `{% for x in ${a} %}{{ x }}{{ ${b} }}{% endfor %}`),
    fc.tuple(expr, expr).map(([a, b]) => `{% if ${a} %}{{ ${b} }}{% else %}no{% endif %}`),
    fc.string({ maxLength: 30 }).map((s) => `{{${s}}}`),
    fc.string({ maxLength: 30 }).map((s) => `{%${s}%}`),
  );

  test('random templates over random data render or fail with TemplateSyntaxError/ExpressionError/RiposteError', () => {
    let fuzzed = 0;
    let slowestMs = 0;
    fc.assert(
      fc.property(template, tree, (source, data) => {
        fuzzed++;
        const started = performance.now();
        try {
          const compiled = compileTemplate(source);
          compiled.evaluate({ inputs: { list: [1, 'a', null], n: 3, s: 'text', data } as never, steps: {}, alert: { title: 't' } });
        } catch (error) {
          if (!(error instanceof TemplateSyntaxError || error instanceof ExpressionError || error instanceof RiposteError)) {
            assert.fail(`${JSON.stringify(source)}: ${(error as Error)?.name}: ${(error as Error)?.message}`);
          }
        }
        slowestMs = Math.max(slowestMs, performance.now() - started);
      }),
      { numRuns: RUNS * 3 },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
    // Reported, not asserted: a hang would instead hit the test timeout.
    recordFigure('security', 'template_fuzz_slowest_ms', Math.round(slowestMs));
  });

  test('runaway templates stop at the evaluation budget and output limit instead of hanging', () => {
    for (const source of [
      '{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}',
      '{{ "x" * 100000000 }}',
      '{% for a in range(100000) %}{{ "y" * 100000 }}{% endfor %}',
    ]) {
      assert.throws(
        () => compileTemplate(source).evaluate({}),
        (error: Error) => error instanceof ExpressionError || error instanceof RiposteError,
        source,
      );
    }
  });

  test('regex filters refuse catastrophic patterns and over-long input', () => {
    assert.throws(() => compileTemplate('{{ "aaaa" | regex_search("(a+)+$") }}').evaluate({}), ExpressionError);
    assert.throws(() => compileTemplate('{{ inputs.s | regex_search("a") }}').evaluate({ inputs: { s: 'a'.repeat(REGEX_INPUT_LIMIT + 1) } }), /longer than/);
  });
});

describe('STIX MATCHES and Sigma re regex guard', () => {
  test('nested-quantifier patterns run on the linear engine (no catastrophic backtracking) or are refused', () => {
    const evil = `${'a'.repeat(50_000)}!`;
    for (const pattern of ['(a+)+$', '(a|aa)*$', '(a*)*b', '^(\\w+\\s?)*$']) {
      let regex: ReturnType<typeof compileSafeRegex> | undefined;
      try {
        regex = compileSafeRegex(pattern);
      } catch {
        continue; // refused at compile time: fine
      }
      assert.equal(regex.linear, true, `${pattern} compiled on the backtracking engine`);
      assert.equal(typeof regex.test(evil), 'boolean');
    }
    // Backreferences need backtracking: allowed only without nested quantifiers, and then only on short input.
    assert.throws(() => compileSafeRegex('((a+)+)\\1'));
    const backref = compileSafeRegex('(a)\\1');
    assert.equal(backref.linear, false);
    assert.throws(() => backref.test('x'.repeat(10_000)), /longer than the 4096 allowed/, 'over-long input to a backtracking regex is refused, not scanned');
  });
});

describe('playbook and policy YAML', () => {
  const yamlFragment = fc.oneof(
    fc.constantFrom(
      'id: p',
      'name: x',
      'version: 1',
      'steps:',
      '  - id: a',
      '    action: core.log',
      '    with: {message: hi}',
      '    when: "{{ inputs.x }}"',
      '    goto: nowhere',
      '  - id: a',
      '    kind: parallel',
      '    branches: [[]]',
      'inputs: {x: {type: string}}',
      'trigger: {alert: {severity: high}}',
      'rules:',
      '  - name: r',
      '    match: {action: "host.*"}',
      '    decision: require_approval',
      '    decision: perhaps',
      '    approvers: {roles: [lead], count: 2}',
      'default: deny',
      '&a [*a, *a]',
      '*undefined',
      '!!binary x',
      '{',
      '}',
      '[',
      '- - -',
      ': :',
      '\t',
      '"unterminated',
      "'",
      '? complex',
      '%YAML 1.2',
      '---',
      '...',
      '#',
      '    approval: {required: true, approvers: [x]}',
      'unknown_key: 1',
      'stepz: []',
    ),
    fc.string({ maxLength: 20 }),
  );
  const yamlText = fc.array(yamlFragment, { maxLength: 14 }).map((lines) => lines.join('\n'));

  const positioned = (issues: Array<{ line?: number; column?: number; path: unknown[]; code: string }>) =>
    issues.every((issue) => (typeof issue.line === 'number' && issue.line >= 1) || issue.path.length === 0);

  test('random playbook YAML yields a playbook or issues (each with a line or the document root), never a throw', () => {
    let fuzzed = 0;
    fc.assert(
      fc.property(yamlText, (text) => {
        fuzzed++;
        const result = parsePlaybookYaml(text);
        assert.ok(result.playbook !== undefined || result.issues.length > 0);
        assert.ok(positioned(result.issues), JSON.stringify(result.issues.filter((i) => i.line === undefined).slice(0, 3)));
      }),
      { numRuns: RUNS },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
  });

  test('random policy YAML yields a policy or positioned issues, never a throw', () => {
    let fuzzed = 0;
    fc.assert(
      fc.property(yamlText, (text) => {
        fuzzed++;
        const result = parsePolicyYaml(text);
        assert.ok(result.policy !== undefined || result.issues.length > 0);
        assert.ok(positioned(result.issues), JSON.stringify(result.issues.filter((i) => i.line === undefined).slice(0, 3)));
      }),
      { numRuns: RUNS },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
  });

  test('alias bombs are refused instead of expanding', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    for (const result of [parsePlaybookYaml(bomb), parsePolicyYaml(bomb)]) {
      assert.match(result.issues[0]?.message ?? '', /alias/i);
      assert.equal(result.issues[0]?.line, 1);
    }
  });
});

describe('webhook signature headers', () => {
  const credentials = { tokens: ['t0ken-0123456789'], hmacSecrets: ['secret-a', 'secret-b'] };
  const headerValue = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom('sha256=', 'sha256=00', `sha256=${'0'.repeat(64)}`, '1800000000', '-1', '9'.repeat(20), 'a\r\nb'),
  );

  test('random token, signature, timestamp and delivery headers are refused with 400/401, never a RangeError', () => {
    let fuzzed = 0;
    fc.assert(
      fc.property(
        fc.record(
          { 'x-riposte-token': headerValue, 'x-riposte-signature': headerValue, 'x-riposte-timestamp': headerValue, 'x-riposte-delivery': headerValue },
          { requiredKeys: [] },
        ),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.string({ maxLength: 200 }),
        (headers, queryToken, rawBody) => {
          fuzzed++;
          try {
            verifyWebhook({ source: 'generic', headers, queryToken, rawBody, now: 1_800_000_000_000, skewMs: 300_000, credentials });
            assert.fail('random headers were accepted');
          } catch (error) {
            expectRiposte(error, JSON.stringify(headers));
            assert.ok([400, 401].includes((error as RiposteError).status ?? 0), `status ${(error as RiposteError).status}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    recordFigure('security', 'inputs_fuzzed', fuzzed);
  });

  test('secrets are compared in constant time: only timingSafeEqual over equal-length digests, never ===', () => {
    const source = readFileSync(new URL('../src/cases/webhook-auth.ts', import.meta.url), 'utf8');
    assert.match(source, /timingSafeEqual\(digest\(a\), digest\(b\)\)/);
    // Every comparison against a configured token or computed signature goes through safeEqual.
    for (const line of source.split('\n')) {
      if (/\b(token|signature|expected|secret)\w*\s*(===|!==|==|!=)\s*/i.test(line) && !/undefined|null|length|''/.test(line)) {
        assert.fail(`plain comparison of secret material: ${line.trim()}`);
      }
    }
    assert.match(source, /safeEqual\(/);
  });
});
