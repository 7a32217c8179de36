import type { Kysely } from 'kysely';
import type { Clock } from '../../core/index.ts';
import type { Database } from '../schema.ts';

/**
 * Idempotency keys of run starts: (actor, key) → the fingerprint of the first request and the run it
 * started. `claim` runs inside the transaction that inserts the run, so of many concurrent requests with
 * one key exactly one claims it (the others see the winner's row once it commits). A key whose time is up
 * may be claimed afresh.
 */
export interface RunIdempotencyKeyRecord {
  actor: string;
  key: string;
  fingerprint: string;
  runId: string;
  /** The HTTP status the first request was answered with (null until it was answered). */
  statusCode: number | null;
  createdAt: number;
  expiresAt: number;
}

export interface RunIdempotencyKeysRepository {
  /** Takes the key for `runId`; false when a live (unexpired) claim by the same actor already holds it. */
  claim(claim: { actor: string; key: string; fingerprint: string; runId: string; ttlMs: number }): Promise<boolean>;
  /** The live claim of a key, or undefined (never used, or expired). */
  get(actor: string, key: string): Promise<RunIdempotencyKeyRecord | undefined>;
  /** Records the status the first request was answered with, so retries are answered with the same one. */
  setStatus(actor: string, key: string, runId: string, statusCode: number): Promise<void>;
  /** Deletes claims that expired before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

interface Row {
  actor: string;
  key: string;
  fingerprint: string;
  run_id: string;
  status_code: number | string | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
}

const fromRow = (row: Row): RunIdempotencyKeyRecord => ({
  actor: row.actor,
  key: row.key,
  fingerprint: row.fingerprint,
  runId: row.run_id,
  statusCode: row.status_code === null ? null : Number(row.status_code),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

export function runIdempotencyKeysRepository(db: Kysely<Database>, clock: Clock): RunIdempotencyKeysRepository {
  return {
    async claim({ actor, key, fingerprint, runId, ttlMs }) {
      const now = clock.now();
      const result = await db
        .insertInto('run_idempotency_keys')
        .values({ actor, key, fingerprint, run_id: runId, status_code: null, created_at: now, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc
            .columns(['actor', 'key'])
            .doUpdateSet((eb) => ({
              fingerprint: eb.ref('excluded.fingerprint'),
              run_id: eb.ref('excluded.run_id'),
              status_code: null,
              created_at: eb.ref('excluded.created_at'),
              expires_at: eb.ref('excluded.expires_at'),
            }))
            .where('run_idempotency_keys.expires_at', '<=', now),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async get(actor, key) {
      const row = await db
        .selectFrom('run_idempotency_keys')
        .selectAll()
        .where('actor', '=', actor)
        .where('key', '=', key)
        .where('expires_at', '>', clock.now())
        .executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async setStatus(actor, key, runId, statusCode) {
      await db
        .updateTable('run_idempotency_keys')
        .set({ status_code: statusCode })
        .where('actor', '=', actor)
        .where('key', '=', key)
        .where('run_id', '=', runId)
        .where('status_code', 'is', null)
        .execute();
    },
    async purgeExpired(now) {
      const result = await db.deleteFrom('run_idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
