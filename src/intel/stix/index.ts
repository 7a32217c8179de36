/**
 * intel/stix: STIX 2.1 as Riposte reads and writes it — object and bundle validation (markings, TLP 1.0/2.0,
 * custom content preserved), the patterning language (parser with positioned errors, compiled matcher over
 * STIX 2.0 and 2.1 observed-data), and the IP network arithmetic both share with the indicator index.
 */
export { formatNetwork, type IpNetwork, networkContains, parseIpv4, parseIpv6, parseNetwork } from './ip-network.ts';
export { collectObservations, type Observation, type ObservationOptions, observationOf, type StixRecord, type StixValue } from './observations.ts';
export type { Comparison, ComparisonExpression, ComparisonOperator, Literal, ObjectPath, ObservationExpression, PathStep } from './pattern-ast.ts';
export { type CompiledPattern, compilePattern, MATCH_STEP_BUDGET, nfc } from './pattern-matcher.ts';
export { lineAndColumn, type ParsePatternOptions, parsePattern, parseStixTimestamp, patternError } from './pattern-parser.ts';
export { BACKTRACKING_INPUT_LIMIT, compileSafeRegex, type SafeRegex } from './safe-regex.ts';
export {
  bundleOf,
  isStixIdentifier,
  parseStix,
  SCO_TYPES,
  SDO_TYPES,
  SRO_TYPES,
  type StixProblem,
  type StixValidation,
  TLP_2_EXTENSION_ID,
  TLP_MARKINGS,
  type TlpLevel,
  tlpOf,
  validateStix,
} from './stix-objects.ts';
