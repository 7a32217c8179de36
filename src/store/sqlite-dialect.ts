import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type TransactionSettings,
} from 'kysely';
import { RiposteError } from '../core/index.ts';

/**
 * Kysely dialect over Node's built-in `node:sqlite` (no native addon to compile on install).
 *
 * SQLite has one connection here, and Kysely's stock SQLite driver hands it to every caller at once,
 * so two concurrent transactions would interleave their statements. This driver holds a mutex from
 * acquire to release: a transaction owns the connection until it commits, plain queries wait their turn.
 * Prepared statements are cached by SQL text; parameters are converted to what node:sqlite binds.
 */
export class NodeSqliteDialect implements Dialect {
  readonly #db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.#db = db;
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new NodeSqliteDriver(this.#db);
  }
  // biome-ignore lint/suspicious/noExplicitAny: the Dialect interface is declared over Kysely<any>
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
}

const STATEMENT_CACHE_LIMIT = 512;

class NodeSqliteDriver implements Driver {
  readonly #connection: NodeSqliteConnection;
  #locked: Promise<void> | undefined;
  #unlock: (() => void) | undefined;

  constructor(db: DatabaseSync) {
    this.#connection = new NodeSqliteConnection(db);
  }
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.#locked) await this.#locked;
    this.#locked = new Promise((resolve) => {
      this.#unlock = resolve;
    });
    return this.#connection;
  }
  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#locked = undefined;
    this.#unlock = undefined;
    unlock?.();
  }
  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    // IMMEDIATE takes the write lock up front: no SQLITE_BUSY upgrade failures midway through.
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async destroy(): Promise<void> {
    this.#connection.close();
  }
}

interface CachedStatement {
  statement: StatementSync;
  reader: boolean;
}

class NodeSqliteConnection implements DatabaseConnection {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, CachedStatement>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #prepare(sql: string): CachedStatement {
    let cached = this.#cache.get(sql);
    if (cached === undefined) {
      const statement = this.#db.prepare(sql);
      cached = { statement, reader: statement.columns().length > 0 };
      if (this.#cache.size >= STATEMENT_CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(sql, cached);
    }
    return cached;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { statement, reader } = this.#prepare(compiledQuery.sql);
    const parameters = bindable(compiledQuery.parameters);
    try {
      if (reader) return { rows: statement.all(...parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(...parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    } catch (error) {
      throw storeFullError(error) ?? error;
    }
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered on this connection
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on the SQLite store');
  }

  close(): void {
    this.#cache.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

type SqliteValue = null | number | bigint | string | Uint8Array;

/** The parameters as node:sqlite binds them; copied only when one needs converting (intake binds thousands per statement). */
function bindable(parameters: readonly unknown[]): readonly SqliteValue[] {
  for (let i = 0; i < parameters.length; i++) {
    const value = parameters[i];
    if (typeof value !== 'string' && typeof value !== 'number' && value !== null) return parameters.map(toSqliteValue);
  }
  return parameters as readonly SqliteValue[];
}

function toSqliteValue(value: unknown): SqliteValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || value instanceof Uint8Array) return value;
  return JSON.stringify(value);
}

/** SQLITE_FULL (13): the disk, or the configured cap (database_sqlite_max_size), is full. */
const SQLITE_FULL = 13;

/**
 * A full database becomes one clear, retryable error (507 store.full) instead of an internal error: the
 * transaction was rolled back, so nothing was half-written, and the caller keeps its data and retries
 * once space returns.
 */
function storeFullError(error: unknown): RiposteError | undefined {
  const e = error as { errcode?: number; message?: string };
  if ((e.errcode ?? 0) % 256 !== SQLITE_FULL && !/database or disk is full/i.test(e.message ?? '')) return undefined;
  return new RiposteError('store.full', 'the database is full (disk space or database_sqlite_max_size): nothing was written; free space and retry', {
    status: 507,
    retryable: true,
    details: { retry_after_seconds: 30 },
    cause: error,
  });
}
