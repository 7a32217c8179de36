import type { Kysely, Selectable } from 'kysely';
import { type Backend, decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';
import { insertChunked } from './chunked.ts';
import { insertRows, type RowInsert } from './sql-text.ts';

/** One observable, deduplicated across the whole store by (type, value). */
export interface ObservableRecord {
  id: string;
  type: string;
  value: string;
  firstSeenAt: number;
  lastSeenAt: number;
  sightings: number;
  verdict: string | null;
  confidence: number | null;
  enrichment: Record<string, unknown>;
  enrichedAt: number | null;
}

export interface ObservablesRepository {
  /**
   * Records sightings: new (type, value) pairs get the given id, existing ones keep theirs and add to
   * their count. Returns the stored id of every pair.
   */
  recordSightings(items: ReadonlyArray<{ id: string; type: string; value: string; at: number; times: number }>): Promise<Map<string, string>>;
  linkToCases(rows: ReadonlyArray<{ caseId: string; observableId: string; at: number; times: number }>): Promise<void>;
  get(id: string): Promise<ObservableRecord | undefined>;
  find(type: string, value: string): Promise<ObservableRecord | undefined>;
  /** Exact value (newest first by id, `before` an id), or a value prefix (in value order, `before` a value). */
  search(options: { type?: string; value?: string; prefix?: string; before?: string; limit: number }): Promise<ObservableRecord[]>;
  casesOf(observableId: string, limit: number): Promise<Array<{ caseId: string; firstSeenAt: number; lastSeenAt: number; sightings: number }>>;
  forCase(caseId: string, limit: number): Promise<Array<ObservableRecord & { caseSightings: number }>>;
  setEnrichment(id: string, data: { verdict: string | null; confidence: number | null; enrichment: Record<string, unknown>; at: number }): Promise<boolean>;
  bulkInsert(data: {
    observables: readonly ObservableRecord[];
    links: ReadonlyArray<{ caseId: string; observableId: string; at: number; sightings: number }>;
  }): Promise<void>;
}

const SIGHTINGS: RowInsert = {
  key: 'observables.sightings',
  table: 'observables',
  columns: ['id', 'type', 'value', 'first_seen_at', 'last_seen_at', 'sightings'],
  pgTypes: ['text', 'text', 'text', 'bigint', 'bigint', 'bigint'],
  constants: [['enrichment', "'{}'", "'{}'::jsonb"]],
  tail: 'on conflict (type, value) do update set sightings = observables.sightings + excluded.sightings, last_seen_at = excluded.last_seen_at returning id, type, value',
  maxRows: 1024,
};

const CASE_LINKS: RowInsert = {
  key: 'case_observables.link',
  table: 'case_observables',
  columns: ['case_id', 'observable_id', 'first_seen_at', 'last_seen_at', 'sightings'],
  pgTypes: ['text', 'text', 'bigint', 'bigint', 'bigint'],
  tail: 'on conflict (case_id, observable_id) do update set sightings = case_observables.sightings + excluded.sightings, last_seen_at = excluded.last_seen_at',
  maxRows: 1024,
};

export const observableKey = (type: string, value: string) => `${type}\u0000${value}`;

function toRecord(row: Selectable<Database['observables']>): ObservableRecord {
  return {
    id: row.id,
    type: row.type,
    value: row.value,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    sightings: Number(row.sightings),
    verdict: row.verdict,
    confidence: row.confidence === null ? null : Number(row.confidence),
    enrichment: decodeJson(row.enrichment),
    enrichedAt: row.enriched_at === null ? null : Number(row.enriched_at),
  };
}

export function observablesRepository(db: Kysely<Database>, backend: Backend): ObservablesRepository {
  return {
    async recordSightings(items) {
      const merged = new Map<string, { id: string; type: string; value: string; at: number; times: number }>();
      for (const item of items) {
        const key = observableKey(item.type, item.value);
        const seen = merged.get(key);
        if (seen) {
          seen.times += item.times;
          seen.at = Math.max(seen.at, item.at);
        } else merged.set(key, { ...item });
      }
      const sorted = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
      const values: unknown[] = [];
      for (const o of sorted) values.push(o.id, o.type, o.value, o.at, o.at, o.times);
      const rows = await insertRows<{ id: string; type: string; value: string }>(db, backend, SIGHTINGS, values);
      const ids = new Map<string, string>();
      for (const row of rows) ids.set(observableKey(row.type, row.value), row.id);
      return ids;
    },
    async linkToCases(rows) {
      const merged = new Map<string, { case_id: string; observable_id: string; first_seen_at: number; last_seen_at: number; sightings: number }>();
      for (const r of rows) {
        const key = `${r.caseId}\u0000${r.observableId}`;
        const seen = merged.get(key);
        if (seen) {
          seen.sightings += r.times;
          seen.last_seen_at = Math.max(seen.last_seen_at, r.at);
        } else merged.set(key, { case_id: r.caseId, observable_id: r.observableId, first_seen_at: r.at, last_seen_at: r.at, sightings: r.times });
      }
      const sorted = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
      const values: unknown[] = [];
      for (const l of sorted) values.push(l.case_id, l.observable_id, l.first_seen_at, l.last_seen_at, l.sightings);
      await insertRows(db, backend, CASE_LINKS, values);
    },
    async get(id) {
      const row = await db.selectFrom('observables').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },
    async find(type, value) {
      const row = await db.selectFrom('observables').selectAll().where('type', '=', type).where('value', '=', value).executeTakeFirst();
      return row && toRecord(row);
    },
    async search({ type, value, prefix, before, limit }) {
      let query = db.selectFrom('observables').selectAll();
      if (type !== undefined) query = query.where('type', '=', type);
      if (value !== undefined) query = query.where('value', '=', value);
      if (prefix !== undefined) {
        // Prefix searches (autocomplete) walk the value index in value order; `before` is then a value.
        query = query.where('value', '>=', before ?? prefix).where('value', '<', `${prefix}\uffff`);
        if (before !== undefined) query = query.where('value', '!=', before);
        return (await query.orderBy('value').limit(limit).execute()).map(toRecord);
      }
      if (before !== undefined) query = query.where('id', '<', before);
      return (await query.orderBy('id', 'desc').limit(limit).execute()).map(toRecord);
    },
    async casesOf(observableId, limit) {
      const rows = await db
        .selectFrom('case_observables')
        .select(['case_id', 'first_seen_at', 'last_seen_at', 'sightings'])
        .where('observable_id', '=', observableId)
        .orderBy('case_id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ caseId: r.case_id, firstSeenAt: Number(r.first_seen_at), lastSeenAt: Number(r.last_seen_at), sightings: Number(r.sightings) }));
    },
    async forCase(caseId, limit) {
      const rows = await db
        .selectFrom('case_observables')
        .innerJoin('observables', 'observables.id', 'case_observables.observable_id')
        .selectAll('observables')
        .select('case_observables.sightings as case_sightings')
        .where('case_observables.case_id', '=', caseId)
        .orderBy('observables.type')
        .orderBy('observables.value')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...toRecord(r), caseSightings: Number(r.case_sightings) }));
    },
    async setEnrichment(id, data) {
      const result = await db
        .updateTable('observables')
        .set({ verdict: data.verdict, confidence: data.confidence, enrichment: encodeJson(data.enrichment), enriched_at: data.at })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async bulkInsert({ observables, links }) {
      await insertChunked(
        db,
        'observables',
        observables.map((o) => ({
          id: o.id,
          type: o.type,
          value: o.value,
          first_seen_at: o.firstSeenAt,
          last_seen_at: o.lastSeenAt,
          sightings: o.sightings,
          verdict: o.verdict,
          confidence: o.confidence,
          enrichment: encodeJson(o.enrichment),
          enriched_at: o.enrichedAt,
        })),
      );
      await insertChunked(
        db,
        'case_observables',
        links.map((l) => ({ case_id: l.caseId, observable_id: l.observableId, first_seen_at: l.at, last_seen_at: l.at, sightings: l.sightings })),
      );
    },
  };
}
