import { RiposteError } from '../../core/index.ts';

/**
 * Walks a paginated vendor API. The connector says how to fetch one page given a cursor (a page number,
 * an offset, an opaque token or a `next` link) and what the next cursor is; this yields the items in
 * order and stops at the last page, at `maxItems`, or at `maxPages` (a guard against APIs that loop).
 */
export interface PageFetcher<T, C> {
  first: C;
  fetch(cursor: C): Promise<{ items: readonly T[]; next: C | undefined }>;
  maxItems?: number;
  maxPages?: number;
}

export async function* paginate<T, C>(fetcher: PageFetcher<T, C>): AsyncGenerator<T> {
  const maxPages = fetcher.maxPages ?? 100;
  let cursor: C | undefined = fetcher.first;
  let count = 0;
  for (let page = 0; cursor !== undefined; page++) {
    if (page >= maxPages) throw new RiposteError('integration.too_many_pages', `stopped after ${maxPages} pages; narrow the query or raise maxPages`);
    const { items, next } = await fetcher.fetch(cursor);
    for (const item of items) {
      yield item;
      if (fetcher.maxItems !== undefined && ++count >= fetcher.maxItems) return;
    }
    if (items.length === 0) return;
    cursor = next;
  }
}

export async function collectPages<T, C>(fetcher: PageFetcher<T, C>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of paginate(fetcher)) out.push(item);
  return out;
}
