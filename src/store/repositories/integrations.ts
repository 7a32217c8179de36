import type { Kysely } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';

/**
 * Integration instances (several per product). Secrets arrive already sealed: the store never sees a
 * plaintext secret, only `{key_id, wrapped_key, ciphertext}` per secret name.
 */
export interface IntegrationInstanceRecord {
  name: string;
  integration: string;
  config: Record<string, unknown>;
  /** Secret name → sealed secret (opaque here). */
  secrets: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface IntegrationsRepository {
  list(): Promise<IntegrationInstanceRecord[]>;
  get(name: string): Promise<IntegrationInstanceRecord | undefined>;
  /** Creates or replaces the instance; keeps the original creation time. */
  put(record: Omit<IntegrationInstanceRecord, 'createdAt' | 'updatedAt'>): Promise<IntegrationInstanceRecord>;
  delete(name: string): Promise<boolean>;
}

interface Row {
  name: string;
  integration: string;
  config: unknown;
  secrets: unknown;
  created_at: number | string | bigint;
  updated_at: number | string | bigint;
}

const fromRow = (row: Row): IntegrationInstanceRecord => ({
  name: row.name,
  integration: row.integration,
  config: decodeJson(row.config),
  secrets: decodeJson(row.secrets),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export function integrationsRepository(db: Kysely<Database>, clock: Clock): IntegrationsRepository {
  return {
    async list() {
      const rows = await db.selectFrom('integration_instances').selectAll().orderBy('name').execute();
      return rows.map(fromRow);
    },
    async get(name) {
      const row = await db.selectFrom('integration_instances').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async put(record) {
      const now = clock.now();
      await db
        .insertInto('integration_instances')
        .values({
          name: record.name,
          integration: record.integration,
          config: encodeJson(record.config),
          secrets: encodeJson(record.secrets),
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet((eb) => ({
            integration: eb.ref('excluded.integration'),
            config: eb.ref('excluded.config'),
            secrets: eb.ref('excluded.secrets'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
      return (await this.get(record.name)) as IntegrationInstanceRecord;
    },
    async delete(name) {
      const result = await db.deleteFrom('integration_instances').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
