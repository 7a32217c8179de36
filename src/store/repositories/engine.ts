import { type Kysely, type Selectable, sql } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { type Backend, decodeJson, encodeJson, typesFor } from '../backend.ts';
import type { Database, EngineJournalTable, EngineRunsTable, EngineWaitsTable } from '../schema.ts';

/**
 * Storage for durable playbook runs: run rows with claim leases, the append-only step journal and the
 * open waits. Writes are batched (multi-row inserts) because the runner commits the results of many
 * runs in one transaction per tick. Claiming uses FOR UPDATE SKIP LOCKED on PostgreSQL so that several
 * workers can share the table; SQLite's single writer makes the same statement safe there.
 */
export const ACTIVE_RUN_STATUSES = ['queued', 'running', 'waiting'] as const;

export interface RunRow {
  id: string;
  playbookId: string;
  playbookVersion: number;
  /** The pinned playbook definition; undefined in listings. */
  definition: unknown;
  inputs: unknown;
  status: string;
  mode: string;
  output: unknown;
  error: unknown;
  parentRunId: string | null;
  parentStepKey: string | null;
  startedBy: string | null;
  /** The case this run works for, fixed when the run is created (so a first step already knows it). */
  caseId: string | null;
  wakeAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  attempt: number;
  cancelRequested: boolean;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface NewRun {
  id: string;
  playbookId: string;
  playbookVersion: number;
  definition: unknown;
  inputs: unknown;
  status: string;
  mode?: string;
  parentRunId?: string | null;
  parentStepKey?: string | null;
  startedBy?: string | null;
  caseId?: string | null;
  wakeAt: number | null;
  createdAt: number;
}

export interface RunChange {
  id: string;
  status?: string;
  output?: unknown;
  error?: unknown;
  wakeAt?: number | null;
  releaseLease?: boolean;
  finishedAt?: number | null;
  /** Apply only while this owner still holds the lease (a lost lease means someone else took over). */
  owner?: string;
}

/** A run as one claim saw it: the lease epoch is the run's `attempt` after that claim. */
export interface LeaseRef {
  id: string;
  epoch: number;
}

/** The PostgreSQL NOTIFY channel that wakes idle workers; the payload is the schema, so schemas sharing a database do not wake each other. */
export const WORK_CHANNEL = 'riposte_work';

/** Most playbooks a fair-share claim looks at in one go (each gets an equal share of the batch). */
const FAIR_SHARE_PLAYBOOKS = 64;

export interface JournalEntry {
  id: number;
  runId: string;
  kind: string;
  stepKey: string | null;
  data: unknown;
  at: number;
}

export interface NewJournalEntry {
  runId: string;
  kind: string;
  stepKey?: string | null;
  data: unknown;
}

export interface WaitRow {
  runId: string;
  stepKey: string;
  kind: string;
  eventName: string | null;
  wakeAt: number | null;
  status: string;
  request: unknown;
  resolution: unknown;
  createdAt: number;
  resolvedAt: number | null;
}

export interface NewWait {
  runId: string;
  stepKey: string;
  kind: string;
  eventName?: string | null;
  wakeAt: number | null;
  request: unknown;
}

export interface RunFilter {
  status?: readonly string[];
  playbookId?: string;
  parentRunId?: string;
  /** Newest first; pass the last id seen to page. */
  beforeId?: string;
  limit?: number;
}

export interface EngineRepository {
  insertRuns(runs: readonly NewRun[]): Promise<void>;
  getRun(id: string): Promise<RunRow | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRow[]>;
  /**
   * Leases up to `limit` runs whose wake time has come and whose lease is free or expired (only `onlyIds`,
   * or only runs of `playbookIds`, if given). Every playbook with due runs gets an equal share of the batch.
   */
  claimRunnable(owner: string, now: number, leaseMs: number, limit: number, onlyIds?: readonly string[], playbookIds?: readonly string[]): Promise<RunRow[]>;
  /**
   * The lease fence: which of these runs this owner still holds at the epoch it claimed them with (the
   * run's `attempt`, bumped by every claim). On PostgreSQL the rows are locked until the transaction
   * ends, so nobody can take one over between this check and the commit that depends on it.
   */
  heldLeases(owner: string, leases: readonly LeaseRef[]): Promise<Set<string>>;
  /** Extends the leases this owner holds on these runs (only the runs it still works on). */
  extendLeases(owner: string, expiresAt: number, runIds: readonly string[]): Promise<number>;
  /** Gives up this owner's leases on these runs (or on all its runs) so they can be claimed again at once. */
  releaseLeases(owner: string, runIds?: readonly string[]): Promise<number>;
  /** Embedded single-process start: every lease is stale by definition (the previous process is gone). */
  takeOverAllLeases(): Promise<number>;
  updateRuns(changes: readonly RunChange[]): Promise<void>;
  /** Makes an unleased active run runnable now (after an approval, an event, a child run finishing). */
  wakeRun(id: string, now: number): Promise<boolean>;
  appendJournal(entries: readonly NewJournalEntry[]): Promise<void>;
  journal(runId: string, afterId?: number): Promise<JournalEntry[]>;
  journals(runIds: readonly string[]): Promise<Map<string, JournalEntry[]>>;
  lastJournalId(runId: string): Promise<number>;
  insertWaits(waits: readonly NewWait[]): Promise<void>;
  /** Marks an open wait resolved; false if it was not open (already decided, timed out, or missing). */
  resolveWait(runId: string, stepKey: string, resolution: unknown): Promise<boolean>;
  getWait(runId: string, stepKey: string): Promise<WaitRow | undefined>;
  listWaits(filter: { status?: string; kind?: string; eventName?: string; runId?: string; limit?: number }): Promise<WaitRow[]>;
  requestCancel(id: string): Promise<void>;
  cancelRequested(owner: string): Promise<string[]>;
}

const BATCH = 500;
/** Runs per batched UPDATE (each brings a few parameters per column). */
const UPDATE_BATCH = 200;

function toRun(row: Partial<Selectable<EngineRunsTable>>): RunRow {
  return {
    id: row.id as string,
    playbookId: row.playbook_id as string,
    playbookVersion: Number(row.playbook_version),
    definition: row.definition === undefined ? undefined : decodeJson(row.definition),
    inputs: decodeJson(row.inputs),
    status: row.status as string,
    mode: row.mode as string,
    output: row.output == null ? null : decodeJson(row.output),
    error: row.error == null ? null : decodeJson(row.error),
    parentRunId: row.parent_run_id ?? null,
    parentStepKey: row.parent_step_key ?? null,
    startedBy: row.started_by ?? null,
    caseId: row.case_id ?? null,
    wakeAt: row.wake_at == null ? null : Number(row.wake_at),
    leaseOwner: row.lease_owner ?? null,
    leaseExpiresAt: row.lease_expires_at == null ? null : Number(row.lease_expires_at),
    attempt: Number(row.attempt ?? 0),
    cancelRequested: Number(row.cancel_requested ?? 0) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at == null ? null : Number(row.finished_at),
  };
}

function toJournal(row: Selectable<EngineJournalTable>): JournalEntry {
  return { id: Number(row.id), runId: row.run_id, kind: row.kind, stepKey: row.step_key, data: decodeJson(row.data), at: Number(row.at) };
}

function toWait(row: Selectable<EngineWaitsTable>): WaitRow {
  return {
    runId: row.run_id,
    stepKey: row.step_key,
    kind: row.kind,
    eventName: row.event_name,
    wakeAt: row.wake_at == null ? null : Number(row.wake_at),
    status: row.status,
    request: decodeJson(row.request),
    resolution: row.resolution == null ? null : decodeJson(row.resolution),
    createdAt: Number(row.created_at),
    resolvedAt: row.resolved_at == null ? null : Number(row.resolved_at),
  };
}

const LIST_COLUMNS = [
  'id',
  'playbook_id',
  'playbook_version',
  'inputs',
  'status',
  'mode',
  'output',
  'error',
  'parent_run_id',
  'parent_step_key',
  'started_by',
  'case_id',
  'wake_at',
  'lease_owner',
  'lease_expires_at',
  'attempt',
  'cancel_requested',
  'created_at',
  'updated_at',
  'finished_at',
] as const;

export function engineRepository(db: Kysely<Database>, backend: Backend, clock: Clock): EngineRepository {
  /** The playbooks that have due runs, found by skipping through the per-playbook index (one probe per playbook, not per run). */
  async function duePlaybooks(now: number): Promise<string[]> {
    if (backend === 'postgres') {
      const result = await sql<{ playbook_id: string }>`
        with recursive due(playbook_id) as (
          (select playbook_id from engine_runs where wake_at is not null and wake_at <= ${now} order by playbook_id limit 1)
          union all
          select (select r.playbook_id from engine_runs r
                  where r.wake_at is not null and r.wake_at <= ${now} and r.playbook_id > due.playbook_id
                  order by r.playbook_id limit 1)
          from due where due.playbook_id is not null
        )
        select playbook_id from due where playbook_id is not null limit ${FAIR_SHARE_PLAYBOOKS}`.execute(db);
      return result.rows.map((r) => r.playbook_id);
    }
    const rows = await db
      .selectFrom('engine_runs')
      .select('playbook_id')
      .distinct()
      .where('wake_at', 'is not', null)
      .where('wake_at', '<=', now)
      .limit(FAIR_SHARE_PLAYBOOKS)
      .execute();
    return rows.map((r) => r.playbook_id);
  }

  /** Wakes idle workers (delivered at commit, once per transaction); SQLite has a single runner to poke directly. */
  async function notifyWork(): Promise<void> {
    if (backend === 'postgres') await sql`select pg_notify(${WORK_CHANNEL}, current_schema())`.execute(db);
  }

  return {
    async insertRuns(runs) {
      for (let i = 0; i < runs.length; i += BATCH) {
        await db
          .insertInto('engine_runs')
          .values(
            runs.slice(i, i + BATCH).map((run) => ({
              id: run.id,
              playbook_id: run.playbookId,
              playbook_version: run.playbookVersion,
              definition: encodeJson(run.definition),
              inputs: encodeJson(run.inputs),
              status: run.status,
              mode: run.mode ?? 'live',
              parent_run_id: run.parentRunId ?? null,
              parent_step_key: run.parentStepKey ?? null,
              started_by: run.startedBy ?? null,
              case_id: run.caseId ?? null,
              wake_at: run.wakeAt,
              lease_owner: null,
              lease_expires_at: null,
              created_at: run.createdAt,
              updated_at: run.createdAt,
              finished_at: null,
            })),
          )
          .execute();
      }
      if (runs.some((run) => run.wakeAt !== null)) await notifyWork();
    },

    async getRun(id) {
      const row = await db.selectFrom('engine_runs').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRun(row);
    },

    async listRuns(filter = {}) {
      let query = db
        .selectFrom('engine_runs')
        .select([...LIST_COLUMNS])
        .orderBy('id', 'desc')
        .limit(Math.min(filter.limit ?? 50, 1000));
      if (filter.status && filter.status.length > 0) query = query.where('status', 'in', [...filter.status]);
      if (filter.playbookId) query = query.where('playbook_id', '=', filter.playbookId);
      if (filter.parentRunId) query = query.where('parent_run_id', '=', filter.parentRunId);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      return (await query.execute()).map(toRun);
    },

    async claimRunnable(owner, now, leaseMs, limit, onlyIds, playbookIds) {
      if (onlyIds !== undefined && onlyIds.length === 0) return [];
      const free = () =>
        db
          .selectFrom('engine_runs')
          .where('wake_at', 'is not', null)
          .where('wake_at', '<=', now)
          .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)]));
      const claim = async (ids: readonly string[]) => {
        if (ids.length === 0) return [];
        // The lease condition is checked again by the update itself: a row another worker claimed in between is left alone.
        const rows = await free()
          .select('id')
          .where('id', 'in', ids)
          .$call((q) => (backend === 'postgres' ? q.forUpdate().skipLocked() : q))
          .execute();
        if (rows.length === 0) return [];
        const updated = await db
          .updateTable('engine_runs')
          .set((eb) => ({ status: 'running', lease_owner: owner, lease_expires_at: now + leaseMs, attempt: eb('attempt', '+', 1), updated_at: now }))
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)]))
          .returningAll()
          .execute();
        return updated.map(toRun);
      };
      if (onlyIds !== undefined) {
        const candidates = await free().select('id').where('id', 'in', onlyIds.slice(0, BATCH)).orderBy('wake_at').limit(limit).execute();
        return claim(candidates.map((c) => c.id));
      }
      // Fair share: every playbook with due work gets an equal slice of the batch, so a flood of one
      // playbook's runs cannot starve the others (they are served in the same claim, not after the flood).
      const playbooks = playbookIds !== undefined ? [...playbookIds].slice(0, FAIR_SHARE_PLAYBOOKS) : await duePlaybooks(now);
      if (playbooks.length === 0) return [];
      const share = Math.max(1, Math.ceil(limit / playbooks.length));
      if (backend === 'postgres') {
        const result = await sql<Selectable<EngineRunsTable>>`
          update engine_runs set status = 'running', lease_owner = ${owner}, lease_expires_at = ${now + leaseMs},
            attempt = attempt + 1, updated_at = ${now}
          where id in (
            select c.id from unnest(cast(${playbooks} as text[])) as p(playbook_id)
            cross join lateral (
              select r.id from engine_runs r
              where r.playbook_id = p.playbook_id and r.wake_at is not null and r.wake_at <= ${now}
                and (r.lease_owner is null or r.lease_expires_at < ${now})
              order by r.wake_at limit ${share}
              for update skip locked
            ) c
          )
          returning *`.execute(db);
        return result.rows.map(toRun);
      }
      const ids: string[] = [];
      for (const playbookId of playbooks) {
        const rows = await free().select('id').where('playbook_id', '=', playbookId).orderBy('wake_at').limit(share).execute();
        for (const row of rows) ids.push(row.id);
      }
      return claim(ids);
    },

    async heldLeases(owner, leases) {
      const held = new Set<string>();
      const epochs = new Map(leases.map((l) => [l.id, l.epoch]));
      const ids = [...epochs.keys()];
      for (let i = 0; i < ids.length; i += BATCH) {
        const rows = await db
          .selectFrom('engine_runs')
          .select(['id', 'attempt'])
          .where('id', 'in', ids.slice(i, i + BATCH))
          .where('lease_owner', '=', owner)
          .$call((q) => (backend === 'postgres' ? q.forUpdate() : q))
          .execute();
        for (const row of rows) if (Number(row.attempt) === epochs.get(row.id)) held.add(row.id);
      }
      return held;
    },

    async extendLeases(owner, expiresAt, runIds) {
      let updated = 0;
      for (let i = 0; i < runIds.length; i += BATCH) {
        const result = await db
          .updateTable('engine_runs')
          .set({ lease_expires_at: expiresAt })
          .where('lease_owner', '=', owner)
          .where('id', 'in', runIds.slice(i, i + BATCH))
          .executeTakeFirst();
        updated += Number(result.numUpdatedRows);
      }
      return updated;
    },

    async releaseLeases(owner, runIds) {
      const release = async (ids?: readonly string[]) => {
        let query = db.updateTable('engine_runs').set({ lease_owner: null, lease_expires_at: null, updated_at: clock.now() }).where('lease_owner', '=', owner);
        if (ids) query = query.where('id', 'in', ids);
        return Number((await query.executeTakeFirst()).numUpdatedRows);
      };
      let released = 0;
      if (runIds === undefined) released = await release();
      else for (let i = 0; i < runIds.length; i += BATCH) released += await release(runIds.slice(i, i + BATCH));
      // Handed-back runs are runnable now: another worker should not wait for its next poll.
      if (released > 0) await notifyWork();
      return released;
    },

    async takeOverAllLeases() {
      const result = await db
        .updateTable('engine_runs')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('lease_owner', 'is not', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async updateRuns(changes) {
      const now = clock.now();
      // One statement per group of changes with the same shape (the runner finishes hundreds of runs per
      // commit): CASE expressions keyed by id, so a group costs one round trip instead of one per run.
      const groups = new Map<string, RunChange[]>();
      for (const change of changes) {
        const shape = [
          change.status !== undefined,
          change.output !== undefined,
          change.error !== undefined,
          change.wakeAt !== undefined,
          change.finishedAt !== undefined,
          Boolean(change.releaseLease),
          change.owner ?? '',
        ].join('|');
        const group = groups.get(shape);
        if (group) group.push(change);
        else groups.set(shape, [change]);
      }
      const types = typesFor(backend);
      for (const group of groups.values()) {
        for (let i = 0; i < group.length; i += UPDATE_BATCH) {
          const chunk = group.slice(i, i + UPDATE_BATCH);
          const first = chunk[0] as RunChange;
          const byId = (value: (change: RunChange) => unknown, type: string) =>
            sql`case id ${sql.join(
              chunk.map((change) => sql`when ${change.id} then cast(${value(change)} as ${sql.raw(type)})`),
              sql` `,
            )} end`;
          const set: Record<string, unknown> = { updated_at: now };
          if (first.status !== undefined) set.status = byId((c) => c.status, 'text');
          if (first.output !== undefined) set.output = byId((c) => encodeJson(c.output), types.json);
          if (first.error !== undefined) set.error = byId((c) => (c.error === null ? null : encodeJson(c.error)), types.json);
          if (first.wakeAt !== undefined) set.wake_at = byId((c) => c.wakeAt, types.bigint);
          if (first.finishedAt !== undefined) set.finished_at = byId((c) => c.finishedAt, types.bigint);
          if (first.releaseLease) {
            set.lease_owner = null;
            set.lease_expires_at = null;
          }
          let query = db
            .updateTable('engine_runs')
            .set(set)
            .where(
              'id',
              'in',
              chunk.map((c) => c.id),
            );
          if (first.owner !== undefined) query = query.where('lease_owner', '=', first.owner);
          await query.execute();
        }
      }
      // A released run that is due now (a wait resolved while it was held) is work for any idle worker.
      if (changes.some((c) => c.releaseLease && c.wakeAt != null && c.wakeAt <= now)) await notifyWork();
    },

    async wakeRun(id, now) {
      const result = await db
        .updateTable('engine_runs')
        .set({ wake_at: now, updated_at: now })
        .where('id', '=', id)
        .where('lease_owner', 'is', null)
        .where('status', 'in', [...ACTIVE_RUN_STATUSES])
        .executeTakeFirst();
      const woke = Number(result.numUpdatedRows) > 0;
      if (woke) await notifyWork();
      return woke;
    },

    async appendJournal(entries) {
      const at = clock.now();
      for (let i = 0; i < entries.length; i += BATCH) {
        await db
          .insertInto('engine_journal')
          .values(entries.slice(i, i + BATCH).map((e) => ({ run_id: e.runId, kind: e.kind, step_key: e.stepKey ?? null, data: encodeJson(e.data), at })))
          .execute();
      }
    },

    async journal(runId, afterId = 0) {
      const rows = await db.selectFrom('engine_journal').selectAll().where('run_id', '=', runId).where('id', '>', afterId).orderBy('id').execute();
      return rows.map(toJournal);
    },

    async journals(runIds) {
      const out = new Map<string, JournalEntry[]>();
      for (const id of runIds) out.set(id, []);
      for (let i = 0; i < runIds.length; i += BATCH) {
        const rows = await db
          .selectFrom('engine_journal')
          .selectAll()
          .where('run_id', 'in', runIds.slice(i, i + BATCH))
          .orderBy('id')
          .execute();
        for (const row of rows) out.get(row.run_id)?.push(toJournal(row));
      }
      return out;
    },

    async lastJournalId(runId) {
      const row = await db.selectFrom('engine_journal').select(sql<number | null>`max(id)`.as('last')).where('run_id', '=', runId).executeTakeFirst();
      return Number(row?.last ?? 0);
    },

    async insertWaits(waits) {
      const now = clock.now();
      for (let i = 0; i < waits.length; i += BATCH) {
        await db
          .insertInto('engine_waits')
          .values(
            waits.slice(i, i + BATCH).map((w) => ({
              run_id: w.runId,
              step_key: w.stepKey,
              kind: w.kind,
              event_name: w.eventName ?? null,
              wake_at: w.wakeAt,
              status: 'open',
              request: encodeJson(w.request),
              resolution: null,
              created_at: now,
              resolved_at: null,
            })),
          )
          .onConflict((oc) => oc.columns(['run_id', 'step_key']).doNothing())
          .execute();
      }
    },

    async resolveWait(runId, stepKey, resolution) {
      const result = await db
        .updateTable('engine_waits')
        .set({ status: 'resolved', resolution: encodeJson(resolution), resolved_at: clock.now() })
        .where('run_id', '=', runId)
        .where('step_key', '=', stepKey)
        .where('status', '=', 'open')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async getWait(runId, stepKey) {
      const row = await db.selectFrom('engine_waits').selectAll().where('run_id', '=', runId).where('step_key', '=', stepKey).executeTakeFirst();
      return row === undefined ? undefined : toWait(row);
    },

    async listWaits(filter) {
      let query = db
        .selectFrom('engine_waits')
        .selectAll()
        .orderBy('created_at')
        .limit(Math.min(filter.limit ?? 1000, 10_000));
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.eventName) query = query.where('event_name', '=', filter.eventName);
      if (filter.runId) query = query.where('run_id', '=', filter.runId);
      return (await query.execute()).map(toWait);
    },

    async requestCancel(id) {
      await db.updateTable('engine_runs').set({ cancel_requested: 1, updated_at: clock.now() }).where('id', '=', id).execute();
    },

    async cancelRequested(owner) {
      const rows = await db.selectFrom('engine_runs').select('id').where('lease_owner', '=', owner).where('cancel_requested', '=', 1).execute();
      return rows.map((r) => r.id);
    },
  };
}
