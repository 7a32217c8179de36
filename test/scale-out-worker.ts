import { z } from 'zod';
import { startWorker } from '../src/app/index.ts';
import { loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';

/**
 * A `riposte worker` for the scale-out tests: the real worker (startWorker: leases, fence, NOTIFY, health,
 * graceful stop) plus one instrumented side effect, `lab.effect`, that POSTs to the test's loopback
 * receiver with the step's idempotency key and this worker's name, so the receiver can tell who did what.
 */
const name = process.env.SCALE_WORKER_NAME ?? `w${process.pid}`;
const effect = defineAction({
  id: 'lab.effect',
  title: 'Record a side effect at the test receiver',
  impact: 'write',
  input: z.object({ url: z.string() }),
  async run(input, context) {
    const response = await fetch(input.url, {
      method: 'POST',
      headers: { 'idempotency-key': context.idempotencyKey, 'x-worker': name },
      signal: context.signal,
    });
    if (!response.ok) throw new Error(`receiver answered ${response.status}`);
    return (await response.json()) as { worker: string };
  },
});
const worker = await startWorker(loadConfig(), {
  id: name,
  concurrency: Number(process.env.SCALE_WORKER_CONCURRENCY ?? 100),
  // Long enough that a live worker starved of CPU on a loaded 2-core machine keeps its leases (heartbeats
  // every third of it); the partition test shortens it, and a SIGKILLed worker's runs are taken over after it.
  leaseMs: Number(process.env.SCALE_WORKER_LEASE_MS ?? 6000),
  pollMs: Number(process.env.SCALE_WORKER_POLL_MS ?? 200),
  graceMs: 10_000,
  healthPort: 0,
  extendActions: (actions) => void actions.register(effect),
});
process.stdout.write(`ready ${worker.healthUrl}\n`);
const stop = () => {
  void worker.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
