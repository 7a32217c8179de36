import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildCasesService, webhookCredentialsFrom } from '../../app/cases.ts';
import { createAuthService } from '../../auth/index.ts';
import { signWebhook } from '../../cases/index.ts';
import { createLogger, loadConfig } from '../../core/index.ts';
import { type TestStore, testBackends } from '../../store/testing.ts';
import { buildServer } from '../app.ts';
import { FAST_PASSWORD_HASHING } from '../testing.ts';

const fixture = (name: string) => readFileSync(new URL(`../../cases/fixtures/${name}`, import.meta.url), 'utf8');
const SPLUNK_TOKEN = 'splunk-token-0123456789';
const OLD_SECRET = 'elastic-old-secret';
const NEW_SECRET = 'elastic-new-secret';

for (const backend of testBackends()) {
  describe(`cases REST API (${backend.backend})`, () => {
    let t: TestStore;
    let app: FastifyInstance;
    let small: FastifyInstance;
    let bearer: string;

    before(async () => {
      t = await backend.open();
      const config = loadConfig({
        env: {},
        cwd: '/nonexistent',
        overrides: {
          'server.body_limit': 64 * 1024,
          'webhooks.splunk.tokens': [SPLUNK_TOKEN],
          'webhooks.elastic.hmac_secrets': [NEW_SECRET, OLD_SECRET],
          'webhooks.generic.tokens': ['generic-token'],
          'cases.evidence_max_bytes': 1000,
        },
      });
      const logger = createLogger({ level: 'silent' });
      await t.store.settings.set('webhooks.sentinel', { tokens: ['sentinel-from-settings'] });
      const cases = buildCasesService(t.store, config, logger);
      const auth = createAuthService({ store: t.store, passwordHashing: FAST_PASSWORD_HASHING });
      await auth.createUser({ name: 'case-admin', roles: ['admin'] });
      bearer = `Bearer ${(await auth.createToken({ userName: 'case-admin' })).token}`;
      const services = { store: t.store, config, logger, version: 'test', auth, cases, webhookCredentials: webhookCredentialsFrom(t.store, config) };
      app = await buildServer(services);

      const tinyQueue = buildCasesService(t.store, { ...config, cases: { ...config.cases, intake: { max_queue: 1, batch_size: 10 } } }, logger);
      small = await buildServer({ ...services, cases: tinyQueue });
    });
    after(async () => {
      await app.close();
      await small.close();
      await t.dispose();
    });

    /** Authenticated routes get the admin token; webhooks authenticate themselves. */
    const call = (server: FastifyInstance, options: { method?: string; url: string; headers?: Record<string, string>; payload?: unknown }) =>
      server.inject({
        ...options,
        method: (options.method ?? 'GET') as 'GET',
        payload: options.payload as string,
        headers: options.url.startsWith('/api/v1/webhooks/') ? options.headers : { authorization: bearer, ...options.headers },
      });

    const signed = (body: string, secret: string, timestamp = Math.floor(Date.now() / 1000), delivery?: string) => ({
      'content-type': 'application/json',
      'x-riposte-timestamp': String(timestamp),
      'x-riposte-signature': signWebhook(secret, timestamp, body),
      ...(delivery ? { 'x-riposte-delivery': delivery } : {}),
    });

    test('Splunk (token in query, as its webhook action sends), Elastic (HMAC), Sentinel (token from settings) each open a case', async () => {
      const splunk = await call(app, {
        method: 'POST',
        url: `/api/v1/webhooks/splunk?token=${SPLUNK_TOKEN}`,
        headers: { 'content-type': 'application/json' },
        payload: fixture('splunk-es-notable.json'),
      });
      assert.equal(splunk.statusCode, 201, splunk.body);
      assert.equal(splunk.json().results[0].outcome, 'new_case');
      const repeat = await call(app, {
        method: 'POST',
        url: '/api/v1/webhooks/splunk',
        headers: { 'content-type': 'application/json', 'x-riposte-token': SPLUNK_TOKEN },
        payload: fixture('splunk-es-notable.json'),
      });
      assert.equal(repeat.statusCode, 200);
      assert.equal(repeat.json().results[0].outcome, 'repeat');

      const body = fixture('elastic-detection-alert.json');
      // One signed delivery sent twice: re-signing could cross a second boundary and be a new delivery.
      const delivery = signed(body, OLD_SECRET);
      const elastic = await call(app, { method: 'POST', url: '/api/v1/webhooks/elastic', headers: delivery, payload: body });
      assert.equal(elastic.statusCode, 201, 'the previous secret still works during rotation');
      const replay = await call(app, { method: 'POST', url: '/api/v1/webhooks/elastic', headers: delivery, payload: body });
      assert.equal(replay.statusCode, 409);
      assert.equal(replay.json().code, 'webhook.replayed');

      const sentinel = await call(app, {
        method: 'POST',
        url: '/api/v1/webhooks/sentinel',
        headers: { 'content-type': 'application/json', 'x-riposte-token': 'sentinel-from-settings' },
        payload: fixture('sentinel-incident.json'),
      });
      assert.equal(sentinel.statusCode, 201, sentinel.body);
      const caseId = sentinel.json().results[0].case_id;
      const got = await call(app, { method: 'GET', url: `/api/v1/cases/${caseId}` });
      assert.equal(got.json().title, 'Sign-in from a password spray source followed by mailbox rule creation (Sentinel #4217)');
      const observables = await call(app, { method: 'GET', url: '/api/v1/observables?type=ipv4&value=193.42.33[.]7' });
      assert.equal(observables.json().items[0].cases[0].case_id, caseId, 'defanged lookups find the observable and its cases');
    });

    test('every rejection is a precise problem+json and stores nothing', async () => {
      const body = fixture('elastic-detection-alert.json').replace('Suspicious PowerShell', 'Other PowerShell').replace('0f4cbd0b', 'aaaaaaaa');
      const cases: Array<[string, Record<string, string>, string, number, string, RegExp]> = [
        ['/api/v1/webhooks/elastic', signed(body, 'wrong-secret'), body, 401, 'webhook.bad_signature', /does not match/],
        [
          '/api/v1/webhooks/elastic',
          signed(body, NEW_SECRET, Math.floor(Date.now() / 1000) - 600),
          body,
          401,
          'webhook.expired',
          /60[01] s in the past; allowed skew is ±300 s/,
        ],
        ['/api/v1/webhooks/elastic', { 'content-type': 'application/json' }, body, 401, 'webhook.unauthenticated', /x-riposte-token/],
        ['/api/v1/webhooks/splunk', { 'content-type': 'application/json', 'x-riposte-token': 'nope' }, '{}', 401, 'webhook.bad_token', /not a valid token/],
        [
          '/api/v1/webhooks/splunk',
          { 'content-type': 'application/json', 'x-riposte-token': SPLUNK_TOKEN },
          '{"result": ',
          400,
          'input.malformed_json',
          /not valid JSON/,
        ],
        [
          '/api/v1/webhooks/splunk',
          { 'content-type': 'application/json', 'x-riposte-token': SPLUNK_TOKEN },
          '{"sid": "x"}',
          400,
          'input.invalid',
          /payload\.result must be an object/,
        ],
        [
          '/api/v1/webhooks/splunk',
          { 'content-type': 'text/plain', 'x-riposte-token': SPLUNK_TOKEN },
          'hello',
          415,
          'input.unsupported_media_type',
          /send application\/json/,
        ],
        [
          '/api/v1/webhooks/splunk',
          { 'content-type': 'application/json', 'x-riposte-token': SPLUNK_TOKEN },
          JSON.stringify({ result: { x: 'y'.repeat(70_000) } }),
          413,
          'input.too_large',
          /server\.body_limit/,
        ],
        ['/api/v1/webhooks/qradar', { 'content-type': 'application/json' }, '{}', 400, 'input.invalid', /params\.source/],
        [
          '/api/v1/alerts',
          { 'content-type': 'application/json' },
          JSON.stringify({ title: 'x', severity: 'apocalyptic' }),
          400,
          'input.invalid',
          /alert\.severity must be one of/,
        ],
        [
          '/api/v1/alerts',
          { 'content-type': 'application/json' },
          JSON.stringify({ title: 'x', observables: [{ type: 'ipv4', value: '999.1.1.1' }] }),
          400,
          'input.invalid',
          /observables\[0\].*not a valid ipv4/,
        ],
        ['/api/v1/alerts', { 'content-type': 'text/plain' }, 'an alert as prose', 415, 'input.unsupported_media_type', /send application\/json/],
      ];
      for (const [url, headers, payload, status, code, detail] of cases) {
        const res = await call(app, { method: 'POST', url, headers, payload });
        assert.equal(res.statusCode, status, `${code}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /application\/problem\+json/);
        assert.equal(res.json().code, code);
        assert.match(res.json().detail, detail);
      }
      const list = await call(app, { method: 'GET', url: '/api/v1/cases?q=Other' });
      assert.equal(list.json().items.length, 0);
      const good = await call(app, {
        method: 'POST',
        url: '/api/v1/webhooks/elastic',
        headers: signed(body, NEW_SECRET, undefined, 'delivery-1'),
        payload: body,
      });
      assert.equal(good.statusCode, 201, 'the same alert, correctly signed, is accepted after all those refusals');
    });

    test('overload answers 429 with Retry-After', async () => {
      const payload = JSON.stringify([
        { title: 'a', id: 'ov-1' },
        { title: 'b', id: 'ov-2' },
      ]);
      const res = await call(small, { method: 'POST', url: '/api/v1/alerts', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 429);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.json().code, 'alerts.overloaded');
    });

    test('cases API: create, list with filters, patch, assign, tasks, comments, evidence, timeline, close, metrics, audit', async () => {
      const created = await call(app, {
        method: 'POST',
        url: '/api/v1/cases',
        payload: { title: 'Lateral movement via PsExec', severity: 'high', tags: ['lateral'], techniques: ['T1570'] },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      const number = created.json().number as number;
      const bad = await call(app, { method: 'POST', url: '/api/v1/cases', payload: { title: 'x', techniques: ['T0000'] } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /techniques\[0\] T0000 is not in the ATT&CK Enterprise catalog/);
      const listed = await call(app, { method: 'GET', url: '/api/v1/cases?severity=high,critical&tag=lateral&q=psexec' });
      assert.deepEqual(
        listed.json().items.map((c: { id: string }) => c.id),
        [id],
      );
      const patched = await call(app, { method: 'PATCH', url: `/api/v1/cases/${number}`, payload: { status: 'in_progress', tlp: 'red' } });
      assert.equal(patched.json().status, 'in_progress');
      assert.equal((await call(app, { method: 'PATCH', url: `/api/v1/cases/${id}`, payload: { status: 'closed' } })).statusCode, 400);
      assert.equal((await call(app, { method: 'POST', url: `/api/v1/cases/${id}/assign`, payload: { assignee: 'carol' } })).json().assignee, 'carol');
      const task = await call(app, { method: 'POST', url: `/api/v1/cases/${id}/tasks`, payload: { title: 'Collect triage package' } });
      assert.equal(task.statusCode, 201);
      const done = await call(app, { method: 'PATCH', url: `/api/v1/cases/${id}/tasks/${task.json().id}`, payload: { status: 'done' } });
      assert.equal(done.json().status, 'done');
      assert.equal((await call(app, { method: 'POST', url: `/api/v1/cases/${id}/comments`, payload: { body: 'PsExec from `JUMP-01`' } })).statusCode, 201);
      const upload = await call(app, {
        method: 'POST',
        url: `/api/v1/cases/${id}/evidence?name=psexec.log`,
        headers: { 'content-type': 'text/plain' },
        payload: 'PSEXESVC installed',
      });
      assert.equal(upload.statusCode, 201, upload.body);
      const download = await call(app, { method: 'GET', url: `/api/v1/cases/${id}/evidence/${upload.json().id}` });
      assert.equal(download.body, 'PSEXESVC installed');
      assert.equal(download.headers['x-content-sha256'], upload.json().sha256);
      assert.match(String(download.headers['content-disposition']), /filename="psexec.log"/);
      const big = await call(app, {
        method: 'POST',
        url: `/api/v1/cases/${id}/evidence?name=big.bin`,
        headers: { 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(2000),
      });
      assert.equal(big.statusCode, 413);
      const observables = await call(app, {
        method: 'POST',
        url: `/api/v1/cases/${id}/observables`,
        payload: { observables: [{ type: 'hostname', value: 'JUMP-01' }] },
      });
      assert.equal(observables.json().items[0].value, 'jump-01');
      assert.equal((await call(app, { method: 'POST', url: `/api/v1/cases/${id}/runs`, payload: { run_id: 'run-1' } })).statusCode, 204);
      const closed = await call(app, { method: 'POST', url: `/api/v1/cases/${id}/close`, payload: { resolution: 'true_positive', summary: 'Contained' } });
      assert.equal(closed.json().status, 'closed');
      const timeline = await call(app, { method: 'GET', url: `/api/v1/cases/${id}/timeline` });
      assert.ok(timeline.json().items.length >= 10);
      assert.equal((await call(app, { method: 'GET', url: `/api/v1/cases/${id}/metrics` })).json().case_id, id);
      assert.ok((await call(app, { method: 'GET', url: '/api/v1/cases/metrics' })).json().cases >= 1);
      assert.equal((await call(app, { method: 'GET', url: '/api/v1/cases/00000000-0000-7000-8000-000000000000' })).statusCode, 404);

      const audit = await call(app, { method: 'GET', url: `/api/v1/audit?target=case:${id}` });
      assert.ok(audit.json().items.some((r: { action: string }) => r.action === 'case.closed'));
      assert.equal((await call(app, { method: 'GET', url: '/api/v1/audit/verify' })).json().ok, true);
      const exported = await call(app, { method: 'GET', url: '/api/v1/audit/export' });
      assert.match(String(exported.headers['content-type']), /application\/x-ndjson/);
      const lines = exported.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines[0].seq, 1);
      assert.equal(lines[1].prev_hash, lines[0].hash);
    });
  });
}
