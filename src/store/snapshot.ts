import { type Kysely, sql } from 'kysely';
import { RiposteError } from '../core/index.ts';
import type { Backend } from './backend.ts';
import { applyMigrationsInTransaction } from './migrate.ts';
import { migrations as ALL_MIGRATIONS } from './migrations/index.ts';

/**
 * Backup and restore in one portable format, the same for both backends: JSON lines (the CLI gzips them).
 * A SQLite backup restores into PostgreSQL and back, which is also the documented way to move an embedded
 * install to the scale-out backend.
 *
 * Line 1 is a header {format, version, backend, created_at, migrations}; then for each table a line
 * {table, columns} followed by one line per row {r: [values…]}; the last line {end: true, rows: {table: n}}
 * proves the file is complete. Binary values are {"$b64": "…"}. Rows are read inside one transaction
 * (REPEATABLE READ on PostgreSQL, a read transaction on SQLite), so the snapshot is consistent while the
 * server keeps running. Derived data is not copied: SQLite's FTS index is rebuilt by its triggers as rows
 * are inserted and PostgreSQL's generated search column recomputes itself.
 */
export const BACKUP_FORMAT = 'riposte-backup';
export const BACKUP_VERSION = 1;
const MIGRATION_TABLE = 'riposte_migration';
const PAGE = 1000;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  backend: Backend;
  created_at: string;
  migrations: string[];
}

export type BackupLine = BackupHeader | { table: string; columns: string[] } | { r: unknown[] } | { end: true; rows: Record<string, number> };

