/**
 * store: the only place Riposte speaks SQL. One `Store` interface with repositories per domain, two
 * implementations behind it — embedded SQLite (node:sqlite, WAL) by default and PostgreSQL for
 * scale-out — and forward-only migrations that run on open and through `riposte db migrate`.
 */
export { type Backend, decodeJson, encodeJson } from './backend.ts';
export { type OpenStoreOptions, openStore, SQLITE_FILE_NAME } from './open-store.ts';
export type { ApiTokenRecord, ApiTokensRepository } from './repositories/api-tokens.ts';
export type { ApprovalRecord, ApprovalRecordStatus, ApprovalsRepository } from './repositories/approvals.ts';
export type { SessionRecord, SessionsRepository } from './repositories/sessions.ts';
export type { SettingsRepository } from './repositories/settings.ts';
export type { UserChanges, UserRecord, UsersRepository } from './repositories/users.ts';
export type { MigrationState, Store, StoreTx } from './store.ts';
