import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { httpRequestAction } from '../src/app/http-request-action.ts';
import { builtinActions, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * Acceptance: runs survive SIGKILL. 500 runs of a five-step playbook whose middle step POSTs to a
 * loopback counter server (keyed by idempotency key) are executed by a child process that is killed at
 * random points and restarted. Every run must complete; every key must have exactly one effect; and no
 * call for a key may arrive after that step's completion was committed (a completed step never re-runs).
 */
const RUNS = 500;
const KILLS = 4;

interface Call {
  key: string;
  at: number;
}

let server: Server;
let counterUrl: string;
const calls: Call[] = [];

before(async () => {
  server = createServer((req, res) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    req.resume();
    req.on('end', () => {
      calls.push({ key, at: Date.now() });
      // A little latency so that kills land while requests are in flight.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), Math.random() * 4);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counterUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/effect`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const actions = () => builtinActions().register(httpRequestAction({ allow: ['127.0.0.1/32'] }));

function load(yaml: string): Playbook {
  const { playbook, issues } = parsePlaybookYaml(yaml, { actions: actions() });
  assert.deepEqual(issues, []);
  return playbook as Playbook;
}

function spawnChild(env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [new URL('./engine-crash-child.ts', import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', () => resolve());
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited };
}

for (const backend of testBackends()) {
  describe(`crash recovery (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test(`${RUNS} runs survive ${KILLS} SIGKILLs with every effect exactly once`, { timeout: 90_000 }, async () => {
      calls.length = 0;
      const playbook = load(`
id: crash-five
version: 1
title: Five steps with one side effect
inputs: { n: { type: integer } }
outputs: { n: "{{ inputs.n }}", status: "{{ steps.effect.output.status }}" }
steps:
  - { id: prepare, action: core.transform, with: { value: "{{ inputs.n * 2 }}" } }
  - { id: remember, set: { doubled: "{{ steps.prepare.output }}" } }
  - id: effect
    action: core.http_request
    with: { method: POST, url: "${counterUrl}", json: { run: "{{ run.id }}", doubled: "{{ vars.doubled }}" } }
    retry: { attempts: 5, backoff: 20ms }
  - { id: note, action: core.log, with: { message: "effect done for {{ inputs.n }}" } }
  - { id: finish, action: core.transform, with: { value: "{{ steps.effect.output.status }}" } }
`);
      const engine = new Engine({ store: t.store, actions: actions() });
      const ids = await engine.startRuns(Array.from({ length: RUNS }, (_, n) => ({ playbook, inputs: { n } })));
      let kills = 0;
      for (let round = 0; round < KILLS; round++) {
        const { child, ready, exited } = spawnChild(t.env);
        await ready;
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 250));
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          kills++;
        }
        await exited;
      }
      const last = spawnChild(t.env);
      assert.equal(await last.exited, 0, 'the final runner process finishes cleanly');

      const runs = await t.store.engine.listRuns({ limit: 1000 });
      assert.equal(runs.length, RUNS);
      const notDone = runs.filter((r) => r.status !== 'succeeded');
      assert.deepEqual(
        notDone.map((r) => [r.id, r.status, r.error]),
        [],
        'every run completes',
      );
      const expectedKeys = new Set(ids.map((id) => `${id}:effect`));
      const distinct = new Set(calls.map((c) => c.key));
      assert.deepEqual(
        [...distinct].filter((k) => !expectedKeys.has(k)),
        [],
        'no call outside the expected keys',
      );
      assert.equal(distinct.size, RUNS, 'each run caused its effect (one distinct key per run)');
      // The journal says when each effect step's completion was committed; no call may come after it.
      let lateCalls = 0;
      for (const id of ids) {
        const completed = (await t.store.engine.journal(id)).find((e) => e.stepKey === 'effect' && e.kind === 'step_completed');
        assert.ok(completed, `run ${id} journaled its effect`);
        lateCalls += calls.filter((c) => c.key === `${id}:effect` && c.at > completed.at).length;
      }
      assert.equal(lateCalls, 0, 'a completed step is never executed again');
      const repeated = calls.length - distinct.size;
      process.stderr.write(
        `crash test (${backend.backend}): ${kills} kills, ${calls.length} calls for ${distinct.size} keys (${repeated} in-flight retries with the same key)\n`,
      );
      recordFigure('chaos', 'faults_injected (SIGKILL mid-run)', kills);
      recordFigure('chaos', 'runs_through_faults', RUNS);
      recordFigure('chaos', 'data_lost (runs or effects)', RUNS - distinct.size + notDone.length + lateCalls);
      assert.ok(kills >= 1, 'at least one kill landed');
    });

    test('a run in a 2-second wait and a run waiting on an approval survive a restart', { timeout: 60_000 }, async () => {
      const timer = load(
        'id: nap\nversion: 1\ntitle: Nap\nsteps:\n  - { id: nap, wait: { duration: 2s } }\n  - { id: woke, action: core.transform, with: { value: awake } }\n',
      );
      const approval = load(
        'id: ask\nversion: 1\ntitle: Ask\nsteps:\n  - { id: ask, approval: { prompt: "Contain?" } }\n  - { id: after, action: core.transform, with: { value: "{{ steps.ask.output.actor }}" } }\n',
      );
      const engine = new Engine({ store: t.store, actions: actions() });
      const timerRun = await engine.startRun(timer, {});
      const approvalRun = await engine.startRun(approval, {});
      const started = Date.now();
      const first = spawnChild({ ...t.env, CRASH_CHILD_STAY: '1' });
      await first.ready;
      for (let i = 0; i < 200; i++) {
        const [a, b] = await Promise.all([t.store.engine.getRun(timerRun), t.store.engine.getRun(approvalRun)]);
        if (a?.status === 'waiting' && b?.status === 'waiting') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal((await t.store.engine.getRun(approvalRun))?.status, 'waiting');
      first.child.kill('SIGKILL');
      await first.exited;

      const second = spawnChild({ ...t.env, CRASH_CHILD_STAY: '1' });
      try {
        await second.ready;
        // The decision is written to the store by this process; the restarted runner picks it up.
        await engine.decide(approvalRun, 'ask', { decision: 'approve', actor: 'dana' });
        const approved = await engine.waitForRun(approvalRun, 20_000);
        assert.equal(approved.status, 'succeeded');
        assert.equal(approved.output, 'dana');
        const woke = await engine.waitForRun(timerRun, 20_000);
        assert.equal(woke.status, 'succeeded');
        assert.equal(woke.output, 'awake');
        assert.ok((woke.finishedAt ?? 0) - started >= 2000, 'the wait lasted its 2 seconds across the restart');
      } finally {
        second.child.kill('SIGKILL');
        await second.exited;
      }
    });
  });
}
