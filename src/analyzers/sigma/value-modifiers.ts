import { Buffer } from 'node:buffer';
import { compileSafeRegex, parseNetwork } from '../../intel/stix/index.ts';
import type { DetectionItem, RegexFlags, SigmaValue } from './rule-model.ts';
import {
  hasWildcards,
  literalString,
  parseSigmaString,
  plainText,
  type SigmaString,
  type StringPart,
  withLeadingAny,
  withTrailingAny,
} from './sigma-string.ts';

/**
 * Value modifiers (Sigma modifiers appendix 2.1): applied left to right to each value, as pySigma does.
 * Transformation modifiers (contains, base64, windash, utf16…) rewrite values; type modifiers (re, cidr,
 * gt…, exists) change how a value is compared. Combinations the spec forbids or that cannot mean anything
 * are refused with a message naming the modifier.
 */

/** A value as the YAML wrote it, before modifiers. */
export type RawValue = { kind: 'string'; raw: string } | { kind: 'number'; value: number; text: string } | { kind: 'bool'; value: boolean } | { kind: 'null' };

export class ModifierProblem extends Error {
  readonly valueIndex: number | undefined;
  constructor(message: string, valueIndex?: number) {
    super(message);
    this.valueIndex = valueIndex;
  }
}

export const SUPPORTED_MODIFIERS = [
  'contains',
  'startswith',
  'endswith',
  'all',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
  'windash',
  're',
  'i',
  'm',
  's',
  'ignorecase',
  'multiline',
  'dotall',
  'cidr',
  'cased',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
  'neq',
] as const;

/** Modifiers the spec defines that Riposte does not implement, with the reason shown to the user. */
const UNSUPPORTED_MODIFIERS: Record<string, string> = {
  expand: 'placeholders need a processing pipeline with value lists',
  fieldref: 'field references are not supported',
  minute: 'time-part modifiers are not supported',
  hour: 'time-part modifiers are not supported',
  day: 'time-part modifiers are not supported',
  week: 'time-part modifiers are not supported',
  month: 'time-part modifiers are not supported',
  year: 'time-part modifiers are not supported',
};

/** windash expands every flag dash into these: `-`, `/`, en dash, em dash, horizontal bar. */
const WINDASH_CHARS = ['-', '/', '\u2013', '\u2014', '\u2015'];
const MAX_WINDASH_VALUES = 625;

type Encoding = 'utf8' | 'utf16le' | 'utf16be' | 'utf16';

type Stage =
  | { kind: 'string'; value: SigmaString; raw: string | undefined; cased: boolean; encoding: Encoding }
  | { kind: 'regex'; source: string; flags: RegexFlags }
  | Exclude<SigmaValue, { kind: 'string' } | { kind: 'regex' }>;

function stageOf(value: RawValue): Stage {
  switch (value.kind) {
    case 'string':
      return { kind: 'string', value: parseSigmaString(value.raw), raw: value.raw, cased: false, encoding: 'utf8' };
    case 'number':
      return { kind: 'number', value: value.value, text: value.text };
    case 'bool':
      return { kind: 'bool', value: value.value };
    case 'null':
      return { kind: 'null' };
  }
}

function encode(text: string, encoding: Encoding): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf16le') return le;
  if (encoding === 'utf16') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  return le.swap16();
}

/** The three base64 renderings of `data` at byte offsets 0, 1 and 2, trimmed to their position-independent middle. */
export function base64Offsets(data: Buffer): string[] {
  const starts = [0, 2, 3];
  const ends = [undefined, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const encoded = Buffer.concat([Buffer.alloc(i, 0x20), data]).toString('base64');
    out.push(encoded.slice(starts[i], ends[(data.length + i) % 3]));
  }
  return out;
}

/** Every flag dash (`\B[-/]\b`, as pySigma) replaced by each of the five dash characters. */
export function windashVariants(value: SigmaString): SigmaString[] {
  let variants: StringPart[][] = [[]];
  for (const part of value.parts) {
    if (part.kind !== 'text') {
      for (const v of variants) v.push(part);
      continue;
    }
    const pieces = part.text.split(/\B[-/]\b/);
    let partVariants = [''];
    pieces.forEach((piece, index) => {
      partVariants = partVariants.map((p) => p + piece);
      if (index < pieces.length - 1) partVariants = partVariants.flatMap((p) => WINDASH_CHARS.map((d) => p + d));
      if (partVariants.length > MAX_WINDASH_VALUES) throw new ModifierProblem(`windash: the value expands to more than ${MAX_WINDASH_VALUES} variants`);
    });
    variants = variants.flatMap((v) => partVariants.map((p) => [...v, { kind: 'text' as const, text: p }]));
    if (variants.length > MAX_WINDASH_VALUES) throw new ModifierProblem(`windash: the value expands to more than ${MAX_WINDASH_VALUES} variants`);
  }
  return variants.map((parts) => ({ parts }));
}

