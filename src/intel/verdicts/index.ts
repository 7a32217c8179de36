/**
 * intel/verdicts: from per-source evidence to one explainable verdict — known-good lists (MISP warning
 * lists shipped in data/warninglists, user allow-lists) first, then the documented weighted scoring.
 */

export { type CollectedEvidence, collectEvidence } from './collect-evidence.ts';
export { type AllowListEntry, type AllowLists, DEFAULT_WARNINGLIST_DIR, type KnownGoodHit, KnownGoodLists, warningListEntries } from './known-good.ts';
export {
  DEFAULT_DECAY_MODELS,
  type DecayKind,
  type DecayModel,
  decayedScore,
  decayFactor,
  decayKindOf,
  decayModelFor,
  isRevoked,
  revokeAfterMs,
} from './score-decay.ts';
export { scoreVerdict, THRESHOLDS, type Verdict, type VerdictInput, type VerdictResult } from './verdict-scoring.ts';
