import { RiposteError } from '../core/index.ts';

/**
 * Cursor pagination shared by every list route. A page is `{ items, next_cursor }`; the client passes
 * `next_cursor` back as `?cursor=` until it is null. Cursors are keyset positions — the last row's sort
 * key and id — so pages stay stable while rows are inserted and cost the same on page 1 and page 10,000
 * (no OFFSET). They are opaque to clients (base64url JSON) but not secret: a forged cursor can only move
 * the start of a listing the caller may already read, so they are not signed.
 *
 * A route uses it in four steps:
 *   1. `querystring: { type: 'object', properties: { ...pageQueryProperties(), ...filters } }`
 *   2. `const page = readPage(request.query, 'created_at')`
 *   3. ask the store for `page.limit + 1` rows after `page.after` (ordered by sort key, then id)
 *   4. `return pageOf(rows, page, (row) => ({ key: row.createdAt, id: row.id }))`
 */

export interface CursorPosition {
  /** The sort key of the last row served (a name, a time, a score). */
  key: string | number;
  /** Its id: the tie-breaker that makes the order total. */
  id: string;
}

export interface PageRequest {
  limit: number;
  /** Start after this row; undefined for the first page. */
  after: CursorPosition | undefined;
  /** Which ordering the cursor belongs to; a cursor from another ordering is refused. */
  sort: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;
const MAX_CURSOR_LENGTH = 1024;

/** JSON-schema properties for `limit` and `cursor`, to spread into a route's querystring schema. */
export function pageQueryProperties(options: { defaultLimit?: number; maxLimit?: number } = {}) {
  const maxLimit = options.maxLimit ?? MAX_PAGE_LIMIT;
  return {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: maxLimit,
      default: options.defaultLimit ?? DEFAULT_PAGE_LIMIT,
      description: `Items per page (at most ${maxLimit}).`,
    },
    cursor: { type: 'string', maxLength: MAX_CURSOR_LENGTH, description: 'The `next_cursor` of the previous page; omit for the first page.' },
  } as const;
}

/** Response schema of a page whose items follow `itemSchema`. */
export function pageResponseSchema(itemSchema: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['items', 'next_cursor'],
    properties: {
      items: { type: 'array', items: itemSchema },
      next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page.' },
    },
  } as const;
}

export function encodeCursor(position: CursorPosition, sort: string): string {
  return Buffer.from(JSON.stringify([sort, position.key, position.id]), 'utf8').toString('base64url');
}

function invalidCursor(why: string): RiposteError {
  return new RiposteError('input.invalid_cursor', `query.cursor ${why}; start again without a cursor`, { status: 400, details: { field: 'query.cursor' } });
}

export function decodeCursor(cursor: string, sort: string): CursorPosition {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor('is not a cursor this server issued');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('is not a cursor this server issued');
  }
  if (!Array.isArray(value) || value.length !== 3) throw invalidCursor('is not a cursor this server issued');
  const [cursorSort, key, id] = value as unknown[];
  if (cursorSort !== sort) throw invalidCursor(`belongs to a listing in another order (${String(cursorSort)}, not ${sort})`);
  if ((typeof key !== 'string' && (typeof key !== 'number' || !Number.isFinite(key))) || typeof id !== 'string') {
    throw invalidCursor('is not a cursor this server issued');
  }
  return { key, id };
}

/** Reads `limit` and `cursor` from a (schema-validated) query. */
export function readPage(query: unknown, sort: string, options: { defaultLimit?: number; maxLimit?: number } = {}): PageRequest {
  const q = (query ?? {}) as { limit?: unknown; cursor?: unknown };
  const maxLimit = options.maxLimit ?? MAX_PAGE_LIMIT;
  const limit =
    typeof q.limit === 'number' && Number.isInteger(q.limit) ? Math.min(Math.max(q.limit, 1), maxLimit) : (options.defaultLimit ?? DEFAULT_PAGE_LIMIT);
  const after = typeof q.cursor === 'string' && q.cursor !== '' ? decodeCursor(q.cursor, sort) : undefined;
  return { limit, after, sort };
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only proves there is a next page.
 * `map` shapes each served row for the response.
 */
export function pageOf<Row, Item = Row>(
  rows: readonly Row[],
  page: PageRequest,
  positionOf: (row: Row) => CursorPosition,
  map?: (row: Row) => Item,
): Page<Item> {
  const served = rows.slice(0, page.limit);
  const last = served.at(-1);
  const next_cursor = rows.length > page.limit && last !== undefined ? encodeCursor(positionOf(last), page.sort) : null;
  return { items: served.map((row) => (map ? map(row) : (row as unknown as Item))), next_cursor };
}
