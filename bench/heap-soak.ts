import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openRuntime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import { testBackends } from '../src/store/testing.ts';
import { NOOP_PLAYBOOK, runSender, slope } from '../test/overload-harness.ts';
import { emit, note } from './harness.ts';

/**
 * Does the server's memory settle under steady work, or grow? RSS alone cannot say (the allocator keeps
 * freed pages, caches warm up), so this measures the JavaScript heap *after a full garbage collection* at
 * the end of each round: alerts at a steady rate from a second process, then playbook runs, then a pause
 * until the runner is idle. A leak shows as a heap floor that keeps rising round after round; a warming
 * cache as a floor that rises for a few rounds and then stays flat. Prints the floor per round and the
 * slope over the second half of the rounds.
 *   npm run bench -- heap-soak            (RIPOSTE_HEAP_ROUNDS=10, RIPOSTE_HEAP_ROUND_MS=10000)
 */

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.RIPOSTE_HEAP_ROUNDS ?? 10);
  const roundMs = Number(process.env.RIPOSTE_HEAP_ROUND_MS ?? 10_000);
  const alertRate = Number(process.env.RIPOSTE_HEAP_ALERT_RATE ?? 1000);
  const gc = collectGarbage();
  for (const backend of testBackends()) {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-heap-'));
    const testStore = await backend.open();
    await testStore.store.close();
    mkdirSync(join(dir, 'playbooks'));
    writeFileSync(join(dir, 'playbooks', 'overload-noop.yml'), NOOP_PLAYBOOK);
    const config = loadConfig({ env: testStore.env, cwd: dir, overrides: { 'log.level': 'silent', 'engine.playbooks_dir': join(dir, 'playbooks') } });
    const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
    const app = await buildServer(serverServices(runtime));
    await runtime.engine.start();
    const floors: Array<[number, number]> = [];
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      await runtime.auth.createUser({ name: 'heap', roles: ['admin'] });
      const authorization = `Bearer ${(await runtime.auth.createToken({ userName: 'heap' })).token}`;
      const common = { headers: { authorization }, maxInFlight: 64 };
      let alerts = 0;
      let runs = 0;
      for (let round = 1; round <= rounds; round++) {
        const sent = await runSender({
          ...common,
          url: `${base}/api/v1/alerts`,
          method: 'POST',
          body: 'alert',
          rate: alertRate / 20,
          batch: 20,
          durationMs: roundMs,
          tag: `heap${round}`,
        });
        const started = await runSender({
          ...common,
          url: `${base}/api/v1/playbooks/overload-noop/runs`,
          method: 'POST',
          body: 'run',
          rate: 50,
          durationMs: roundMs / 2,
          tag: `heap-runs${round}`,
        });
        alerts += sent.created;
        runs += started.created;
        await runtime.cases.drain();
        await runtime.engine.runner.idle();
        gc();
        gc();
        const heapMb = process.memoryUsage().heapUsed / 1e6;
        const rssMb = process.memoryUsage().rss / 1e6;
        floors.push([round, heapMb]);
        note(
          `heap-soak ${backend.backend} round ${round}/${rounds}: ${alerts} alerts, ${runs} runs; heap after GC ${heapMb.toFixed(1)} MB, RSS ${rssMb.toFixed(0)} MB`,
        );
        emit({
          suite: 'heap-soak',
          metric: 'heap_after_gc_mb',
          value: heapMb,
          unit: 'MB',
          n: alerts,
          backend: backend.backend,
          round,
          runs,
          rss_mb: Math.round(rssMb),
        });
      }
      const secondHalf = floors.slice(Math.floor(floors.length / 2));
      emit({
        suite: 'heap-soak',
        metric: 'heap_floor_slope_mb_per_round',
        value: slope(secondHalf),
        unit: 'MB/round',
        n: secondHalf.length,
        backend: backend.backend,
        round_ms: roundMs,
        alert_rate: alertRate,
        alerts_per_round: Math.round(alerts / rounds),
        runs_per_round: Math.round(runs / rounds),
      });
    } finally {
      await app.close();
      await runtime.close();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
