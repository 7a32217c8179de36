import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TAXII_MEDIA_TYPE, TaxiiService } from '../../intel/index.ts';
import { DEFAULT_TAXII_COLLECTION_ID } from '../../store/index.ts';
import { testBackends } from '../../store/testing.ts';
import { openTestServer, type TestServer } from '../testing.ts';

const ROOT = '/taxii2/default';
const COLLECTION = `${ROOT}/collections/${DEFAULT_TAXII_COLLECTION_ID}`;
const ACCEPT = { accept: TAXII_MEDIA_TYPE };
const CONTENT = { 'content-type': TAXII_MEDIA_TYPE };

function indicator(n: number, modified = '2026-01-01T00:00:00.000Z') {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    created: '2026-01-01T00:00:00.000Z',
    modified,
    pattern: `[ipv4-addr:value = '198.51.100.${n}']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
    x_riposte_test: { n },
  };
}

for (const backend of testBackends()) {
  describe(`TAXII 2.1 server (${backend.backend})`, () => {
    let server: TestServer;
    let admin: { authorization: string };
    let basic: { authorization: string };

    before(async () => {
      server = await openTestServer(backend, {
        services: (store) => ({ taxii: new TaxiiService({ store, maxContentLength: 4000, defaultPageSize: 3, maxPageSize: 5 }) }),
      });
      admin = await server.as('admin');
      await server.auth.createUser({ name: 'feedreader', roles: ['analyst'] });
      const { token } = await server.auth.createToken({ userName: 'feedreader' });
      basic = { authorization: `Basic ${Buffer.from(`feedreader:${token}`).toString('base64')}` };
    });
    after(async () => {
      await server.dispose();
    });

    test('discovery, API root and collections answer in the TAXII media type', async () => {
      const discovery = await server.app.inject({ url: '/taxii2/', headers: { ...admin, ...ACCEPT } });
      assert.equal(discovery.statusCode, 200);
      assert.equal(discovery.headers['content-type'], TAXII_MEDIA_TYPE);
      const body = discovery.json();
      assert.equal(body.default, 'http://localhost:80/taxii2/default/');
      assert.deepEqual(body.api_roots, ['http://localhost:80/taxii2/default/']);

      const root = await server.app.inject({ url: `${ROOT}/`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(root.json(), {
        title: 'Riposte default API root',
        description: 'STIX 2.1 intelligence shared by this Riposte instance',
        versions: [TAXII_MEDIA_TYPE],
        max_content_length: 4000,
      });
      const collections = await server.app.inject({ url: `${ROOT}/collections/`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(collections.json().collections, [
        {
          id: DEFAULT_TAXII_COLLECTION_ID,
          title: 'Riposte intelligence',
          description: 'Indicators and findings shared by this Riposte instance',
          alias: 'riposte-intel',
          can_read: true,
          can_write: true,
          media_types: ['application/stix+json;version=2.1'],
        },
      ]);
      assert.equal((await server.app.inject({ url: '/taxii2/nope/', headers: { ...admin, ...ACCEPT } })).statusCode, 404);
    });

    test('HTTP Basic with user name + API token works; errors are TAXII error messages', async () => {
      const ok = await server.app.inject({ url: `${COLLECTION}/`, headers: { ...basic, ...ACCEPT } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().can_write, true);

      const wrongUser = await server.app.inject({
        url: `${COLLECTION}/`,
        headers: { authorization: `Basic ${Buffer.from(`admin:${basic.authorization.slice(6)}`).toString('base64')}`, ...ACCEPT },
      });
      assert.equal(wrongUser.statusCode, 401);
      const anonymous = await server.app.inject({ url: `${COLLECTION}/`, headers: ACCEPT });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['content-type'], TAXII_MEDIA_TYPE);
      assert.match(String(anonymous.headers['www-authenticate']), /Basic realm="riposte"/);
      const error = anonymous.json();
      assert.equal(error.title, 'Unauthorized');
      assert.equal(error.http_status, '401');
      assert.equal(error.error_code, 'auth.unauthenticated');
      // Basic is only for TAXII: the REST API still refuses it.
      assert.equal((await server.app.inject({ url: '/api/v1/users', headers: basic })).statusCode, 401);
    });

    test('406 for an Accept that excludes TAXII 2.1, 415 for a wrong Content-Type, 413 past max_content_length', async () => {
      const notAcceptable = await server.app.inject({ url: `${ROOT}/`, headers: { ...admin, accept: 'application/taxii+json;version=2.0' } });
      assert.equal(notAcceptable.statusCode, 406);
      assert.equal(notAcceptable.json().http_status, '406');
      const wrongType = await server.app.inject({
        method: 'POST',
        url: `${COLLECTION}/objects/`,
        headers: { ...admin, ...ACCEPT, 'content-type': 'application/json' },
        payload: JSON.stringify({ objects: [] }),
      });
      assert.equal(wrongType.statusCode, 415);
      assert.equal(wrongType.headers['content-type'], TAXII_MEDIA_TYPE);
      const tooLarge = await server.app.inject({
        method: 'POST',
        url: `${COLLECTION}/objects/`,
        headers: { ...admin, ...ACCEPT, ...CONTENT },
        payload: JSON.stringify({ objects: Array.from({ length: 20 }, (_, i) => indicator(i)) }),
      });
      assert.equal(tooLarge.statusCode, 413);
      assert.equal(tooLarge.json().http_status, '413');
    });

    test('POST objects returns a status resource that only its requester can read', async () => {
      const post = await server.app.inject({
        method: 'POST',
        url: `${COLLECTION}/objects/`,
        headers: { ...basic, ...ACCEPT, ...CONTENT },
        payload: JSON.stringify({ objects: [indicator(1), indicator(2), { type: 'indicator', id: 'bad' }] }),
      });
      assert.equal(post.statusCode, 202);
      const status = post.json();
      assert.equal(status.status, 'complete');
      assert.equal(status.total_count, 3);
      assert.equal(status.success_count, 2);
      assert.equal(status.failure_count, 1);
      assert.equal(status.pending_count, 0);
      assert.equal(status.failures[0].id, 'bad');
      const again = await server.app.inject({ url: `${ROOT}/status/${status.id}/`, headers: { ...basic, ...ACCEPT } });
      assert.deepEqual(again.json(), status);
      assert.equal((await server.app.inject({ url: `${ROOT}/status/${status.id}/`, headers: { ...(await server.as('analyst')), ...ACCEPT } })).statusCode, 404);
    });

    test('GET objects pages with limit/next and the date-added headers; filters narrow it', async () => {
      await server.app.inject({
        method: 'POST',
        url: `${COLLECTION}/objects/`,
        headers: { ...admin, ...ACCEPT, ...CONTENT },
        payload: JSON.stringify({ objects: [indicator(3), indicator(4), indicator(1, '2026-02-01T00:00:00.000Z')] }),
      });
      const ids: string[] = [];
      let next: string | undefined;
      let lastHeader: string | undefined;
      let pages = 0;
      do {
        const res = await server.app.inject({ url: `${COLLECTION}/objects/?limit=2${next ? `&next=${next}` : ''}`, headers: { ...admin, ...ACCEPT } });
        assert.equal(res.statusCode, 200);
        const page = res.json();
        ids.push(...page.objects.map((o: { id: string; modified: string }) => `${o.id.slice(-2)}@${o.modified.slice(5, 7)}`));
        assert.ok(String(res.headers['x-taxii-date-added-first']) <= String(res.headers['x-taxii-date-added-last']));
        lastHeader = String(res.headers['x-taxii-date-added-last']);
        next = page.more ? page.next : undefined;
        pages++;
      } while (next);
      assert.equal(pages, 2);
      // The latest version of each object, in date-added order: indicator 1's new version was added last.
      assert.deepEqual(ids, ['02@01', '03@01', '04@01', '01@02']);
      const after = await server.app.inject({ url: `${COLLECTION}/objects/?added_after=${lastHeader}`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(after.json(), {});

      const all = await server.app.inject({ url: `${COLLECTION}/objects/?match[version]=all&match[id]=${indicator(1).id}`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(
        all.json().objects.map((o: { modified: string }) => o.modified),
        ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
      );
      const first = await server.app.inject({
        url: `${COLLECTION}/objects/?match[version]=first&match[type]=indicator,malware&limit=10`,
        headers: { ...admin, ...ACCEPT },
      });
      assert.equal(first.json().objects.length, 4);
      assert.equal(first.json().objects.find((o: { id: string }) => o.id === indicator(1).id).modified, '2026-01-01T00:00:00.000Z');
      assert.deepEqual(first.json().objects[0].x_riposte_test, { n: 1 });
      const bad = await server.app.inject({ url: `${COLLECTION}/objects/?added_after=yesterday`, headers: { ...admin, ...ACCEPT } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().description, /added_after/);
    });

    test('single object, versions, manifest and DELETE', async () => {
      const id = indicator(1).id;
      const one = await server.app.inject({ url: `${COLLECTION}/objects/${id}/`, headers: { ...admin, ...ACCEPT } });
      assert.equal(one.json().objects.length, 1);
      const versions = await server.app.inject({ url: `${COLLECTION}/objects/${id}/versions/`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(versions.json(), { more: false, versions: ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'] });
      const manifest = await server.app.inject({ url: `${COLLECTION}/manifest/?match[id]=${id}`, headers: { ...admin, ...ACCEPT } });
      const record = manifest.json().objects[0];
      assert.equal(record.id, id);
      assert.equal(record.version, '2026-02-01T00:00:00.000Z');
      assert.equal(record.media_type, 'application/stix+json;version=2.1');
      assert.match(record.date_added, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

      const viewer = await server.as('viewer');
      assert.equal((await server.app.inject({ method: 'DELETE', url: `${COLLECTION}/objects/${id}/`, headers: { ...viewer, ...ACCEPT } })).statusCode, 403);
      const deleted = await server.app.inject({ method: 'DELETE', url: `${COLLECTION}/objects/${id}/?match[version]=first`, headers: { ...admin, ...ACCEPT } });
      assert.equal(deleted.statusCode, 200);
      const left = await server.app.inject({ url: `${COLLECTION}/objects/${id}/versions/`, headers: { ...admin, ...ACCEPT } });
      assert.deepEqual(left.json().versions, ['2026-02-01T00:00:00.000Z']);
      assert.equal((await server.app.inject({ method: 'DELETE', url: `${COLLECTION}/objects/${id}/`, headers: { ...admin, ...ACCEPT } })).statusCode, 200);
      assert.equal((await server.app.inject({ url: `${COLLECTION}/objects/${id}/`, headers: { ...admin, ...ACCEPT } })).statusCode, 404);
    });

    test('per-collection access: hidden collections are 404, read-only ones refuse writes with 403', async () => {
      await server.store.intel.putCollection({
        id: 'a0c3c1d4-0000-4000-8000-000000000001',
        apiRoot: 'default',
        title: 'Admins only',
        description: null,
        alias: null,
        readAccess: ['admin'],
        writeAccess: ['admin'],
      });
      await server.store.intel.putCollection({
        id: 'a0c3c1d4-0000-4000-8000-000000000002',
        apiRoot: 'default',
        title: 'Read-only partners feed',
        description: null,
        alias: null,
        readAccess: ['intel:read'],
        writeAccess: [],
      });
      const analyst = await server.as('analyst');
      const list = await server.app.inject({ url: `${ROOT}/collections/`, headers: { ...analyst, ...ACCEPT } });
      assert.deepEqual(
        list.json().collections.map((c: { title: string; can_write: boolean }) => [c.title, c.can_write]),
        [
          ['Riposte intelligence', true],
          ['Read-only partners feed', false],
        ],
      );
      assert.equal(
        (await server.app.inject({ url: `${ROOT}/collections/a0c3c1d4-0000-4000-8000-000000000001/objects/`, headers: { ...analyst, ...ACCEPT } })).statusCode,
        404,
      );
      const refused = await server.app.inject({
        method: 'POST',
        url: `${ROOT}/collections/a0c3c1d4-0000-4000-8000-000000000002/objects/`,
        headers: { ...analyst, ...ACCEPT, ...CONTENT },
        payload: JSON.stringify({ objects: [indicator(9)] }),
      });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().http_status, '403');
      assert.equal(
        (await server.app.inject({ url: `${ROOT}/collections/a0c3c1d4-0000-4000-8000-000000000001/`, headers: { ...admin, ...ACCEPT } })).statusCode,
        200,
      );
    });
  });
}
