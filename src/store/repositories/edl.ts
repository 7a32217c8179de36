import type { Kysely } from 'kysely';
import type { Clock } from '../../core/index.ts';
import type { Database } from '../schema.ts';

/**
 * External Dynamic List entries: the addresses Riposte asks firewalls to block by serving them as a list
 * the firewall polls. One entry per (list, value); adding a value that is already listed refreshes its
 * expiry and provenance instead of duplicating it, so a retried or repeated block is harmless.
 */
export interface EdlEntryRecord {
  list: string;
  value: string;
  /** Epoch ms after which the entry is no longer served; null = until removed. */
  expiresAt: number | null;
  caseId: string | null;
  runId: string | null;
  addedBy: string;
  reason: string | null;
  addedAt: number;
  updatedAt: number;
  /** The idempotency key of the action that first listed it (kept when others refresh it); null for people's adds. */
  createdByKey: string | null;
}

export type NewEdlEntry = Omit<EdlEntryRecord, 'addedAt' | 'updatedAt' | 'createdByKey'> & { createdByKey?: string | null };

export interface EdlRepository {
  /**
   * Adds the entry or refreshes an existing one (provenance, and the expiry when the new one is later: a
   * second block never shortens the first); keeps the first `addedAt`.
   * `previous` is the entry as it was before (absent when created), so a caller can tell its own earlier
   * addition (same run) from someone else's.
   */
  put(entry: NewEdlEntry): Promise<{ entry: EdlEntryRecord; created: boolean; previous?: EdlEntryRecord }>;
  /** The type a list was fixed to (`ip`, `url`, `domain`, `sender`), or undefined for a list never used. */
  listType(list: string): Promise<string | undefined>;
  /** Fixes a list's type if it has none yet; returns the type it has now (the earlier one if already fixed). */
  fixListType(list: string, type: string): Promise<string>;
  get(list: string, value: string): Promise<EdlEntryRecord | undefined>;
  remove(list: string, value: string): Promise<EdlEntryRecord | undefined>;
  /** Entries still in force at `now` (no expiry, or expiry after now), ordered by value. */
  active(list: string, now: number, limit?: number): Promise<EdlEntryRecord[]>;
  /** Every entry of a list, expired ones included (for operators), ordered by value. */
  entries(list: string, limit?: number): Promise<EdlEntryRecord[]>;
  /** Names of the lists that have entries. */
  lists(): Promise<string[]>;
  /** Deletes entries that expired before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

interface Row {
  list: string;
  value: string;
  expires_at: number | string | bigint | null;
  case_id: string | null;
  run_id: string | null;
  added_by: string;
  reason: string | null;
  added_at: number | string | bigint;
  updated_at: number | string | bigint;
  created_by_key: string | null;
}

const fromRow = (row: Row): EdlEntryRecord => ({
  list: row.list,
  value: row.value,
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  caseId: row.case_id,
  runId: row.run_id,
  addedBy: row.added_by,
  reason: row.reason,
  addedAt: Number(row.added_at),
  updatedAt: Number(row.updated_at),
  createdByKey: row.created_by_key ?? null,
});

// Firewalls cap list sizes (PAN-OS: 150,000 IPs per list on most models); we serve at most this many.
const MAX_ENTRIES = 150_000;

export function edlRepository(db: Kysely<Database>, clock: Clock): EdlRepository {
  const get = async (list: string, value: string) => {
    const row = await db.selectFrom('edl_entries').selectAll().where('list', '=', list).where('value', '=', value).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  };
  return {
    get,
    async put(entry) {
      const now = clock.now();
      const existing = await get(entry.list, entry.value);
      // A second block never shortens the first: the later expiry (or none) wins.
      const expiresAt =
        existing === undefined || existing.expiresAt === null || entry.expiresAt === null
          ? existing === undefined
            ? entry.expiresAt
            : null
          : Math.max(existing.expiresAt, entry.expiresAt);
      await db
        .insertInto('edl_entries')
        .values({
          list: entry.list,
          value: entry.value,
          expires_at: expiresAt,
          case_id: entry.caseId,
          run_id: entry.runId,
          added_by: entry.addedBy,
          reason: entry.reason,
          added_at: now,
          updated_at: now,
          created_by_key: entry.createdByKey ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['list', 'value']).doUpdateSet((eb) => ({
            expires_at: eb.ref('excluded.expires_at'),
            case_id: eb.ref('excluded.case_id'),
            run_id: eb.ref('excluded.run_id'),
            added_by: eb.ref('excluded.added_by'),
            reason: eb.ref('excluded.reason'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
      const stored = (await get(entry.list, entry.value)) as EdlEntryRecord;
      return existing === undefined ? { entry: stored, created: true } : { entry: stored, created: false, previous: existing };
    },
    async listType(list) {
      const row = await db.selectFrom('edl_lists').select('type').where('name', '=', list).executeTakeFirst();
      return row?.type;
    },
    async fixListType(list, type) {
      await db
        .insertInto('edl_lists')
        .values({ name: list, type, created_at: clock.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await db.selectFrom('edl_lists').select('type').where('name', '=', list).executeTakeFirstOrThrow();
      return row.type;
    },
    async remove(list, value) {
      const existing = await get(list, value);
      if (!existing) return undefined;
      await db.deleteFrom('edl_entries').where('list', '=', list).where('value', '=', value).execute();
      return existing;
    },
    async active(list, now, limit = MAX_ENTRIES) {
      const rows = await db
        .selectFrom('edl_entries')
        .selectAll()
        .where('list', '=', list)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('value')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
    async entries(list, limit = MAX_ENTRIES) {
      const rows = await db.selectFrom('edl_entries').selectAll().where('list', '=', list).orderBy('value').limit(limit).execute();
      return rows.map(fromRow);
    },
    async lists() {
      const rows = await db.selectFrom('edl_entries').select('list').distinct().orderBy('list').execute();
      return rows.map((r) => r.list);
    },
    async purgeExpired(now) {
      const result = await db.deleteFrom('edl_entries').where('expires_at', 'is not', null).where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
