import { performance } from 'node:perf_hooks';
import { integrationActions, verdictAction } from '../src/app/index.ts';
import { INTEGRATIONS } from '../src/integrations/catalog.ts';
import { createIntegrationInstance } from '../src/integrations/sdk/index.ts';
import { KnownGoodLists } from '../src/intel/index.ts';
import { SIMULATOR_API_KEY, startLab } from '../src/lab/index.ts';
import { emit, note, percentile } from './harness.ts';

/**
 * Enrichment of one IP from the six threat-intel simulators (100 ms latency each) in parallel through the
 * engine-facing actions (`<instance>.<action>`: SSRF-guarded client, retries, cache, output validation and
 * scrubbing), then `intel.verdict` (warning lists + scoring). Measures alert-to-verdict wall time for fresh
 * IPs, the same for cached re-enrichment, and sustained alerts/s at 20 concurrent alerts. Vendor rate limits
 * are lifted for the measurement (Shodan's 1/s would otherwise be the whole story).
 */
const LATENCY_MS = 100;
// BENCH_KEEP_ALIVE=0 measures the old one-connection-per-call behaviour for comparison.
const KEEP_ALIVE = process.env.BENCH_KEEP_ALIVE !== '0';
const SOURCES: Array<[string, string]> = [
  ['virustotal', 'ip_report'],
  ['abuseipdb', 'check'],
  ['greynoise', 'community'],
  ['otx', 'ip_general'],
  ['shodan', 'host'],
  ['ipinfo', 'ip_details'],
];

export async function run(): Promise<void> {
  const lab = await startLab({ latencyMs: LATENCY_MS });
  try {
    // Every product the lab simulates (mail, EDR and chat products are not part of enrichment).
    const instances = INTEGRATIONS.filter((integration) => lab.simulators[integration.id] !== undefined).map((integration) =>
      createIntegrationInstance(
        { ...integration, rateLimit: undefined },
        {
          name: integration.id,
          config: { baseUrl: lab.simulators[integration.id]?.url },
          secrets: Object.fromEntries(Object.keys(integration.secrets).map((n) => [n, SIMULATOR_API_KEY])),
        },
        { guard: { allow: ['127.0.0.1'], keepAlive: KEEP_ALIVE } },
      ),
    );
    const actions = new Map(integrationActions(instances).map((a) => [a.id, a]));
    const lists = KnownGoodLists.load();
    const verdict = verdictAction(() => lists);
    const context = { idempotencyKey: 'bench', runId: 'bench', stepKey: 'bench', attempt: 1, signal: new AbortController().signal, logger: undefined };

    const alertToVerdict = async (ip: string) => {
      const outputs: Record<string, unknown> = {};
      await Promise.all(
        SOURCES.map(async ([instance, name]) => {
          try {
            outputs[instance] = await actions.get(`${instance}.${name}`)?.run({ ip }, context);
          } catch (error) {
            outputs[instance] = { error: { code: (error as { code?: string }).code, message: (error as Error).message } };
          }
        }),
      );
      return verdict.run({ observable: ip, evidence: outputs, expected: SOURCES.map(([s]) => s) }, context);
    };
    const ipFor = (i: number) => `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

    for (let i = 0; i < 10; i++) await alertToVerdict(ipFor(100_000 + i)); // warm-up
    const fresh: number[] = [];
    const n = 200;
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await alertToVerdict(ipFor(i));
      fresh.push(performance.now() - started);
    }
    emit({ suite: 'enrichment', metric: 'alert_to_verdict_p50', value: percentile(fresh, 50), unit: 'ms', n, sources: 6, source_latency_ms: LATENCY_MS });
    emit({ suite: 'enrichment', metric: 'alert_to_verdict_p99', value: percentile(fresh, 99), unit: 'ms', n, sources: 6, source_latency_ms: LATENCY_MS });

    const cached: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await alertToVerdict(ipFor(i));
      cached.push(performance.now() - started);
    }
    emit({ suite: 'enrichment', metric: 'cached_reenrichment_p50', value: percentile(cached, 50), unit: 'ms', n, sources: 6 });
    emit({ suite: 'enrichment', metric: 'cached_reenrichment_p99', value: percentile(cached, 99), unit: 'ms', n, sources: 6 });

    const concurrency = 20;
    const total = 600;
    let next = 200_000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < 200_000 + total) await alertToVerdict(ipFor(next++));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    emit({
      suite: 'enrichment',
      metric: 'alerts_per_s',
      value: total / seconds,
      unit: '1/s',
      n: total,
      concurrency,
      sources: 6,
      source_latency_ms: LATENCY_MS,
    });
    const calls = Object.values(lab.simulators).reduce((sum, sim) => sum + sim.requests.length, 0);
    const connections = Object.values(lab.simulators).reduce((sum, sim) => sum + sim.connections(), 0);
    emit({ suite: 'enrichment', metric: 'connections_per_vendor_call', value: connections / calls, unit: 'ratio', n: calls, keep_alive: KEEP_ALIVE });
    note('enrichment: actions called directly (no durable run, no case update); the full playbook path is not measured yet');
  } finally {
    await lab.close();
  }
}
