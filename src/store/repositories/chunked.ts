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
  const per = Math.max(1, Math.floor(MAX_PARAMETERS / columns));
  for (let i = 0; i < rows.length; i += per) {
    // Kysely cannot narrow a generic table's insert type; the signature above already checked the rows.
    const part = rows.slice(i, i + per) as Parameters<ReturnType<typeof db.insertInto<T>>['values']>[0];
    await db.insertInto(table).values(part).execute();
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
