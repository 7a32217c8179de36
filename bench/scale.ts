import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { builtinActions, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import { type NewRun, openStore, type Store } from '../src/store/index.ts';
import { DEFAULT_BENCH_PG_URL, emit, note, percentile } from './harness.ts';

/**
 * Scale-out on PostgreSQL: five-step runs/s and p99 step latency with 1, 2 and 4 `riposte worker`
 * processes (the real CLI, each its own process), and how long a claim takes with 1,000,000 finished runs
 * in history. Step latency is measured from the journal: the time between one step's committed completion
 * and the next one's (the first step is left out: it includes the time the run sat in the queue).
 * Workers and PostgreSQL share this machine's cores, so more workers than cores measure contention too.
 */
const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 2000);
const HISTORY = Number(process.env.BENCH_SCALE_HISTORY ?? 1_000_000);
const WORKER_COUNTS = [1, 2, 4];

const PLAYBOOK_YAML = `id: bench-five
version: 1
title: Five steps
inputs: { n: { type: integer } }
outputs: { n: "{{ steps.s5.output }}" }
steps:
  - { id: s1, action: core.transform, with: { value: "{{ inputs.n + 1 }}" } }
  - { id: s2, action: core.transform, with: { value: "{{ steps.s1.output * 2 }}" } }
  - { id: s3, action: core.log, with: { message: "n={{ steps.s2.output }}", level: debug } }
  - { id: s4, action: core.transform, with: { value: "{{ steps.s2.output - 1 }}" } }
  - { id: s5, action: core.transform, with: { value: "{{ steps.s4.output }}" } }
`;

interface Schema {
  url: string;
  name: string;
  store: Store;
  drop(): Promise<void>;
}

async function openSchema(url: string, label: string, poolSize = 10): Promise<Schema> {
  const name = `bench_scale_${label}_${process.pid}_${Date.now().toString(36)}`;
  const store = await openStore({ databaseUrl: url, schema: name, poolSize });
  return {
    url,
    name,
    store,
    async drop() {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists "${name}" cascade`);
      await client.end();
    },
  };
}

function startWorker(schema: Schema, index: number): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['./riposte', 'worker', '--concurrency', '300', '--lease', '30s', '--poll', '500ms'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, RIPOSTE_DATABASE_URL: schema.url, RIPOSTE_DATABASE_SCHEMA: schema.name, RIPOSTE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('running playbooks')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker ${index} exited (${code}): ${text.trim()}`)));
  });
  return { child, ready };
}

async function measureWorkers(url: string, playbook: Playbook, workers: number): Promise<void> {
  const schema = await openSchema(url, `w${workers}`);
  const children = Array.from({ length: workers }, (_, i) => startWorker(schema, i));
  try {
    await Promise.all(children.map((c) => c.ready));
    const engine = new Engine({ store: schema.store, actions: builtinActions() });
    const started = performance.now();
    const ids = await engine.startRuns(Array.from({ length: RUNS }, (_, n) => ({ playbook, inputs: { n } })));
    for (;;) {
      const active = await schema.store.engine.listRuns({ status: ['queued', 'running', 'waiting'], limit: 1 });
      if (active.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const failed = (await schema.store.engine.listRuns({ status: ['failed', 'cancelled'], limit: 10 })).length;
    const gaps: number[] = [];
    const journals = await schema.store.engine.journals(ids);
    for (const journal of journals.values()) {
      const completed = journal.filter((e) => e.kind === 'step_completed').map((e) => e.at);
      for (let i = 1; i < completed.length; i++) gaps.push((completed[i] as number) - (completed[i - 1] as number));
    }
    emit({ suite: 'scale', metric: 'five_step_runs_per_s', value: RUNS / seconds, unit: '1/s', n: RUNS, backend: 'postgres', workers, failed });
    emit({ suite: 'scale', metric: 'step_latency_p99', value: percentile(gaps, 99), unit: 'ms', n: gaps.length, backend: 'postgres', workers });
    emit({ suite: 'scale', metric: 'step_latency_p50', value: percentile(gaps, 50), unit: 'ms', n: gaps.length, backend: 'postgres', workers });
  } finally {
    for (const c of children) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((resolve) => (c.child.exitCode === null ? c.child.on('exit', resolve) : resolve(null)))));
    await schema.drop();
  }
}

/** Claim latency: 200 claims of 10 runs among 2,000 due runs, with `history` finished runs beside them. */
async function measureClaims(url: string, playbook: Playbook, history: number): Promise<void> {
  const schema = await openSchema(url, `h${history}`, 4);
  try {
    // History rows carry a small stand-in definition: what matters for claiming is how many rows there are.
    const definition = { id: 'history', version: 1, steps: [] };
    const now = Date.now();
    const loadStart = performance.now();
    const batch: NewRun[] = [];
    const flush = async () => {
      await schema.store.engine.insertRuns(batch.splice(0));
    };
    for (let i = 0; i < history; i++) {
      batch.push({
        id: `00000000-hist-${String(i).padStart(12, '0')}`,
        playbookId: `history-${i % 50}`,
        playbookVersion: 1,
        definition,
        inputs: {},
        status: 'succeeded',
        wakeAt: null,
        createdAt: now - history + i,
      });
      if (batch.length === 5000) await flush();
    }
    await flush();
    if (history > 0) note(`bench scale: loaded ${history} finished runs in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
    const engine = new Engine({ store: schema.store, actions: builtinActions() });
    await engine.startRuns(Array.from({ length: 2000 }, (_, n) => ({ playbook, inputs: { n } })));
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      const rows = await schema.store.engine.claimRunnable('bench-claimer', Date.now(), 60_000, 10);
      samples.push(performance.now() - start);
      if (rows.length === 0) break;
    }
    for (const p of [50, 99]) {
      emit({
        suite: 'scale',
        metric: `claim_latency_p${p}`,
        value: percentile(samples, p),
        unit: 'ms',
        n: samples.length,
        backend: 'postgres',
        finished_runs_in_history: history,
        batch: 10,
      });
    }
  } finally {
    await schema.drop();
  }
}

export async function run(): Promise<void> {
  const url = process.env.RIPOSTE_BENCH_PG_URL || process.env.RIPOSTE_TEST_PG_URL || DEFAULT_BENCH_PG_URL;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
  } catch (error) {
    note(`bench scale: PostgreSQL at ${url.replace(/:[^:@/]*@/, '@')} not reachable (${(error as Error).message}); the scale suite needs it`);
    return;
  }
  const { playbook, issues } = parsePlaybookYaml(PLAYBOOK_YAML, { actions: builtinActions() });
  if (issues.length > 0 || playbook === undefined) throw new Error(`bench playbook invalid: ${JSON.stringify(issues)}`);
  for (const workers of WORKER_COUNTS) await measureWorkers(url, playbook as Playbook, workers);
  await measureClaims(url, playbook as Playbook, 0);
  await measureClaims(url, playbook as Playbook, HISTORY);
}
