/**
 * The syntax tree of a STIX 2.1 pattern, as produced by `parsePattern`. Every node keeps the offset where it
 * starts in the source so later stages (semantic checks, regex compilation) can point at the culprit.
 */

export type Literal =
  | { kind: 'string'; value: string; offset: number }
  | { kind: 'int'; value: number; offset: number }
  | { kind: 'float'; value: number; offset: number }
  | { kind: 'bool'; value: boolean; offset: number }
  /** b'…': the base64 text as written and its decoded bytes. */
  | { kind: 'binary'; value: string; bytes: Uint8Array; offset: number }
  /** h'…': lower-case hex digits and the decoded bytes. */
  | { kind: 'hex'; value: string; bytes: Uint8Array; offset: number }
  /** t'…': the RFC 3339 text and its instant (epoch ms, fractional part kept). */
  | { kind: 'timestamp'; value: string; epochMs: number; offset: number };

export type PathStep = { kind: 'property'; name: string } | { kind: 'index'; index: number } | { kind: 'any-index' };

export interface ObjectPath {
  objectType: string;
  /** The first step is always a property. */
  steps: PathStep[];
  offset: number;
}

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'IN' | 'LIKE' | 'MATCHES' | 'ISSUBSET' | 'ISSUPERSET' | 'EXISTS';

export interface Comparison {
  kind: 'comparison';
  path: ObjectPath;
  operator: ComparisonOperator;
  negated: boolean;
  /** Absent for EXISTS; a list for IN. */
  value?: Literal | Literal[];
  offset: number;
}

export type ComparisonExpression =
  | Comparison
  | { kind: 'comparison-and' | 'comparison-or'; left: ComparisonExpression; right: ComparisonExpression; offset: number };

export type ObservationExpression =
  | { kind: 'observation'; comparison: ComparisonExpression; offset: number }
  | { kind: 'and' | 'or' | 'followedby'; left: ObservationExpression; right: ObservationExpression; offset: number }
  | { kind: 'within'; seconds: number; expression: ObservationExpression; offset: number }
  | { kind: 'repeats'; times: number; expression: ObservationExpression; offset: number }
  | { kind: 'start-stop'; start: Literal & { kind: 'timestamp' }; stop: Literal & { kind: 'timestamp' }; expression: ObservationExpression; offset: number };
