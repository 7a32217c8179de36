import { type Kysely, sql } from 'kysely';
import { type Backend, typesFor } from './backend.ts';
import type { StoreMigration } from './migrations/index.ts';
import type { MigrationState } from './store.ts';

/**
 * The migration runner: forward-only, all pending migrations in one transaction (both backends have
 * transactional DDL, so a failed migration leaves the schema as it was), serialised across processes by
 * an advisory lock on PostgreSQL and by SQLite's write lock.
 *
 * It deliberately avoids catalog-wide introspection (Kysely's Migrator lists every table of every schema,
 * which fails spuriously while another session drops an unrelated schema): it only reads its own table.
 * The bookkeeping table keeps the layout Kysely's Migrator used, so older databases read the same.
 */
const TABLE = 'riposte_migration';

export async function applyMigrations(db: Kysely<unknown>, backend: Backend, list: readonly StoreMigration[]): Promise<string[]> {
  return db.transaction().execute((trx) => applyMigrationsInTransaction(trx, backend, list));
}

/** The same, inside a transaction the caller owns (a restore migrates and fills the tables all or nothing). */
export async function applyMigrationsInTransaction(trx: Kysely<unknown>, backend: Backend, list: readonly StoreMigration[]): Promise<string[]> {
  const types = typesFor(backend);
  const applied: string[] = [];
  if (backend === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.riposte_migration'))`.execute(trx);
  await sql`create table if not exists ${sql.raw(TABLE)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx);
  const done = new Set((await sql<{ name: string }>`select name from ${sql.raw(TABLE)}`.execute(trx)).rows.map((row) => row.name));
  for (const migration of list) {
    if (done.has(migration.name)) continue;
    try {
      await migration.up(trx, types, backend);
    } catch (error) {
      throw new MigrationError(migration.name, error);
    }
    await sql`insert into ${sql.raw(TABLE)} (name, timestamp) values (${migration.name}, ${new Date().toISOString()})`.execute(trx);
    applied.push(migration.name);
  }
  return applied;
}

export async function migrationStates(db: Kysely<unknown>, backend: Backend, list: readonly StoreMigration[]): Promise<MigrationState[]> {
  const exists =
    backend === 'postgres'
      ? (await sql<{ t: string | null }>`select to_regclass(${TABLE}) as t`.execute(db)).rows[0]?.t != null
      : (await sql`select name from sqlite_master where type = 'table' and name = ${TABLE}`.execute(db)).rows.length > 0;
  const done = new Map<string, number>();
  if (exists) {
    const rows = (await sql<{ name: string; timestamp: string }>`select name, timestamp from ${sql.raw(TABLE)}`.execute(db)).rows;
    for (const row of rows) done.set(row.name, Date.parse(row.timestamp));
  }
  return list.map((migration) => ({ name: migration.name, appliedAt: done.get(migration.name) }));
}

export class MigrationError extends Error {
  readonly migration: string;
  constructor(migration: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.migration = migration;
  }
}
