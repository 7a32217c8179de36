import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTemplate, type DataValue, ExpressionError, evaluateDeep, TemplateSyntaxError } from './index.ts';

const render = (source: string, context: Record<string, DataValue> = {}) => compileTemplate(source).evaluate(context);

describe('template evaluation', () => {
  const context = {
    inputs: { ip: '203.0.113.7', count: 3, tags: ['a', 'b'] },
    steps: {
      vt: {
        output: {
          malicious: 5,
          engines: [
            { name: 'x', hit: true },
            { name: 'y', hit: false },
          ],
        },
      },
    },
  };

  test('a whole-string expression returns the typed value; mixed text returns a string', () => {
    assert.equal(render('{{ inputs.count }}', context), 3);
    assert.deepEqual(render('{{ inputs.tags }}', context), ['a', 'b']);
    assert.deepEqual(render('{{ steps.vt.output }}', context), context.steps.vt.output);
    assert.equal(render('count={{ inputs.count }}', context), 'count=3');
    assert.equal(render('{{ inputs.count }} {{ inputs.count }}', context), '3 3');
    assert.equal(render('plain text', context), 'plain text');
    assert.equal(render('{{ inputs.count > 2 and steps.vt.output.malicious >= 5 }}', context), true);
  });

  test('filters, tests, statements and methods', () => {
    assert.deepEqual(render("{{ steps.vt.output.engines | selectattr('hit') | map(attribute='name') | list }}", context), ['x']);
    assert.deepEqual(render("{{ steps.vt.output.engines | rejectattr('name', 'eq', 'x') | map(attribute='name') | list }}", context), ['y']);
    assert.equal(render("{{ missing | default('none given') }}", context), 'none given');
    assert.equal(render('{% for t in inputs.tags %}{{ loop.index }}:{{ t | upper }}{% if not loop.last %},{% endif %}{% endfor %}', context), '1:A,2:B');
    assert.equal(render("{{ 'Hello'.lower() ~ '!' }}"), 'hello!');
    assert.equal(render('{{ x is defined }}/{{ inputs is mapping }}', context), 'false/true');
    assert.deepEqual(render('{{ [1, 2, 3][1:] }}'), [2, 3]);
    assert.deepEqual(render("{{ {'a': 1, 'b': [2]} }}"), { a: 1, b: [2] });
    assert.equal(render('{{ 7 // 2 }}'), 3);
  });

  test('security filters', () => {
    assert.equal(render("{{ 'http://evil.example.com/x' | defang }}"), 'hxxp[://]evil[.]example[.]com/x');
    assert.equal(render("{{ 'hxxps[://]evil[.]example[.]com' | refang }}"), 'https://evil.example.com');
    assert.equal(render("{{ '10.1.2.3' | ip_in_cidr('10.0.0.0/8') }}"), true);
    assert.equal(render("{{ '::ffff:10.1.2.3' | ip_in_cidr(['192.168.0.0/16', '10.0.0.0/8']) }}"), true);
    assert.equal(render("{{ '8.8.8.8' | is_private_ip }}"), false);
    assert.equal(render("{{ '100.64.1.1' | is_private_ip }}"), true);
    assert.equal(render("{{ 'https://a.b.example.co.uk:8443/p' | domain }}"), 'a.b.example.co.uk');
    assert.equal(render("{{ 'https://a.b.example.co.uk/p' | registered_domain }}"), 'example.co.uk');
    assert.equal(render("{{ 'mail.corp.example.com' | registered_domain }}"), 'example.com');
    assert.equal(render("{{ 'riposte' | b64encode | b64decode }}"), 'riposte');
    assert.equal(render("{{ 'abc' | sha256 }}"), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.deepEqual(render("{{ steps.vt.output | json_query('engines[?hit].name') }}", context), ['x']);
    assert.equal(render("{{ 'user=alice id=7' | regex_search('id=(\\\\d+)') }}"), '7');
    assert.equal(render("{{ 'a1b22' | regex_replace('\\\\d+', '#') }}"), 'a#b#');
    assert.equal(render("{{ '2026-01-01T00:00:00Z' | date_add('1d') }}"), '2026-01-02T00:00:00.000Z');
    assert.equal(render("{{ '2026-01-02T00:00:00Z' | date_diff('2026-01-01T00:00:00Z') }}"), 86_400_000);
  });

  test('regex filters refuse catastrophic patterns and oversized input', () => {
    assert.throws(() => render("{{ 'aaaa' | regex_search('(a+)+$') }}"), /backtrack catastrophically/);
    assert.throws(() => render('{{ big | regex_search("a") }}', { big: 'a'.repeat(200_000) }), /longer than 100000/);
  });
});

describe('template sandbox', () => {
  const probes = [
    '{{ constructor }}',
    '{{ inputs.constructor }}',
    "{{ inputs['constructor'] }}",
    '{{ inputs.__proto__ }}',
    '{{ inputs.constructor.constructor }}',
    "{{ inputs['__proto__']['constructor'] }}",
    '{{ inputs.tags.constructor }}',
    "{{ 'x'.constructor }}",
    '{{ inputs.prototype }}',
    '{{ inputs.toString }}',
    '{{ inputs.hasOwnProperty }}',
    '{{ inputs.tags.map }}',
    '{{ inputs.tags.length }}',
  ];
  for (const probe of probes) {
    test(`prototype walking is impossible: ${probe}`, () => {
      assert.equal(render(probe, { inputs: { tags: [1] } }), undefined);
    });
  }

  test('host objects are not reachable: globals, process, require, functions in the context', () => {
    for (const name of ['process', 'globalThis', 'require', 'Function', 'eval', 'import', 'this', 'window', 'module']) {
      assert.equal(render(`{{ ${name} }}`, {}), undefined, name);
    }
    // Even if a caller mistakenly puts a host object or function into the context, templates cannot reach it.
    const context = { host: process as unknown as DataValue, fn: (() => 'called') as unknown as DataValue, date: new Date(0) as unknown as DataValue };
    assert.equal(render('{{ host.env }}', context), undefined);
    assert.equal(render('{{ fn }}', context), undefined);
    assert.equal(render('{{ date }}', context), '1970-01-01T00:00:00.000Z');
  });

  test('code execution is impossible: calls, macros and unknown filters are rejected at compile time', () => {
    assert.throws(() => compileTemplate("{{ inputs.constructor.constructor('return process')() }}"), TemplateSyntaxError);
    assert.throws(() => compileTemplate('{{ fn() }}'), /unknown function fn\(\)/);
    assert.throws(() => compileTemplate('{% macro m() %}x{% endmacro %}'), /not supported/);
    assert.throws(() => compileTemplate('{{ x | attr("constructor") }}'), /unknown filter "attr"/);
    assert.throws(() => compileTemplate('{{ x.__class__.__mro__() }}'), /unknown method/);
  });

  test('json_query cannot reach the prototype and returns only data', () => {
    assert.throws(() => render("{{ x | json_query('constructor') }}", { x: {} }), /not reachable/);
    assert.deepEqual(render("{{ x | json_query('a') }}", { x: { a: [1, { b: 2 }] } }), [1, { b: 2 }]);
  });

  test('data values are never re-evaluated as templates', () => {
    const context = { inputs: { subject: '{{ 7 * 7 }}', nested: { s: '{% for x in range(3) %}x{% endfor %}' } } };
    assert.equal(render('{{ inputs.subject }}', context), '{{ 7 * 7 }}');
    assert.equal(render('Subject: {{ inputs.subject }}', context), 'Subject: {{ 7 * 7 }}');
    assert.deepEqual(evaluateDeep({ a: '{{ inputs.nested }}', b: ['{{ inputs.subject }}'] }, context), {
      a: { s: '{% for x in range(3) %}x{% endfor %}' },
      b: ['{{ 7 * 7 }}'],
    });
  });

  test('object literals with __proto__ keys stay plain data', () => {
    const value = render("{{ {'__proto__': {'polluted': 1}} }}") as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ['__proto__']);
  });

  test('runaway templates hit the work budget instead of hanging', () => {
    assert.throws(() => render('{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}'), ExpressionError);
    assert.throws(() => render("{{ 'x' * 100000000 }}"), /repetition longer/);
  });

  test('syntax errors name the template', () => {
    assert.throws(() => compileTemplate('{{ inputs.ip '), /template syntax error in "\{\{ inputs.ip ": Unexpected end of input/);
    assert.throws(() => compileTemplate('{% if x %}no end'), TemplateSyntaxError);
  });
});
