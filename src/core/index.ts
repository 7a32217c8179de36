/**
 * core: the vocabulary every other module shares and nothing of ours below it: errors with stable
 * codes, time-ordered ids, the clock abstraction, configuration and structured logging with secrets
 * redacted. It imports nothing from the rest of Riposte.
 */

export { type Actor, SYSTEM_ACTOR } from './actor.ts';
export { canonicalJson } from './canonical-json.ts';
export { type Clock, ManualClock, parseDuration, systemClock } from './clock.ts';
export { type Config, ConfigSchema, describeDatabaseUrl, ENV_KEYS, type LoadConfigOptions, loadConfig, parseSize } from './config.ts';
export { conflict, describeError, invalidInput, isRiposteError, notFound, RiposteError, type RiposteErrorOptions, usageError } from './errors.ts';
export { EVALUATIONS, type Evaluation, type Evidence, EvidenceSchema } from './evidence.ts';
export { idTime, isId, newId } from './ids.ts';
export { createLogger, isSecretKey, type Logger, type LoggerConfig, redactSecrets } from './logger.ts';
export {
  type CidrRange,
  CidrSet,
  cidrContains,
  DomainSet,
  formatIpAddress,
  hostOf,
  type IpAddress,
  isIpAddress,
  isIpv4,
  isSameOrSubdomain,
  normalizeDomain,
  parseCidr,
  parseIpAddress,
  parseIpv6Groups,
} from './net-address.ts';
export {
  detectObservableType,
  type ExtractedObservable,
  extractFromJson,
  extractFromText,
  isIpv6,
  isObservableType,
  normalizeObservable,
  OBSERVABLE_TYPES,
  type Observable,
  ObservableSet,
  type ObservableType,
  parseObservable,
  refang,
  tryNormalizeObservable,
} from './observables.ts';
export { type PositionedIssue, parseYamlWithPositions, type YamlParse } from './yaml-positions.ts';
