import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { ActionRegistry, builtinActions, defineAction, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Acceptance for scale-out on PostgreSQL: three worker processes share 1,000 five-step runs whose every
 * step is a side effect at a loopback receiver (keyed by idempotency key, tagged with the calling worker).
 * One worker is SIGKILLed mid-run and another stopped with SIGTERM; every run must complete, every key
 * must have taken effect exactly once, and no key may be in flight on two workers at the same time.
 * Then a partition: a worker reaching PostgreSQL through a loopback proxy is cut off mid-step, another
 * worker takes the run over, and the cut-off worker's late result must never be committed.
 */
const RUNS = 1000;
const STEPS = 5;
const pg = testBackends().find((b) => b.backend === 'postgres');

interface Call {
  key: string;
  worker: string;
  start: number;
  end: number;
}

/** The receiver: applies each idempotency key once (later calls with the key get the first answer). */
class Receiver {
  readonly calls: Call[] = [];
  readonly applied = new Map<string, string>();
  /** Keys whose first caller is held until released (the partition test). */
  readonly hold = new Map<string, () => void>();
  holdNext: ((key: string) => boolean) | undefined;
  server: Server;
  url = '';

  constructor() {
    this.server = createHttpServer((req, res) => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const worker = String(req.headers['x-worker'] ?? '');
      const call: Call = { key, worker, start: Date.now(), end: Number.POSITIVE_INFINITY };
      this.calls.push(call);
      req.resume();
      req.on('end', () => {
        const answer = () => {
          if (!this.applied.has(key)) this.applied.set(key, worker);
          call.end = Date.now();
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ worker: this.applied.get(key), caller: worker }));
        };
        if (this.holdNext?.(key)) {
          this.holdNext = undefined;
          this.hold.set(key, answer);
          return;
        }
        setTimeout(answer, 1 + Math.random() * 6);
      });
      // A caller killed mid-request: its call ends when its socket goes.
      res.on('close', () => {
        if (call.end === Number.POSITIVE_INFINITY) call.end = Date.now();
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/effect`;
  }
}

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<number | null>;
}

function spawnWorker(name: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [new URL('./scale-out-worker.ts', import.meta.url).pathname], {
    env: { ...process.env, ...env, SCALE_WORKER_NAME: name, RIPOSTE_LOG_LEVEL: 'fatal' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /ready (\S+)/.exec(buffered);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`worker ${name} exited (${code}) before it was ready`)));
  });
  ready.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, child, ready, exited };
}

/** A loopback TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function startProxy(target: { host: string; port: number }): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: TcpServer = createTcpServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function metric(healthUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').pop() ?? Number.NaN);
}

function load(yaml: string): Playbook {
  // The test process only starts runs; the effect action exists here for validation (workers execute it).
  const actions = builtinActions().register(
    defineAction({ id: 'lab.effect', title: 'effect', impact: 'write', input: z.object({ url: z.string() }), run: () => ({}) }),
  );
  const { playbook, issues } = parsePlaybookYaml(yaml, { actions: actions as ActionRegistry });
  assert.deepEqual(issues, []);
  return playbook as Playbook;
}

describe('scale-out on PostgreSQL', { skip: pg === undefined ? 'RIPOSTE_TEST_PG_URL is not set' : false }, () => {
  let t: TestStore;
  const receiver = new Receiver();
  const workers: WorkerProcess[] = [];
  before(async () => {
    t = await (pg as NonNullable<typeof pg>).open();
    await receiver.listen();
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    await t.dispose();
  });

  test(`3 workers, ${RUNS} five-step runs, one SIGKILLed and one stopped gracefully: every effect exactly once, never on two workers at once`, {
    timeout: 240_000,
  }, async () => {
    const steps = Array.from({ length: STEPS }, (_, i) => `  - { id: s${i + 1}, action: lab.effect, with: { url: "${receiver.url}" } }`).join('\n');
    const playbook = load(`id: scale-five\nversion: 1\ntitle: Five side effects\noutputs: { last: "{{ steps.s5.output.worker }}" }\nsteps:\n${steps}\n`);
    const engine = new Engine({ store: t.store, actions: new ActionRegistry() });
    const ids = await engine.startRuns(Array.from({ length: RUNS }, () => ({ playbook, inputs: {} })));
    const total = RUNS * STEPS;
    for (const name of ['alpha', 'bravo', 'charlie']) workers.push(spawnWorker(name, t.env));
    const [alpha, bravo, charlie] = workers as [WorkerProcess, WorkerProcess, WorkerProcess];
    await Promise.all(workers.map((w) => w.ready));

    await until('a fifth of the effects', () => receiver.applied.size >= total / 5, 100_000);
    alpha.child.kill('SIGKILL');
    await until('half of the effects', () => receiver.applied.size >= total / 2, 100_000);
    bravo.child.kill('SIGTERM');
    assert.equal(await bravo.exited, 0, 'the gracefully stopped worker exits cleanly after handing its leases back');
    await until(
      'every run to finish',
      async () => (await t.store.engine.listRuns({ status: ['queued', 'running', 'waiting'], limit: 1 })).length === 0,
      150_000,
    );

    const runs = await t.store.engine.listRuns({ limit: 1000 });
    assert.equal(runs.length, RUNS);
    assert.deepEqual(
      runs.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status, r.error]),
      [],
      'every run completes',
    );
    const expected = new Set(ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id}:s${i + 1}`)));
    assert.equal(receiver.applied.size, total, 'every step took effect');
    assert.deepEqual(
      [...receiver.applied.keys()].filter((k) => !expected.has(k)),
      [],
      'no effect outside the expected keys',
    );
    // Repeated calls with one key happen only when the worker that made the first call died (SIGKILL):
    // the step runs again, with the same key, on the worker that took the run over.
    const byKey = new Map<string, Call[]>();
    for (const call of receiver.calls) byKey.set(call.key, [...(byKey.get(call.key) ?? []), call]);
    const repeatedNotAfterKill = [...byKey.entries()].filter(([, calls]) => calls.length > 1 && calls[0]?.worker !== 'alpha').map(([key]) => key);
    assert.deepEqual(repeatedNotAfterKill, [], 'no step was executed twice except after its worker was killed');
    let overlaps = 0;
    for (const calls of byKey.values()) {
      for (const a of calls) for (const b of calls) if (a !== b && a.worker !== b.worker && a.start < b.end && b.start < a.end) overlaps++;
    }
    assert.equal(overlaps, 0, 'no step was in flight on two workers at once');
    const workersSeen = new Set(receiver.calls.map((c) => c.worker));
    assert.deepEqual([...workersSeen].sort(), ['alpha', 'bravo', 'charlie'], 'all three workers shared the work');
    // A completed step is never executed again: no call for a key after its completion was committed.
    let late = 0;
    for (const id of ids.slice(0, 200)) {
      for (const entry of await t.store.engine.journal(id)) {
        if (entry.kind !== 'step_completed') continue;
        late += (byKey.get(`${id}:${entry.stepKey}`) ?? []).filter((c) => c.start > entry.at).length;
      }
    }
    assert.equal(late, 0, 'no call after a step’s completion was committed');
    process.stderr.write(
      `scale-out: ${receiver.calls.length} calls for ${receiver.applied.size} keys; by worker ${JSON.stringify(
        Object.fromEntries([...workersSeen].map((w) => [w, receiver.calls.filter((c) => c.worker === w).length])),
      )}\n`,
    );
    charlie.child.kill('SIGTERM');
    assert.equal(await charlie.exited, 0);
  });

  test('a worker cut off from PostgreSQL mid-step loses its lease and never commits its stale result', { timeout: 60_000 }, async () => {
    const url = new URL(t.env.RIPOSTE_DATABASE_URL as string);
    const proxy = await startProxy({ host: url.hostname, port: Number(url.port || 5432) });
    try {
      const viaProxy = new URL(url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const playbook = load(
        `id: partition\nversion: 1\ntitle: One held effect\noutputs: { by: "{{ steps.effect.output.caller }}" }\nsteps:\n  - { id: effect, action: lab.effect, with: { url: "${receiver.url}" } }\n`,
      );
      const engine = new Engine({ store: t.store, actions: new ActionRegistry() });
      const lease = { SCALE_WORKER_LEASE_MS: '1500' };
      let heldKey: string | undefined;
      receiver.holdNext = (key) => {
        heldKey = key;
        return true;
      };
      const delta = spawnWorker('delta', { ...t.env, ...lease, RIPOSTE_DATABASE_URL: viaProxy.toString() });
      workers.push(delta);
      const deltaHealth = await delta.ready;
      const runId = await engine.startRun(playbook, {});
      await until('delta to be mid-step', () => heldKey !== undefined && receiver.hold.has(heldKey), 20_000);
      proxy.cut();

      const echo = spawnWorker('echo', { ...t.env, ...lease });
      workers.push(echo);
      await echo.ready;
      const done = await until(
        'echo to take the run over and finish it',
        async () => {
          const run = await t.store.engine.getRun(runId);
          return run?.status === 'succeeded' ? run : undefined;
        },
        20_000,
      );
      assert.deepEqual(done.output, { by: 'echo' }, 'the worker that took over finished the run');

      // Delta gets its answer and its database back: its result for the step is now stale.
      proxy.restore();
      receiver.hold.get(heldKey as string)?.();
      await until(
        'delta to notice it lost the lease',
        async () => ((await metric(deltaHealth, 'riposte_worker_leases_lost_total')) >= 1 ? true : undefined),
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refused = await metric(deltaHealth, 'riposte_worker_stale_results_refused_total');
      process.stderr.write(`partition: delta lost its lease; stale results refused by the commit fence: ${refused} (else found by heartbeat first)\n`);
      const journal = await t.store.engine.journal(runId);
      const completions = journal.filter((e) => e.stepKey === 'effect' && e.kind === 'step_completed');
      assert.equal(completions.length, 1, 'the step was committed once');
      assert.equal(
        (completions[0]?.data as { output?: { caller?: string } } | undefined)?.output?.caller,
        'echo',
        'by the worker holding the lease, not the cut-off one',
      );
      const after = await t.store.engine.getRun(runId);
      assert.equal(after?.status, 'succeeded');
      assert.equal(after?.leaseOwner, null, 'the cut-off worker did not re-acquire or keep the run');
      delta.child.kill('SIGTERM');
      echo.child.kill('SIGTERM');
      await Promise.all([delta.exited, echo.exited]);
    } finally {
      await proxy.close();
    }
  });
});
