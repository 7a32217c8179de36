import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type Clock, describeDatabaseUrl, describeError, RiposteError, systemClock } from '../core/index.ts';
import type { Backend } from './backend.ts';
import { applyMigrations, MigrationError, migrationStates } from './migrate.ts';
import { migrations } from './migrations/index.ts';
import { WORK_CHANNEL } from './repositories/engine.ts';

/** NOTIFY channel of `broadcast`: what one process tells the others (the UI's live updates). */
const LIVE_CHANNEL = 'riposte_live';
type ListenChannel = typeof WORK_CHANNEL | typeof LIVE_CHANNEL;
/** PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; the schema name and a newline go first. */
const MAX_BROADCAST_BYTES = 7000;

import type { Database } from './schema.ts';
import { type BackupHeader, type BackupLine, restoreBackup, writeBackup } from './snapshot.ts';
import { NodeSqliteDialect } from './sqlite-dialect.ts';
import { type MigrationState, repositoriesFor, type Store, type StoreTx } from './store.ts';

export interface OpenStoreOptions {
  /** postgres:// URL: use PostgreSQL. Otherwise the embedded SQLite store. */
  databaseUrl?: string | undefined;
  /** Folder of the SQLite file (`riposte.db` inside). */
  dataDir?: string | undefined;
  /** Exact SQLite file, or ':memory:'; wins over dataDir. */
  sqliteFile?: string | undefined;
  /** PostgreSQL schema to live in (created if missing); tests give each run its own. */
  schema?: string | undefined;
  /** Apply pending migrations while opening (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** SQLite only: the database may not grow past this many bytes (`pragma max_page_count`); writes past it fail with store.full (507). */
  sqliteMaxBytes?: number | undefined;
  clock?: Clock;
}

export const SQLITE_FILE_NAME = 'riposte.db';

/** Opens (and by default migrates) the store the options describe; errors name the problem in one line. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const clock = options.clock ?? systemClock;
  const store = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options, clock)
    : openSqlite(options.sqliteFile ?? join(resolve(options.dataDir ?? './riposte-data'), SQLITE_FILE_NAME), clock, options.sqliteMaxBytes);
  try {
    await store.ping();
    if (options.migrate !== false) await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

function openSqlite(file: string, clock: Clock, maxBytes?: number): Store {
  if (file !== ':memory:') {
    const dir = resolve(file, '..');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new RiposteError('store.unreadable', `cannot create data directory ${dir}: ${describeError(error)}`, { cause: error });
    }
    let isDirectory = false;
    try {
      isDirectory = statSync(file).isDirectory();
    } catch {
      // Missing is fine: SQLite creates it.
    }
    if (isDirectory) throw new RiposteError('store.unreadable', `cannot open SQLite database ${file}: it is a directory`);
  }
  let database: DatabaseSync;
  try {
    database = new DatabaseSync(file, { enableForeignKeyConstraints: true, timeout: 5000 });
  } catch (error) {
    throw new RiposteError('store.unreadable', `cannot open SQLite database ${file}: ${describeError(error)}`, { cause: error });
  }
  try {
    // Touching the schema is what reveals a file that is not a database at all.
    database.prepare('select count(*) from sqlite_master').get();
    if (file !== ':memory:') database.exec('pragma journal_mode = wal');
    database.exec('pragma synchronous = normal');
    // 64 MiB of page cache (default 2 MiB): index pages of cases, observables and the audit chain stay hot.
    database.exec('pragma cache_size = -65536');
    database.exec('pragma temp_store = memory');
    // Checkpoint every ~80 MB of WAL instead of every 4 MB: alert intake rewrites the same hot index pages
    // in every group commit, and a checkpoint copies each page once however often it changed.
    database.exec('pragma wal_autocheckpoint = 20000');
    if (maxBytes !== undefined) {
      // Per connection, not stored in the file: the cap follows the configuration on every start. A cap
      // below the current size holds the file where it is (SQLite never shrinks it to obey).
      const { page_size: pageSize } = database.prepare('pragma page_size').get() as { page_size: number };
      database.exec(`pragma max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
    }
  } catch (error) {
    database.close();
    throw sqliteOpenError(file, error);
  }
  const db = new Kysely<Database>({ dialect: new NodeSqliteDialect(database) });
  return new SqlStore(
    db,
    'sqlite',
    file,
    clock,
    () => db.destroy(),
    (error) => sqliteOpenError(file, error),
  );
}

function sqliteOpenError(file: string, error: unknown): RiposteError {
  const message = describeError(error);
  if (/not a database|malformed|corrupt/i.test(message)) {
    return new RiposteError('store.corrupt', `SQLite database ${file} is corrupt or not a database (${message}); restore it from a backup or move it aside`, {
      cause: error,
    });
  }
  return new RiposteError('store.unreadable', `cannot use SQLite database ${file}: ${message}`, { cause: error });
}

const INT8_OID = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // Our 64-bit integers are epoch milliseconds and counters: well inside Number's exact range.
    if (oid === INT8_OID) return (value: string) => Number(value);
    // JSON comes back as text on both backends, so one decoder serves both (a jsonb string value
    // would otherwise be indistinguishable from SQLite's encoded text).
    if (oid === JSON_OID || oid === JSONB_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

async function openPostgres(url: string, options: OpenStoreOptions, clock: Clock): Promise<Store> {
  const where = describeDatabaseUrl(url);
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new RiposteError('config.invalid', `PostgreSQL schema name ${JSON.stringify(schema)} must be lower-case letters, digits and _`);
  }
  const poolConfig: pg.PoolConfig = {
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    types: pgTypes as pg.CustomTypesConfig,
    application_name: 'riposte',
  };
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await setup.connect();
      await setup.query(`create schema if not exists "${schema}"`);
    } catch (error) {
      throw postgresError(where, error);
    } finally {
      await setup.end().catch(() => {});
    }
    poolConfig.options = `-c search_path=${schema}`;
  }
  const pool = new pg.Pool(poolConfig);
  // A dropped connection must not crash the process. The pool only listens on idle clients, so a client
  // checked out (between the statements of a transaction) when the network is cut would emit an
  // unhandled 'error'; the statement in flight still fails, and the pool discards the broken client.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: connectionLossAsUnreachable(pool, where) }) });
  return new SqlStore(
    db,
    'postgres',
    where,
    clock,
    () => db.destroy(),
    (error) => postgresError(where, error),
    (channel, onMessage) => listenOnPostgres(url, schema ?? 'public', channel, onMessage),
    async (payload) => {
      await sql`select pg_notify(${LIVE_CHANNEL}, ${`${schema ?? 'public'}\n${payload}`})`.execute(db);
    },
  );
}

/** Connection-level failures (as opposed to a statement the database refused). */
function isConnectionLoss(error: unknown): boolean {
  if (error instanceof RiposteError) return false;
  const code = (error as { code?: string }).code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(code))
    return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(describeError(error));
}

