import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { builtinActions, defineAction, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import type { Store } from '../src/store/index.ts';
import { benchStores, emit, note, percentile } from './harness.ts';

/**
 * The durable engine with no-op actions, so what is measured is the engine itself: claiming, the
 * interpreter, journaling every step (group commit) and finishing runs.
 * - five_step: many concurrent runs of a 5-step sequential playbook → runs/s and journaled steps/s;
 * - foreach_20: runs of a 20-wide foreach → journaled steps/s;
 * - step overhead: one run at a time, the gap between one action returning and the next one starting
 *   (journal commit + decision), p50/p99; also reported under the five_step load.
 */
const FIVE_STEP_RUNS = Number(process.env.BENCH_ENGINE_RUNS ?? 20_000);
const FOREACH_RUNS = Number(process.env.BENCH_ENGINE_FOREACH_RUNS ?? 1_000);
const LATENCY_RUNS = 300;

const calls = new Map<string, { start: number; end: number }>();
let recordCalls = false;

const actions = builtinActions().register(
  defineAction({
    id: 'bench.noop',
    title: 'Does nothing',
    impact: 'read',
    input: z.object({ n: z.unknown().optional() }),
    run: (_input, context) => {
      if (recordCalls) {
        const now = performance.now();
        calls.set(context.idempotencyKey, { start: now, end: now });
      }
      return { ok: true };
    },
  }),
);

function load(yaml: string): Playbook {
  const { playbook, issues } = parsePlaybookYaml(yaml, { actions });
  if (!playbook) throw new Error(JSON.stringify(issues));
  return playbook;
}

const fiveStep = load(`
id: bench-five
version: 1
title: Five no-op steps
inputs: { n: { type: integer } }
steps:
  - { id: s1, action: bench.noop, with: { n: "{{ inputs.n }}" } }
  - { id: s2, action: bench.noop, with: { n: "{{ steps.s1.output.ok }}" } }
  - { id: s3, action: bench.noop }
  - { id: s4, action: bench.noop }
  - { id: s5, action: bench.noop }
`);

const foreach20 = load(`
id: bench-foreach
version: 1
title: Twenty-wide foreach
inputs: { n: { type: integer } }
steps:
  - id: each
    foreach:
      items: "{{ range(20) }}"
      concurrency: 20
      do:
        - { id: hit, action: bench.noop, with: { n: "{{ item }}" } }
`);

async function runAll(store: Store, playbook: Playbook, count: number, batch = 2000): Promise<number> {
  const engine = new Engine({ store, actions, runner: { exclusive: true, pollMs: 20, maxActiveRuns: 2000 } });
  let finished = 0;
  let failed = 0;
  const done = new Promise<void>((resolve) => {
    engine.onEvent((event) => {
      if (event.type !== 'run') return;
      if (event.status !== 'succeeded') failed++;
      if (++finished === count) resolve();
    });
  });
  const start = performance.now();
  await engine.start();
  for (let i = 0; i < count; i += batch) {
    await engine.startRuns(Array.from({ length: Math.min(batch, count - i) }, (_, k) => ({ playbook, inputs: { n: i + k } })));
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  await engine.stop();
  if (failed > 0) throw new Error(`${failed} bench runs did not succeed`);
  return seconds;
}

function stepGaps(runIds: Iterable<string>, keys: string[]): number[] {
  const gaps: number[] = [];
  for (const id of runIds) {
    for (let i = 1; i < keys.length; i++) {
      const previous = calls.get(`${id}:${keys[i - 1]}`);
      const next = calls.get(`${id}:${keys[i]}`);
      if (previous && next) gaps.push(next.start - previous.end);
    }
  }
  return gaps;
}

export async function run(): Promise<void> {
  for (const open of await benchStores()) {
    const { store, backend, dispose } = await open();
    try {
      note(`engine: ${backend} ${store.location}`);
      // Warm-up: compile statements, JIT the interpreter.
      await runAll(store, fiveStep, 500);

      recordCalls = true;
      calls.clear();
      const seconds = await runAll(store, fiveStep, FIVE_STEP_RUNS);
      recordCalls = false;
      const loadRunIds = new Set([...calls.keys()].map((key) => key.split(':')[0] as string));
      const loadGaps = stepGaps(loadRunIds, ['s1', 's2', 's3', 's4', 's5']);
      emit({ suite: 'engine', metric: 'five_step_runs_per_s', value: FIVE_STEP_RUNS / seconds, unit: '1/s', n: FIVE_STEP_RUNS, backend });
      emit({ suite: 'engine', metric: 'five_step_journaled_steps_per_s', value: (FIVE_STEP_RUNS * 5) / seconds, unit: '1/s', n: FIVE_STEP_RUNS * 5, backend });
      emit({ suite: 'engine', metric: 'five_step_under_load_step_gap_p50_ms', value: percentile(loadGaps, 50), unit: 'ms', n: loadGaps.length, backend });
      emit({ suite: 'engine', metric: 'five_step_under_load_step_gap_p99_ms', value: percentile(loadGaps, 99), unit: 'ms', n: loadGaps.length, backend });

      const foreachSeconds = await runAll(store, foreach20, FOREACH_RUNS, 500);
      emit({ suite: 'engine', metric: 'foreach_20_runs_per_s', value: FOREACH_RUNS / foreachSeconds, unit: '1/s', n: FOREACH_RUNS, backend });
      emit({
        suite: 'engine',
        metric: 'foreach_20_journaled_steps_per_s',
        value: (FOREACH_RUNS * 20) / foreachSeconds,
        unit: '1/s',
        n: FOREACH_RUNS * 20,
        backend,
      });

      // One run at a time: the per-step overhead a single playbook sees.
      const engine = new Engine({ store, actions, runner: { exclusive: true, pollMs: 20 } });
      await engine.start();
      recordCalls = true;
      calls.clear();
      const ids: string[] = [];
      for (let i = 0; i < LATENCY_RUNS; i++) {
        const id = await engine.startRun(fiveStep, { n: i });
        ids.push(id);
        const finished = await engine.waitForRun(id, 10_000);
        if (finished.status !== 'succeeded') throw new Error(`latency run ${id} ${finished.status}`);
      }
      recordCalls = false;
      await engine.stop();
      const gaps = stepGaps(ids, ['s1', 's2', 's3', 's4', 's5']);
      emit({ suite: 'engine', metric: 'step_overhead_p50_ms', value: percentile(gaps, 50), unit: 'ms', n: gaps.length, backend });
      emit({ suite: 'engine', metric: 'step_overhead_p99_ms', value: percentile(gaps, 99), unit: 'ms', n: gaps.length, backend });
    } finally {
      await dispose();
    }
  }
}
