import { testBackends } from '../src/store/testing.ts';
import { runOverload } from '../test/overload-harness.ts';
import { emit } from './harness.ts';

/**
 * Overload soak: alerts at twice the documented ingest rate (5,000/s on SQLite → 10,000/s offered, in
 * requests of 20), playbook runs and TAXII reads, each for RIPOSTE_SOAK_PHASE_MS (default 60 s), from a
 * second process; on SQLite, and on PostgreSQL when RIPOSTE_TEST_PG_URL is set. Prints accepted and
 * refused counts, p50/p99 latency, exactly-once accounting and the server's RSS slope. Measures only;
 * test/chaos-overload.test.ts asserts the same properties on a short profile.
 *   npm run bench -- soak
 */
export async function run(): Promise<void> {
  const phaseMs = Number(process.env.RIPOSTE_SOAK_PHASE_MS ?? 60_000);
  for (const backend of testBackends()) {
    const result = await runOverload({ backend, alertRate: 10_000, runRate: 200, taxiiRate: 500, phaseMs, maxInFlight: 256 });
    for (const { phase, report, stored } of result.phases) {
      const ok = Object.entries(report.statuses)
        .filter(([s]) => Number(s) < 300)
        .reduce((n, [, c]) => n + c, 0);
      const extra = {
        n: report.sent,
        backend: backend.backend,
        phase_ms: phaseMs,
        offered_per_s: report.due / (phaseMs / 1000),
        skipped_by_sender: report.skipped,
      };
      emit({
        suite: 'soak',
        metric: `${phase}_accepted_per_s`,
        value: Math.round((phase === 'alerts' ? report.created : ok) / (phaseMs / 1000)),
        unit: '1/s',
        ...extra,
      });
      emit({ suite: 'soak', metric: `${phase}_rejected_429`, value: report.statuses['429'] ?? 0, unit: 'requests', ...extra });
      emit({ suite: 'soak', metric: `${phase}_p50_ms`, value: report.p50_ms, unit: 'ms', ...extra });
      emit({ suite: 'soak', metric: `${phase}_p99_ms`, value: report.p99_ms, unit: 'ms', ...extra });
      emit({
        suite: 'soak',
        metric: `${phase}_lost_or_duplicated`,
        value: phase === 'taxii' ? 0 : Math.abs(stored - report.created) + report.created_twice,
        unit: 'records',
        ...extra,
        statuses: report.statuses,
        network_errors: report.network_errors,
        missing_retry_after: report.missing_retry_after,
      });
    }
    emit({
      suite: 'soak',
      metric: 'rss_slope_mb_per_min',
      value: result.rss.slope_mb_per_min,
      unit: 'MB/min',
      n: result.rss.samples,
      backend: backend.backend,
      ...result.rss,
    });
  }
}
