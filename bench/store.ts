import { performance } from 'node:perf_hooks';
import { benchStores, emit, note, percentile } from './harness.ts';

/**
 * Raw store throughput through the Store interface (settings repository): batched inserts in
 * transactions, single-row inserts (one transaction each, the worst case), and point reads.
 */
const BATCHED_ROWS = 50_000;
const BATCH = 500;
const SINGLE_ROWS = 2_000;
const READS = 20_000;

export async function run(): Promise<void> {
  for (const open of await benchStores()) {
    const { store, backend, dispose } = await open();
    try {
      note(`store: ${backend} ${store.location}`);
      const value = { verdict: 'malicious', score: 87, sources: ['virustotal', 'abuseipdb'], note: 'x'.repeat(120) };

      let start = performance.now();
      for (let i = 0; i < BATCHED_ROWS; i += BATCH) {
        const entries = Array.from({ length: BATCH }, (_, k) => [`b.${String(i + k).padStart(7, '0')}`, value] as const);
        await store.transaction((tx) => tx.settings.setMany(entries));
      }
      let seconds = (performance.now() - start) / 1000;
      emit({ suite: 'store', metric: 'batched_insert_rows_per_s', value: BATCHED_ROWS / seconds, unit: '1/s', n: BATCHED_ROWS, backend, batch: BATCH });

      const latencies: number[] = [];
      start = performance.now();
      for (let i = 0; i < SINGLE_ROWS; i++) {
        const t0 = performance.now();
        await store.settings.set(`s.${i}`, value);
        latencies.push(performance.now() - t0);
      }
      seconds = (performance.now() - start) / 1000;
      emit({ suite: 'store', metric: 'single_insert_rows_per_s', value: SINGLE_ROWS / seconds, unit: '1/s', n: SINGLE_ROWS, backend });
      emit({ suite: 'store', metric: 'single_insert_p99_ms', value: percentile(latencies, 99), unit: 'ms', n: SINGLE_ROWS, backend });

      const readLatencies: number[] = [];
      start = performance.now();
      for (let i = 0; i < READS; i++) {
        const key = `b.${String((i * 7919) % BATCHED_ROWS).padStart(7, '0')}`;
        const t0 = performance.now();
        const got = await store.settings.get(key);
        readLatencies.push(performance.now() - t0);
        if (got === undefined) throw new Error(`bench read missed ${key}`);
      }
      seconds = (performance.now() - start) / 1000;
      emit({ suite: 'store', metric: 'point_reads_per_s', value: READS / seconds, unit: '1/s', n: READS, backend });
      emit({ suite: 'store', metric: 'point_read_p99_ms', value: percentile(readLatencies, 99), unit: 'ms', n: READS, backend });

      // Concurrent readers: what a busy API sees (PostgreSQL uses its pool; SQLite serialises).
      const CONCURRENT = 20_000;
      start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < CONCURRENT) {
            const i = next++;
            await store.settings.get(`b.${String((i * 104729) % BATCHED_ROWS).padStart(7, '0')}`);
          }
        }),
      );
      seconds = (performance.now() - start) / 1000;
      emit({ suite: 'store', metric: 'concurrent_point_reads_per_s', value: CONCURRENT / seconds, unit: '1/s', n: CONCURRENT, backend, concurrency: 16 });
    } finally {
      await dispose();
    }
  }
}
