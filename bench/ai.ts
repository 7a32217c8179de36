import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { collectCaseData } from '../src/app/ai/case-data.ts';
import { scanForInjection } from '../src/app/ai/injection-scanner.ts';
import { buildMessages } from '../src/app/ai/prompts.ts';
import { redactValue } from '../src/app/ai/redaction.ts';
import { openRuntime } from '../src/app/index.ts';
import { type Actor, createLogger, loadConfig } from '../src/core/index.ts';
import { startLlmSimulator } from '../src/lab/index.ts';
import { emit, note, percentile } from './harness.ts';

/**
 * AI assistance (issue #14), on the embedded store against the lab model server (no model time: what is
 * measured is Riposte's own cost around the call): a summary's round trip through the service (collect the
 * case, scan, redact, prompt, HTTP to the model, validate, store, timeline) p50/p99; the guard overhead per
 * case without the model (collect + scan + prompt + redact); and tokens per summary for a realistic case
 * (3 alerts, 6 observables with verdicts and evidence, 20 comments, ~40 timeline entries).
 */
const SUMMARIES = 300;
const OVERHEAD_ROUNDS = 1000;
const actor: Actor = { kind: 'user', id: 'bench', name: 'bench' };

export async function run(): Promise<void> {
  const load = loadavg()[0] ?? 0;
  const sim = await startLlmSimulator({ apiKey: null });
  const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-ai-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      'log.level': 'silent',
      data_dir: dir,
      'engine.runner': false,
      'engine.playbooks_dir': new URL('../playbooks', import.meta.url).pathname,
      'ai.enabled': true,
      'ai.base_url': sim.url,
      'ai.model': sim.model,
      'ai.rate_limit_per_minute': 1_000_000,
      'ai.budget.case_tokens': 1_000_000_000,
      'ai.budget.daily_tokens': 1_000_000_000,
      'integrations.http_allow': ['127.0.0.1'],
    },
  });
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
  try {
    const ips = ['185.220.101.47', '45.155.205.233', '91.240.118.172'];
    let caseId = '';
    for (const [i, ip] of ips.entries()) {
      const [result] = await runtime.cases.ingest([
        {
          source: 'generic',
          time: Date.now(),
          severity: 'high',
          severity_id: 4,
          title: `Outbound beacon from web-0${i} to ${ip}`,
          description: `Periodic HTTPS connections every 60 s from 10.20.30.4${i} to ${ip}; 4 MB sent over 2 hours.`,
          rule: { name: 'C2 beaconing', uid: 'rule-7' },
          product: { name: 'Splunk ES', vendor: 'Splunk' },
          uid: `bench-${i}`,
          dedup_key: `bench-ai-${i}`,
          url: null,
          observables: [
            { type: 'ipv4', value: ip, field: 'dest' },
            { type: 'ipv4', value: `10.20.30.4${i}`, field: 'src' },
          ],
          techniques: ['T1071'],
          tags: ['beacon'],
          raw: { src: `10.20.30.4${i}`, dest: ip, bytes_out: 4_200_000, user: 'svc-web', process: 'C:\\\\Windows\\\\System32\\\\svchost.exe' },
        },
      ]);
      caseId ||= result?.case_id ?? '';
      if (caseId && result && result.case_id !== caseId) await runtime.cases.addCaseObservables(caseId, [{ type: 'ipv4', value: ip }]);
    }
    for (const o of await runtime.cases.observablesOf(caseId)) {
      if (o.value.startsWith('10.')) continue;
      await runtime.cases.recordEnrichment(o.id, {
        verdict: 'malicious',
        confidence: 88,
        enrichment: {
          reasons: ['4 of 6 sources call it malicious', 'Tor exit node'],
          sources: {
            virustotal: { evaluation: 'malicious', reliability: 8, summary: '41/90 engines' },
            abuseipdb: { evaluation: 'malicious', reliability: 7, summary: 'abuse confidence 100%' },
            greynoise: { evaluation: 'malicious', reliability: 8 },
            shodan: { evaluation: 'suspicious', reliability: 3 },
          },
        },
      });
    }
    for (let i = 0; i < 20; i++)
      await runtime.cases.addComment(caseId, { body: `Checked host web-0${i % 3}: process tree clean apart from the beacon; note ${i}.` });
    for (let i = 0; i < 15; i++) await runtime.cases.appendTimeline(caseId, { kind: 'run.step', summary: `Playbook ip-enrichment step ${i} completed` });

    const c = await runtime.cases.getCase(caseId);
    const overhead: number[] = [];
    for (let i = 0; i < OVERHEAD_ROUNDS; i++) {
      const start = performance.now();
      const data = await collectCaseData(
        { store: runtime.store, cases: runtime.cases, indicators: runtime.indicators, allowTlpRed: false, secretValues: ['s3cret-value'] },
        c,
      );
      scanForInjection(data.blocks);
      redactValue(buildMessages({ kind: 'summary', blocks: data.blocks }), ['s3cret-value']);
      overhead.push(performance.now() - start);
    }
    emit({
      suite: 'ai',
      metric: 'guard_overhead_per_case_p50_ms',
      value: percentile(overhead, 50),
      unit: 'ms',
      n: OVERHEAD_ROUNDS,
      backend: 'sqlite',
      load_avg: load,
    });
    emit({
      suite: 'ai',
      metric: 'guard_overhead_per_case_p99_ms',
      value: percentile(overhead, 99),
      unit: 'ms',
      n: OVERHEAD_ROUNDS,
      backend: 'sqlite',
      load_avg: load,
    });

    const latencies: number[] = [];
    const promptTokens: number[] = [];
    const completionTokens: number[] = [];
    // The interactions a case accumulates are not sent back to the model, so repeated summaries stay alike.
    for (let i = 0; i < SUMMARIES; i++) {
      const start = performance.now();
      const answer = await runtime.ai.summary(caseId, actor);
      latencies.push(performance.now() - start);
      promptTokens.push(answer.usage.prompt_tokens);
      completionTokens.push(answer.usage.completion_tokens);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    emit({ suite: 'ai', metric: 'summary_round_trip_p50_ms', value: percentile(latencies, 50), unit: 'ms', n: SUMMARIES, backend: 'sqlite', load_avg: load });
    emit({ suite: 'ai', metric: 'summary_round_trip_p99_ms', value: percentile(latencies, 99), unit: 'ms', n: SUMMARIES, backend: 'sqlite', load_avg: load });
    emit({ suite: 'ai', metric: 'summary_prompt_tokens_mean', value: mean(promptTokens), unit: 'tokens', n: SUMMARIES });
    emit({ suite: 'ai', metric: 'summary_completion_tokens_mean', value: mean(completionTokens), unit: 'tokens', n: SUMMARIES });
    note(`ai: load average ${load.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end`);
  } finally {
    await runtime.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
