import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import type { TestBackend } from '../src/store/testing.ts';
import type { SenderPlan, SenderReport } from './overload-sender.ts';

/**
 * Overload scenario shared by test/chaos-overload.test.ts (short CI profile) and bench/soak.ts (long):
 * a real `riposte serve`-shaped server on loopback, and a second process sending alerts, playbook runs
 * and TAXII reads at fixed rates for a bounded time. Afterwards the store is counted: every alert and run
 * the server acknowledged must be there exactly once, and every refusal must have been a 429 with
 * Retry-After. The server process's RSS is sampled throughout and its slope reported.
 */
export interface OverloadOptions {
  backend: TestBackend;
  /** Alerts per second offered (the documented ingest rate is 5,000/s on SQLite; twice that is the default). */
  alertRate: number;
  /** Alerts per request (default 20). */
  alertBatch?: number;
  runRate: number;
  taxiiRate: number;
  /** Milliseconds per phase (alerts, runs, TAXII run one after another). */
  phaseMs: number;
  /** Intake queue bound: small in CI so 429s are exercised on a slow machine too. */
  maxQueue?: number;
  maxInFlight?: number;
}

export interface PhaseResult {
  phase: 'alerts' | 'runs' | 'taxii';
  report: SenderReport;
  stored: number;
}

export interface OverloadResult {
  phases: PhaseResult[];
  rss: { samples: number; start_mb: number; end_mb: number; max_mb: number; slope_mb_per_min: number };
}

/** A one-step playbook that does nothing quickly: load tests measure Riposte, not the playbook. */
export const NOOP_PLAYBOOK = `
id: overload-noop
version: 1
title: Does nothing, quickly (overload test)
inputs:
  n: { type: number }
steps:
  - id: only
    action: core.transform
    with: { value: "{{ inputs.n }}" }
`;

export function runSender(plan: SenderPlan): Promise<SenderReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./overload-sender.ts', import.meta.url).pathname, JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`overload sender exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as SenderReport);
    });
  });
}

/** Least-squares slope of points (x, y), per unit of x. */
export function slope(samples: Array<[number, number]>): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, [x]) => s + x, 0) / n;
  const my = samples.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of samples) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-overload-'));
  const testStore = await options.backend.open();
  await testStore.store.close();
  mkdirSync(join(dir, 'playbooks'));
  writeFileSync(join(dir, 'playbooks', 'overload-noop.yml'), NOOP_PLAYBOOK);
  const config = loadConfig({
    env: testStore.env,
    cwd: dir,
    overrides: {
      'log.level': 'silent',
      'engine.playbooks_dir': join(dir, 'playbooks'),
      ...(options.maxQueue ? { 'cases.intake.max_queue': options.maxQueue } : {}),
    },
  });
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
  const app = await buildServer(serverServices(runtime));
  const rss: Array<[number, number]> = [];
  const started = Date.now();
  const sampler = setInterval(() => rss.push([Date.now() - started, process.memoryUsage().rss / 1e6]), 250);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await runtime.auth.createUser({ name: 'overload', roles: ['admin'] });
    const authorization = `Bearer ${(await runtime.auth.createToken({ userName: 'overload' })).token}`;
    const before = await runtime.store.backup(() => {});
    const common = { headers: { authorization }, durationMs: options.phaseMs, maxInFlight: options.maxInFlight ?? 256 };
    const phases: PhaseResult[] = [];

    const batch = options.alertBatch ?? 20;
    const alerts = await runSender({
      ...common,
      url: `${base}/api/v1/alerts`,
      method: 'POST',
      body: 'alert',
      rate: options.alertRate / batch,
      batch,
      tag: `ov${process.pid}`,
    });
    let counts = await runtime.store.backup(() => {});
    phases.push({ phase: 'alerts', report: alerts, stored: (counts.alerts ?? 0) - (before.alerts ?? 0) });

    const runs = await runSender({
      ...common,
      url: `${base}/api/v1/playbooks/overload-noop/runs`,
      method: 'POST',
      body: 'run',
      rate: options.runRate,
      tag: 'runs',
    });
    counts = await runtime.store.backup(() => {});
    phases.push({ phase: 'runs', report: runs, stored: (counts.engine_runs ?? 0) - (before.engine_runs ?? 0) });

    const taxii = await runSender({
      ...common,
      headers: { authorization, accept: 'application/taxii+json;version=2.1' },
      url: `${base}/taxii2/default/collections/`,
      method: 'GET',
      body: 'none',
      rate: options.taxiiRate,
      tag: 'taxii',
    });
    phases.push({ phase: 'taxii', report: taxii, stored: 0 });

    const mbs = rss.map(([, y]) => y);
    return {
      phases,
      rss: {
        samples: rss.length,
        start_mb: Math.round(mbs[0] ?? 0),
        end_mb: Math.round(mbs.at(-1) ?? 0),
        max_mb: Math.round(Math.max(...mbs)),
        slope_mb_per_min: Math.round(slope(rss) * 60_000 * 10) / 10,
      },
    };
  } finally {
    clearInterval(sampler);
    await app.close();
    await runtime.close();
    await testStore.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
