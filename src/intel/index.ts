/**
 * intel: threat intelligence — the MITRE ATT&CK Enterprise catalog that validates technique ids
 * on cases, and verdicts: known-good lists (MISP warning lists, allow-lists) and evidence scoring.
 */
export { type AttackCatalog, type AttackMitigation, type AttackTactic, type AttackTechnique, loadAttackCatalog } from './attack/catalog.ts';
export {
  formatMicros,
  type IndicatorHit,
  IndicatorIndex,
  IndicatorStore,
  type IndicatorStoreOptions,
  type IngestResult,
  stixTimestampMicros,
  storedObjectOf,
  tlpMarkingId,
} from './indicators/index.ts';
export { type CaseStixInput, caseToStixBundle, scoForObservable, scoId } from './stix/case-bundle.ts';
export { parseStix, type StixValidation, validateStix } from './stix/index.ts';
export * from './taxii/index.ts';
export {
  type AllowListEntry,
  type AllowLists,
  type CollectedEvidence,
  collectEvidence,
  DEFAULT_DECAY_MODELS,
  DEFAULT_WARNINGLIST_DIR,
  type DecayKind,
  type DecayModel,
  decayedScore,
  decayFactor,
  decayKindOf,
  decayModelFor,
  isRevoked,
  type KnownGoodHit,
  KnownGoodLists,
  revokeAfterMs,
  scoreVerdict,
  THRESHOLDS,
  type Verdict,
  type VerdictInput,
  type VerdictResult,
  warningListEntries,
} from './verdicts/index.ts';
