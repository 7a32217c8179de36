import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Clock } from '../core/index.ts';
import type { Backend } from './backend.ts';
import { openStore } from './open-store.ts';
import type { Store } from './store.ts';

/**
 * Test support: every test that touches storage runs against each backend available here — SQLite
 * always, PostgreSQL when RIPOSTE_TEST_PG_URL is set (CI sets it). Each store gets its own SQLite file
 * or its own PostgreSQL schema, so parallel test files never see each other's rows.
 */
export interface TestBackend {
  backend: Backend;
  /** Opens a fresh, migrated, empty store. */
  open(options?: { clock?: Clock; migrate?: boolean; poolSize?: number }): Promise<TestStore>;
}

export interface TestStore {
  store: Store;
  /** What to pass to openStore to reach the same database again (e.g. after a simulated restart). */
  reopen(options?: { clock?: Clock; migrate?: boolean }): Promise<Store>;
  /** Connection facts for child processes: env vars that point `riposte` at this store. */
  env: Record<string, string>;
  /** Closes the store and removes its file or schema. */
  dispose(): Promise<void>;
}

export function testPostgresUrl(): string | undefined {
  return process.env.RIPOSTE_TEST_PG_URL || undefined;
}

export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [{ backend: 'sqlite', open: openTestSqlite }];
  const url = testPostgresUrl();
  if (url) backends.push({ backend: 'postgres', open: (options) => openTestPostgres(url, options) });
  return backends;
}

async function openTestSqlite(options: { clock?: Clock; migrate?: boolean } = {}): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-test-'));
  const open = (o: { clock?: Clock; migrate?: boolean } = {}) => openStore({ dataDir: dir, ...o });
  const store = await open(options);
  return {
    store,
    reopen: open,
    env: { RIPOSTE_DATA_DIR: dir },
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let schemaCounter = 0;

async function openTestPostgres(url: string, options: { clock?: Clock; migrate?: boolean; poolSize?: number } = {}): Promise<TestStore> {
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${schemaCounter++}`;
  const open = (o: { clock?: Clock; migrate?: boolean; poolSize?: number } = {}) => openStore({ databaseUrl: url, schema, ...o });
  const store = await open(options);
  return {
    store,
    reopen: open,
    env: { RIPOSTE_DATABASE_URL: url, RIPOSTE_DATABASE_SCHEMA: schema },
    async dispose() {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Test-only: changes one column of one row behind the Store's back, over a separate connection, the way
 * an attacker with database access would. Used to prove the audit chain notices tampering.
 */
export async function tamperRow(
  t: TestStore,
  change: { table: string; keyColumn: string; key: string | number; column: string; value: string | number },
): Promise<number> {
  const ident = /^[a-z_][a-z0-9_]*$/;
  for (const name of [change.table, change.keyColumn, change.column]) if (!ident.test(name)) throw new Error(`bad identifier ${name}`);
  const statement = `update ${change.table} set ${change.column} = $1 where ${change.keyColumn} = $2`;
  if (t.env.RIPOSTE_DATABASE_URL) {
    const client = new pg.Client({ connectionString: t.env.RIPOSTE_DATABASE_URL, options: `-c search_path=${t.env.RIPOSTE_DATABASE_SCHEMA}` });
    await client.connect();
    try {
      return (await client.query(statement, [change.value, change.key])).rowCount ?? 0;
    } finally {
      await client.end();
    }
  }
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(t.env.RIPOSTE_DATA_DIR as string, 'riposte.db'));
  try {
    return Number(db.prepare(statement.replace('$1', '?').replace('$2', '?')).run(change.value, change.key).changes);
  } finally {
    db.close();
  }
}

/**
 * Test-only: runs SQL statements over a separate connection, to put a database back into an older shape
 * (undo a migration, plant a row an older release wrote) before proving that a migration handles it.
 */
export async function executeRaw(t: TestStore, statements: readonly string[]): Promise<void> {
  if (t.env.RIPOSTE_DATABASE_URL) {
    const client = new pg.Client({ connectionString: t.env.RIPOSTE_DATABASE_URL, options: `-c search_path=${t.env.RIPOSTE_DATABASE_SCHEMA}` });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(t.env.RIPOSTE_DATA_DIR as string, 'riposte.db'));
  try {
    for (const statement of statements) db.exec(statement);
  } finally {
    db.close();
  }
}
