import { type Kysely, sql } from 'kysely';
import type { Backend } from '../backend.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';
import { insertRows, type RowInsert, runSql, sqlTexts } from './sql-text.ts';

/** One link of the audit chain as stored. Hashing is the cases module's business; this only keeps rows. */
export interface AuditRecord {
  seq: number;
  at: number;
  actor: unknown;
  action: string;
  target: string;
  details: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditRepository {
  /**
   * The current head of the chain, taken under the chain's write lock so that no other transaction can
   * append until this one ends (PostgreSQL: a transaction-scoped advisory lock; SQLite: the single
   * writer already holds the database). Call it inside a transaction, then `append`.
   */
  lockHead(): Promise<{ seq: number; hash: string } | undefined>;
  append(records: readonly AuditRecord[]): Promise<void>;
  /** Records in chain order after `afterSeq`, optionally only from `sinceAt` on. */
  list(options: { afterSeq?: number; sinceAt?: number; limit: number; descending?: boolean; action?: string; target?: string }): Promise<AuditRecord[]>;
  count(): Promise<number>;
}

/** Arbitrary constant naming the audit chain's advisory lock. */
const AUDIT_LOCK_KEY = 0x52495053; // "RIPS"

const AUDIT_APPEND: RowInsert = {
  key: 'audit.append',
  table: 'audit_log',
  columns: ['seq', 'at', 'actor', 'action', 'target', 'details', 'prev_hash', 'hash'],
  pgTypes: ['bigint', 'bigint', 'jsonb', 'text', 'text', 'jsonb', 'text', 'text'],
};

export function auditRepository(db: Kysely<Database>, backend: Backend): AuditRepository {
  const texts = sqlTexts(backend);
  return {
    async lockHead() {
      if (backend === 'postgres') await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(db);
      const [row] = await runSql<{ seq: number | bigint; hash: string }>(
        db,
        texts.text('audit.head', () => 'select seq, hash from audit_log order by seq desc limit 1'),
        [],
      );
      return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
    },
    async append(records) {
      const values: unknown[] = [];
      for (const r of records) values.push(r.seq, r.at, encodeJson(r.actor), r.action, r.target, encodeJson(r.details), r.prevHash, r.hash);
      await insertRows(db, backend, AUDIT_APPEND, values);
    },
    async list(options) {
      let query = db.selectFrom('audit_log').selectAll();
      if (options.afterSeq !== undefined) query = query.where('seq', options.descending ? '<' : '>', options.afterSeq);
      if (options.sinceAt !== undefined) query = query.where('at', '>=', options.sinceAt);
      if (options.action !== undefined) query = query.where('action', '=', options.action);
      if (options.target !== undefined) query = query.where('target', '=', options.target);
      const rows = await query
        .orderBy('seq', options.descending ? 'desc' : 'asc')
        .limit(options.limit)
        .execute();
      return rows.map((row) => ({
        seq: Number(row.seq),
        at: Number(row.at),
        actor: decodeJson(row.actor),
        action: row.action,
        target: row.target,
        details: decodeJson(row.details),
        prevHash: row.prev_hash,
        hash: row.hash,
      }));
    },
    async count() {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
