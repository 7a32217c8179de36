import { type Kysely, type Selectable, sql } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { type Backend, decodeJson, encodeJson } from '../backend.ts';
import type { ApprovalsTable, Database } from '../schema.ts';

/**
 * Approval requests and the single-use keys that guard their channels. The request itself is a JSON
 * document owned by policy/ (store/ does not know its shape); the columns beside it are what queries
 * need: status, expiry, the run and case it belongs to, and `revision` for compare-and-set — the
 * guarantee that two approvers deciding at the same moment release an action once, not twice.
 */
export type ApprovalRecordStatus = 'pending' | 'approved' | 'rejected';

export interface ApprovalRecord {
  id: string;
  revision: number;
  status: ApprovalRecordStatus;
  runId: string | null;
  caseId: string | null;
  actionId: string;
  createdAt: number;
  expiresAt: number;
  /** Set when a break-glass approval awaits review. */
  reviewRequired: boolean;
  /** The whole request as policy/ defines it (ApprovalRequest). */
  document: unknown;
}

export interface ApprovalsRepository {
  /** False when the id exists already. */
  insert(record: ApprovalRecord): Promise<boolean>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Saves `record` only if the stored revision is still `expectedRevision` (the one read before
   * deciding). False means someone else changed it first: re-read and decide again.
   */
  update(record: ApprovalRecord, expectedRevision: number): Promise<boolean>;
  /** Pending requests, oldest first (keyset pagination on id). */
  listPending(options?: { afterId?: string; limit?: number }): Promise<ApprovalRecord[]>;
  /** Pending requests whose expiry has passed: the sweeper resolves them to their on_expiry outcome. */
  listDue(now: number, limit?: number): Promise<ApprovalRecord[]>;
  listByRun(runId: string): Promise<ApprovalRecord[]>;
  /** Break-glass approvals not yet reviewed. */
  listReviewRequired(limit?: number): Promise<ApprovalRecord[]>;
  /**
   * Claims a single-use key (approval-link nonce, Slack request signature) until `expiresAt`. True the
   * first time; false while an earlier claim is still live. An expired claim can be claimed again.
   */
  claimOnce(key: string, expiresAt: number): Promise<boolean>;
  /** Deletes single-use keys that expired before `now`; returns how many. */
  pruneOnceKeys(now: number): Promise<number>;
  /** Notes a guarded (write/destructive) action performed: the blast-radius history. */
  recordGuardedAction(entry: { id: string; kind: string; at: number; runId?: string | null }): Promise<void>;
  /** Guarded actions per kind at or after `since`. */
  countGuardedActions(since: number): Promise<Record<string, number>>;
  /**
   * Inside a transaction: serialises blast-radius decisions for one action kind until it commits, so
   * "count, decide, record" is atomic across workers (PostgreSQL advisory lock; SQLite has one writer).
   */
  lockGuardedKind(kind: string): Promise<void>;
  /** Forgets guarded actions older than `before`; returns how many. */
  pruneGuardedActions(before: number): Promise<number>;
}

function fromRow(row: Selectable<ApprovalsTable>): ApprovalRecord {
  return {
    id: row.id,
    revision: Number(row.revision),
    status: row.status as ApprovalRecordStatus,
    runId: row.run_id ?? null,
    caseId: row.case_id ?? null,
    actionId: row.action_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    reviewRequired: Number(row.review_required) === 1,
    document: decodeJson(row.document),
  };
}

function toRow(record: ApprovalRecord, now: number) {
  return {
    id: record.id,
    revision: record.revision,
    status: record.status,
    run_id: record.runId,
    case_id: record.caseId,
    action_id: record.actionId,
    created_at: record.createdAt,
    expires_at: record.expiresAt,
    review_required: record.reviewRequired ? 1 : 0,
    document: encodeJson(record.document),
    updated_at: now,
  };
}

export function approvalsRepository(db: Kysely<Database>, clock: Clock, backend: Backend = 'sqlite'): ApprovalsRepository {
  return {
    async insert(record) {
      const rows = await db
        .insertInto('approvals')
        .values(toRow(record, clock.now()))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      return rows.length === 1;
    },
    async get(id) {
      const row = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },
    async update(record, expectedRevision) {
      const { id: _id, created_at: _created, ...changes } = toRow(record, clock.now());
      const result = await db.updateTable('approvals').set(changes).where('id', '=', record.id).where('revision', '=', expectedRevision).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listPending(options = {}) {
      let query = db
        .selectFrom('approvals')
        .selectAll()
        .where('status', '=', 'pending')
        .orderBy('id')
        .limit(options.limit ?? 100);
      if (options.afterId) query = query.where('id', '>', options.afterId);
      return (await query.execute()).map(fromRow);
    },
    async listDue(now, limit = 100) {
      const rows = await db
        .selectFrom('approvals')
        .selectAll()
        .where('status', '=', 'pending')
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
    async listByRun(runId) {
      return (await db.selectFrom('approvals').selectAll().where('run_id', '=', runId).orderBy('id').execute()).map(fromRow);
    },
    async listReviewRequired(limit = 100) {
      return (await db.selectFrom('approvals').selectAll().where('review_required', '=', 1).orderBy('id').limit(limit).execute()).map(fromRow);
    },
    async claimOnce(key, expiresAt) {
      const now = clock.now();
      const rows = await db
        .insertInto('approval_once_keys')
        .values({ key, expires_at: expiresAt, claimed_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ expires_at: expiresAt, claimed_at: now }).where('approval_once_keys.expires_at', '<=', now))
        .returning('key')
        .execute();
      return rows.length === 1;
    },
    async pruneOnceKeys(now) {
      const result = await db.deleteFrom('approval_once_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async recordGuardedAction(entry) {
      await db
        .insertInto('guarded_actions')
        .values({ id: entry.id, kind: entry.kind, at: entry.at, run_id: entry.runId ?? null })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },
    async lockGuardedKind(kind) {
      if (backend === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`riposte.guarded:${kind}`}))`.execute(db);
    },
    async countGuardedActions(since) {
      const rows = await db
        .selectFrom('guarded_actions')
        .select(['kind', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('at', '>=', since)
        .groupBy('kind')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
    },
    async pruneGuardedActions(before) {
      const result = await db.deleteFrom('guarded_actions').where('at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
