import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { integrationInstanceService, masterKeyFor, openRuntime, startServer } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { fireIpAlert, SIMULATOR_API_KEY, startLab } from '../src/lab/index.ts';
import { openStore } from '../src/store/index.ts';
import { DEFAULT_BENCH_PG_URL, emit, note, percentile } from './harness.ts';

/**
 * Scenario 1 through the whole product: a Splunk notable posted to a running server's webhook, the
 * alert trigger, the ip-enrichment playbook (six sources at 100 ms simulated latency, CMDB, verdict,
 * cases.record_enrichment, the policy check, edl.block_ip, the Jira ticket, the case comment). Measures
 * wall time from the POST to (a) the verdict stored on the case's observable, for IPs no source knows
 * (annotate path), and (b) the malicious host being served on the EDL (block path, uncached). Vendor
 * rate limits are kept (Shodan's 1/s included), so alerts are spaced 1.1 s apart.
 */
const LATENCY_MS = 100;
const N = 15;
const TOKEN = 'bench-webhook-token';
const SHODAN_SPACING_MS = 1100;

async function backends(): Promise<Array<{ name: 'sqlite' | 'postgres'; overrides: Record<string, unknown>; dispose(): Promise<void> }>> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-ip-'));
  const out: Array<{ name: 'sqlite' | 'postgres'; overrides: Record<string, unknown>; dispose(): Promise<void> }> = [
    { name: 'sqlite', overrides: { data_dir: dir }, dispose: async () => rmSync(dir, { recursive: true, force: true }) },
  ];
  const url = process.env.RIPOSTE_BENCH_PG_URL || process.env.RIPOSTE_TEST_PG_URL || DEFAULT_BENCH_PG_URL;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
    const schema = `bench_ip_${process.pid}_${Date.now().toString(36)}`;
    const pgDir = mkdtempSync(join(tmpdir(), 'riposte-bench-ip-pg-'));
    out.push({
      name: 'postgres',
      overrides: { database_url: url, database_schema: schema, data_dir: pgDir },
      async dispose() {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`drop schema if exists "${schema}" cascade`);
        await client.end();
        rmSync(pgDir, { recursive: true, force: true });
      },
    });
  } catch (error) {
    note(`bench ip-scenario: PostgreSQL not reachable (${(error as Error).message}); SQLite only`);
  }
  return out;
}

async function until(check: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error('bench ip-scenario: the case was not updated within 30 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function run(): Promise<void> {
  const lab = await startLab({ latencyMs: LATENCY_MS });
  const env = { RIPOSTE_MASTER_KEY: randomBytes(32).toString('hex') };
  try {
    for (const backend of await backends()) {
      const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-ip-cfg-'));
      writeFileSync(join(dir, 'assets.csv'), 'ip,name,owner,criticality,environment\n10.20.30.40,web-01,Web team,medium,production\n');
      const config = loadConfig({
        env: {},
        cwd: dir,
        overrides: {
          ...backend.overrides,
          'log.level': 'silent',
          'engine.playbooks_dir': join(import.meta.dirname, '../playbooks'),
          'integrations.http_allow': ['127.0.0.1'],
          'webhooks.splunk.tokens': [TOKEN],
        },
      });
      const store = await openStore({ databaseUrl: config.database_url, schema: config.database_schema, dataDir: config.data_dir });
      const instances = integrationInstanceService({ store, config, masterKey: () => masterKeyFor(config, undefined, env) });
      for (const vendor of ['virustotal', 'abuseipdb', 'greynoise', 'otx', 'shodan', 'ipinfo', 'jira']) {
        const secret = vendor === 'ipinfo' ? 'token' : vendor === 'jira' ? 'apiToken' : 'apiKey';
        await instances.add({
          name: vendor,
          integration: vendor,
          config: { baseUrl: lab.simulators[vendor]?.url, ...(vendor === 'jira' ? { email: 'soc@riposte.lab' } : {}) },
          secrets: { [secret]: SIMULATOR_API_KEY },
        });
      }
      await instances.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await store.close();
      const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env, announce: () => {} });
      const server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      try {
        const verdictMs: number[] = [];
        for (let i = 0; i < N; i++) {
          // Addresses no source knows: the whole annotate path with every lookup uncached.
          const ip = `37.48.${100 + Math.floor(i / 200)}.${(i % 200) + 20}`;
          const started = performance.now();
          await fireIpAlert(server.url, TOKEN, { ip, dest: `10.20.31.${i + 1}` });
          await until(async () => {
            try {
              return (await runtime.cases.findObservable('ipv4', ip)).verdict !== null;
            } catch {
              return false;
            }
          });
          verdictMs.push(performance.now() - started);
          // Shodan allows one request per second per key: alerts spaced so that its bucket, not a backlog we
          // made ourselves, is what a single alert meets.
          await new Promise((r) => setTimeout(r, SHODAN_SPACING_MS));
        }
        const blockMs: number[] = [];
        for (const ip of ['185.220.101.47', '45.155.205.233']) {
          const started = performance.now();
          await fireIpAlert(server.url, TOKEN, { ip, dest: '10.20.30.40' });
          await until(async () => (await runtime.edl.render('riposte-block')).split('\n').includes(ip));
          blockMs.push(performance.now() - started);
        }
        for (const [metric, samples] of [
          ['alert_to_case_verdict_p50_ms', [percentile(verdictMs, 50), verdictMs.length]],
          ['alert_to_case_verdict_p99_ms', [percentile(verdictMs, 99), verdictMs.length]],
          ['alert_to_edl_block_max_ms', [Math.max(...blockMs), blockMs.length]],
        ] as const) {
          emit({ suite: 'ip-scenario', metric, value: samples[0], unit: 'ms', n: samples[1], backend: backend.name, source_latency_ms: LATENCY_MS });
        }
      } finally {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
        await backend.dispose();
      }
    }
  } finally {
    await lab.close();
  }
}
