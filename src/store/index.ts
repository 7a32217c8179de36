/**
 * store: the only place Riposte speaks SQL. One `Store` interface with repositories per domain, two
 * implementations behind it — embedded SQLite (node:sqlite, WAL) by default and PostgreSQL for
 * scale-out — and forward-only migrations that run on open and through `riposte db migrate`.
 */
export { type Backend, decodeJson, encodeJson } from './backend.ts';
export { DEFAULT_TAXII_COLLECTION_ID } from './migrations/0700-intel-objects.ts';
export { type OpenStoreOptions, openStore, SQLITE_FILE_NAME } from './open-store.ts';
export type { AiInteractionRecord, AiRepository, AiUsage, PlaybookDraftRecord } from './repositories/ai.ts';
export type { AlertRecord, AlertsRepository } from './repositories/alerts.ts';
export type { ApiTokenRecord, ApiTokensRepository } from './repositories/api-tokens.ts';
export type { ApprovalRecord, ApprovalRecordStatus, ApprovalsRepository } from './repositories/approvals.ts';
export type { AuditRecord, AuditRepository } from './repositories/audit.ts';
export type {
  CaseIntakeSummary,
  CaseListFilter,
  CaseMetricsRecord,
  CasePatch,
  CaseRecord,
  CasesRepository,
  CommentRecord,
  EvidenceRecord,
  TaskRecord,
  TimelineRecord,
} from './repositories/cases.ts';
export {
  CONTAINED_ACTION_STATUSES,
  type ContainedActionFilter,
  type ContainedActionRecord,
  type ContainedActionStatus,
  type ContainedActionsRepository,
  type NewContainedAction,
} from './repositories/contained-actions.ts';
export type { EdlEntryRecord, EdlRepository, NewEdlEntry } from './repositories/edl.ts';
export {
  ACTIVE_RUN_STATUSES,
  type EngineRepository,
  type JournalEntry,
  type LeaseRef,
  type NewJournalEntry,
  type NewRun,
  type NewWait,
  type RunChange,
  type RunFilter,
  type RunRow,
  type WaitRow,
  WORK_CHANNEL,
} from './repositories/engine.ts';
export type { HuntRunChange, HuntRunRecord, HuntStepRecord, HuntsRepository, NewHuntStep } from './repositories/hunts.ts';
export type { IntegrationInstanceRecord, IntegrationsRepository } from './repositories/integrations.ts';
export type {
  IntelCollectionRecord,
  IntelObjectInput,
  IntelObjectQuery,
  IntelObjectRecord,
  IntelRepository,
  IntelStatusRecord,
  IntelVersionMatch,
  SightingTally,
} from './repositories/intel.ts';
export type {
  NotificationOutboxRepository,
  OutboxEntry,
  OutboxRecord,
  OutboxStatus,
} from './repositories/notification-outbox.ts';
export { type ObservableRecord, type ObservablesRepository, observableKey } from './repositories/observables.ts';
export type { PhishingAnalysisRecord, PhishingReporterRecord, PhishingReportRecord, PhishingRepository } from './repositories/phishing.ts';
export type { RunIdempotencyKeyRecord, RunIdempotencyKeysRepository } from './repositories/run-idempotency-keys.ts';
export type { SessionRecord, SessionsRepository } from './repositories/sessions.ts';
export type { SettingsRepository } from './repositories/settings.ts';
export type { UserChanges, UserRecord, UsersRepository } from './repositories/users.ts';
export { BACKUP_FORMAT, BACKUP_VERSION, type BackupHeader, type BackupLine } from './snapshot.ts';
export type { MigrationState, Store, StoreTx } from './store.ts';
