import { hash } from 'node:crypto';
import type { ObservableType } from '../core/index.ts';
import type { NormalizedAlert } from './model.ts';

/**
 * Correlation groups alerts into cases. A rule says which alerts belong together — those sharing the
 * detection rule, the source and/or an observable — and for how long after the last one. Each alert yields
 * keys per rule; an open case that saw one of the keys within the window takes the alert.
 */
export interface CorrelationRule {
  id: string;
  /** What must be equal: any combination of the detection rule, the source, and one observable. */
  by: Array<'rule' | 'source' | 'observable'>;
  /** Observable types that count for `observable` (default: network, identity and file indicators). */
  observable_types?: ObservableType[];
  /** Only for alerts from these sources (default: all). */
  sources?: string[];
  /** How long after the last matching alert a new one still joins the case (ms). */
  window_ms: number;
}

/** Types that identify an incident well; file names and process command lines are too common to group by. */
export const DEFAULT_CORRELATION_TYPES: ObservableType[] = [
  'ipv4',
  'ipv6',
  'domain',
  'url',
  'email',
  'hostname',
  'user',
  'md5',
  'sha1',
  'sha256',
  'registry_key',
  'registry_value',
  'mac',
];

export const DEFAULT_CORRELATION_RULES: CorrelationRule[] = [
  { id: 'same-rule-same-observable', by: ['rule', 'observable'], observable_types: DEFAULT_CORRELATION_TYPES, window_ms: 24 * 3_600_000 },
];

export interface CorrelationKey {
  rule: CorrelationRule;
  key: string;
}

/** The keys an alert answers to, in rule order. Keys are hashed: URLs make long primary keys otherwise. */
export function correlationKeys(alert: NormalizedAlert, rules: readonly CorrelationRule[]): CorrelationKey[] {
  const out: CorrelationKey[] = [];
  for (const rule of rules) {
    if (rule.sources && !rule.sources.includes(alert.source)) continue;
    const parts: string[] = [`r=${rule.id}`];
    if (rule.by.includes('source')) parts.push(`s=${alert.source}`);
    // The rule's uid is stable across renames; fall back to its name.
    if (rule.by.includes('rule')) parts.push(`d=${alert.source}:${alert.rule.uid ?? alert.rule.name}`);
    if (rule.by.includes('observable')) {
      const types = rule.observable_types ?? DEFAULT_CORRELATION_TYPES;
      for (const o of alert.observables) {
        if (types.includes(o.type)) out.push({ rule, key: hashKey([...parts, `o=${o.type}:${o.value}`]) });
      }
    } else out.push({ rule, key: hashKey(parts) });
  }
  return out;
}

function hashKey(parts: string[]): string {
  return hash('sha256', parts.join('\u0000'), 'base64url');
}
