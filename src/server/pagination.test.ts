import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RiposteError } from '../core/index.ts';
import { decodeCursor, encodeCursor, MAX_PAGE_LIMIT, pageOf, pageQueryProperties, readPage } from './pagination.ts';

interface Row {
  score: number;
  id: string;
}

/** What a repository does with a page request: keyset order (score, id), limit + 1 rows after the cursor. */
function fetchAfter(rows: Row[], after: { key: string | number; id: string } | undefined, limit: number): Row[] {
  const sorted = [...rows].sort((a, b) => a.score - b.score || a.id.localeCompare(b.id));
  const start = after === undefined ? sorted : sorted.filter((r) => r.score > Number(after.key) || (r.score === Number(after.key) && r.id > after.id));
  return start.slice(0, limit + 1);
}

describe('cursor pagination', () => {
  test('a cursor round-trips its position and is opaque base64url', () => {
    const cursor = encodeCursor({ key: 'alice', id: '0192f0c0-0000-7000-8000-000000000001' }, 'name');
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor, 'name'), { key: 'alice', id: '0192f0c0-0000-7000-8000-000000000001' });
    assert.deepEqual(decodeCursor(encodeCursor({ key: 1_767_225_600_000, id: 'x' }, 'created_at'), 'created_at'), { key: 1_767_225_600_000, id: 'x' });
  });

  test('tampered, foreign or other-order cursors are refused with input.invalid_cursor naming the field', () => {
    const bad = [
      'not base64!',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('["name",{},"x"]').toString('base64url'),
      Buffer.from('["name","k"]').toString('base64url'),
      'x'.repeat(2000),
    ];
    for (const cursor of bad) {
      assert.throws(
        () => decodeCursor(cursor, 'name'),
        (e: unknown) => e instanceof RiposteError && e.code === 'input.invalid_cursor' && e.status === 400 && /^query\.cursor /.test(e.message),
        cursor,
      );
    }
    assert.throws(() => decodeCursor(encodeCursor({ key: 1, id: 'x' }, 'created_at'), 'name'), /another order \(created_at, not name\)/);
  });

  test('readPage applies the default and clamps to the maximum', () => {
    assert.deepEqual(readPage({}, 'name'), { limit: 50, after: undefined, sort: 'name' });
    assert.equal(readPage({ limit: 10_000 }, 'name').limit, MAX_PAGE_LIMIT);
    assert.equal(readPage({ limit: 7 }, 'name', { maxLimit: 5 }).limit, 5);
    assert.equal(pageQueryProperties({ maxLimit: 100 }).limit.maximum, 100);
  });

  test('the last page has no next cursor; a full page with more rows has one', () => {
    const rows = [1, 2, 3].map((score) => ({ score, id: `r${score}` }));
    const page = readPage({ limit: 2 }, 'score');
    const first = pageOf(fetchAfter(rows, page.after, page.limit), page, (r) => ({ key: r.score, id: r.id }));
    assert.deepEqual(
      first.items.map((r) => r.id),
      ['r1', 'r2'],
    );
    assert.ok(first.next_cursor);
    const second = readPage({ limit: 2, cursor: first.next_cursor }, 'score');
    const last = pageOf(
      fetchAfter(rows, second.after, second.limit),
      second,
      (r) => ({ key: r.score, id: r.id }),
      (r) => r.id,
    );
    assert.deepEqual(last, { items: ['r3'], next_cursor: null });
  });

  test('walking every page visits every row exactly once, in order, ties included', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ score: fc.integer({ min: 0, max: 5 }), id: fc.uuid() }), { maxLength: 60, selector: (r) => r.id }),
        fc.integer({ min: 1, max: 7 }),
        (rows, limit) => {
          const seen: string[] = [];
          let cursor: string | null | undefined;
          for (let guard = 0; guard < 100; guard++) {
            const page = readPage({ limit, cursor: cursor ?? undefined }, 'score');
            const result = pageOf(fetchAfter(rows, page.after, page.limit), page, (r) => ({ key: r.score, id: r.id }));
            seen.push(...result.items.map((r) => r.id));
            cursor = result.next_cursor;
            if (cursor === null) break;
          }
          const expected = [...rows].sort((a, b) => a.score - b.score || a.id.localeCompare(b.id)).map((r) => r.id);
          assert.deepEqual(seen, expected);
        },
      ),
    );
  });
});