/**
 * Losing PostgreSQL mid-request (network cut, failover, restart) becomes 503 store.unreachable with
 * Retry-After rather than a 500: the caller can tell "try again shortly" from a bug. Kysely sees the
 * same pool, only connect() and query() failures are translated.
 */
function connectionLossAsUnreachable(pool: pg.Pool, where: string): pg.Pool {
  const translate = (error: unknown, what = 'lost the connection to'): unknown =>
    isConnectionLoss(error)
      ? new RiposteError('store.unreachable', `${what} PostgreSQL at ${where}: ${describeError(error)}`, {
          cause: error,
          retryable: true,
          status: 503,
          details: { retry_after_seconds: 2 },
        })
      : error;
  const wrapped = Object.create(pool) as pg.Pool;
  wrapped.connect = (async () => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translate(error, 'cannot reach');
    }
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const guarded = Object.create(client) as pg.PoolClient;
    (guarded as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
      try {
        return await query(...args);
      } catch (error) {
        throw translate(error);
      }
    };
    guarded.release = (err?: Error | boolean) => client.release(err);
    return guarded;
  }) as pg.Pool['connect'];
  wrapped.end = () => pool.end();
  return wrapped;
}

/**
 * One dedicated connection per listening process and channel (a pooled connection cannot LISTEN). A dropped
 * connection is re-established with backoff, and `onMessage(undefined)` is called after each (re)connect
 * since notifications sent meanwhile were lost (callers' polling covers the gap as well). Only messages for
 * this store's schema are passed on: on the work channel the payload is the schema; on the live channel it
 * is the schema, a newline, and the message.
 */
async function listenOnPostgres(
  url: string,
  schema: string,
  channel: ListenChannel,
  onMessage: (payload: string | undefined) => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let backoff = 100;
  const prefix = `${schema}\n`;
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: `riposte-listen-${channel}` });
    next.on('notification', (message) => {
      if (message.channel !== channel) return;
      const payload = message.payload ?? '';
      if (channel === WORK_CHANNEL) {
        if (payload === schema) onMessage(undefined);
      } else if (payload.startsWith(prefix)) onMessage(payload.slice(prefix.length));
    });
    const reconnect = () => {
      if (stopped || client !== next) return;
      client = undefined;
      next.end().catch(() => {});
      retry = setTimeout(() => void connect(), backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, 5000);
    };
    next.on('error', reconnect);
    next.on('end', reconnect);
    client = next;
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
      backoff = 100;
      onMessage(undefined);
    } catch {
      reconnect();
    }
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const current = client;
    client = undefined;
    await current?.end().catch(() => {});
  };
}

function postgresError(where: string, error: unknown): RiposteError {
  const code = (error as { code?: string }).code;
  const message = describeError(error) || code || 'unknown error';
  if (error instanceof RiposteError) return error;
  const connection = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', '28P01', '28000', '3D000', '57P03'].includes(code ?? '');
  if (connection || /timeout|terminated|connect/i.test(message)) {
    return new RiposteError('store.unreachable', `cannot reach PostgreSQL at ${where}: ${message}`, { cause: error, retryable: true, status: 503 });
  }
  return new RiposteError('store.failed', `PostgreSQL at ${where} failed: ${message}`, { cause: error });
}

