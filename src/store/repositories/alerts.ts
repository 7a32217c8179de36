import { type Kysely, type Selectable, sql } from 'kysely';
import { type Backend, decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';
import { inListChunks, insertRows, placeholders, type RowInsert, runSql, sqlTexts } from './sql-text.ts';

/** A normalised alert as stored; `document` holds the whole normalised alert including the raw event. */
export interface AlertRecord {
  id: string;
  caseId: string;
  source: string;
  product: string;
  ruleName: string;
  ruleUid: string | null;
  title: string;
  severity: string;
  dedupKey: string;
  time: number;
  receivedAt: number;
  lastSeenAt: number;
  count: number;
  document: unknown;
}

export interface AlertsRepository {
  /**
   * Serialises alert intake across processes for the rest of the transaction (PostgreSQL advisory lock;
   * SQLite has one writer anyway), so two workers never open two cases for the same correlation key.
   */
  lockIntake(): Promise<void>;
  /** Existing alerts for (source, dedup key) pairs, keyed `${source}\u0000${dedupKey}`. */
  findByDedupKeys(keys: ReadonlyArray<{ source: string; dedupKey: string }>): Promise<Map<string, { id: string; caseId: string }>>;
  insert(alerts: readonly AlertRecord[]): Promise<void>;
  /** A repeat of an alert already stored: count it rather than store it twice. */
  recordRepeats(repeats: ReadonlyArray<{ id: string; at: number; times: number }>): Promise<void>;
  get(id: string): Promise<AlertRecord | undefined>;
  forCase(caseId: string, options: { after?: string; limit: number }): Promise<AlertRecord[]>;

  /**
   * Cases still open that recently saw any of these correlation keys (since `since`): the heart of
   * "same rule + same observable within a window → same case".
   */
  correlatedCases(
    keys: readonly string[],
    since: number,
    closedStatuses: readonly string[],
  ): Promise<Array<{ key: string; caseId: string; lastSeenAt: number }>>;
  touchCorrelationKeys(rows: ReadonlyArray<{ key: string; caseId: string; at: number }>): Promise<void>;

  /**
   * Records a webhook delivery id until `expiresAt`. False when the id was already recorded and has not
   * expired: a replay. Inside the ingest transaction, so a failed ingest does not burn the id.
   */
  claimDelivery(source: string, deliveryId: string, now: number, expiresAt: number): Promise<boolean>;
  deliverySeen(source: string, deliveryId: string, now: number): Promise<boolean>;
  purgeDeliveries(now: number): Promise<number>;
}

function toRecord(row: Selectable<Database['alerts']>): AlertRecord {
  return {
    id: row.id,
    caseId: row.case_id,
    source: row.source,
    product: row.product,
    ruleName: row.rule_name,
    ruleUid: row.rule_uid,
    title: row.title,
    severity: row.severity,
    dedupKey: row.dedup_key,
    time: Number(row.time),
    receivedAt: Number(row.received_at),
    lastSeenAt: Number(row.last_seen_at),
    count: Number(row.count),
    document: decodeJson(row.document),
  };
}

const INTAKE_LOCK_KEY = 0x52495049; // "RIPI"

const ALERT_INSERT: RowInsert = {
  key: 'alerts.insert',
  table: 'alerts',
  columns: [
    'id',
    'case_id',
    'source',
    'product',
    'rule_name',
    'rule_uid',
    'title',
    'severity',
    'dedup_key',
    'time',
    'received_at',
    'last_seen_at',
    'count',
    'document',
  ],
  pgTypes: ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint', 'bigint', 'jsonb'],
};

const CORRELATION_TOUCH: RowInsert = {
  key: 'correlation_keys.touch',
  table: 'correlation_keys',
  columns: ['key', 'case_id', 'last_seen_at'],
  pgTypes: ['text', 'text', 'bigint'],
  tail: 'on conflict ("key") do update set case_id = excluded.case_id, last_seen_at = excluded.last_seen_at',
  maxRows: 1024,
};

export function alertsRepository(db: Kysely<Database>, backend: Backend): AlertsRepository {
  const texts = sqlTexts(backend);
  return {
    async lockIntake() {
      if (backend === 'postgres') await sql`select pg_advisory_xact_lock(${INTAKE_LOCK_KEY})`.execute(db);
    },
    async findByDedupKeys(keys) {
      const out = new Map<string, { id: string; caseId: string }>();
      const bySource = new Map<string, Set<string>>();
      for (const k of keys) {
        const set = bySource.get(k.source);
        if (set) set.add(k.dedupKey);
        else bySource.set(k.source, new Set([k.dedupKey]));
      }
      for (const [source, dedupKeys] of bySource) {
        for (const part of inListChunks([...dedupKeys])) {
          const rows = await runSql<{ id: string; case_id: string; dedup_key: string }>(
            db,
            texts.text(
              `alerts.dedup:${part.length}`,
              () => `select id, case_id, dedup_key from alerts where source = ? and dedup_key in (${placeholders(part.length)})`,
            ),
            [source, ...part],
          );
          for (const row of rows) out.set(`${source}\u0000${row.dedup_key}`, { id: row.id, caseId: row.case_id });
        }
      }
      return out;
    },
    async insert(alerts) {
      const values: unknown[] = [];
      for (const a of alerts) {
        values.push(
          a.id,
          a.caseId,
          a.source,
          a.product,
          a.ruleName,
          a.ruleUid,
          a.title,
          a.severity,
          a.dedupKey,
          a.time,
          a.receivedAt,
          a.lastSeenAt,
          a.count,
          encodeJson(a.document),
        );
      }
      await insertRows(db, backend, ALERT_INSERT, values);
    },
    async recordRepeats(repeats) {
      // Grouped by (times, at): a burst of repeats is a handful of statements, not one per alert.
      const groups = new Map<string, { times: number; at: number; ids: string[] }>();
      for (const r of repeats) {
        const key = `${r.times}:${r.at}`;
        const group = groups.get(key) ?? { times: r.times, at: r.at, ids: [] };
        group.ids.push(r.id);
        groups.set(key, group);
      }
      for (const group of groups.values()) {
        for (const part of inListChunks(group.ids.sort())) {
          await runSql(
            db,
            texts.text(
              `alerts.repeats:${part.length}`,
              () => `update alerts set "count" = "count" + ?, last_seen_at = ? where id in (${placeholders(part.length)})`,
            ),
            [group.times, group.at, ...part],
          );
        }
      }
    },
    async get(id) {
      const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },
    async forCase(caseId, { after, limit }) {
      let query = db.selectFrom('alerts').selectAll().where('case_id', '=', caseId);
      if (after) query = query.where('id', '>', after);
      return (await query.orderBy('id').limit(limit).execute()).map(toRecord);
    },

    async correlatedCases(keys, since, closedStatuses) {
      const out: Array<{ key: string; caseId: string; lastSeenAt: number }> = [];
      const closed = closedStatuses.length;
      for (const part of inListChunks([...new Set(keys)])) {
        const size = part.length;
        const rows = await runSql<{ key: string; case_id: string; last_seen_at: number | bigint }>(
          db,
          texts.text(
            `alerts.correlated:${size}:${closed}`,
            () =>
              'select k."key", k.case_id, k.last_seen_at from correlation_keys k inner join cases c on c.id = k.case_id ' +
              `where k."key" in (${placeholders(size)}) and k.last_seen_at >= ?${closed ? ` and c.status not in (${placeholders(closed)})` : ''}`,
          ),
          [...part, since, ...closedStatuses],
        );
        for (const row of rows) out.push({ key: row.key, caseId: row.case_id, lastSeenAt: Number(row.last_seen_at) });
      }
      return out;
    },
    async touchCorrelationKeys(rows) {
      // Sorted so concurrent writers on PostgreSQL take row locks in the same order (no deadlocks).
      const latest = new Map<string, { key: string; caseId: string; at: number }>();
      for (const r of rows) latest.set(r.key, r);
      const sorted = [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      const values: unknown[] = [];
      for (const r of sorted) values.push(r.key, r.caseId, r.at);
      await insertRows(db, backend, CORRELATION_TOUCH, values);
    },

    async claimDelivery(source, deliveryId, now, expiresAt) {
      const result = await db
        .insertInto('webhook_deliveries')
        .values({ source, delivery_id: deliveryId, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['source', 'delivery_id']).doUpdateSet({ expires_at: expiresAt }).where('webhook_deliveries.expires_at', '<', now))
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async deliverySeen(source, deliveryId, now) {
      const row = await db
        .selectFrom('webhook_deliveries')
        .select('expires_at')
        .where('source', '=', source)
        .where('delivery_id', '=', deliveryId)
        .executeTakeFirst();
      return row !== undefined && Number(row.expires_at) >= now;
    },
    async purgeDeliveries(now) {
      const result = await db.deleteFrom('webhook_deliveries').where('expires_at', '<', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
