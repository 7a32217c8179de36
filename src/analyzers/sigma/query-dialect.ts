import { RiposteError } from '../../core/index.ts';
import type { DetectionItem, SigmaRule, SigmaValue } from './rule-model.ts';
import type { SigmaString, StringPart } from './sigma-string.ts';

/**
 * What every backend shares: the dialect interface the converter drives, the error for constructs a
 * backend cannot express, and helpers for hives, wildcards and regex flags.
 */

export const CONVERSION_TARGETS = ['kql', 'osquery', 'splunk'] as const;
export type ConversionTarget = (typeof CONVERSION_TARGETS)[number];

export const TARGET_NAMES: Record<ConversionTarget, string> = {
  kql: 'Microsoft Defender Advanced Hunting (KQL)',
  osquery: 'osquery (registry table)',
  splunk: 'Splunk SPL',
};

export function conversionUnsupported(target: ConversionTarget, construct: string): RiposteError {
  return new RiposteError('sigma.conversion_unsupported', `${TARGET_NAMES[target]} cannot express ${construct}`, {
    status: 422,
    details: { target, construct },
  });
}

export interface QueryDialect {
  target: ConversionTarget;
  and(parts: string[]): string;
  or(parts: string[]): string;
  not(part: string): string;
  /** One detection item: the dialect handles value lists (e.g. `in~`), `all` and `neq`. */
  item(item: DetectionItem): string;
  /** Wraps the rendered condition into a complete query. */
  query(expression: string): string;
}

/** Builds a dialect for one rule (backends choose tables and field mappings from its logsource). */
export type DialectFactory = (rule: SigmaRule) => QueryDialect;

/** and/or/not with parentheses only where needed, shared by the dialects. */
export function joiner(token: string): (parts: string[]) => string {
  return (parts) => {
    const unique = [...new Set(parts)];
    return unique.length === 1 ? (unique[0] as string) : `(${unique.join(` ${token} `)})`;
  };
}

/** Combines the value tests of an item per its linking and negation. */
export function combineItem(item: DetectionItem, dialect: Pick<QueryDialect, 'and' | 'or' | 'not'>, tests: string[]): string {
  const combined = item.linking === 'and' ? dialect.and(tests) : dialect.or(tests);
  return item.negated ? dialect.not(combined) : combined;
}

/** The registry hive prefixes Sysmon writes (HKLM\, HKU\…) and what a backend calls them. */
export type HiveNames = Record<'HKLM' | 'HKU' | 'HKCU' | 'HKCR', StringPart[]>;

/** Rewrites a leading Sysmon hive abbreviation in a registry path value to the backend's notation. */
export function translateHive(value: SigmaString, hives: HiveNames): SigmaString {
  const first = value.parts[0];
  if (first?.kind !== 'text') return value;
  const m = /^(HKLM|HKU|HKCU|HKCR)\\/i.exec(first.text);
  if (!m) return value;
  const replacement = hives[(m[1] as string).toUpperCase() as keyof HiveNames];
  const rest = first.text.slice(m[0].length);
  const parts: StringPart[] = [...replacement];
  if (rest !== '') {
    const last = parts[parts.length - 1];
    if (last?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: last.text + rest };
    else parts.push({ kind: 'text', text: rest });
  }
  return { parts: [...parts, ...value.parts.slice(1)] };
}

/** Regex source (anchored, RE2/PCRE-compatible) equivalent to a Sigma wildcard string. */
export function wildcardRegex(value: SigmaString): string {
  return `^${value.parts.map((p) => (p.kind === 'any' ? '.*' : p.kind === 'one' ? '.' : p.text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('')}$`;
}

export function regexPrefix(flags: { i: boolean; m: boolean; s: boolean }): string {
  return flags.i || flags.m || flags.s ? `(?${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''})` : '';
}

export function describeValue(value: SigmaValue): string {
  switch (value.kind) {
    case 'regex':
      return 'regular expressions (re)';
    case 'cidr':
      return 'CIDR matching (cidr)';
    case 'compare':
      return `numeric comparison (${value.op})`;
    case 'exists':
      return 'field existence (exists)';
    case 'null':
      return 'null values';
    case 'bool':
      return 'boolean values';
    case 'number':
      return 'numeric values';
    case 'string':
      return 'string values';
  }
}
