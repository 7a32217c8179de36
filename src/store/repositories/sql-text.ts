import { CompiledQuery, type Kysely } from 'kysely';
import type { Backend } from '../backend.ts';
import type { Database } from '../schema.ts';
import { statementSizes } from './chunked.ts';

/** Bound parameters per statement: under SQLite's 32,766 limit (PostgreSQL allows 65,535). */
const MAX_PARAMETERS = 30_000;

/**
 * SQL text for the alert-intake hot path, written once per shape and reused. Kysely builds, parses and
 * compiles a query tree on every call — for a 256-row multi-row INSERT that was more JavaScript work than
 * SQLite's own — so statements run by intake for every batch are kept here as text with `?` placeholders
 * (numbered `$1…` for PostgreSQL) and executed as compiled queries. The same string object comes back for
 * the same shape, so the SQLite driver's prepared-statement cache hits without re-hashing new text.
 */
export class SqlTexts {
  readonly #backend: Backend;
  readonly #cache = new Map<string, string>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  text(key: string, build: () => string): string {
    let text = this.#cache.get(key);
    if (text === undefined) {
      text = build();
      if (this.#backend === 'postgres') {
        let n = 0;
        text = text.replace(/\?/g, () => `$${++n}`);
      }
      this.#cache.set(key, text);
    }
    return text;
  }
}

const texts: Record<Backend, SqlTexts> = { sqlite: new SqlTexts('sqlite'), postgres: new SqlTexts('postgres') };

export function sqlTexts(backend: Backend): SqlTexts {
  return texts[backend];
}

/** `(?, ?, …), (…)` for `rows` rows of `columns` parameters, with `extra` appended inside each row. */
export function valueRows(rows: number, columns: number, extra = ''): string {
  const row = `(${Array.from({ length: columns }, () => '?').join(', ')}${extra})`;
  return Array.from({ length: rows }, () => row).join(', ');
}

export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

export async function runSql<R>(db: Kysely<Database>, text: string, parameters: readonly unknown[]): Promise<R[]> {
  const result = await db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]));
  return result.rows;
}

/**
 * Runs a multi-row statement over `values` (row-major, `columns` per row) in as few statements as the
 * parameter limit allows, in power-of-two row counts so every batch size reuses a handful of SQL texts.
 * `sqlFor(rows)` returns the text for that many rows. Returns the rows of all statements (RETURNING).
 */
export async function runRows<R>(
  db: Kysely<Database>,
  columns: number,
  values: readonly unknown[],
  sqlFor: (rows: number) => string,
  maxRows = Math.floor(MAX_PARAMETERS / columns),
): Promise<R[]> {
  const count = values.length / columns;
  if (count === 0) return [];
  let out: R[] | undefined;
  for (const [offset, rows] of statementSizes(count, Math.max(1, maxRows))) {
    const parameters = offset === 0 && rows === count ? values : values.slice(offset * columns, (offset + rows) * columns);
    const result = await runSql<R>(db, sqlFor(rows), parameters);
    if (result.length) out = out ? out.concat(result) : result;
  }
  return out ?? [];
}

/**
 * Splits values for an `in (…)` list into chunks of at most `max` (a power of two), each padded to a
 * power of two by repeating its last value — a duplicate in an IN list changes nothing — so any list
 * length runs as one statement per chunk from a handful of SQL texts.
 */
export function inListChunks<T>(items: readonly T[], max = 1024): T[][] {
  const out: T[][] = [];
  for (let offset = 0; offset < items.length; offset += max) {
    const chunk = items.slice(offset, offset + max);
    let size = 8;
    while (size < chunk.length) size *= 2;
    const last = chunk[chunk.length - 1] as T;
    while (chunk.length < size) chunk.push(last);
    out.push(chunk);
  }
  return out;
}

export interface RowInsert {
  /** Names the SQL texts in the cache. */
  key: string;
  table: string;
  columns: readonly string[];
  /** PostgreSQL type of each column, for `unnest($n::type[])`. */
  pgTypes: readonly string[];
  /** Further columns with the same constant in every row, as SQLite and PostgreSQL spell it. */
  constants?: ReadonlyArray<readonly [column: string, sqlite: string, postgres: string]>;
  /** `on conflict …` and/or `returning …`. */
  tail?: string;
  /** Rows per SQLite statement. */
  maxRows?: number;
}

/**
 * Multi-row INSERT of row-major `values`. SQLite: VALUES lists in power-of-two row counts (see `runRows`).
 * PostgreSQL: one statement per call whatever the row count — each column travels as one array parameter
 * and `unnest` turns them back into rows — so the server parses and plans one short text instead of a
 * VALUES list with thousands of parameters, every time.
 */
export async function insertRows<R>(db: Kysely<Database>, backend: Backend, spec: RowInsert, values: readonly unknown[]): Promise<R[]> {
  const width = spec.columns.length;
  const count = values.length / width;
  if (count === 0) return [];
  const constants = spec.constants ?? [];
  const names = [...spec.columns, ...constants.map(([column]) => column)].map((c) => `"${c}"`).join(', ');
  const tail = spec.tail ? ` ${spec.tail}` : '';
  if (backend === 'postgres') {
    const columns: unknown[][] = spec.columns.map(() => new Array(count));
    for (let row = 0; row < count; row++) {
      for (let c = 0; c < width; c++) (columns[c] as unknown[])[row] = values[row * width + c];
    }
    const text = texts.postgres.text(`${spec.key}:unnest`, () => {
      const arrays = spec.pgTypes.map((type) => `?::${type}[]`).join(', ');
      const extra = constants.map(([, , expression]) => `, ${expression}`).join('');
      return `insert into ${spec.table} (${names}) select *${extra} from unnest(${arrays})${tail}`;
    });
    return runSql<R>(db, text, columns);
  }
  const extra = constants.map(([, expression]) => `, ${expression}`).join('');
  return runRows<R>(
    db,
    width,
    values,
    (rows) => texts.sqlite.text(`${spec.key}:${rows}`, () => `insert into ${spec.table} (${names}) values ${valueRows(rows, width, extra)}${tail}`),
    spec.maxRows,
  );
}
