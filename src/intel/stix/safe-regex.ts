import { setFlagsFromString } from 'node:v8';
import { RiposteError } from '../../core/index.ts';

/**
 * MATCHES compiles PCRE-style regular expressions so that no pattern can hang the process:
 * 1. V8's linear-time engine (the `l` flag) runs every regex without backreferences or lookaround in time
 *    linear in the input; PCRE's leading inline flags `(?i)`, `(?m)`, `(?s)` are honoured (case-insensitivity
 *    by rewriting ASCII letters into two-case classes, because the linear engine has no `i`).
 * 2. The rest (backreferences, lookaround) runs on the backtracking engine only when the regex has no
 *    quantified group that itself contains a quantifier or an alternation (the shapes behind catastrophic
 *    backtracking), and only against inputs of at most BACKTRACKING_INPUT_LIMIT characters.
 * Anything else is refused when the pattern is compiled, with the reason.
 */

setFlagsFromString('--enable-experimental-regexp-engine');

export const BACKTRACKING_INPUT_LIMIT = 4096;

export interface SafeRegex {
  test(input: string): boolean;
  linear: boolean;
}

export class UnsafeRegexError extends Error {}

function addOtherCase(ch: string): string {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  return lower === upper ? ch : lower + upper;
}

/** Rewrites ASCII letters for case-insensitive matching without the `i` flag. */
export function caseFoldAscii(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      // \p{…}, \x41, \u0041, \cX, \k<name> carry letters that are syntax, not text: copy them whole.
      const m = /^(?:[pP]\{[^}]*\}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]+\}|c[A-Za-z]|k<[^>]*>)/.exec(source.slice(i + 1));
      const len = m ? m[0].length : 1;
      out += c + (m ? m[0] : next);
      i += len;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
      } else if (/[A-Za-z]/.test(c) && source[i + 1] === '-' && /[A-Za-z]/.test(source[i + 2] ?? '')) {
        const end = source[i + 2] as string;
        out += `${c}-${end}${c.toLowerCase() === c ? c.toUpperCase() : c.toLowerCase()}-${end.toLowerCase() === end ? end.toUpperCase() : end.toLowerCase()}`;
        i += 2;
      } else {
        out += /[A-Za-z]/.test(c) ? addOtherCase(c) : c;
      }
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '(' && source[i + 1] === '?' && source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') {
      const close = source.indexOf('>', i);
      out += source.slice(i, close + 1);
      i = close;
      continue;
    }
    out += /[A-Za-z]/.test(c) && !(source[i - 1] === '{') ? `[${addOtherCase(c)}]` : c;
  }
  return out;
}

/** True when a quantifier applies to a group that contains a quantifier or an alternation. */
export function hasNestedQuantifier(source: string): boolean {
  const stack: Array<{ quantified: boolean; alternation: boolean }> = [];
  let inClass = false;
  let lastGroup: { quantified: boolean; alternation: boolean } | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      i++;
      lastGroup = undefined;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      lastGroup = undefined;
    } else if (c === '(') {
      stack.push({ quantified: false, alternation: false });
      lastGroup = undefined;
    } else if (c === ')') {
      lastGroup = stack.pop();
    } else if (c === '|') {
      const top = stack[stack.length - 1];
      if (top) top.alternation = true;
      lastGroup = undefined;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (c === '?' && (source[i - 1] === '(' || /[*+?}]/.test(source[i - 1] ?? ''))) continue;
      if (lastGroup && (lastGroup.quantified || lastGroup.alternation)) return true;
      const top = stack[stack.length - 1];
      if (top) top.quantified = true;
      if (lastGroup) {
        for (const frame of stack) frame.quantified = true;
      }
      if (c === '{') i = Math.max(i, source.indexOf('}', i));
      lastGroup = undefined;
    } else {
      lastGroup = undefined;
    }
  }
  return false;
}

/** Compiles a PCRE-style regex for MATCHES; throws an Error whose message says why it was refused. */
export function compileSafeRegex(pcre: string): SafeRegex {
  let source = pcre;
  let flags = '';
  const inline = /^\(\?([imsx]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    for (const f of inline[1] as string) {
      if (f === 'x') throw new UnsafeRegexError('the (?x) extended-syntax flag is not supported');
      if (!flags.includes(f)) flags += f;
    }
  }
  // Validate the syntax with the ordinary engine first, so syntax errors read as such.
  try {
    new RegExp(source, flags);
  } catch (error) {
    throw new UnsafeRegexError(`invalid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  const linearSource = flags.includes('i') ? caseFoldAscii(source) : source;
  const linearFlags = `${flags.replace('i', '')}l`;
  try {
    const regex = new RegExp(linearSource, linearFlags);
    return { linear: true, test: (input) => regex.test(input) };
  } catch {
    // Needs backtracking (backreferences, lookaround): allowed only in the safe shape below.
  }
  if (hasNestedQuantifier(source)) {
    throw new UnsafeRegexError('regular expression needs backtracking and nests quantifiers (catastrophic backtracking risk)');
  }
  const regex = new RegExp(source, flags);
  return {
    linear: false,
    test: (input) => {
      if (input.length > BACKTRACKING_INPUT_LIMIT) {
        throw new RiposteError(
          'stix.match_input_too_long',
          `MATCHES: a value of ${input.length} characters is longer than the ${BACKTRACKING_INPUT_LIMIT} allowed for a regular expression that needs backtracking`,
          { status: 422 },
        );
      }
      return regex.test(input);
    },
  };
}
