import type { Condition } from './rule-model.ts';

/**
 * The Sigma condition language: `and`, `or`, `not`, parentheses, `1 of pattern`, `all of pattern`,
 * `1 of them`, `all of them` (keywords case-insensitive). Precedence, loosest first: or, and, not,
 * `x of`, parentheses — as the specification lists them. Aggregations (`| count() by …`, Sigma 1.0)
 * and `N of` for N other than 1 are refused by name.
 */

export class ConditionProblem extends Error {
  /** 0-based character offset in the condition text. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

interface Token {
  text: string;
  lower: string;
  offset: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all', 'any']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ text: c, lower: c, offset: i });
      i++;
      continue;
    }
    if (c === '|') throw new ConditionProblem("aggregation expressions ('| count() …', Sigma 1.0) are not supported; use a correlation tool", i);
    const word = /^[A-Za-z0-9_.*-]+/.exec(text.slice(i));
    if (!word) throw new ConditionProblem(`unexpected character ${JSON.stringify(c)}`, i);
    tokens.push({ text: word[0], lower: word[0].toLowerCase(), offset: i });
    i += word[0].length;
  }
  return tokens;
}

export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** Parses one condition string against the rule's search identifiers (in rule order). */
export function parseCondition(text: string, identifiers: string[]): Condition {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new ConditionProblem('the condition is empty', 0);
  let pos = 0;
  const peek = () => tokens[pos];
  const end = () => (tokens.length > 0 ? (tokens[tokens.length - 1] as Token).offset + (tokens[tokens.length - 1] as Token).text.length : 0);

  const orExpr = (): Condition => {
    const operands = [andExpr()];
    while (peek()?.lower === 'or') {
      pos++;
      operands.push(andExpr());
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'or', operands };
  };
  const andExpr = (): Condition => {
    const operands = [notExpr()];
    while (peek()?.lower === 'and') {
      pos++;
      operands.push(notExpr());
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'and', operands };
  };
  const notExpr = (): Condition => {
    if (peek()?.lower === 'not') {
      pos++;
      return { kind: 'not', operand: notExpr() };
    }
    return primary();
  };
  const primary = (): Condition => {
    const token = peek();
    if (!token) throw new ConditionProblem('unexpected end of condition: expected a search identifier, "(", "not", "1 of" or "all of"', end());
    if (token.text === '(') {
      pos++;
      const inner = orExpr();
      const close = peek();
      if (close?.text !== ')') throw new ConditionProblem(`expected ")" to close the "(" at character ${token.offset + 1}`, close?.offset ?? end());
      pos++;
      return inner;
    }
    if (token.text === ')') throw new ConditionProblem('unexpected ")"', token.offset);
    const next = tokens[pos + 1];
    if (next?.lower === 'of') {
      let quantifier: 'one' | 'all';
      if (token.lower === '1' || token.lower === 'any') quantifier = 'one';
      else if (token.lower === 'all') quantifier = 'all';
      else if (/^\d+$/.test(token.lower)) throw new ConditionProblem(`"${token.text} of" is not supported: only "1 of" and "all of" are defined`, token.offset);
      else throw new ConditionProblem(`"${token.text} of": expected "1 of" or "all of"`, token.offset);
      pos += 2;
      const target = peek();
      if (!target || target.text === '(' || target.text === ')' || (KEYWORDS.has(target.lower) && target.lower !== 'them')) {
        throw new ConditionProblem(`"${token.text} of" must be followed by "them" or a search identifier pattern`, target?.offset ?? end());
      }
      pos++;
      if (target.lower === 'them') {
        // By convention identifiers starting with "_" are left out of "them".
        const names = identifiers.filter((n) => !n.startsWith('_'));
        if (names.length === 0) throw new ConditionProblem('"of them": the rule has no search identifiers', target.offset);
        return { kind: 'of', quantifier, pattern: 'them', names };
      }
      const matcher = globToRegExp(target.text);
      const names = identifiers.filter((n) => matcher.test(n));
      if (names.length === 0) throw new ConditionProblem(`"${target.text}" matches no search identifier`, target.offset);
      return { kind: 'of', quantifier, pattern: target.text, names };
    }
    if (KEYWORDS.has(token.lower) || token.lower === '1') throw new ConditionProblem(`unexpected "${token.text}"`, token.offset);
    if (token.text.includes('*')) throw new ConditionProblem(`"${token.text}": wildcards are only allowed after "1 of" or "all of"`, token.offset);
    if (!identifiers.includes(token.text)) throw new ConditionProblem(`unknown search identifier "${token.text}"`, token.offset);
    pos++;
    return { kind: 'ref', name: token.text };
  };

  const condition = orExpr();
  const rest = peek();
  if (rest) throw new ConditionProblem(`unexpected "${rest.text}" (expected "and", "or" or the end)`, rest.offset);
  return condition;
}

/** The identifiers a condition uses, for "defined but never used" checks. */
export function referencedIdentifiers(condition: Condition, into = new Set<string>()): Set<string> {
  switch (condition.kind) {
    case 'and':
    case 'or':
      for (const o of condition.operands) referencedIdentifiers(o, into);
      break;
    case 'not':
      referencedIdentifiers(condition.operand, into);
      break;
    case 'ref':
      into.add(condition.name);
      break;
    case 'of':
      for (const n of condition.names) into.add(n);
      break;
  }
  return into;
}
