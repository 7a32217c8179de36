import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { buildCasesService, webhookCredentialsFrom } from '../src/app/cases.ts';
import { signWebhook } from '../src/cases/index.ts';
import { createLogger } from '../src/core/index.ts';
import { TAXII_MEDIA_TYPE, TaxiiService } from '../src/intel/index.ts';
import { openTestServer, type TestServer } from '../src/server/testing.ts';
import { DEFAULT_TAXII_COLLECTION_ID } from '../src/store/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * HTTP fuzzing of the untrusted-input routes: POST /api/v1/alerts, the SIEM webhooks and TAXII. Random
 * JSON, deep nesting, huge strings, random query strings. The contract: never a 5xx, every refusal is a
 * 4xx problem+json (TAXII: its error media type), and nothing is accepted twice (alert count in the store
 * equals the distinct alerts the server said it created). Explicit limits: body size (413), nesting depth.
 */
const RUNS = Number(process.env.RIPOSTE_FUZZ_RUNS ?? 120);
const BODY_LIMIT = 256 * 1024;
const HMAC = 'fuzz-hmac-secret';

const scalar = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double({ noDefaultInfinity: true, noNaN: true }), fc.boolean(), fc.constant(null));
const key = fc.oneof(
  fc.constantFrom(
    'title',
    'severity',
    'time',
    'rule',
    'observables',
    'alerts',
    'id',
    'dedup_key',
    'data',
    'tags',
    'type',
    'value',
    'result',
    'properties',
    '__proto__',
  ),
  fc.string({ maxLength: 8 }),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('tree'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
}));

