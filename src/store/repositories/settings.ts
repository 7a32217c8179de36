import type { Kysely } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';

/** Small durable key → JSON values: instance identity, bootstrap flags, feature state. */
export interface SettingsRepository {
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Many keys in one round trip; missing keys are absent from the result. */
  getMany(keys: readonly string[]): Promise<Map<string, unknown>>;
  set(key: string, value: unknown): Promise<void>;
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(prefix?: string): Promise<Array<{ key: string; value: unknown; updatedAt: number }>>;
}

/** Rows per multi-row INSERT: under SQLite's 32,766-parameter limit, with room to spare. */
const BATCH = 500;

export function settingsRepository(db: Kysely<Database>, clock: Clock): SettingsRepository {
  return {
    async get<T>(key: string) {
      const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row === undefined ? undefined : decodeJson<T>(row.value);
    },
    async getMany(keys) {
      const out = new Map<string, unknown>();
      for (let i = 0; i < keys.length; i += BATCH) {
        const rows = await db
          .selectFrom('settings')
          .select(['key', 'value'])
          .where('key', 'in', keys.slice(i, i + BATCH))
          .execute();
        for (const row of rows) out.set(row.key, decodeJson(row.value));
      }
      return out;
    },
    async set(key, value) {
      await this.setMany([[key, value]]);
    },
    async setMany(entries) {
      const now = clock.now();
      for (let i = 0; i < entries.length; i += BATCH) {
        const rows = entries.slice(i, i + BATCH).map(([key, value]) => ({ key, value: encodeJson(value), updated_at: now }));
        await db
          .insertInto('settings')
          .values(rows)
          .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })))
          .execute();
      }
    },
    async delete(key) {
      const result = await db.deleteFrom('settings').where('key', '=', key).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async list(prefix) {
      let query = db.selectFrom('settings').select(['key', 'value', 'updated_at']).orderBy('key');
      if (prefix) query = query.where('key', '>=', prefix).where('key', '<', `${prefix}\uffff`);
      const rows = await query.execute();
      return rows.map((row) => ({ key: row.key, value: decodeJson(row.value), updatedAt: Number(row.updated_at) }));
    },
  };
}