interface TableShape {
  name: string;
  columns: string[];
  /** PostgreSQL serial columns whose sequence must follow the restored maximum. */
  serial: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: the backup walks whatever tables the migrations made
type AnyDb = Kysely<any>;

async function tableShapes(db: AnyDb, backend: Backend): Promise<TableShape[]> {
  if (backend === 'sqlite') {
    const tables = (
      await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)
    ).rows;
    const virtual = tables.filter((t) => /^create virtual table/i.test(t.sql)).map((t) => t.name);
    // A virtual table's shadow tables are named after it (`cases_fts_data`, `cases_fts_idx`…).
    const derived = (name: string) => virtual.some((v) => name === v || name.startsWith(`${v}_`));
    const shapes: TableShape[] = [];
    for (const table of tables) {
      if (table.name === MIGRATION_TABLE || derived(table.name)) continue;
      const columns = (await sql<{ name: string; hidden: number }>`select name, hidden from pragma_table_xinfo(${table.name})`.execute(db)).rows
        .filter((c) => c.hidden === 0)
        .map((c) => c.name);
      shapes.push({ name: table.name, columns, serial: [] });
    }
    return shapes;
  }
  const rows = (
    await sql<{ table_name: string; column_name: string; is_generated: string; column_default: string | null }>`
      select c.table_name, c.column_name, c.is_generated, c.column_default
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      order by c.table_name, c.ordinal_position`.execute(db)
  ).rows;
  const byTable = new Map<string, TableShape>();
  for (const row of rows) {
    if (row.table_name === MIGRATION_TABLE) continue;
    let shape = byTable.get(row.table_name);
    if (!shape) {
      shape = { name: row.table_name, columns: [], serial: [] };
      byTable.set(row.table_name, shape);
    }
    if (row.is_generated === 'ALWAYS') continue;
    shape.columns.push(row.column_name);
    if (row.column_default?.startsWith('nextval(')) shape.serial.push(row.column_name);
  }
  return [...byTable.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Tables ordered so that every referenced table comes before the tables that reference it. */
async function insertOrder(db: AnyDb, backend: Backend, shapes: TableShape[]): Promise<TableShape[]> {
  const parents = new Map<string, Set<string>>(shapes.map((s) => [s.name, new Set<string>()]));
  if (backend === 'sqlite') {
    for (const shape of shapes) {
      const refs = (await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${shape.name})`.execute(db)).rows;
      for (const ref of refs) if (ref.table !== shape.name) parents.get(shape.name)?.add(ref.table);
    }
  } else {
    const refs = (
      await sql<{ child: string; parent: string }>`
        select distinct tc.table_name as child, ccu.table_name as parent
        from information_schema.table_constraints tc
        join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.constraint_schema = tc.constraint_schema
        where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = current_schema()`.execute(db)
    ).rows;
    for (const ref of refs) if (ref.child !== ref.parent) parents.get(ref.child)?.add(ref.parent);
  }
  const ordered: TableShape[] = [];
  const placed = new Set<string>();
  const visit = (shape: TableShape, path: Set<string>) => {
    if (placed.has(shape.name) || path.has(shape.name)) return;
    path.add(shape.name);
    for (const parent of parents.get(shape.name) ?? []) {
      const parentShape = shapes.find((s) => s.name === parent);
      if (parentShape) visit(parentShape, path);
    }
    placed.add(shape.name);
    ordered.push(shape);
  };
  for (const shape of shapes) visit(shape, new Set());
  return ordered;
}

function encodeValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b64: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return Number(value);
  return value;
}

function decodeValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { $b64?: unknown }).$b64 === 'string') {
    return Buffer.from((value as { $b64: string }).$b64, 'base64');
  }
  return value;
}

/** Streams a consistent snapshot of every table as backup lines. */
export async function writeBackup(db: AnyDb, backend: Backend, emit: (line: BackupLine) => Promise<void> | void): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const body = async (trx: AnyDb) => {
    const applied = (await sql<{ name: string }>`select name from ${sql.raw(MIGRATION_TABLE)} order by name`.execute(trx)).rows.map((r) => r.name);
    await emit({ format: BACKUP_FORMAT, version: BACKUP_VERSION, backend, created_at: new Date().toISOString(), migrations: applied });
    // Parents before children, so a restore inserts without tripping PostgreSQL's non-deferrable foreign keys.
    for (const shape of await insertOrder(trx, backend, await tableShapes(trx, backend))) {
      await emit({ table: shape.name, columns: shape.columns });
      const columnList = sql.join(shape.columns.map((c) => sql.ref(c)));
      let count = 0;
      if (backend === 'sqlite') {
        let after = Number.MIN_SAFE_INTEGER;
        for (;;) {
          const rows = (
            await sql<
              Record<string, unknown>
            >`select rowid as "__rowid", ${columnList} from ${sql.table(shape.name)} where rowid > ${after} order by rowid limit ${PAGE}`.execute(trx)
          ).rows;
          for (const row of rows) await emit({ r: shape.columns.map((c) => encodeValue(row[c])) });
          count += rows.length;
          if (rows.length < PAGE) break;
          after = Number(rows[rows.length - 1]?.__rowid);
        }
      } else {
        const cursor = sql.raw(`riposte_backup_${shape.name}`);
        await sql`declare ${cursor} no scroll cursor for select ${columnList} from ${sql.table(shape.name)}`.execute(trx);
        for (;;) {
          const rows = (await sql<Record<string, unknown>>`fetch ${sql.raw(String(PAGE))} from ${cursor}`.execute(trx)).rows;
          for (const row of rows) await emit({ r: shape.columns.map((c) => encodeValue(row[c])) });
          count += rows.length;
          if (rows.length < PAGE) break;
        }
        await sql`close ${cursor}`.execute(trx);
      }
      counts[shape.name] = count;
    }
    await emit({ end: true, rows: counts });
  };
  if (backend === 'postgres') await db.transaction().setIsolationLevel('repeatable read').execute(body);
  else await db.transaction().execute(body);
  return counts;
}

function backupError(message: string): RiposteError {
  return new RiposteError('backup.invalid', message);
}

/**
 * Restores a backup into an empty database: applies exactly the migrations the backup was taken at,
 * inserts every row in one transaction (all or nothing), then the caller runs any newer migrations —
 * which is how a backup from an older release upgrades.
 */
export async function restoreBackup(
  db: AnyDb,
  backend: Backend,
  lines: AsyncIterable<unknown>,
): Promise<{ header: BackupHeader; rows: Record<string, number> }> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const header = first.done ? undefined : (first.value as Partial<BackupHeader>);
  if (!header || header.format !== BACKUP_FORMAT) throw backupError('not a Riposte backup: the first line is not a riposte-backup header');
  if (header.version !== BACKUP_VERSION)
    throw backupError(`backup format version ${String(header.version)} is not supported (this release reads ${BACKUP_VERSION})`);
  if (!Array.isArray(header.migrations)) throw backupError('backup header has no migration list');
  const known = new Map(ALL_MIGRATIONS.map((m) => [m.name, m]));
  const applied = header.migrations as string[];
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw backupError(`backup was taken by a newer Riposte (unknown migrations: ${unknown.join(', ')}); restore it with that release or newer`);

  const existing = await tableShapes(db, backend).catch(() => []);
  if (existing.length > 0) {
    throw backupError(
      `the target database is not empty (it has ${existing.length} tables, e.g. ${existing[0]?.name}); restore into a new SQLite file or an empty PostgreSQL schema`,
    );
  }
  const counts: Record<string, number> = {};
  let ended = false;
  // One transaction: the schema and every row arrive together, or a failed restore leaves the target empty.
  await db.transaction().execute(async (trx) => {
    await applyMigrationsInTransaction(
      trx as unknown as Kysely<unknown>,
      backend,
      applied.map((name) => known.get(name) as (typeof ALL_MIGRATIONS)[number]),
    );
    const shapes = new Map((await tableShapes(trx, backend)).map((s) => [s.name, s]));
    if (backend === 'sqlite') await sql`pragma defer_foreign_keys = on`.execute(trx);
    // Migrations may seed rows (counters, defaults); the backup holds those rows as they were, so the
    // freshly migrated tables are emptied first, children before parents.
    for (const shape of (await insertOrder(trx, backend, [...shapes.values()])).reverse()) await trx.deleteFrom(shape.name).execute();
    let table: TableShape | undefined;
    let columns: string[] = [];
    let batch: Record<string, unknown>[] = [];
    const flush = async () => {
      if (!table || batch.length === 0) return;
      await trx.insertInto(table.name).values(batch).execute();
      batch = [];
    };
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const line = next.value as Record<string, unknown>;
      if (Array.isArray(line.r)) {
        if (!table) throw backupError('a row appears before any table line');
        if (line.r.length !== columns.length) throw backupError(`a row of ${table.name} has ${line.r.length} values for ${columns.length} columns`);
        const row: Record<string, unknown> = {};
        columns.forEach((c, i) => {
          row[c] = decodeValue((line.r as unknown[])[i]);
        });
        batch.push(row);
        counts[table.name] = (counts[table.name] ?? 0) + 1;
        // Parameter limits: SQLite allows 32,766 per statement, PostgreSQL 65,535.
        if (batch.length * columns.length >= 30_000) await flush();
      } else if (typeof line.table === 'string') {
        await flush();
        const shape = shapes.get(line.table);
        if (!shape) throw backupError(`backup has table ${line.table}, which its migrations do not create`);
        columns = Array.isArray(line.columns) ? (line.columns as string[]) : [];
        const missing = columns.filter((c) => !shape.columns.includes(c));
        if (missing.length > 0) throw backupError(`backup table ${line.table} has columns this schema lacks: ${missing.join(', ')}`);
        table = shape;
        counts[shape.name] = 0;
      } else if (line.end === true) {
        await flush();
        const expected = (line.rows ?? {}) as Record<string, number>;
        for (const [name, n] of Object.entries(expected)) {
          if ((counts[name] ?? 0) !== n) throw backupError(`backup is inconsistent: ${name} should have ${n} rows, found ${counts[name] ?? 0}`);
        }
        ended = true;
        break;
      } else {
        throw backupError('backup has a line that is neither a table, a row nor the end marker');
      }
    }
    if (!ended) throw backupError('backup is truncated: the end marker is missing, nothing was restored');
    if (backend === 'postgres') {
      for (const shape of shapes.values()) {
        for (const column of shape.serial) {
          await sql`select setval(pg_get_serial_sequence(${shape.name}, ${column}), coalesce((select max(${sql.ref(column)}) from ${sql.table(shape.name)}), 0) + 1, false)`.execute(
            trx,
          );
        }
      }
    }
  });
  return { header: header as BackupHeader, rows: counts };
}
