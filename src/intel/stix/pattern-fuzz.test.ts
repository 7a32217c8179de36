import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { recordFigure } from '../../../test/campaign-figures.ts';
import { isRiposteError } from '../../core/index.ts';
import { collectObservations } from './observations.ts';
import { compilePattern } from './pattern-matcher.ts';

/**
 * Grammar-shaped random patterns against random observations: compiling and matching either succeed with a
 * boolean or fail with a RiposteError — never another exception, never a hang (the step budget bounds it).
 */
const literal = fc.oneof(
  fc.constantFrom("'a'", "'b%'", "'10.0.0.0/8'", "'2001:db8::/32'", '1', '-2', '2.5', 'true', "h'ff'", "b'AQ=='", "t'2020-01-01T00:00:00Z'", "'^a+$'"),
);
const path = fc.constantFrom('x:a', 'x:b', 'x:list[*]', 'x:list[0]', 'x:ref_ref.a', 'y:a', "x:'odd key'", 'ipv4-addr:value');
const operator = fc.constantFrom('=', '!=', '<', '>=', 'LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET', 'IN');
const comparison = fc.tuple(path, fc.boolean(), operator, literal, literal).map(([p, not, op, l1, l2]) => {
  const n = not ? ' NOT' : '';
  return op === 'IN' ? `${p}${n} IN (${l1}, ${l2})` : `${p}${n} ${op} ${l1}`;
});
const { observation } = fc.letrec((tie) => ({
  comparisonExpr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('comparisonExpr'), fc.constantFrom('AND', 'OR'), tie('comparisonExpr')).map(([a, op, b]) => `(${a} ${op} ${b})`),
  ),
  observation: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('comparisonExpr').map((c) => `[${c}]`),
    fc.tuple(tie('observation'), fc.constantFrom('AND', 'OR', 'FOLLOWEDBY'), tie('observation')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc
      .tuple(tie('observation'), fc.constantFrom(' WITHIN 5 SECONDS', ' REPEATS 2 TIMES', " START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'"))
      .map(([o, q]) => `(${o})${q}`),
  ),
}));
const value = fc.oneof(
  fc.constantFrom('a', 'b', '10.1.2.3', '2001:db8::1', 'AQ==', '2020-01-01T00:00:00Z', 'x'.repeat(5000)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const scoObject = fc.record({
  type: fc.constantFrom('x', 'y', 'ipv4-addr'),
  a: value,
  b: value,
  value: value,
  list: fc.array(value, { maxLength: 3 }),
  ref_ref: fc.constantFrom('x--1', 'x--2', 'nothing'),
});

test('random patterns over random observations: a boolean or a RiposteError', () => {
  fc.assert(
    fc.property(
      observation,
      fc.array(fc.tuple(fc.array(scoObject, { minLength: 1, maxLength: 3 }), fc.nat({ max: 100 }), fc.integer({ min: 1, max: 3 })), { maxLength: 6 }),
      (pattern, groups) => {
        const items: unknown[] = [];
        groups.forEach(([objects, seconds, count], g) => {
          const ids = objects.map((o, i) => {
            const id = `${o.type}--${g}-${i}`;
            items.push({ ...o, id });
            return id;
          });
          const at = new Date(Date.UTC(2020, 0, 1, 0, 0, seconds)).toISOString();
          items.push({ type: 'observed-data', id: `observed-data--${g}`, first_observed: at, last_observed: at, number_observed: count, object_refs: ids });
        });
        try {
          const result = compilePattern(pattern).matches(collectObservations(items));
          assert.equal(typeof result, 'boolean');
        } catch (error) {
          assert.ok(isRiposteError(error), `${pattern}: ${String(error)}`);
        }
      },
    ),
    { numRuns: 1500 },
  );
  recordFigure('security', 'inputs_fuzzed (STIX patterns)', 1500);
});
