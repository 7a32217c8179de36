/**
 * intel/indicators: the indicator store's in-memory index — STIX indicators with confidence, TLP, validity
 * window, revocation and decay; constant-time atomic lookups (IP with CIDR containment, domain with parents,
 * URL, hash) and the pattern matcher for everything that is not atomic.
 */
export { type AtomicKey, extractAtomicKeys } from './atomic-extraction.ts';
export { type IndicatorHit, IndicatorIndex, type IndicatorIndexOptions, type IndicatorKind } from './indicator-index.ts';
export {
  formatMicros,
  IndicatorStore,
  type IndicatorStoreOptions,
  type IngestResult,
  stixTimestampMicros,
  storedObjectOf,
  tlpMarkingId,
} from './indicator-store.ts';
export { normaliseDomain, normaliseHashAlgorithm, normaliseUrl } from './normalise.ts';
