import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type Config, createLogger, type Logger, newId, RiposteError } from '../core/index.ts';
import type { ActionRegistry, Engine } from '../engine/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { ApprovalChannels } from './approval-channels.ts';
import { buildCasesService } from './cases.ts';
import { createEngine } from './engine-setup.ts';
import { Guardrails } from './guardrails.ts';
import { integrationInstanceService, masterKeyFor } from './integration-instances.ts';
import { LiveRelay, storeWithApprovalEvents, wireLiveUpdates } from './live-updates.ts';

/**
 * A scale-out worker (`riposte worker`): the durable runner alone, against a PostgreSQL store shared with
 * the API processes and the other workers. It serves no API; an optional small HTTP listener answers
 * `/healthz` and Prometheus `/metrics` for this worker. Stopping it hands every lease back after letting
 * the steps already executing finish (up to the grace period).
 */
export interface WorkerOptions {
  /** Runs held (executing or between steps) at once. */
  concurrency?: number;
  /** Only these playbook ids (dedicated workers); default every playbook. */
  queues?: readonly string[];
  /** Port of the health/metrics listener; undefined: no listener. 0: any free port. */
  healthPort?: number;
  healthHost?: string;
  leaseMs?: number;
  pollMs?: number;
  /** How long a stop waits for executing steps before cutting them short. */
  graceMs?: number;
  /** This worker's lease owner id (default: worker-<pid>-<random>). */
  id?: string;
  /** Registers more actions beside Riposte's own (embedding applications, tests). */
  extendActions?: (actions: ActionRegistry) => void;
  logger?: Logger;
}

export interface RunningWorker {
  id: string;
  engine: Engine;
  store: Store;
  /** http://host:port of the health listener, if any. */
  healthUrl: string | undefined;
  /** Graceful stop: finish or hand back every lease, close the listener and the store. */
  close(): Promise<void>;
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<RunningWorker> {
  if (config.database_url === undefined || !/^postgres(ql)?:\/\//.test(config.database_url)) {
    throw new RiposteError(
      'config.invalid',
      'riposte worker needs PostgreSQL (database_url / RIPOSTE_DATABASE_URL = postgres://…): the embedded SQLite store is single-process, and `riposte serve` already runs its playbooks',
    );
  }
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const id = options.id ?? `worker-${process.pid}-${newId().slice(-8)}`;
  const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, poolSize: 10 });
  const metrics = new Registry();
  const claimLag = new Histogram({
    name: 'riposte_worker_claim_lag_seconds',
    help: 'How late runs were claimed: claim time minus the time they became runnable',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [metrics],
  });
  let engine: Engine;
  let guardrails: Guardrails;
  const cases = buildCasesService(store, config, logger);
  const approvalChannels = new ApprovalChannels({ config, logger, cases });
  // The runs, cases and approvals this worker changes reach the browsers of every API process.
  const relay = new LiveRelay({ store, logger });
  try {
    // A worker runs guarded actions too: the same policy, approvals, containment records and expiry
    // sweeper as the server (the sweepers are safe to run in every worker at once).
    const instances = await integrationInstanceService({ store, config, masterKey: () => masterKeyFor(config, logger) }).load();
    // Approvals opened here owe their channel messages too (same outbox, delivered by any process under a lease).
    guardrails = await Guardrails.create({
      store: storeWithApprovalEvents(approvalChannels.storeWithOutbox(store), relay),
      config,
      cases,
      logger,
      integrations: instances,
    });
    const opened = guardrails;
    approvalChannels.attach({
      createLink: (approvalId, approver, decision) => opened.createLink(approvalId, approver, decision),
      reviewUrl: (approvalId) => opened.reviewUrl(approvalId),
    });
    ({ engine } = createEngine(store, config, {
      logger,
      integrations: instances,
      guard: guardrails.guard,
      ...(options.extendActions ? { extendActions: options.extendActions } : {}),
      runner: {
        owner: id,
        exclusive: false,
        maxActiveRuns: options.concurrency ?? 200,
        leaseMs: options.leaseMs ?? 30_000,
        pollMs: options.pollMs ?? 1000,
        ...(options.queues && options.queues.length > 0 ? { playbookIds: options.queues } : {}),
        onClaimed: (lags) => {
          for (const lag of lags) claimLag.observe(lag / 1000);
        },
      },
    }));
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  guardrails.attach(engine);
  const unwireLive = wireLiveUpdates({ hub: relay, engine, cases });
  guardrails.startSweeper();
  approvalChannels.start();
  // Playbook approval steps go to the same channels (the engine does not know them; app/ watches it).
  const unwatchSteps = approvalChannels.watchEngine(engine);
  registerRunnerMetrics(metrics, engine, id);
  await engine.start();
  const leaseMs = options.leaseMs ?? 30_000;
  let server: Server | undefined;
  let healthUrl: string | undefined;
  if (options.healthPort !== undefined) {
    server = createServer((request, response) => void answerHealth(request, response, { engine, metrics, id, leaseMs }));
    const host = options.healthHost ?? '127.0.0.1';
    try {
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(options.healthPort, host, resolve);
      });
    } catch (error) {
      guardrails.stop();
      await approvalChannels.stop();
      await engine.stop();
      await store.close();
      throw new RiposteError('server.port_in_use', `cannot listen for health checks on ${host}:${options.healthPort}: ${(error as Error).message}`);
    }
    healthUrl = `http://${host}:${(server.address() as AddressInfo).port}`;
  }
  let closing: Promise<void> | undefined;
  return {
    id,
    engine,
    store,
    healthUrl,
    close() {
      closing ??= (async () => {
        guardrails.stop();
        await approvalChannels.stop();
        await engine.runner.stop({ graceMs: options.graceMs ?? 30_000 });
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await cases.drain();
        unwireLive();
        unwatchSteps();
        await relay.stop();
        await store.close();
      })();
      return closing;
    },
  };
}

