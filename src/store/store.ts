import type { Kysely } from 'kysely';
import type { Clock } from '../core/index.ts';
import type { Backend } from './backend.ts';
import { type AiRepository, aiRepository } from './repositories/ai.ts';
import { type AlertsRepository, alertsRepository } from './repositories/alerts.ts';
import { type ApiTokensRepository, apiTokensRepository } from './repositories/api-tokens.ts';
import { type ApprovalsRepository, approvalsRepository } from './repositories/approvals.ts';
import { type AuditRepository, auditRepository } from './repositories/audit.ts';
import { type CasesRepository, casesRepository } from './repositories/cases.ts';
import { type ContainedActionsRepository, containedActionsRepository } from './repositories/contained-actions.ts';
import { type EdlRepository, edlRepository } from './repositories/edl.ts';
import { type EngineRepository, engineRepository } from './repositories/engine.ts';
import { type HuntsRepository, huntsRepository } from './repositories/hunts.ts';
import { type IntegrationsRepository, integrationsRepository } from './repositories/integrations.ts';
import { type IntelRepository, intelRepository } from './repositories/intel.ts';
import { type NotificationOutboxRepository, notificationOutboxRepository } from './repositories/notification-outbox.ts';
import { type ObservablesRepository, observablesRepository } from './repositories/observables.ts';
import { type PhishingRepository, phishingRepository } from './repositories/phishing.ts';
import { type RunIdempotencyKeysRepository, runIdempotencyKeysRepository } from './repositories/run-idempotency-keys.ts';
import { type SessionsRepository, sessionsRepository } from './repositories/sessions.ts';
import { type SettingsRepository, settingsRepository } from './repositories/settings.ts';
import { type UsersRepository, usersRepository } from './repositories/users.ts';
import type { Database } from './schema.ts';
import type { BackupHeader, BackupLine } from './snapshot.ts';

export interface MigrationState {
  name: string;
  /** Epoch ms when it was applied here; undefined if still pending. */
  appliedAt: number | undefined;
}

/**
 * The one storage interface every module uses. Two implementations (SQLite, PostgreSQL) stand behind
 * it, exercised by one contract test suite. Callers see repositories with domain methods, never SQL.
 */
export interface Store {
  readonly backend: Backend;
  /** Where the data lives, safe to print (file path, or URL without password). */
  readonly location: string;
  readonly settings: SettingsRepository;
  /** Durable playbook runs: runs with leases, the step journal, open waits. */
  readonly engine: EngineRepository;
  readonly cases: CasesRepository;
  readonly alerts: AlertsRepository;
  readonly observables: ObservablesRepository;
  readonly audit: AuditRepository;
  readonly users: UsersRepository;
  readonly apiTokens: ApiTokensRepository;
  readonly sessions: SessionsRepository;
  readonly approvals: ApprovalsRepository;
  /** Configured integration instances with sealed secrets. */
  readonly integrations: IntegrationsRepository;
  /** Messages owed to chat, mail and paging services, delivered with retries (approval channels). */
  readonly notifications: NotificationOutboxRepository;
  /** Actions with an inverse that ran (blocks, isolations), their expiry and rollback state. */
  readonly containedActions: ContainedActionsRepository;
  /** STIX objects by TAXII collection, collections, TAXII statuses, indicator sightings. */
  readonly intel: IntelRepository;
  /** External Dynamic List entries served to firewalls. */
  readonly edl: EdlRepository;
  /** User-reported phishing: reports, their analyses, cluster keys and reporters per case. */
  readonly phishing: PhishingRepository;
  /** `Idempotency-Key`s of run starts: which run a retried request gets back (kept 24 hours). */
  readonly runIdempotencyKeys: RunIdempotencyKeysRepository;
  /** AI assistance: each exchange with the model (redacted), and the playbooks it drafted. */
  readonly ai: AiRepository;
  /** Hunt runs (progress, sightings, waves, per-host state) with a lease, and their per-host step ledger. */
  readonly hunts: HuntsRepository;

  /** Runs `work` in one transaction: every repository on `tx` sees and commits together. */
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Calls `onWork` when some process queued runs, woke a waiting run or handed back leases (PostgreSQL
   * LISTEN/NOTIFY on a dedicated connection that reconnects by itself). A no-op on SQLite, whose single
   * runner is poked in-process. Returns the function that stops listening.
   */
  listenForWork(onWork: () => void): Promise<() => Promise<void>>;
  /**
   * Tells every process listening on this database, this one included (PostgreSQL NOTIFY: delivered after
   * commit, at most once, never stored). Small messages only (≤ 7,000 bytes). A no-op on SQLite, where one
   * process owns the database and tells itself directly.
   */
  broadcast(payload: string): Promise<void>;
  /** Hears `broadcast` messages from every process; returns the function that stops listening. */
  listenForBroadcasts(onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  /** Cheap round trip proving the database answers (used by /readyz). */
  ping(): Promise<void>;
  /** Applies pending migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<MigrationState[]>;
  /** Streams a consistent snapshot of every table in the portable backup format (see snapshot.ts). */
  backup(emit: (line: BackupLine) => Promise<void> | void): Promise<Record<string, number>>;
  /** Restores a backup into this store, which must be empty; run `migrate()` afterwards for newer migrations. */
  restore(lines: AsyncIterable<unknown>): Promise<{ header: BackupHeader; rows: Record<string, number> }>;
  close(): Promise<void>;
}

/** The repositories as seen inside a transaction. */
export type StoreTx = Omit<
  Store,
  'transaction' | 'listenForWork' | 'broadcast' | 'listenForBroadcasts' | 'ping' | 'migrate' | 'migrationStatus' | 'backup' | 'restore' | 'close' | 'location'
>;

export function repositoriesFor(db: Kysely<Database>, backend: Backend, clock: Clock): StoreTx {
  return {
    backend,
    settings: settingsRepository(db, clock),
    engine: engineRepository(db, backend, clock),
    cases: casesRepository(db, backend),
    alerts: alertsRepository(db, backend),
    observables: observablesRepository(db, backend),
    audit: auditRepository(db, backend),
    users: usersRepository(db, clock),
    apiTokens: apiTokensRepository(db, clock),
    sessions: sessionsRepository(db, clock),
    approvals: approvalsRepository(db, clock, backend),
    integrations: integrationsRepository(db, clock),
    notifications: notificationOutboxRepository(db, clock),
    containedActions: containedActionsRepository(db, clock),
    intel: intelRepository(db, backend, clock),
    edl: edlRepository(db, clock),
    phishing: phishingRepository(db, clock),
    runIdempotencyKeys: runIdempotencyKeysRepository(db, clock),
    ai: aiRepository(db),
    hunts: huntsRepository(db, clock),
  };
}
