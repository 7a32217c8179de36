import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type Backend, openStore, type Store } from '../src/store/index.ts';

/**
 * Shared pieces for benchmark suites. A suite measures and prints one JSON object per line on stdout
 * (DESIGN.md §3); it never asserts a figure. Human notes go to stderr.
 */
export interface BenchResult {
  suite: string;
  metric: string;
  value: number;
  unit: string;
  n: number;
  backend?: Backend;
  [extra: string]: unknown;
}

export function emit(result: BenchResult): void {
  const rounded = { ...result, value: Math.round(result.value * 1000) / 1000 };
  process.stdout.write(`${JSON.stringify(rounded)}\n`);
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

export const DEFAULT_BENCH_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchStore {
  store: Store;
  backend: Backend;
  dispose(): Promise<void>;
}

/**
 * The backends to measure: SQLite always; PostgreSQL at RIPOSTE_BENCH_PG_URL, else RIPOSTE_TEST_PG_URL,
 * else the local default — skipped with a note on stderr when it does not answer.
 */
export async function benchStores(options: { poolSize?: number } = {}): Promise<Array<() => Promise<BenchStore>>> {
  const openers: Array<() => Promise<BenchStore>> = [
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-'));
      const store = await openStore({ dataDir: dir });
      const dispose = async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      };
      return { store, backend: 'sqlite', dispose };
    },
  ];
  const url = process.env.RIPOSTE_BENCH_PG_URL || process.env.RIPOSTE_TEST_PG_URL || DEFAULT_BENCH_PG_URL;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
    openers.push(async () => {
      const schema = `bench_${process.pid}_${Date.now().toString(36)}`;
      const store = await openStore({ databaseUrl: url, schema, poolSize: options.poolSize });
      return {
        store,
        backend: 'postgres',
        async dispose() {
          await store.close();
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query(`drop schema if exists "${schema}" cascade`);
          await client.end();
        },
      };
    });
  } catch (error) {
    note(`bench: PostgreSQL at ${url.replace(/:[^:@/]*@/, '@')} not reachable (${(error as Error).message}); measuring SQLite only`);
  }
  return openers;
}

/** Percentile of an unsorted sample (nearest-rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await work();
  return { ms: performance.now() - start, result };
}
