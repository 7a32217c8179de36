import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import { openRuntime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import { SIMULATOR_SLACK_BOT_TOKEN, startSlackSimulator, startTeamsSimulator } from '../src/lab/index.ts';
import { buildServer } from '../src/server/index.ts';
import { DEFAULT_BENCH_PG_URL, emit, note, percentile } from './harness.ts';

/**
 * Time from the approval click to the action starting: a run's destructive step is held by policy
 * (two approvers); the first approver decides, then the clock starts when the second approver's HTTP
 * decide call (Fastify inject: the full route, auth, validation and handler, no socket) is sent, and
 * stops when the action's code starts running in the runner. One approval at a time, so each sample
 * is the latency of one release, not a queue.
 */
const APPROVALS = Number(process.env.RIPOSTE_BENCH_APPROVALS ?? 200);
/**
 * `RIPOSTE_BENCH_APPROVALS_CHANNELS=1` measures again with the Slack and Teams channels configured (lab
 * simulators): every decision then also writes its channel messages to the outbox in the same transaction,
 * and the deliverer posts them while the next approvals are decided.
 */
const WITH_CHANNELS = process.env.RIPOSTE_BENCH_APPROVALS_CHANNELS === '1';

const POLICY = `
id: bench-two-person
version: 1
defaults:
  approval: { approvers: 2, roles: [approver, admin], expires: 1h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: two-person
    impact: [destructive]
    decision: require_approval
    approval: { approvers: 2, expires: 1h }
    reason: "blocking needs two people"
`;
const PLAYBOOK = `
id: bench-block
version: 1
title: Block (approval benchmark)
inputs: { ip: { type: ip } }
steps:
  - { id: block, action: lab.block_ip, with: { ip: "{{ inputs.ip }}" } }
`;

async function measure(backend: 'sqlite' | 'postgres', pgUrl: string | undefined, channels = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-approvals-'));
  mkdirSync(join(dir, 'playbooks'));
  writeFileSync(join(dir, 'policy.yml'), POLICY);
  writeFileSync(join(dir, 'playbooks', 'bench-block.yml'), PLAYBOOK);
  const schema = `bench_approvals_${process.pid}`;
  const started = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const action = defineAction({
    id: 'lab.block_ip',
    title: 'Block an IP (loopback)',
    impact: 'destructive',
    input: z.object({ ip: z.string() }),
    run(_input, context) {
      started.set(context.runId, performance.now());
      waiters.get(context.runId)?.();
      return { ok: true };
    },
  });
  const slack = channels ? await startSlackSimulator() : undefined;
  const teams = channels ? await startTeamsSimulator() : undefined;
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      'log.level': 'silent',
      ...(slack && teams
        ? {
            'integrations.http_allow': ['127.0.0.1'],
            'slack.bot_token': SIMULATOR_SLACK_BOT_TOKEN,
            'slack.api_url': `${slack.url}/api`,
            'approvals.channels': { slack: { channel: 'C0SOC' }, teams: { webhook_url: teams.webhookUrl } },
          }
        : {}),
      data_dir: dir,
      'engine.playbooks_dir': join(dir, 'playbooks'),
      'policy.file': join(dir, 'policy.yml'),
      ...(backend === 'postgres' ? { database_url: pgUrl, database_schema: schema } : {}),
    },
  });
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {}, actions: [action] });
  const app = await buildServer(serverServices(runtime));
  await app.ready();
  await runtime.engine.start();
  try {
    const headers: Record<string, { authorization: string }> = {};
    for (const name of ['alice', 'bob']) {
      await runtime.auth.createUser({ name, roles: ['approver'] });
      headers[name] = { authorization: `Bearer ${(await runtime.auth.createToken({ userName: name })).token}` };
    }
    const playbook = runtime.playbooks.get('bench-block');
    if (!playbook) throw new Error('bench-block playbook did not load');
    const runIds = await runtime.engine.startRuns(
      Array.from({ length: APPROVALS }, (_, i) => ({ playbook, inputs: { ip: `203.0.${Math.floor(i / 250)}.${(i % 250) + 1}` } })),
      { startedBy: 'rita' },
    );
    for (const id of runIds) await runtime.engine.waitForRun(id, 60_000, { untilWaiting: true });
    const pending = new Map<string, { id: string; hash: string }>();
    for (const record of await runtime.store.approvals.listPending({ limit: APPROVALS + 10 })) {
      const doc = record.document as { id: string; arguments_hash: string; context: { run_id: string } };
      pending.set(doc.context.run_id, { id: doc.id, hash: doc.arguments_hash });
    }
    note(`approvals (${backend}): ${pending.size} approvals open; deciding one at a time`);
    const samples: number[] = [];
    for (const runId of runIds) {
      const approval = pending.get(runId);
      if (!approval) continue;
      const decide = (who: string) =>
        app.inject({
          method: 'POST',
          url: `/api/v1/approvals/${approval.id}/decide`,
          headers: headers[who],
          payload: { decision: 'approve', arguments_hash: approval.hash },
        });
      const first = await decide('alice');
      if (first.statusCode !== 200) throw new Error(`first approval failed: ${first.body}`);
      const actionStarted = new Promise<void>((resolve) => waiters.set(runId, resolve));
      const clicked = performance.now();
      const second = await decide('bob');
      if (second.statusCode !== 200 || second.json().released !== true) throw new Error(`second approval did not release: ${second.body}`);
      await actionStarted;
      samples.push((started.get(runId) as number) - clicked);
    }
    for (const [metric, p] of [
      ['click_to_action_p50', 50],
      ['click_to_action_p99', 99],
    ] as const) {
      emit({
        suite: 'approvals',
        metric,
        value: percentile(samples, p),
        unit: 'ms',
        n: samples.length,
        backend,
        ...(channels ? { channels: 'slack+teams' } : {}),
      });
    }
  } finally {
    await app.close();
    await runtime.close();
    await slack?.close();
    await teams?.close();
    rmSync(dir, { recursive: true, force: true });
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  }
}

export async function run(): Promise<void> {
  await measure('sqlite', undefined);
  if (WITH_CHANNELS) await measure('sqlite', undefined, true);
  const url = process.env.RIPOSTE_BENCH_PG_URL || process.env.RIPOSTE_TEST_PG_URL || DEFAULT_BENCH_PG_URL;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
  } catch (error) {
    note(`approvals: PostgreSQL at ${url.replace(/:[^:@/]*@/, '@')} not reachable (${(error as Error).message}); measured SQLite only`);
    return;
  }
  await measure('postgres', url);
  if (WITH_CHANNELS) await measure('postgres', url, true);
}
