import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaxiiClient, type TaxiiHttp } from './taxii-client.ts';

/**
 * A server that pages by `added_after` only (`more` without `next`, as TAXII 2.1 permits): the client must
 * carry on from X-TAXII-Date-Added-Last. Our own server always gives `next` (see the round-trip test).
 */
test('paging falls back to added_after = X-TAXII-Date-Added-Last when the server gives more without next', async () => {
  const objects = Array.from({ length: 5 }, (_, i) => ({ id: `indicator--${i}`, date_added: `2026-01-01T00:00:0${i}.000Z` }));
  const seen: string[] = [];
  const http: TaxiiHttp = {
    async request(request) {
      seen.push(request.url);
      assert.equal(request.headers?.accept, 'application/taxii+json;version=2.1');
      assert.equal(request.headers?.authorization, 'Bearer t0k');
      const url = new URL(request.url);
      const after = url.searchParams.get('added_after');
      const rest = objects.filter((o) => after === null || o.date_added > after);
      const page = rest.slice(0, Number(url.searchParams.get('limit')));
      const headers: Record<string, string> = page.length > 0 ? { 'X-TAXII-Date-Added-Last': page[page.length - 1]?.date_added as string } : {};
      return { status: 200, headers, text: () => JSON.stringify({ more: rest.length > page.length, objects: page.map((o) => ({ id: o.id })) }) };
    },
  };
  const client = new TaxiiClient({ http, auth: { type: 'bearer', token: 't0k' } });
  const ids: string[] = [];
  for await (const page of client.objectPages('https://taxii.example/api1', 'c1', { limit: 2, match: { type: ['indicator'] } }))
    ids.push(...(page.body.objects ?? []).map((o) => String(o.id)));
  assert.deepEqual(
    ids,
    objects.map((o) => o.id),
  );
  assert.equal(seen[0], 'https://taxii.example/api1/collections/c1/objects/?limit=2&match[type]=indicator');
  assert.match(seen[1] as string, /added_after=2026-01-01T00%3A00%3A01.000Z/);
});

test('a TAXII error message becomes a RiposteError naming the status and title', async () => {
  const http: TaxiiHttp = {
    async request() {
      return { status: 403, headers: {}, text: () => JSON.stringify({ title: 'Forbidden', description: 'not yours', http_status: '403' }) };
    },
  };
  await assert.rejects(new TaxiiClient({ http }).collections('https://taxii.example/api1/'), (error: Error & { code?: string; status?: number }) => {
    assert.equal(error.code, 'taxii.request_failed');
    assert.equal(error.status, 403);
    assert.match(error.message, /403 \(Forbidden: not yours\)/);
    return true;
  });
});