class SqlStore implements Store {
  readonly backend: Backend;
  readonly location: string;
  readonly settings: StoreTx['settings'];
  readonly engine: StoreTx['engine'];
  readonly cases: StoreTx['cases'];
  readonly alerts: StoreTx['alerts'];
  readonly observables: StoreTx['observables'];
  readonly audit: StoreTx['audit'];
  readonly users: StoreTx['users'];
  readonly apiTokens: StoreTx['apiTokens'];
  readonly sessions: StoreTx['sessions'];
  readonly approvals: StoreTx['approvals'];
  readonly integrations: StoreTx['integrations'];
  readonly notifications: StoreTx['notifications'];
  readonly containedActions: StoreTx['containedActions'];
  readonly intel: StoreTx['intel'];
  readonly edl: StoreTx['edl'];
  readonly phishing: StoreTx['phishing'];
  readonly runIdempotencyKeys: StoreTx['runIdempotencyKeys'];
  readonly ai: StoreTx['ai'];
  readonly hunts: StoreTx['hunts'];
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #destroy: () => Promise<void>;
  readonly #openError: (error: unknown) => RiposteError;
  readonly #listen: ((channel: ListenChannel, onMessage: (payload: string | undefined) => void) => Promise<() => Promise<void>>) | undefined;
  readonly #broadcast: ((payload: string) => Promise<void>) | undefined;
  #closed = false;

  constructor(
    db: Kysely<Database>,
    backend: Backend,
    location: string,
    clock: Clock,
    destroy: () => Promise<void>,
    openError: (error: unknown) => RiposteError,
    listen?: (channel: ListenChannel, onMessage: (payload: string | undefined) => void) => Promise<() => Promise<void>>,
    broadcast?: (payload: string) => Promise<void>,
  ) {
    this.#listen = listen;
    this.#broadcast = broadcast;
    this.#db = db;
    this.backend = backend;
    this.location = location;
    this.#clock = clock;
    this.#destroy = destroy;
    this.#openError = openError;
    const repositories = repositoriesFor(db, backend, clock);
    this.settings = repositories.settings;
    this.engine = repositories.engine;
    this.cases = repositories.cases;
    this.alerts = repositories.alerts;
    this.observables = repositories.observables;
    this.audit = repositories.audit;
    this.users = repositories.users;
    this.apiTokens = repositories.apiTokens;
    this.sessions = repositories.sessions;
    this.approvals = repositories.approvals;
    this.integrations = repositories.integrations;
    this.notifications = repositories.notifications;
    this.containedActions = repositories.containedActions;
    this.intel = repositories.intel;
    this.edl = repositories.edl;
    this.phishing = repositories.phishing;
    this.runIdempotencyKeys = repositories.runIdempotencyKeys;
    this.ai = repositories.ai;
    this.hunts = repositories.hunts;
  }

  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute((trx) => work(repositoriesFor(trx, this.backend, this.#clock)));
  }

  async listenForWork(onWork: () => void): Promise<() => Promise<void>> {
    return this.#listen ? this.#listen(WORK_CHANNEL, () => onWork()) : async () => {};
  }

  async broadcast(payload: string): Promise<void> {
    if (Buffer.byteLength(payload) > MAX_BROADCAST_BYTES)
      throw new RiposteError('store.broadcast_too_large', `a broadcast carries at most ${MAX_BROADCAST_BYTES} bytes (this one ${Buffer.byteLength(payload)})`);
    if (this.#broadcast) await this.#broadcast(payload);
  }

  async listenForBroadcasts(onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    return this.#listen
      ? this.#listen(LIVE_CHANNEL, (payload) => {
          if (payload !== undefined) onMessage(payload);
        })
      : async () => {};
  }

  async ping(): Promise<void> {
    try {
      await sql`select 1`.execute(this.#db);
    } catch (error) {
      throw this.#openError(error);
    }
  }

  async migrate(): Promise<string[]> {
    try {
      return await applyMigrations(this.#db as Kysely<unknown>, this.backend, migrations);
    } catch (error) {
      const failed = error instanceof MigrationError ? error.migration : '(setup)';
      throw new RiposteError('store.migration_failed', `migration ${failed} failed on ${this.location}: ${describeError(error)}`, { cause: error });
    }
  }

  async migrationStatus(): Promise<MigrationState[]> {
    return migrationStates(this.#db as Kysely<unknown>, this.backend, migrations);
  }

  backup(emit: (line: BackupLine) => Promise<void> | void): Promise<Record<string, number>> {
    return writeBackup(this.#db, this.backend, emit);
  }

  restore(lines: AsyncIterable<unknown>): Promise<{ header: BackupHeader; rows: Record<string, number> }> {
    return restoreBackup(this.#db, this.backend, lines);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#destroy();
  }
}