function assertRefusalShape(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  where: string,
  mediaTypes = /application\/problem\+json/,
) {
  assert.ok(res.statusCode < 500, `${where}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400)
    assert.match(String(res.headers['content-type']), mediaTypes, `${where}: ${res.statusCode} content-type ${res.headers['content-type']}`);
}

for (const backend of testBackends()) {
  describe(`HTTP fuzzing (${backend.backend})`, () => {
    let server: TestServer;
    let ingest: { authorization: string };
    const created = new Set<string>();
    let sent = 0;

    before(async () => {
      server = await openTestServer(backend, {
        config: { 'server.body_limit': BODY_LIMIT, 'webhooks.elastic.hmac_secrets': [HMAC], 'webhooks.splunk.tokens': ['splunk-fuzz-token'] },
        services: (store, config) => ({
          cases: buildCasesService(store, config, createLogger({ level: 'silent' })),
          webhookCredentials: webhookCredentialsFrom(store, config),
          taxii: new TaxiiService({ store, maxContentLength: 8000, defaultPageSize: 5, maxPageSize: 10 }),
        }),
      });
      ingest = await server.as('admin');
    });
    after(async () => {
      recordFigure('security', 'requests_sent', sent);
      await server.dispose();
    });

    const record = (res: { statusCode: number; json(): unknown }) => {
      if (res.statusCode === 200 || res.statusCode === 201) {
        for (const r of (res.json() as { results: Array<{ alert_id: string; outcome: string }> }).results) {
          if (r.outcome !== 'repeat') {
            assert.ok(!created.has(r.alert_id), `alert ${r.alert_id} was created twice`);
            created.add(r.alert_id);
          }
        }
      }
    };

    test('POST /api/v1/alerts: random JSON bodies get 2xx or 4xx problem+json, never 5xx', async () => {
      let fuzzed = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            tree,
            fc.record({ title: fc.string({ minLength: 1, maxLength: 50 }), id: fc.string({ maxLength: 12 }), data: tree }, { requiredKeys: ['title'] }),
          ),
          async (body) => {
            fuzzed++;
            sent++;
            const res = await server.app.inject({
              method: 'POST',
              url: '/api/v1/alerts',
              headers: { ...ingest, 'content-type': 'application/json' },
              payload: JSON.stringify(body),
            });
            assertRefusalShape(res, `alerts ${JSON.stringify(body).slice(0, 200)}`);
            record(res);
          },
        ),
        { numRuns: RUNS },
      );
      recordFigure('security', 'inputs_fuzzed', fuzzed);
    });

    test('webhooks: random signed payloads and random bodies never 5xx; replayed deliveries are refused', async () => {
      let fuzzed = 0;
      let delivery = 0;
      await fc.assert(
        fc.asyncProperty(tree, fc.constantFrom('elastic', 'splunk', 'generic', 'sentinel'), fc.boolean(), async (payload, source, replay) => {
          fuzzed++;
          const body = JSON.stringify(payload);
          const ts = Math.floor(Date.now() / 1000);
          const headers: Record<string, string> =
            source === 'elastic'
              ? {
                  'x-riposte-timestamp': String(ts),
                  'x-riposte-signature': signWebhook(HMAC, ts, body),
                  'x-riposte-delivery': `fuzz-${process.pid}-${++delivery}`,
                }
              : source === 'splunk'
                ? { 'x-riposte-token': 'splunk-fuzz-token' }
                : {};
          const send = () =>
            server.app.inject({
              method: 'POST',
              url: `/api/v1/webhooks/${source}`,
              headers: { ...headers, 'content-type': 'application/json' },
              payload: body,
            });
          sent++;
          const first = await send();
          assertRefusalShape(first, `${source} ${body.slice(0, 200)}`);
          record(first);
          if (replay && source === 'elastic' && first.statusCode < 300) {
            sent++;
            const again = await send();
            assert.equal(again.statusCode, 409, `replayed delivery answered ${again.statusCode}`);
            assert.match(String(again.headers['content-type']), /problem\+json/);
          }
        }),
        { numRuns: RUNS },
      );
      recordFigure('security', 'inputs_fuzzed', fuzzed);
    });

    test('explicit limits: over-size body 413, deep nesting and huge strings refused or stored, never 5xx', async () => {
      const cases: Array<[string, string, number[]]> = [
        ['over the body limit', JSON.stringify({ title: 'x', description: 'y'.repeat(BODY_LIMIT) }), [413]],
        ['100 000 nested arrays', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, [400]],
        ['deep object under data', `{"title":"deep","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`, [400]],
        ['data nested 60 levels', `{"title":"deep60","data":${'{"a":'.repeat(60)}1${'}'.repeat(60)}}`, [201, 400]],
        ['huge title', JSON.stringify({ title: 't'.repeat(200_000) }), [400]],
        [
          'many observables',
          JSON.stringify({ title: 'obs', observables: Array.from({ length: 5000 }, (_, i) => ({ type: 'ip', value: `10.0.${i >> 8}.${i & 255}` })) }),
          [201, 400],
        ],
        ['not JSON', '{"title": ', [400]],
        ['1001 alerts', JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ title: `a${i}` }))), [400]],
      ];
      for (const [name, payload, expected] of cases) {
        for (const url of ['/api/v1/alerts', '/api/v1/webhooks/splunk']) {
          sent++;
          const headers = url.includes('webhooks') ? { 'x-riposte-token': 'splunk-fuzz-token' } : ingest;
          const res = await server.app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload });
          assertRefusalShape(res, `${name} → ${url}`);
          assert.ok(expected.includes(res.statusCode), `${name} → ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          if (name === 'data nested 60 levels') assert.ok(url.includes('webhooks') || res.statusCode === 201, 'nesting under the limit is accepted');
          if (res.statusCode === 400) assert.doesNotMatch(res.body, /^$/);
          record(res);
        }
      }
      recordFigure('security', 'inputs_fuzzed', cases.length * 2);
    });

    test('TAXII: random query parameters, ids and bodies get TAXII errors (4xx), never 5xx', async () => {
      const base = `/taxii2/default/collections/${DEFAULT_TAXII_COLLECTION_ID}`;
      const param = fc.constantFrom('added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]', 'match[x]', 'foo');
      const value = fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('-1', '0', '99999999999', '2026-13-45T00:00:00Z', 'first,last,all', 'indicator--x', '%00', 'NaN'),
      );
      const path = fc.constantFrom(
        '/objects/',
        '/manifest/',
        '/objects/indicator--00000000-0000-4000-8000-000000000001/',
        '/objects/indicator--00000000-0000-4000-8000-000000000001/versions/',
        '/objects/%2e%2e/',
        '/',
      );
      let fuzzed = 0;
      await fc.assert(
        fc.asyncProperty(path, fc.array(fc.tuple(param, value), { maxLength: 4 }), fc.oneof(fc.constant(undefined), tree), async (suffix, query, body) => {
          fuzzed++;
          sent++;
          const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
          const post = body !== undefined && suffix === '/objects/';
          const res = await server.app.inject({
            method: post ? 'POST' : 'GET',
            url: `${base}${suffix}${qs ? `?${qs}` : ''}`,
            headers: { ...ingest, accept: TAXII_MEDIA_TYPE, ...(post ? { 'content-type': TAXII_MEDIA_TYPE } : {}) },
            ...(post ? { payload: JSON.stringify(body) } : {}),
          });
          assertRefusalShape(res, `${post ? 'POST' : 'GET'} ${suffix}?${qs}`, /application\/(taxii\+json|problem\+json)/);
        }),
        { numRuns: RUNS },
      );
      recordFigure('security', 'inputs_fuzzed', fuzzed);
    });

    test('nothing accepted twice: alerts in the store equal the distinct alerts the server created', async () => {
      const rows = await server.store.backup(() => {});
      assert.equal(rows.alerts, created.size);
      assert.ok(created.size > 0, 'the fuzzer got some alerts accepted');
    });
  });
}
