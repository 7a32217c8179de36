import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Bound parameters per statement: under SQLite's 32,766 limit (PostgreSQL allows 65,535). */
const MAX_PARAMETERS = 30_000;

/** Multi-row INSERT in as few statements as the parameter limit allows. */
export async function insertChunked<T extends keyof Database & string>(
  db: Kysely<Database>,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]>>,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object).length || 1;
  const max = Math.max(1, Math.floor(MAX_PARAMETERS / columns));
  for (const [i, per] of statementSizes(rows.length, max)) {
    // Kysely cannot narrow a generic table's insert type; the signature above already checked the rows.
    const part = rows.slice(i, i + per) as Parameters<ReturnType<typeof db.insertInto<T>>['values']>[0];
    await db.insertInto(table).values(part).execute();
  }
}

/**
 * Splits `count` rows into statements of power-of-two sizes (plus full `max`-sized ones), so that batches
 * of every size reuse a handful of prepared statements instead of preparing a new SQL text each time.
 * Yields [offset, size] pairs.
 */
export function* statementSizes(count: number, max: number): Generator<[number, number]> {
  let offset = 0;
  while (count - offset >= max) {
    yield [offset, max];
    offset += max;
  }
  for (let size = 2 ** Math.floor(Math.log2(Math.max(1, max))); size >= 1 && offset < count; size /= 2) {
    if (count - offset >= size) {
      yield [offset, size];
      offset += size;
    }
  }
}

/** Chunks in the power-of-two sizes of `statementSizes`. */
export function statementChunks<T>(items: readonly T[], max: number): T[][] {
  return [...statementSizes(items.length, max)].map(([offset, size]) => items.slice(offset, offset + size));
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
