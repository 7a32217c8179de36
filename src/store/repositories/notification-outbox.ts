import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database, NotificationOutboxTable } from '../schema.ts';

/**
 * The transactional outbox for messages to people outside Riposte. Writers enqueue inside the transaction
 * that changed what the message is about; deliverers claim due rows with a lease (so two processes do not
 * send the same row at once, and a crashed deliverer's rows are taken over when the lease runs out),
 * then mark them sent, reschedule them, or give up on them. store/ does not know the payload's shape.
 */
export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface OutboxEntry {
  id: string;
  topic: string;
  channel: string;
  subject: string;
  payload: unknown;
  /** Earliest send time (default now). */
  notBefore?: number;
}

export interface OutboxRecord {
  id: string;
  topic: string;
  channel: string;
  subject: string;
  payload: unknown;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  lastError: string | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
}

export interface NotificationOutboxRepository {
  /** Inserts the entries whose id is new; returns how many were new. */
  enqueue(entries: readonly OutboxEntry[]): Promise<number>;
  /**
   * Leases up to `limit` pending rows due at `now` until `leaseUntil`, counting an attempt on each.
   * A row leased by someone else is skipped until its lease runs out.
   */
  claimDue(now: number, leaseUntil: number, limit?: number): Promise<OutboxRecord[]>;
  /** Sent: keeps what the channel answered. Only the current lease holder's call counts. */
  markSent(id: string, result: unknown, leaseUntil: number): Promise<boolean>;
  /** Try again at `nextAttemptAt` (lease released). */
  reschedule(id: string, nextAttemptAt: number, error: string, leaseUntil: number, countAttempt?: boolean): Promise<boolean>;
  /** Gave up: stays visible with its last error. */
  markFailed(id: string, error: string, leaseUntil: number): Promise<boolean>;
  get(id: string): Promise<OutboxRecord | undefined>;
  /** Every row about `subject`, oldest first. */
  listBySubject(subject: string): Promise<OutboxRecord[]>;
  /** Deletes sent and failed rows last changed before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

function fromRow(row: Selectable<NotificationOutboxTable>): OutboxRecord {
  return {
    id: row.id,
    topic: row.topic,
    channel: row.channel,
    subject: row.subject,
    payload: decodeJson(row.payload),
    status: row.status as OutboxStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    lastError: row.last_error ?? null,
    result: row.result === null || row.result === undefined ? null : decodeJson(row.result),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Rows per multi-row INSERT, well under both backends' parameter limits. */
const BATCH = 200;

export function notificationOutboxRepository(db: Kysely<Database>, clock: Clock): NotificationOutboxRepository {
  return {
    async enqueue(entries) {
      const now = clock.now();
      let inserted = 0;
      for (let i = 0; i < entries.length; i += BATCH) {
        const rows = entries.slice(i, i + BATCH).map((e) => ({
          id: e.id,
          topic: e.topic,
          channel: e.channel,
          subject: e.subject,
          payload: encodeJson(e.payload),
          status: 'pending',
          attempts: 0,
          next_attempt_at: e.notBefore ?? now,
          lease_until: null,
          last_error: null,
          result: null,
          created_at: now,
          updated_at: now,
        }));
        const result = await db
          .insertInto('notification_outbox')
          .values(rows)
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .execute();
        inserted += result.length;
      }
      return inserted;
    },
    async claimDue(now, leaseUntil, limit = 20) {
      const candidates = await db
        .selectFrom('notification_outbox')
        .select(['id', 'lease_until'])
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
      const claimed: OutboxRecord[] = [];
      for (const candidate of candidates) {
        // Compare-and-set on the lease seen: of two deliverers racing for a row, one wins.
        const rows = await db
          .updateTable('notification_outbox')
          .set((eb) => ({ lease_until: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
          .where('id', '=', candidate.id)
          .where('status', '=', 'pending')
          .where((eb) => (candidate.lease_until === null ? eb('lease_until', 'is', null) : eb('lease_until', '=', candidate.lease_until)))
          .returningAll()
          .execute();
        if (rows[0]) claimed.push(fromRow(rows[0]));
      }
      return claimed;
    },
    async markSent(id, result, leaseUntil) {
      const r = await db
        .updateTable('notification_outbox')
        .set({ status: 'sent', result: encodeJson(result ?? null), lease_until: null, last_error: null, updated_at: clock.now() })
        .where('id', '=', id)
        .where('lease_until', '=', leaseUntil)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async reschedule(id, nextAttemptAt, error, leaseUntil, countAttempt = true) {
      const r = await db
        .updateTable('notification_outbox')
        .set((eb) => ({
          next_attempt_at: nextAttemptAt,
          last_error: error.slice(0, 2000),
          lease_until: null,
          updated_at: clock.now(),
          ...(countAttempt ? {} : { attempts: eb('attempts', '-', 1) }),
        }))
        .where('id', '=', id)
        .where('lease_until', '=', leaseUntil)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async markFailed(id, error, leaseUntil) {
      const r = await db
        .updateTable('notification_outbox')
        .set({ status: 'failed', last_error: error.slice(0, 2000), lease_until: null, updated_at: clock.now() })
        .where('id', '=', id)
        .where('lease_until', '=', leaseUntil)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async get(id) {
      const row = await db.selectFrom('notification_outbox').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },
    async listBySubject(subject) {
      const rows = await db.selectFrom('notification_outbox').selectAll().where('subject', '=', subject).orderBy('created_at').orderBy('id').execute();
      return rows.map(fromRow);
    },
    async prune(before) {
      const r = await db.deleteFrom('notification_outbox').where('status', 'in', ['sent', 'failed']).where('updated_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
