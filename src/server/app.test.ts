import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAuthService } from '../auth/index.ts';
import { createLogger, loadConfig } from '../core/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { buildServer } from './index.ts';
import { FAST_PASSWORD_HASHING } from './testing.ts';

const authFor = (store: Parameters<typeof createAuthService>[0]['store']) => createAuthService({ store, passwordHashing: FAST_PASSWORD_HASHING });

const logger = createLogger({ level: 'silent' });

for (const backend of testBackends()) {
  describe(`server basics (${backend.backend})`, () => {
    let t: TestStore;
    let app: FastifyInstance;
    before(async () => {
      t = await backend.open();
      const config = loadConfig({ env: { RIPOSTE_BODY_LIMIT: '1KiB' }, cwd: '/nonexistent' });
      app = await buildServer({ store: t.store, config, logger, version: '9.9.9', auth: authFor(t.store) });
      // A route only this test has, to exercise body parsing and limits.
      app.post('/test/echo', { config: { public: true } }, async (request) => ({ got: request.body }));
      await app.ready();
    });
    after(async () => {
      await app.close();
      await t.dispose();
    });

    test('/healthz answers with the version', async () => {
      const res = await app.inject('/healthz');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok', version: '9.9.9' });
    });

    test('/readyz checks the store', async () => {
      const res = await app.inject('/readyz');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().store, backend.backend);
    });

    test('request ids: generated when absent, echoed when sane, replaced when not', async () => {
      const generated = await app.inject('/healthz');
      assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const echoed = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'siem-abc.123' } });
      assert.equal(echoed.headers['x-request-id'], 'siem-abc.123');
      const hostile = await app.inject({ url: '/healthz', headers: { 'x-request-id': '<script>alert(1)</script>' } });
      assert.notEqual(hostile.headers['x-request-id'], '<script>alert(1)</script>');
    });

    test('unknown routes get problem+json naming the route', async () => {
      const res = await app.inject({ url: '/api/v1/nope?token=x', headers: { 'x-request-id': 'r-1' } });
      assert.equal(res.statusCode, 404);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const body = res.json();
      assert.equal(body.code, 'not_found');
      assert.equal(body.status, 404);
      assert.equal(body.request_id, 'r-1');
      assert.match(body.detail, /GET \/api\/v1\/nope$/);
      assert.equal(body.instance, '/api/v1/nope');
    });

    test('malformed JSON, wrong content type and oversize bodies are precise problems', async () => {
      const malformed = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().code, 'input.malformed_json');

      const wrongType = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/x-sheep' }, payload: 'baa' });
      assert.equal(wrongType.statusCode, 415);
      assert.equal(wrongType.json().code, 'input.unsupported_media_type');

      const big = await app.inject({
        method: 'POST',
        url: '/test/echo',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ x: 'y'.repeat(2000) }),
      });
      assert.equal(big.statusCode, 413);
      assert.equal(big.json().code, 'input.too_large');

      const ok = await app.inject({ method: 'POST', url: '/test/echo', payload: { fine: true } });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { got: { fine: true } });
    });

    test('/metrics exposes request latency in Prometheus format', async () => {
      await app.inject('/healthz');
      assert.equal((await app.inject('/metrics')).statusCode, 401, 'metrics need credentials');
      const auth = authFor(t.store);
      await auth.createUser({ name: 'prometheus', roles: ['viewer'] });
      const { token } = await auth.createToken({ userName: 'prometheus', scopes: ['metrics:read'] });
      const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /riposte_http_request_duration_seconds_bucket\{.*route="\/healthz"/);
      assert.match(res.body, /riposte_process_cpu_seconds_total/);
    });
  });
}

describe('readiness when the store is gone', () => {
  test('/readyz turns 503 problem+json with Retry-After, /healthz stays up', async () => {
    const [sqlite] = testBackends();
    assert.ok(sqlite);
    const t = await sqlite.open();
    const app = await buildServer({ store: t.store, config: loadConfig({ env: {}, cwd: '/nonexistent' }), logger, version: 'x', auth: authFor(t.store) });
    await t.store.close();
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.headers['retry-after'], '5');
    assert.equal(ready.json().code, 'store.unreachable');
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    await app.close();
    await t.dispose();
  });
});

describe('graceful shutdown', () => {
  test('an in-flight request completes while the server closes; new ones are refused', async () => {
    const [sqlite] = testBackends();
    assert.ok(sqlite);
    const t = await sqlite.open();
    const app = await buildServer({ store: t.store, config: loadConfig({ env: {}, cwd: '/nonexistent' }), logger, version: 'x', auth: authFor(t.store) });
    let release: () => void = () => {};
    const started = new Promise<void>((resolveStarted) => {
      app.get('/test/slow', { config: { public: true } }, async () => {
        resolveStarted();
        await new Promise<void>((r) => {
          release = r;
        });
        return { finished: true };
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    const base = `http://127.0.0.1:${address.port}`;
    const slow = fetch(`${base}/test/slow`).then(async (r) => ({ connection: r.headers.get('connection'), body: await r.json() }));
    await started;
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(fetch(`${base}/healthz`), 'new connections are refused while draining');
    release();
    // The drained response closes its connection, so an idle keep-alive socket cannot hold shutdown open.
    assert.deepEqual(await slow, { connection: 'close', body: { finished: true } });
    await closing;
    await t.dispose();
  });
});
