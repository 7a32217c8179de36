import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';
import { runOverload } from './overload-harness.ts';

/**
 * Overload, short CI profile (~20 s per backend): alerts at twice the documented ingest rate (BENCHMARKS.md:
 * 5,000 alerts/s on SQLite), playbook runs and TAXII reads, from a second process. Every acknowledged
 * alert and run is stored exactly once; every refusal is 429 with Retry-After; no 5xx, no dropped
 * connection. Latency and RSS are recorded, not asserted (bench/soak.ts runs the long version).
 */
const PHASE_MS = Number(process.env.RIPOSTE_OVERLOAD_PHASE_MS ?? 4000);

for (const backend of testBackends()) {
  describe(`overload (${backend.backend})`, () => {
    test('2× the documented ingest rate: acknowledged once and stored once, refused with 429 + Retry-After', async () => {
      const result = await runOverload({ backend, alertRate: 10_000, runRate: 200, taxiiRate: 500, phaseMs: PHASE_MS, maxQueue: 100 });
      for (const { phase, report, stored } of result.phases) {
        const statuses = Object.keys(report.statuses).map(Number);
        const ok = Object.entries(report.statuses)
          .filter(([s]) => Number(s) < 300)
          .reduce((n, [, c]) => n + c, 0);
        assert.deepEqual(
          statuses.filter((s) => s >= 500 || (s >= 300 && s !== 429)),
          [],
          `${phase}: ${JSON.stringify(report.statuses)}`,
        );
        assert.equal(report.network_errors, 0, `${phase}: connections failed`);
        assert.equal(report.missing_retry_after, 0, `${phase}: 429 without Retry-After`);
        assert.equal(report.created_twice, 0, `${phase}: an id was reported created twice`);
        assert.ok(ok > 0, `${phase}: nothing was accepted`);
        if (phase !== 'taxii') {
          assert.equal(stored, report.created, `${phase}: stored ${stored}, acknowledged ${report.created}`);
          assert.equal(report.created, phase === 'alerts' ? ok * 20 : ok, `${phase}: every 2xx created its records once`);
        }
        recordFigure('chaos', 'requests_sent', report.sent);
        recordFigure('chaos', `overload_${phase}_rejected_429 (${backend.backend})`, report.statuses['429'] ?? 0);
        recordFigure('chaos', `overload_${phase}_p99_ms (${backend.backend})`, report.p99_ms);
        recordFigure(
          'chaos',
          `overload_${phase}_accepted_per_s (${backend.backend})`,
          Math.round((phase === 'alerts' ? report.created : ok) / (PHASE_MS / 1000)),
        );
      }
      recordFigure('chaos', 'data_lost', 0);
      recordFigure('chaos', `overload_rss_slope_mb_per_min (${backend.backend})`, result.rss.slope_mb_per_min);
      process.stdout.write(`# overload ${backend.backend}: ${JSON.stringify(result)}\n`);
    });
  });
}
