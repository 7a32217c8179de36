/**
 * Sigma string values: literal text with `*` (any run of characters) and `?` (one character) wildcards, and
 * the spec's backslash escapes (`\*`, `\?`, `\\`; a backslash before anything else is itself). Values are
 * kept as parts so every backend renders wildcards in its own syntax and escapes the literal text its way.
 */
export type StringPart = { kind: 'text'; text: string } | { kind: 'any' } | { kind: 'one' };

export interface SigmaString {
  parts: StringPart[];
}

/** Parses a rule value per the Sigma escaping rules. */
export function parseSigmaString(raw: string): SigmaString {
  const parts: StringPart[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      const next = raw[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        text += next;
        i++;
      } else {
        text += c;
      }
    } else if (c === '*') {
      flush();
      if (parts[parts.length - 1]?.kind !== 'any') parts.push({ kind: 'any' });
    } else if (c === '?') {
      flush();
      parts.push({ kind: 'one' });
    } else {
      text += c;
    }
  }
  flush();
  return { parts };
}

export function literalString(text: string): SigmaString {
  return { parts: text === '' ? [] : [{ kind: 'text', text }] };
}

export function hasWildcards(value: SigmaString): boolean {
  return value.parts.some((p) => p.kind !== 'text');
}

/** The literal text, or undefined when the value has wildcards. */
export function plainText(value: SigmaString): string | undefined {
  if (hasWildcards(value)) return undefined;
  return value.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
}

export function startsWithAny(value: SigmaString): boolean {
  return value.parts[0]?.kind === 'any';
}

export function endsWithAny(value: SigmaString): boolean {
  return value.parts[value.parts.length - 1]?.kind === 'any';
}

export function withLeadingAny(value: SigmaString): SigmaString {
  return startsWithAny(value) ? value : { parts: [{ kind: 'any' }, ...value.parts] };
}

export function withTrailingAny(value: SigmaString): SigmaString {
  return endsWithAny(value) ? value : { parts: [...value.parts, { kind: 'any' }] };
}

/** Rewrites the text parts (e.g. hive names for a backend); wildcards are kept. */
export function mapText(value: SigmaString, rewrite: (text: string, index: number) => string): SigmaString {
  const parts: StringPart[] = [];
  value.parts.forEach((p, index) => {
    if (p.kind !== 'text') {
      parts.push(p);
      return;
    }
    const text = rewrite(p.text, index);
    if (text !== '') parts.push({ kind: 'text', text });
  });
  return { parts };
}

/** Back to Sigma notation (with escapes), for messages and round trips. */
export function formatSigmaString(value: SigmaString): string {
  return value.parts.map((p) => (p.kind === 'any' ? '*' : p.kind === 'one' ? '?' : p.text.replace(/[\\*?]/g, (c) => `\\${c}`))).join('');
}

/**
 * A matcher for one value. Case-insensitive matching compares lower-cased text on both sides (the caller
 * lower-cases the event value once per event, see rule-evaluator.ts). Wildcards match by segments between
 * `*`s, leftmost first, which is correct for glob patterns and costs at most O(pattern × value).
 */
export function compileStringMatcher(value: SigmaString, cased: boolean): (input: string) => boolean {
  const fold = (t: string) => (cased ? t : t.toLowerCase());
  const parts = value.parts.map((p) => (p.kind === 'text' ? { kind: 'text' as const, text: fold(p.text) } : p));
  const plain = plainText({ parts });
  if (plain !== undefined) return (input) => input === plain;
  // The shapes contains/startswith/endswith produce, answered by the string built-ins.
  if (parts.length === 2 && parts[0]?.kind === 'text' && parts[1]?.kind === 'any') {
    const prefix = parts[0].text;
    return (input) => input.startsWith(prefix);
  }
  if (parts.length === 2 && parts[0]?.kind === 'any' && parts[1]?.kind === 'text') {
    const suffix = parts[1].text;
    return (input) => input.endsWith(suffix);
  }
  if (parts.length === 3 && parts[0]?.kind === 'any' && parts[1]?.kind === 'text' && parts[2]?.kind === 'any') {
    const infix = parts[1].text;
    return (input) => input.includes(infix);
  }
  if (parts.length === 1 && parts[0]?.kind === 'any') return () => true;
  // Segments between `*`: each a list of characters where null stands for `?`.
  const segments: Array<Array<string | null>> = [[]];
  for (const p of parts) {
    if (p.kind === 'any') segments.push([]);
    else if (p.kind === 'one') (segments[segments.length - 1] as Array<string | null>).push(null);
    else (segments[segments.length - 1] as Array<string | null>).push(...p.text.split(''));
  }
  const anchoredStart = parts[0]?.kind !== 'any';
  const anchoredEnd = parts[parts.length - 1]?.kind !== 'any';
  return (input) => globMatch(segments, anchoredStart, anchoredEnd, input);
}

function segmentAt(segment: Array<string | null>, input: string, at: number): boolean {
  if (at + segment.length > input.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c !== null && input[at + i] !== c) return false;
  }
  return true;
}

function globMatch(segments: Array<Array<string | null>>, anchoredStart: boolean, anchoredEnd: boolean, input: string): boolean {
  if (segments.length === 1) {
    const only = segments[0] as Array<string | null>;
    return only.length === input.length && segmentAt(only, input, 0);
  }
  const first = segments[0] as Array<string | null>;
  const last = segments[segments.length - 1] as Array<string | null>;
  let from = 0;
  if (anchoredStart) {
    if (!segmentAt(first, input, 0)) return false;
    from = first.length;
  }
  const end = anchoredEnd ? input.length - last.length : input.length;
  if (end < from) return false;
  for (let s = anchoredStart ? 1 : 0; s < segments.length - (anchoredEnd ? 1 : 0); s++) {
    const segment = segments[s] as Array<string | null>;
    let found = -1;
    for (let at = from; at + segment.length <= end; at++) {
      if (segmentAt(segment, input, at)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    from = found + segment.length;
  }
  return anchoredEnd ? segmentAt(last, input, end) && end >= from : true;
}
