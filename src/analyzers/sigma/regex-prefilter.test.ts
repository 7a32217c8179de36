import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { requiredLiteral } from './regex-prefilter.ts';

/** The prefilter may only skip values that cannot match: its literal must be in every match. */

test('finds the longest top-level literal run', () => {
  assert.equal(requiredLiteral('^c:\\\\users\\\\[^\\\\]+\\\\appdata\\\\roaming\\\\x5[a-z]*\\.exe$'), '\\appdata\\roaming\\x5');
  assert.equal(requiredLiteral('-e(nc|ncodedcommand) [a-z0-9+/=]{40,}'), undefined, 'only "-e" is literal: too short');
  assert.equal(requiredLiteral('powershell(\\.exe)? -enc'), 'powershell');
  assert.equal(requiredLiteral('abcd*efgh'), 'efgh', 'd is optional');
  assert.equal(requiredLiteral('abcde?fg'), 'abcd');
  assert.equal(requiredLiteral('abcd+efg'), 'abcd');
  assert.equal(requiredLiteral('mimikatz|kiwi'), undefined, 'alternation gives up');
  assert.equal(requiredLiteral('\\x41\\x42\\x43\\d+abc'), 'abc');
  assert.equal(requiredLiteral('a{2}bcd'), 'bcd');
});

test('property: whenever the regex matches, the value contains the literal', () => {
  const atom = fc.constantFrom('a', 'b', 'ab', '\\.', '.', '[ab]', '(a|b)', '\\d', 'x', '\\\\', '^', '$');
  const quant = fc.constantFrom('', '', '*', '+', '?', '{0,2}', '{1,2}', '*?');
  const regex = fc
    .array(fc.tuple(atom, quant), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.map(([a, q]) => (a === '^' || a === '$' ? a : a + q)).join(''));
  fc.assert(
    fc.property(regex, fc.stringMatching(/^[abx.\\0-9]{0,12}$/), (source, input) => {
      let re: RegExp;
      try {
        re = new RegExp(source);
      } catch {
        return;
      }
      const literal = requiredLiteral(source);
      if (literal !== undefined && re.test(input)) assert.ok(input.includes(literal), `${source} matched ${input} without ${literal}`);
    }),
    { numRuns: 3000 },
  );
});