/** Leading PCRE inline flags `(?ims)` become sub-modifier flags, so backends can render them their way. */
function splitInlineFlags(source: string, flags: RegexFlags): { source: string; flags: RegexFlags } {
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (!inline) return { source, flags };
  const f = inline[1] as string;
  return { source: source.slice(inline[0].length), flags: { i: flags.i || f.includes('i'), m: flags.m || f.includes('m'), s: flags.s || f.includes('s') } };
}

/**
 * Checks a regex compiles and cannot backtrack catastrophically (intel/stix safe-regex: linear-time engine,
 * else a backtracking shape without nested quantifiers on bounded input). Backreferences and lookaround
 * are outside the Sigma regex flavour and refused by name.
 */
export function checkRegex(source: string, flags: RegexFlags): void {
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(source)) {
    throw new ModifierProblem('re: backreferences and lookaround are not part of the Sigma regular expression flavour');
  }
  const prefix = flags.i || flags.m || flags.s ? `(?${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''})` : '';
  try {
    compileSafeRegex(prefix + source);
  } catch (error) {
    throw new ModifierProblem(`re: ${(error as Error).message}`);
  }
}

function asString(stage: Stage, modifier: string): Extract<Stage, { kind: 'string' }> {
  if (stage.kind === 'string') return stage;
  if (stage.kind === 'number') return { kind: 'string', value: literalString(stage.text), raw: stage.text, cased: false, encoding: 'utf8' };
  throw new ModifierProblem(`${modifier}: applies to strings, not to ${stage.kind === 'null' ? 'null' : `a ${stage.kind} value`}`);
}

/**
 * Builds a detection item from `field|mod1|mod2: values`. Throws ModifierProblem naming the modifier
 * (and the value, by index) when the combination is not allowed.
 */
export function buildDetectionItem(field: string | null, modifiers: string[], rawValues: RawValue[]): DetectionItem {
  for (const m of modifiers) {
    if (m in UNSUPPORTED_MODIFIERS) throw new ModifierProblem(`modifier '${m}' is not supported: ${UNSUPPORTED_MODIFIERS[m]}`);
    if (!(SUPPORTED_MODIFIERS as readonly string[]).includes(m)) throw new ModifierProblem(`unknown modifier '${m}'`);
  }
  if (rawValues.length === 0) throw new ModifierProblem('a value list must not be empty');
  let linking: 'or' | 'and' = 'or';
  let negated = false;
  const values: SigmaValue[] = [];
  for (const [index, raw] of rawValues.entries()) {
    try {
      values.push(...applyChain(field, modifiers, raw));
    } catch (error) {
      if (error instanceof ModifierProblem && error.valueIndex === undefined && rawValues.length > 1) throw new ModifierProblem(error.message, index);
      throw error;
    }
  }
  for (const m of modifiers) {
    if (m === 'all') linking = 'and';
    if (m === 'neq') negated = true;
  }
  if (modifiers.includes('all') && rawValues.length < 2) {
    throw new ModifierProblem("modifier 'all' needs a list of two or more values (use a separate selection to repeat a field)");
  }
  if (modifiers.includes('exists') && modifiers.length > 1) throw new ModifierProblem("modifier 'exists' cannot be combined with other modifiers");
  return { field, modifiers, values, linking, negated };
}

function applyChain(field: string | null, modifiers: string[], raw: RawValue): SigmaValue[] {
  let stages: Stage[] = [stageOf(raw)];
  const applied: string[] = [];
  for (const m of modifiers) {
    stages = stages.flatMap((stage) => applyOne(field, m, stage, applied));
    applied.push(m);
  }
  return stages.map((stage) => {
    if (stage.kind === 'string') {
      if (stage.encoding !== 'utf8')
        throw new ModifierProblem(
          `${stage.encoding === 'utf16le' && applied.includes('wide') ? 'wide' : stage.encoding}: must be followed by base64 or base64offset`,
        );
      return { kind: 'string', value: stage.value, cased: stage.cased };
    }
    if (stage.kind === 'regex') checkRegex(stage.source, stage.flags);
    if (stage.kind === 'null' && applied.length > 0) throw new ModifierProblem(`${applied[0]}: null takes no modifiers`);
    if (stage.kind === 'bool' && applied.some((a) => a !== 'exists' && a !== 'neq' && a !== 'all'))
      throw new ModifierProblem(`${applied[0]}: a boolean value takes no string modifiers`);
    return stage;
  });
}

