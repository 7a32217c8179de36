import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { ContainedActionsTable, Database } from '../schema.ts';

/**
 * The containment lifecycle's ledger: each successful action that declares an inverse (block ↔ unblock,
 * isolate ↔ release), with its exact arguments, the inverse to run and its arguments, and when it expires.
 * A rollback moves a row `active` (or `rollback_failed`, to try again) → `rolling_back` in the same
 * transaction that creates the run executing the inverse; that conditional update is what lets any
 * number of workers and people ask at once while the inverse runs once. The run's outcome then moves it
 * to `rolled_back` (by a person), `expired` (by the expiry sweeper) or `rollback_failed`.
 */
export const CONTAINED_ACTION_STATUSES = ['active', 'rolling_back', 'rolled_back', 'expired', 'rollback_failed'] as const;
export type ContainedActionStatus = (typeof CONTAINED_ACTION_STATUSES)[number];

export interface ContainedActionRecord {
  /** The action's idempotency key (`run id:step key`): recording the same action twice is a no-op. */
  id: string;
  runId: string;
  stepKey: string;
  caseId: string | null;
  action: string;
  /** The values acted on (address, host…), comma-separated, for listings and filters. */
  target: string | null;
  arguments: Record<string, unknown>;
  inverseAction: string;
  inverseArguments: Record<string, unknown>;
  expiresAt: number | null;
  status: ContainedActionStatus;
  /** Who the action was performed for (the run's initiator, or its playbook). */
  performedBy: string;
  /** Why it was allowed (the policy rule, or the approval that released it). */
  reason: string | null;
  rollbackRunId: string | null;
  rollbackBy: string | null;
  rollbackReason: string | null;
  rollbackError: unknown;
  createdAt: number;
  updatedAt: number;
}

export type NewContainedAction = Omit<
  ContainedActionRecord,
  'status' | 'rollbackRunId' | 'rollbackBy' | 'rollbackReason' | 'rollbackError' | 'createdAt' | 'updatedAt'
>;

export interface ContainedActionFilter {
  status?: ContainedActionStatus;
  caseId?: string;
  runId?: string;
  /** Newest first; pass the last id seen to page. */
  beforeId?: string;
  limit?: number;
}

export interface ContainedActionsRepository {
  /** False when this action (same id) is already recorded. */
  insert(record: NewContainedAction): Promise<boolean>;
  get(id: string): Promise<ContainedActionRecord | undefined>;
  /** The action a rollback run is undoing (how policy tells a genuine rollback from a look-alike run). */
  getByRollbackRun(runId: string): Promise<ContainedActionRecord | undefined>;
  list(filter?: ContainedActionFilter): Promise<ContainedActionRecord[]>;
  /** Active rows whose expiry is at or before `now`, oldest expiry first. */
  listDue(now: number, limit?: number): Promise<ContainedActionRecord[]>;
  /** Rows whose inverse run is in flight (or held for approval). */
  listRollingBack(limit?: number): Promise<ContainedActionRecord[]>;
  /**
   * Moves the row from one of `from` to `rolling_back` with the run that executes the inverse. False when
   * its status is no longer one of `from` (someone else started the rollback first, or it is finished).
   */
  beginRollback(id: string, from: readonly ContainedActionStatus[], change: { runId: string; by: string; reason: string }): Promise<boolean>;
  /** Records the inverse run's outcome; false unless the row is still rolling back through that run. */
  finishRollback(id: string, runId: string, outcome: { status: 'rolled_back' | 'expired' | 'rollback_failed'; error?: unknown }): Promise<boolean>;
}

function fromRow(row: Selectable<ContainedActionsTable>): ContainedActionRecord {
  return {
    id: row.id,
    runId: row.run_id,
    stepKey: row.step_key,
    caseId: row.case_id ?? null,
    action: row.action,
    target: row.target ?? null,
    arguments: decodeJson(row.arguments),
    inverseAction: row.inverse_action,
    inverseArguments: decodeJson(row.inverse_arguments),
    expiresAt: row.expires_at == null ? null : Number(row.expires_at),
    status: row.status as ContainedActionStatus,
    performedBy: row.performed_by,
    reason: row.reason ?? null,
    rollbackRunId: row.rollback_run_id ?? null,
    rollbackBy: row.rollback_by ?? null,
    rollbackReason: row.rollback_reason ?? null,
    rollbackError: row.rollback_error == null ? null : decodeJson(row.rollback_error),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function containedActionsRepository(db: Kysely<Database>, clock: Clock): ContainedActionsRepository {
  return {
    async insert(record) {
      const now = clock.now();
      const result = await db
        .insertInto('contained_actions')
        .values({
          id: record.id,
          run_id: record.runId,
          step_key: record.stepKey,
          case_id: record.caseId,
          action: record.action,
          target: record.target,
          arguments: encodeJson(record.arguments),
          inverse_action: record.inverseAction,
          inverse_arguments: encodeJson(record.inverseArguments),
          expires_at: record.expiresAt,
          status: 'active',
          performed_by: record.performedBy,
          reason: record.reason,
          rollback_run_id: null,
          rollback_by: null,
          rollback_reason: null,
          rollback_error: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async get(id) {
      const row = await db.selectFrom('contained_actions').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },

    async getByRollbackRun(runId) {
      const row = await db.selectFrom('contained_actions').selectAll().where('rollback_run_id', '=', runId).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },

    async list(filter = {}) {
      let query = db.selectFrom('contained_actions').selectAll();
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.caseId) query = query.where('case_id', '=', filter.caseId);
      if (filter.runId) query = query.where('run_id', '=', filter.runId);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(Math.min(Math.max(filter.limit ?? 100, 1), 1000))
        .execute();
      return rows.map(fromRow);
    },

    async listDue(now, limit = 100) {
      const rows = await db
        .selectFrom('contained_actions')
        .selectAll()
        .where('status', '=', 'active')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async listRollingBack(limit = 500) {
      const rows = await db.selectFrom('contained_actions').selectAll().where('status', '=', 'rolling_back').orderBy('updated_at').limit(limit).execute();
      return rows.map(fromRow);
    },

    async beginRollback(id, from, change) {
      if (from.length === 0) return false;
      const result = await db
        .updateTable('contained_actions')
        .set({
          status: 'rolling_back',
          rollback_run_id: change.runId,
          rollback_by: change.by,
          rollback_reason: change.reason,
          rollback_error: null,
          updated_at: clock.now(),
        })
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async finishRollback(id, runId, outcome) {
      const result = await db
        .updateTable('contained_actions')
        .set({ status: outcome.status, rollback_error: outcome.error === undefined ? null : encodeJson(outcome.error), updated_at: clock.now() })
        .where('id', '=', id)
        .where('status', '=', 'rolling_back')
        .where('rollback_run_id', '=', runId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
