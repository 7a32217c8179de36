/**
 * cases: where analysts live. Alert intake from SIEM sources (generic JSON, Splunk, Elastic Security,
 * Microsoft Sentinel) normalised to an OCSF-style Detection Finding, correlation of alerts into cases,
 * cases with tasks, comments, evidence, SLA timers and metrics, the store-wide observable registry, and
 * the tamper-evident audit chain. It imports core and store only; ATT&CK validation is injected by app/.
 */
export { adaptPayload, MAX_ALERTS_PER_REQUEST, MAX_PAYLOAD_DEPTH } from './adapters/index.ts';
export { auditHash, type ChainVerification, GENESIS_HASH, verifyChain } from './audit-chain.ts';
export { type CorrelationRule, DEFAULT_CORRELATION_RULES, DEFAULT_CORRELATION_TYPES } from './correlation.ts';
export {
  ALERT_SOURCES,
  type AlertSource,
  CASE_PHASES,
  CASE_STATUSES,
  type CaseView,
  type NormalizedAlert,
  PAP_LEVELS,
  SEVERITIES,
  type Severity,
  TASK_STATUSES,
  TLP_LEVELS,
} from './model.ts';
export {
  type AuditEntryView,
  type CaseEvent,
  type CaseInput,
  CasesService,
  type CasesServiceOptions,
  type CaseUpdate,
  type IngestResult,
  RESOLUTIONS,
} from './service.ts';
export { DEFAULT_SLA, type SlaTargets } from './sla.ts';
export { signWebhook, verifyWebhook, WEBHOOK_HEADERS, type WebhookCredentials, type WebhookVerification } from './webhook-auth.ts';
