/**
 * A literal every match of a regular expression must contain, so the evaluator can skip the regex (run on
 * V8's linear-time engine, which is safe but ~50× slower than the backtracking one) for the many values
 * that do not even contain it — the prefilter idea of RE2 and Hyperscan, kept deliberately simple: only
 * top-level literal runs count; groups, classes and anything after an alternation give up.
 */

const QUANTIFIER_START = new Set(['*', '+', '?', '{']);

function skipClass(source: string, i: number): number {
  // i points at '['; returns the index of the closing ']'.
  let j = i + 1;
  if (source[j] === '^') j++;
  if (source[j] === ']') j++;
  for (; j < source.length; j++) {
    if (source[j] === '\\') j++;
    else if (source[j] === ']') return j;
  }
  return source.length;
}

function skipGroup(source: string, i: number): number {
  // i points at '('; returns the index of the matching ')'.
  let depth = 0;
  for (let j = i; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === '[') j = skipClass(source, j);
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return source.length;
}

function skipQuantifier(source: string, i: number): number {
  // i points just after an atom; returns the index after any quantifier (and lazy '?').
  let j = i;
  const c = source[j];
  if (c === '*' || c === '+' || c === '?') j++;
  else if (c === '{') {
    const close = source.indexOf('}', j);
    if (close < 0) return j;
    j = close + 1;
  } else return j;
  if (source[j] === '?') j++;
  return j;
}

/** The longest literal (≥ 3 characters) any match must contain, or undefined. */
export function requiredLiteral(source: string): string | undefined {
  let best = '';
  let run = '';
  const flush = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '|') return undefined;
    if (c === '[') {
      flush();
      i = skipQuantifier(source, skipClass(source, i) + 1);
      continue;
    }
    if (c === '(') {
      flush();
      i = skipQuantifier(source, skipGroup(source, i) + 1);
      continue;
    }
    if (c === '.' || c === '^' || c === '$') {
      flush();
      i = skipQuantifier(source, i + 1);
      continue;
    }
    let literal: string | undefined;
    let next = i + 1;
    if (c === '\\') {
      const e = source[i + 1];
      if (e === undefined) return undefined;
      if (/[A-Za-z0-9]/.test(e)) {
        // Character-class escapes, anchors and code-point escapes are not plain text here.
        flush();
        let j = i + 2;
        if (e === 'x') j += 2;
        else if (e === 'u') j = source[j] === '{' ? source.indexOf('}', j) + 1 : j + 4;
        else if (e === 'c') j += 1;
        else if ((e === 'p' || e === 'P') && source[j] === '{') j = source.indexOf('}', j) + 1;
        else if (e === 'k' && source[j] === '<') j = source.indexOf('>', j) + 1;
        if (j <= i) return undefined;
        i = skipQuantifier(source, j);
        continue;
      }
      literal = e;
      next = i + 2;
    } else if (QUANTIFIER_START.has(c) || c === ')') {
      return undefined;
    } else {
      literal = c;
    }
    const q = source[next];
    if (q !== undefined && QUANTIFIER_START.has(q)) {
      // `x+` needs one x, then anything may follow; `x*`, `x?`, `x{0,…}` need none.
      const required = q === '+' || (q === '{' && /^\{[1-9]/.test(source.slice(next)));
      if (required) run += literal;
      flush();
      i = skipQuantifier(source, next);
      continue;
    }
    run += literal;
    i = next;
  }
  flush();
  return best.length >= 3 ? best : undefined;
}
