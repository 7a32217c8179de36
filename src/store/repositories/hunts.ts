import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database, HuntRunsTable, HuntStepsTable } from '../schema.ts';

/**
 * Durable hunt runs. A run is one JSON document (the view the API shows: progress, sightings, waves,
 * per-host state) plus the options its remediation was started with, and a lease: the process driving the
 * run (fan-out or remediation) holds it and renews it; its writes are fenced by it, so a process that lost
 * its lease (paused, partitioned) cannot overwrite the one that took over. The step ledger beside it is
 * written per host and per approval, so neither a thousand-host wave nor a second process approving a wave
 * rewrites the document.
 */
export interface HuntRunRecord {
  id: string;
  status: string;
  remediationStatus: string;
  view: unknown;
  options: unknown;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface HuntRunChange {
  status: string;
  remediationStatus: string;
  view: unknown;
  options?: unknown;
}

export interface HuntStepRecord {
  huntId: string;
  /** Unique within the run: `delete:HOST:KEY:VALUE`, `rollback:HOST:KEY:VALUE`, `approve:WAVE:ACTOR`. */
  key: string;
  kind: 'delete' | 'rollback' | 'approve' | 'ticket';
  wave: number;
  hostId: string | null;
  /** `sending` is written before the command leaves, so after a crash it means "may be in flight". */
  status: 'sending' | 'done' | 'failed';
  data: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type NewHuntStep = Omit<HuntStepRecord, 'createdAt' | 'updatedAt'>;

export interface HuntsRepository {
  /** A new run, leased to `owner` until `leaseExpiresAt` (null owner: nobody drives it). */
  create(id: string, change: HuntRunChange & { options: unknown }, lease: { owner: string | null; expiresAt: number | null }): Promise<void>;
  /** Writes the run's document; with `owner`, only while that owner holds the lease (false otherwise). */
  update(id: string, change: HuntRunChange, owner?: string): Promise<boolean>;
  get(id: string): Promise<HuntRunRecord | undefined>;
  /** Newest first. */
  list(limit?: number): Promise<HuntRunRecord[]>;
  /** Takes the lease when it is free, lapsed, or already this owner's; false when another process holds it. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Extends this owner's leases on these runs; returns how many it still holds. */
  extendLeases(owner: string, ids: readonly string[], expiresAt: number): Promise<number>;
  /** Hands the leases back (all of this owner's when `ids` is omitted). */
  releaseLeases(owner: string, ids?: readonly string[]): Promise<number>;
  /** Embedded single-process start: whoever held a lease before is gone (except `keep`: this process). */
  takeOverAllLeases(keep?: string): Promise<number>;
  /** Runs with work left (fan-out or remediation in progress) that no live process drives. */
  listOrphaned(now: number, limit?: number): Promise<HuntRunRecord[]>;
  /** Inserts or updates a step (the same key is the same host command: its status moves forward). */
  putStep(step: NewHuntStep): Promise<void>;
  /** Inserts a step once; false when the key is already there (a second approval by the same person). */
  addStep(step: NewHuntStep): Promise<boolean>;
  steps(huntId: string): Promise<HuntStepRecord[]>;
}

const ACTIVE_REMEDIATION = ['running', 'waiting_approval'];

function fromRow(row: Selectable<HuntRunsTable>): HuntRunRecord {
  return {
    id: row.id,
    status: row.status,
    remediationStatus: row.remediation_status,
    view: decodeJson(row.view),
    options: decodeJson(row.options),
    leaseOwner: row.lease_owner ?? null,
    leaseExpiresAt: row.lease_expires_at == null ? null : Number(row.lease_expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function stepFromRow(row: Selectable<HuntStepsTable>): HuntStepRecord {
  return {
    huntId: row.hunt_id,
    key: row.key,
    kind: row.kind as HuntStepRecord['kind'],
    wave: Number(row.wave),
    hostId: row.host_id ?? null,
    status: row.status as HuntStepRecord['status'],
    data: decodeJson(row.data),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function huntsRepository(db: Kysely<Database>, clock: Clock): HuntsRepository {
  const stepValues = (step: NewHuntStep, now: number) => ({
    hunt_id: step.huntId,
    key: step.key,
    kind: step.kind,
    wave: step.wave,
    host_id: step.hostId,
    status: step.status,
    data: encodeJson(step.data),
    created_at: now,
    updated_at: now,
  });
  return {
    async create(id, change, lease) {
      const now = clock.now();
      await db
        .insertInto('hunt_runs')
        .values({
          id,
          status: change.status,
          remediation_status: change.remediationStatus,
          view: encodeJson(change.view),
          options: encodeJson(change.options),
          lease_owner: lease.owner,
          lease_expires_at: lease.expiresAt,
          created_at: now,
          updated_at: now,
        })
        .execute();
    },

    async update(id, change, owner) {
      let query = db
        .updateTable('hunt_runs')
        .set({
          status: change.status,
          remediation_status: change.remediationStatus,
          view: encodeJson(change.view),
          ...(change.options !== undefined ? { options: encodeJson(change.options) } : {}),
          updated_at: clock.now(),
        })
        .where('id', '=', id);
      if (owner !== undefined) query = query.where('lease_owner', '=', owner);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async get(id) {
      const row = await db.selectFrom('hunt_runs').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },

    async list(limit = 200) {
      const rows = await db
        .selectFrom('hunt_runs')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(Math.min(Math.max(limit, 1), 1000))
        .execute();
      return rows.map(fromRow);
    },

    async claim(id, owner, now, leaseMs) {
      const result = await db
        .updateTable('hunt_runs')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
        .where('id', '=', id)
        // The condition is checked by the update itself: of two processes claiming at once, one wins.
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now), eb('lease_owner', '=', owner)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async extendLeases(owner, ids, expiresAt) {
      if (ids.length === 0) return 0;
      const result = await db
        .updateTable('hunt_runs')
        .set({ lease_expires_at: expiresAt })
        .where('lease_owner', '=', owner)
        .where('id', 'in', [...ids])
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async releaseLeases(owner, ids) {
      if (ids !== undefined && ids.length === 0) return 0;
      let query = db.updateTable('hunt_runs').set({ lease_owner: null, lease_expires_at: null }).where('lease_owner', '=', owner);
      if (ids !== undefined) query = query.where('id', 'in', [...ids]);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async takeOverAllLeases(keep) {
      let query = db.updateTable('hunt_runs').set({ lease_owner: null, lease_expires_at: null }).where('lease_owner', 'is not', null);
      if (keep !== undefined) query = query.where('lease_owner', '<>', keep);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async listOrphaned(now, limit = 100) {
      const rows = await db
        .selectFrom('hunt_runs')
        .selectAll()
        .where((eb) => eb.or([eb('status', '=', 'running'), eb('remediation_status', 'in', ACTIVE_REMEDIATION)]))
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)]))
        .orderBy('created_at')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async putStep(step) {
      const now = clock.now();
      await db
        .insertInto('hunt_steps')
        .values(stepValues(step, now))
        .onConflict((oc) => oc.columns(['hunt_id', 'key']).doUpdateSet({ status: step.status, data: encodeJson(step.data), updated_at: now }))
        .execute();
    },

    async addStep(step) {
      const result = await db
        .insertInto('hunt_steps')
        .values(stepValues(step, clock.now()))
        .onConflict((oc) => oc.columns(['hunt_id', 'key']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async steps(huntId) {
      const rows = await db.selectFrom('hunt_steps').selectAll().where('hunt_id', '=', huntId).orderBy('created_at').orderBy('key').execute();
      return rows.map(stepFromRow);
    },
  };
}
