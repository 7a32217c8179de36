import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openRuntime, type Runtime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * The UI's live stream end to end over real HTTP: authentication and per-topic permissions, run progress
 * and approvals from the engine, case changes from the cases service — and nothing of a run's inputs.
 */
const GATED = `
id: gated
version: 1
title: Gated
inputs: { note: { type: string } }
steps:
  - { id: ask, approval: { prompt: "ok?" } }
  - { id: done, action: core.transform, with: { value: "{{ inputs.note }}" } }
`;

interface StreamReader {
  events: Array<{ event: string; data: Record<string, unknown> }>;
  text: () => string;
  until: (match: (e: { event: string; data: Record<string, unknown> }) => boolean) => Promise<void>;
  close: () => void;
}

async function openStream(url: string, authorization: string): Promise<StreamReader> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { authorization, accept: 'text/event-stream' }, signal: abort.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let buffer = '';
  let all = '';
  const events: StreamReader['events'] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        all += chunk;
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const w of waiters) w();
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    text: () => all,
    until: (match) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event; got ${JSON.stringify(events)}`)), 30_000);
        const check = () => {
          if (events.some(match)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
    close: () => abort.abort(),
  };
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition never held');
}

for (const backend of testBackends()) {
  describe(`live stream (${backend.backend})`, () => {
    let testStore: TestStore;
    let runtime: Runtime;
    let app: FastifyInstance;
    let base: string;
    const dir = mkdtempSync(join(tmpdir(), 'riposte-live-'));

    before(async () => {
      writeFileSync(join(dir, 'gated.yml'), GATED);
      testStore = await backend.open();
      await testStore.store.close();
      const config = loadConfig({ env: testStore.env, cwd: tmpdir(), overrides: { 'log.level': 'silent', 'engine.playbooks_dir': dir } });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {}, runner: { pollMs: 20 } });
      await runtime.engine.start();
      app = await buildServer(serverServices(runtime));
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });
    after(async () => {
      await app?.close();
      await runtime?.close();
      await testStore?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const tokenFor = async (roles: string[], scopes?: string[]) => {
      const name = `live-${roles.join('-')}-${Math.random().toString(36).slice(2, 8)}`;
      await runtime.auth.createUser({ name, roles });
      return `Bearer ${(await runtime.auth.createToken({ userName: name, ...(scopes ? { scopes: scopes as never } : {}) })).token}`;
    };

    test('refuses callers without credentials, topics they cannot read, and unknown topics', async () => {
      assert.equal((await fetch(`${base}/api/v1/stream`)).status, 401);
      const casesOnly = await tokenFor(['analyst'], ['cases:read']);
      const denied = await fetch(`${base}/api/v1/stream?topics=runs`, { headers: { authorization: casesOnly } });
      assert.equal(denied.status, 403);
      const unknown = await fetch(`${base}/api/v1/stream?topics=secrets`, { headers: { authorization: casesOnly } });
      assert.equal(unknown.status, 400);
      // Without topics: only what the caller may read.
      const stream = await openStream(`${base}/api/v1/stream`, casesOnly);
      await stream.until((e) => e.event === 'ready');
      assert.deepEqual(stream.events[0]?.data, { topics: ['cases'] });
      // At most 20 open streams per user: the 21st is refused, and a closed one frees its place.
      const more: StreamReader[] = [];
      for (let i = 0; i < 19; i++) more.push(await openStream(`${base}/api/v1/stream?topics=cases`, casesOnly));
      const refused = await fetch(`${base}/api/v1/stream`, { headers: { authorization: casesOnly } });
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { code: string }).code, 'server.too_many_streams');
      stream.close();
      for (const s of more) s.close();
      await waitFor(async () => {
        const again = await fetch(`${base}/api/v1/stream`, { headers: { authorization: casesOnly } });
        await again.body?.cancel();
        return again.status === 200;
      });
    });

    test('run progress, approvals and case changes arrive; run inputs never do', async () => {
      const admin = await tokenFor(['admin']);
      const stream = await openStream(`${base}/api/v1/stream?topics=runs,approvals,cases`, admin);
      await stream.until((e) => e.event === 'ready');
      const started = await fetch(`${base}/api/v1/playbooks/gated/runs`, {
        method: 'POST',
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { note: 'do-not-stream-this-value' } }),
      });
      assert.equal(started.status, 202, await started.clone().text());
      const runId = ((await started.json()) as { run: { id: string } }).run.id;
      await stream.until((e) => e.event === 'approvals' && e.data.run_id === runId && e.data.status === 'waiting');
      // Someone other than the run's starter decides (separation of duties).
      const approver = await tokenFor(['approver']);
      const decided = await fetch(`${base}/api/v1/runs/${runId}/approvals/ask`, {
        method: 'POST',
        headers: { authorization: approver, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      assert.equal(decided.status, 200, await decided.clone().text());
      await stream.until((e) => e.event === 'runs' && e.data.run_id === runId && e.data.type === 'run.status' && e.data.status === 'succeeded');
      await stream.until((e) => e.event === 'approvals' && e.data.run_id === runId && e.data.status === 'succeeded');
      const created = await fetch(`${base}/api/v1/cases`, {
        method: 'POST',
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Live case' }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      const caseId = ((await created.json()) as { id?: string; case?: { id: string } }).id;
      await stream.until((e) => e.event === 'cases' && e.data.type === 'case.created' && (caseId === undefined || e.data.case_id === caseId));
      stream.close();
      assert.ok(!stream.text().includes('do-not-stream-this-value'), 'run inputs or outputs leaked into the stream');
    });

    test('playbook editor: source by id, validation issues with line and column, graph preview', async () => {
      const viewer = await tokenFor(['viewer']);
      const source = await fetch(`${base}/api/v1/playbooks/gated/source`, { headers: { authorization: viewer } });
      assert.equal(source.status, 200);
      const body = (await source.json()) as { yaml: string; file: string };
      assert.equal(body.file, 'gated.yml');
      assert.equal(body.yaml, GATED);
      assert.equal((await fetch(`${base}/api/v1/playbooks/..%2F..%2Fetc%2Fpasswd/source`, { headers: { authorization: viewer } })).status, 404);
      const validate = async (yaml: string) => {
        const res = await fetch(`${base}/api/v1/playbooks/validate`, {
          method: 'POST',
          headers: { authorization: viewer, 'content-type': 'application/json' },
          body: JSON.stringify({ yaml }),
        });
        assert.equal(res.status, 200);
        return (await res.json()) as {
          valid: boolean;
          issues: Array<{ code: string; message: string; line: number | null; column: number | null }>;
          graph: { nodes: Array<{ key: string }>; edges: unknown[] };
        };
      };
      const good = await validate(GATED);
      assert.equal(good.valid, true);
      assert.deepEqual(
        good.graph.nodes.map((n) => n.key),
        ['ask', 'done'],
      );
      const bad = await validate(GATED.replace('core.transform', 'core.no_such_action').replace('title: Gated', 'title: Gated\ncolour: red'));
      assert.equal(bad.valid, false);
      assert.ok(bad.issues.length >= 2, JSON.stringify(bad.issues));
      assert.ok(
        bad.issues.every((i) => typeof i.line === 'number' && typeof i.column === 'number'),
        JSON.stringify(bad.issues),
      );
      assert.ok(bad.issues.some((i) => /no_such_action/.test(i.message)));
      // The preview still draws what parses.
      assert.equal(bad.graph.nodes.length, 2);
      const broken = await validate('id: x\nsteps: [\n');
      assert.equal(broken.valid, false);
      assert.equal(typeof broken.issues[0]?.line, 'number');
      assert.equal((await fetch(`${base}/api/v1/playbooks/validate`, { method: 'POST', body: '{}' })).status, 401);
    });
  });
}
