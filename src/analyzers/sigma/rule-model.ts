import type { IpNetwork } from '../../intel/stix/index.ts';
import type { SigmaString } from './sigma-string.ts';

/**
 * A Sigma rule after parsing and validation: the detection is reduced to typed values (modifiers already
 * applied), so the evaluator and every backend read the same thing and never re-interpret modifiers.
 */

export type RegexFlags = { i: boolean; m: boolean; s: boolean };

export type SigmaValue =
  | { kind: 'string'; value: SigmaString; cased: boolean }
  | { kind: 'regex'; source: string; flags: RegexFlags }
  | { kind: 'cidr'; text: string; network: IpNetwork }
  /** A YAML number; `text` is how the rule wrote it (string comparisons use it). */
  | { kind: 'number'; value: number; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'compare'; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number }
  | { kind: 'exists'; value: boolean };

export interface DetectionItem {
  /** Null for keyword searches (values matched anywhere in the event). */
  field: string | null;
  modifiers: string[];
  values: SigmaValue[];
  /** How the values combine: OR by default, AND with the `all` modifier. */
  linking: 'or' | 'and';
  /** The `neq` modifier: the item matches when its values do not. */
  negated: boolean;
}

/** A search identifier: a map (items AND'd), a list of maps (OR'd), or a keyword list. */
export type Detection = { kind: 'map'; items: DetectionItem[] } | { kind: 'any'; detections: Detection[] } | { kind: 'keywords'; item: DetectionItem };

export type Condition =
  | { kind: 'and' | 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'ref'; name: string }
  /** `1 of X` / `all of X`: `names` are the identifiers the pattern selected, in rule order. */
  | { kind: 'of'; quantifier: 'one' | 'all'; pattern: string; names: string[] };

export interface SigmaLogsource {
  category?: string;
  product?: string;
  service?: string;
  definition?: string;
  [custom: string]: string | undefined;
}

export const SIGMA_STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'] as const;
export const SIGMA_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;

export interface SigmaRule {
  title: string;
  id?: string;
  name?: string;
  status?: (typeof SIGMA_STATUSES)[number];
  description?: string;
  author?: string;
  date?: string;
  modified?: string;
  references: string[];
  logsource: SigmaLogsource;
  /** Search identifiers in rule order. */
  detections: Map<string, Detection>;
  /** One per condition string; several are OR'd. */
  conditions: Condition[];
  conditionText: string[];
  fields: string[];
  falsepositives: string[];
  level?: (typeof SIGMA_LEVELS)[number];
  tags: string[];
  /** ATT&CK technique ids named by `attack.tNNNN[.NNN]` tags, upper-cased (not checked against the catalog here). */
  attackTechniques: string[];
}
