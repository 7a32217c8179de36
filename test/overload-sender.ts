/**
 * The load generator for the overload test and the soak bench, run as its own process so the server's
 * event loop and the sender's do not share a CPU budget. Open loop: requests are due at a fixed rate
 * whether or not earlier ones were answered (up to `maxInFlight`; past it a due request is counted as
 * skipped — the sender itself is the bottleneck then, and the report says so).
 *   node test/overload-sender.ts '<json SenderPlan>'   → one JSON SenderReport line on stdout
 */
export interface SenderPlan {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: 'alert' | 'run' | 'none';
  /** Requests per second. */
  rate: number;
  /** Alerts per request (body 'alert'): SIEMs batch, and batching lets one sender offer thousands per second. */
  batch?: number;
  durationMs: number;
  maxInFlight: number;
  tag: string;
}

export interface SenderReport {
  due: number;
  sent: number;
  skipped: number;
  statuses: Record<string, number>;
  network_errors: number;
  /** 429/503 answers without a Retry-After header. */
  missing_retry_after: number;
  /** Distinct alert ids (or run ids) the server said it created, and ids it reported created twice. */
  created: number;
  created_twice: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  achieved_rate: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function send(plan: SenderPlan): Promise<SenderReport> {
  const report: SenderReport = {
    due: 0,
    sent: 0,
    skipped: 0,
    statuses: {},
    network_errors: 0,
    missing_retry_after: 0,
    created: 0,
    created_twice: 0,
    p50_ms: 0,
    p99_ms: 0,
    max_ms: 0,
    achieved_rate: 0,
  };
  const latencies: number[] = [];
  const created = new Set<string>();
  let inFlight = 0;
  const pending = new Set<Promise<void>>();

  const one = async (i: number) => {
    const alert = (n: number) => ({
      title: `overload ${plan.tag} ${n}`,
      id: `${plan.tag}-${n}`,
      severity: 'low',
      observables: [{ type: 'ipv4', value: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` }],
    });
    const batch = plan.batch ?? 1;
    const body =
      plan.body === 'alert'
        ? JSON.stringify(batch === 1 ? alert(i) : Array.from({ length: batch }, (_, k) => alert(i * batch + k)))
        : plan.body === 'run'
          ? JSON.stringify({ inputs: { n: i } })
          : undefined;
    const started = performance.now();
    try {
      const res = await fetch(plan.url, {
        method: plan.method,
        headers: { ...plan.headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
      });
      const text = await res.text();
      latencies.push(performance.now() - started);
      report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
      if ((res.status === 429 || res.status === 503) && !res.headers.get('retry-after')) report.missing_retry_after++;
      if (res.status === 200 || res.status === 201 || res.status === 202) {
        const parsed = JSON.parse(text) as { results?: Array<{ alert_id: string; outcome: string }>; run?: { id: string } };
        const ids = parsed.results ? parsed.results.filter((r) => r.outcome !== 'repeat').map((r) => r.alert_id) : parsed.run ? [parsed.run.id] : [];
        for (const id of ids) {
          if (created.has(id)) report.created_twice++;
          created.add(id);
        }
      }
    } catch {
      report.network_errors++;
    }
  };

  const started = performance.now();
  const interval = 1000 / plan.rate;
  let i = 0;
  while (performance.now() - started < plan.durationMs) {
    const dueNow = Math.floor((performance.now() - started) / interval);
    while (i < dueNow) {
      i++;
      report.due++;
      if (inFlight >= plan.maxInFlight) {
        report.skipped++;
        continue;
      }
      inFlight++;
      report.sent++;
      const p = one(i).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  report.p50_ms = Math.round(percentile(latencies, 50) * 10) / 10;
  report.p99_ms = Math.round(percentile(latencies, 99) * 10) / 10;
  report.max_ms = Math.round((latencies.at(-1) ?? 0) * 10) / 10;
  report.created = created.size;
  report.achieved_rate = Math.round(report.sent / elapsed);
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as SenderPlan;
  process.stdout.write(`${JSON.stringify(await send(plan))}\n`);
}