function registerRunnerMetrics(metrics: Registry, engine: Engine, id: string): void {
  const labels = { worker: id };
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      labelNames: ['worker'],
      registers: [metrics],
      collect() {
        this.reset();
        this.inc(labels, value());
      },
    });
  counter('riposte_worker_runs_claimed_total', 'Runs claimed by this worker', () => engine.runner.stats().claimed);
  counter('riposte_worker_lease_renewals_total', 'Run leases extended by heartbeats', () => engine.runner.stats().leaseRenewals);
  counter('riposte_worker_leases_lost_total', 'Runs dropped because another worker took their lease over', () => engine.runner.stats().leasesLost);
  counter(
    'riposte_worker_stale_results_refused_total',
    'Runs whose results were not committed because their lease had moved to another worker',
    () => engine.runner.stats().staleResultsRefused,
  );
  counter('riposte_worker_heartbeat_failures_total', 'Heartbeats that could not reach the database', () => engine.runner.stats().heartbeatFailures);
  new Gauge({
    name: 'riposte_worker_runs_running',
    help: 'Runs held by this worker now',
    labelNames: ['worker'],
    registers: [metrics],
    collect() {
      this.set(labels, engine.runner.stats().running);
    },
  });
}

async function answerHealth(
  request: IncomingMessage,
  response: ServerResponse,
  context: { engine: Engine; metrics: Registry; id: string; leaseMs: number },
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/healthz') {
    const stats = context.engine.runner.stats();
    const sinceHeartbeat = Date.now() - stats.lastHeartbeatAt;
    // Unhealthy once a whole lease went by without reaching the database: its runs are being taken over.
    const healthy = sinceHeartbeat < context.leaseMs;
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: healthy ? 'ok' : 'unhealthy',
        worker: context.id,
        running: stats.running,
        claimed: stats.claimed,
        lease_renewals: stats.leaseRenewals,
        leases_lost: stats.leasesLost,
        last_heartbeat_ms_ago: sinceHeartbeat,
      }),
    );
    return;
  }
  if (path === '/metrics') {
    const body = await context.metrics.metrics();
    response.writeHead(200, { 'content-type': context.metrics.contentType }).end(body);
    return;
  }
  response.writeHead(404, { 'content-type': 'application/json' }).end('{"status":404,"title":"not found"}');
}
