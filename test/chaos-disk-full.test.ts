import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRuntime, type Runtime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * SQLite disk full during ingest, emulated with `database_sqlite_max_size` (pragma max_page_count on the
 * store's connection — the same cap protects a host's disk in production). Past the cap: 507 store.full
 * problem+json with Retry-After, no crash, reads keep working, everything acknowledged is intact; once
 * space returns (here: the cap raised and the server restarted), intake resumes.
 */
const sqlite = testBackends().find((b) => b.backend === 'sqlite');

test('SQLite full during ingest: 507 store.full, nothing acknowledged lost, intake resumes when space returns', { skip: !sqlite }, async () => {
  const backend = sqlite as NonNullable<typeof sqlite>;
  const testStore = await backend.open();
  await testStore.store.close();
  const file = join(testStore.env.RIPOSTE_DATA_DIR as string, 'riposte.db');
  const boot = async (maxSize?: number) => {
    const config = loadConfig({
      env: testStore.env,
      cwd: tmpdir(),
      overrides: { 'log.level': 'silent', ...(maxSize ? { database_sqlite_max_size: maxSize } : {}) },
    });
    const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
    const app = await buildServer(serverServices(runtime));
    await runtime.auth.createUser({ name: `ingest-${Date.now()}`, roles: ['admin'] }).then(async (user) => {
      tokens.push(`Bearer ${(await runtime.auth.createToken({ userName: user.name })).token}`);
    });
    return { runtime, app };
  };
  const tokens: string[] = [];
  let n = 0;
  const batch = () => Array.from({ length: 20 }, () => ({ title: `disk-full ${++n} ${'x'.repeat(400)}`, id: `df-${n}`, description: 'y'.repeat(2000) }));
  const acknowledged = new Set<string>();
  let server: { runtime: Runtime; app: Awaited<ReturnType<typeof buildServer>> } | undefined;
  try {
    server = await boot();
    await server.app.close();
    await server.runtime.close();
    const migrated = statSync(file).size;

    server = await boot(migrated + 512 * 1024);
    let full: { statusCode: number; headers: Record<string, unknown>; body: string } | undefined;
    for (let i = 0; i < 200 && !full; i++) {
      const res = await server.app.inject({ method: 'POST', url: '/api/v1/alerts', headers: { authorization: tokens.at(-1) as string }, payload: batch() });
      if (res.statusCode === 201 || res.statusCode === 200) for (const r of res.json().results) acknowledged.add(r.alert_id);
      else full = res;
    }
    assert.ok(full, 'the cap was reached');
    assert.equal(full.statusCode, 507, full.body);
    assert.match(String(full.headers['content-type']), /problem\+json/);
    assert.equal(JSON.parse(full.body).code, 'store.full');
    assert.equal(full.headers['retry-after'], '30');
    assert.ok(acknowledged.size > 0, 'some alerts fit before the cap');

    // Still up: a second refusal is as clear, health and reads answer, acknowledged alerts are readable.
    const again = await server.app.inject({ method: 'POST', url: '/api/v1/alerts', headers: { authorization: tokens.at(-1) as string }, payload: batch() });
    assert.equal(again.statusCode, 507);
    assert.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200);
    const sample = [...acknowledged].at(-1) as string;
    assert.equal((await server.app.inject({ url: `/api/v1/alerts/${sample}`, headers: { authorization: tokens.at(-1) as string } })).statusCode, 200);
    assert.equal((await server.runtime.store.backup(() => {})).alerts, acknowledged.size, 'stored exactly what was acknowledged');
    await server.app.close();
    await server.runtime.close();

    // Space returns: the cap is raised (an operator freed disk); intake resumes, nothing was lost.
    server = await boot(statSync(file).size + 16 * 1024 * 1024);
    const resumed = await server.app.inject({ method: 'POST', url: '/api/v1/alerts', headers: { authorization: tokens.at(-1) as string }, payload: batch() });
    assert.equal(resumed.statusCode, 201, resumed.body);
    for (const r of resumed.json().results) acknowledged.add(r.alert_id);
    assert.equal((await server.runtime.store.backup(() => {})).alerts, acknowledged.size);
    recordFigure('chaos', 'faults_injected', 2);
    recordFigure('chaos', 'data_lost', 0);
  } finally {
    await server?.app.close().catch(() => {});
    await server?.runtime.close().catch(() => {});
    await testStore.dispose().catch(() => {});
  }
});
