/**
 * analyzers/sigma: Sigma detection rules (specification 2.x) — parsing and validation with positioned errors,
 * local evaluation over JSON events, and conversion to the query languages of the tools a hunt runs on
 * (Microsoft Defender Advanced Hunting KQL, osquery SQL over the registry table, Splunk SPL).
 */
export { CONVERSION_TARGETS, type ConversionTarget, convertSigmaRule } from './query-conversion.ts';
export { type CompiledSigmaRule, compileSigmaRule, EventView, type SigmaEvent, SigmaRuleSet } from './rule-evaluator.ts';
export type { Condition, Detection, DetectionItem, RegexFlags, SigmaLogsource, SigmaRule, SigmaValue } from './rule-model.ts';
export { formatSigmaIssue, parseSigmaRule, type SigmaIssue, type SigmaValidation, validateSigmaRule } from './rule-parser.ts';
export { formatSigmaString, literalString, parseSigmaString, type SigmaString } from './sigma-string.ts';
export { SUPPORTED_MODIFIERS } from './value-modifiers.ts';