function applyOne(field: string | null, m: string, stage: Stage, applied: string[]): Stage[] {
  const typeModifierFirst = (name: string) => {
    if (applied.some((a) => a !== 'all' && a !== 'neq')) throw new ModifierProblem(`${name}: only applies to an unmodified value (put it first)`);
  };
  switch (m) {
    case 'all':
    case 'neq':
      return [stage];
    case 'contains':
    case 'startswith':
    case 'endswith': {
      if (stage.kind === 'regex') {
        // As pySigma: group a top-level alternation, then open the anchors the modifier removes.
        let source = /(^|[^\\])\|/.test(stage.source) ? `(?:${stage.source})` : stage.source;
        if (m !== 'startswith' && !source.startsWith('^') && !source.startsWith('.*')) source = `.*${source}`;
        if (m !== 'endswith' && !source.endsWith('$') && !source.endsWith('.*')) source = `${source}.*`;
        return [{ ...stage, source }];
      }
      const s = asString(stage, m);
      if (s.encoding !== 'utf8') throw new ModifierProblem(`${m}: must come after base64/base64offset, not between an encoding and it`);
      const value = m === 'contains' ? withTrailingAny(withLeadingAny(s.value)) : m === 'startswith' ? withTrailingAny(s.value) : withLeadingAny(s.value);
      return [{ ...s, value, raw: undefined }];
    }
    case 'base64':
    case 'base64offset': {
      const s = asString(stage, m);
      const text = plainText(s.value);
      if (text === undefined) throw new ModifierProblem(`${m}: values with wildcards cannot be base64-encoded`);
      const data = encode(text, s.encoding);
      const encoded = m === 'base64' ? [data.toString('base64')] : base64Offsets(data);
      return encoded.map((e) => ({ kind: 'string', value: literalString(e), raw: undefined, cased: s.cased, encoding: 'utf8' }));
    }
    case 'utf16le':
    case 'wide':
    case 'utf16be':
    case 'utf16': {
      const s = asString(stage, m);
      if (s.encoding !== 'utf8') throw new ModifierProblem(`${m}: the value is already UTF-16 encoded`);
      if (hasWildcards(s.value)) throw new ModifierProblem(`${m}: values with wildcards cannot be re-encoded`);
      return [{ ...s, raw: undefined, encoding: m === 'wide' ? 'utf16le' : m }];
    }
    case 'windash': {
      const s = asString(stage, m);
      return windashVariants(s.value).map((value) => ({ ...s, value, raw: undefined }));
    }
    case 'cased': {
      if (stage.kind === 'regex') return [stage];
      const s = asString(stage, m);
      return [{ ...s, cased: true }];
    }
    case 're': {
      typeModifierFirst('re');
      if (stage.kind !== 'string' || stage.raw === undefined) throw new ModifierProblem('re: the value must be a string');
      const { source, flags } = splitInlineFlags(stage.raw, { i: false, m: false, s: false });
      return [{ kind: 'regex', source, flags }];
    }
    case 'i':
    case 'm':
    case 's':
    case 'ignorecase':
    case 'multiline':
    case 'dotall': {
      if (stage.kind !== 'regex') throw new ModifierProblem(`${m}: is a sub-modifier of 're' and must follow it`);
      const flag = m === 'ignorecase' ? 'i' : m === 'multiline' ? 'm' : m === 'dotall' ? 's' : m;
      return [{ ...stage, flags: { ...stage.flags, [flag]: true } }];
    }
    case 'cidr': {
      typeModifierFirst('cidr');
      if (stage.kind !== 'string' || stage.raw === undefined) throw new ModifierProblem('cidr: the value must be a network in CIDR notation');
      const network = parseNetwork(stage.raw.trim());
      if (!network) throw new ModifierProblem(`cidr: ${JSON.stringify(stage.raw)} is not an IPv4 or IPv6 network (e.g. 10.0.0.0/8)`);
      return [{ kind: 'cidr', text: stage.raw.trim(), network }];
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      typeModifierFirst(m);
      let value: number | undefined;
      if (stage.kind === 'number') value = stage.value;
      else if (stage.kind === 'string' && stage.raw !== undefined && /^-?\d+(\.\d+)?$/.test(stage.raw.trim())) value = Number(stage.raw);
      if (value === undefined) throw new ModifierProblem(`${m}: the value must be a number`);
      return [{ kind: 'compare', op: m, value }];
    }
    case 'exists': {
      if (field === null) throw new ModifierProblem('exists: needs a field (it cannot apply to keywords)');
      if (stage.kind !== 'bool') throw new ModifierProblem('exists: the value must be true or false');
      return [{ kind: 'exists', value: stage.value }];
    }
    default:
      throw new ModifierProblem(`unknown modifier '${m}'`);
  }
}
