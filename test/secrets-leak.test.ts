import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openRuntime, type Runtime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { startSimulator, type VendorSimulator, virusTotalHandler } from '../src/lab/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * Secrets never leak: a playbook sends a secret to a service that echoes it back (in a success body and
 * in an error body), an integration instance holds a sealed API key, everything logs at debug level —
 * and afterwards neither secret value appears in the logs, in any API response, or anywhere in the
 * database (scanned through a full backup of every table).
 */
const PLAYBOOK = (echo: string) => `
id: leak-probe
version: 1
title: Sends a secret to an echoing service
steps:
  - id: echo
    action: core.http_request
    with:
      url: "${echo}/echo"
      headers: { x-api-key: "{{ secrets.leak_probe }}" }
  - { id: note, action: core.log, with: { message: "echo said {{ steps.echo.output }}" } }
  - id: vt
    action: virustotal.ip_report
    with: { ip: "185.220.101.47" }
    on_error: continue
  - id: fail
    action: core.http_request
    with:
      url: "${echo}/fail"
      headers: { authorization: "Bearer {{ secrets.leak_probe }}" }
`;

for (const backend of testBackends()) {
  describe(`secrets never leak (${backend.backend})`, () => {
    const envSecret = `env-s3cr3t-${randomBytes(12).toString('hex')}`;
    const sealedSecret = `sealed-s3cr3t-${randomBytes(12).toString('hex')}`;
    const logs: string[] = [];
    const responses: string[] = [];
    let echo: Server;
    let vt: VendorSimulator;
    let testStore: TestStore;
    let runtime: Runtime;
    let app: FastifyInstance;
    let dir: string;

    before(async () => {
      process.env.RIPOSTE_SECRET_LEAK_PROBE = envSecret;
      echo = createServer((req, res) => {
        const seen = JSON.stringify({ headers: req.headers, url: req.url });
        res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
        res.end(seen);
      });
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      vt = await startSimulator(virusTotalHandler);
      dir = mkdtempSync(join(tmpdir(), 'riposte-leak-'));
      writeFileSync(join(dir, 'leak-probe.yml'), PLAYBOOK(`http://127.0.0.1:${(echo.address() as AddressInfo).port}`));
      testStore = await backend.open();
      await testStore.store.close();
      const config = loadConfig({
        env: testStore.env,
        cwd: tmpdir(),
        overrides: {
          'log.level': 'debug',
          'engine.playbooks_dir': dir,
          'engine.http_allow': ['127.0.0.1'],
          'integrations.http_allow': ['127.0.0.1'],
          data_dir: testStore.env.RIPOSTE_DATA_DIR ?? dir,
        },
      });
      const sink = new Writable({
        write(chunk, _encoding, done) {
          logs.push(String(chunk));
          done();
        },
      });
      const logger = createLogger({ level: 'debug', destination: sink });
      const env = { RIPOSTE_MASTER_KEY: randomBytes(32).toString('base64') };
      // The sealed secret goes in through the service (as the API and CLI do), then the runtime is
      // reopened so the instance's actions are registered.
      const first = await openRuntime(config, logger, { env, announce: () => {} });
      await first.integrations.add({ name: 'virustotal', integration: 'virustotal', config: { baseUrl: vt.url }, secrets: { apiKey: sealedSecret } });
      await first.close();
      runtime = await openRuntime(config, logger, { env, announce: () => {}, runner: { pollMs: 20 } });
      await runtime.engine.start();
      app = await buildServer({ ...serverServices(runtime), logger });
      await app.ready();
    });
    after(async () => {
      delete process.env.RIPOSTE_SECRET_LEAK_PROBE;
      await app?.close();
      await runtime?.engine.stop();
      await runtime?.close();
      await testStore?.dispose().catch(() => {});
      await vt?.close();
      await new Promise((resolve) => echo?.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    test('a run that handles both secrets leaves no trace of them in logs, API answers or the database', async () => {
      await runtime.auth.createUser({ name: 'leak-admin', roles: ['admin'] });
      const { token } = await runtime.auth.createToken({ userName: 'leak-admin' });
      const headers = { authorization: `Bearer ${token}` };
      const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
        const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
        responses.push(`${method} ${url} ${res.statusCode} ${res.body}`);
        return res;
      };

      const started = await call('POST', '/api/v1/playbooks/leak-probe/runs?wait=20', { inputs: {} });
      assert.ok(started.statusCode === 200 || started.statusCode === 202, started.body);
      const run = started.json().run as { id: string; status: string; steps?: Array<{ id?: string; output?: unknown; error?: unknown }> };
      assert.equal(run.status, 'failed', 'the /fail step fails the run (and its error carries the echoed secret)');
      const detail = await call('GET', `/api/v1/runs/${run.id}`);
      // The echo really did receive the secret: the scrubbed output proves the scrubbing, not an absent value.
      assert.match(detail.body, /x-api-key/);
      assert.ok((await call('GET', '/api/v1/runs')).statusCode === 200);
      assert.ok((await call('GET', '/api/v1/integrations')).statusCode === 200);
      assert.ok((await call('GET', '/api/v1/audit?limit=500')).statusCode === 200);

      const database: string[] = [];
      await runtime.store.backup((line) => {
        database.push(JSON.stringify(line));
      });
      assert.ok(database.length > 20, 'the backup scanned real rows');
      assert.ok(logs.length > 3, `debug logging produced lines to scan (${logs.length}): ${logs.join('')}`);

      recordFigure('security', 'secret_scan_lines (logs+API+DB rows)', logs.length + responses.length + database.length);
      for (const [where, texts] of [
        ['logs', logs],
        ['API responses', responses],
        ['database', database],
      ] as const) {
        for (const secret of [envSecret, sealedSecret]) {
          const hit = texts.find((text) => text.includes(secret));
          assert.equal(hit, undefined, `${where} contain a secret: ${hit?.slice(0, 300)}`);
        }
      }
    });
  });
}
