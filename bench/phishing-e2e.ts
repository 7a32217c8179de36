import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openRuntime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { startSmtpSink } from '../src/lab/smtp-sink.ts';
import { emit, note, percentile } from './harness.ts';

/**
 * Report → reporter notified, end to end on embedded SQLite: each report goes through the intake (store,
 * analysis, case), the phishing-triage playbook runs in the in-process runner, and the clock stops when
 * the verdict e-mail reaches a real SMTP server on loopback. Reports are sent one after another.
 */
const ROOT = resolve(import.meta.dirname, '..');
const REPORTS = 40;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-bench-phish-'));
  const sink = await startSmtpSink();
  const config = loadConfig({
    env: {},
    cwd: tmpdir(),
    overrides: { 'log.level': 'silent', data_dir: dir, 'engine.playbooks_dir': join(ROOT, 'playbooks'), 'integrations.http_allow': ['127.0.0.1'] },
  });
  const quiet = { env: {}, announce: () => {} };
  const setup = await openRuntime(config, createLogger({ level: 'silent' }), quiet);
  await setup.integrations.add({
    name: 'email',
    integration: 'email',
    config: { host: '127.0.0.1', port: sink.port, security: 'none', from: 'soc@examplecorp.com' },
    secrets: { password: '-' },
  });
  await setup.close();
  const runtime = await openRuntime(config, createLogger({ level: 'silent' }), { ...quiet, runner: { pollMs: 20 } });
  await runtime.engine.start();
  const newsletter = readFileSync(join(ROOT, 'test/fixtures/email/corpus/legit/newsletter-tracking.eml'));
  const times: number[] = [];
  try {
    for (let i = 0; i < REPORTS; i++) {
      const reporter = `reader${i}@examplecorp.com`;
      const started = performance.now();
      await runtime.phishing.submit({ content: newsletter, filename: 'n.eml', reporter, source: 'api' });
      const deadline = Date.now() + 30_000;
      // Two mails per reporter: the acknowledgement, then the verdict.
      while (sink.messages.filter((m) => m.to.includes(reporter)).length < 2) {
        if (Date.now() > deadline) throw new Error(`no verdict mail for ${reporter} within 30 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      times.push(performance.now() - started);
    }
  } finally {
    await runtime.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
  note(`phishing e2e: ${REPORTS} reports one after another, SQLite, runner in process, SMTP on loopback`);
  emit({ suite: 'phishing', metric: 'report_to_notified_p50_ms', value: percentile(times, 50), unit: 'ms', n: times.length, backend: 'sqlite' });
  emit({ suite: 'phishing', metric: 'report_to_notified_p99_ms', value: percentile(times, 99), unit: 'ms', n: times.length, backend: 'sqlite' });
}
