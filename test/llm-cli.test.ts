import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { type LlmSimulator, SIMULATOR_LLM_API_KEY, startLlmSimulator } from '../src/lab/index.ts';

/**
 * `riposte llm …` through the real binary against the lab model server: `llm test` prints model, latency
 * and tokens, or one clear line for a wrong key, a refused connection, the SSRF guard and a non-JSON
 * answer; `llm summarize`, `llm draft --out` and `llm drafts` work on a real data directory.
 */
const LAUNCHER = resolve(import.meta.dirname, '..', 'riposte');

function riposte(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Asynchronous: the simulator answering the child lives in this process's event loop.
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

function oneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe('riposte llm (real binary)', () => {
  let sim: LlmSimulator;
  let dir: string;
  let env: Record<string, string>;
  let closedPort: number;
  let html: ReturnType<typeof createServer>;
  before(async () => {
    sim = await startLlmSimulator();
    dir = mkdtempSync(join(tmpdir(), 'riposte-llm-cli-'));
    writeFileSync(join(dir, 'riposte.yaml'), 'ai:\n  enabled: true\n  api_key_secret: LLM_KEY\n  rate_limit_per_minute: 6000\n');
    env = {
      RIPOSTE_DATA_DIR: join(dir, 'data'),
      RIPOSTE_AI_BASE_URL: sim.url,
      RIPOSTE_AI_MODEL: sim.model,
      RIPOSTE_INTEGRATIONS_HTTP_ALLOW: '127.0.0.1',
      RIPOSTE_SECRET_LLM_KEY: SIMULATOR_LLM_API_KEY,
      RIPOSTE_ADMIN_PASSWORD: 'correct horse battery staple 42',
      RIPOSTE_LOG_LEVEL: 'silent',
    };
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    html = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>It works!</body></html>');
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    // A case to summarise, written by an in-process runtime on the same data directory.
    const runtime = await openRuntime(loadConfig({ env, cwd: dir }), createLogger({ level: 'silent' }), { env, announce: () => {} });
    await runtime.cases.createCase({
      title: 'Beaconing to 185.220.101.47',
      severity: 'high',
      observables: [{ type: 'ipv4', value: '185.220.101.47' }],
    } as never);
    await runtime.close();
  });
  after(async () => {
    await sim.close();
    await new Promise<void>((r) => html.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('llm test prints the model, latency and tokens', async () => {
    const result = await riposte(['llm', 'test'], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^ok: ${new URL(sim.url).origin} model ${sim.model} \\(listed\\) — \\d+ ms, \\d+\\+\\d+ tokens\\n$`));
    const json = await riposte(['llm', 'test', '--json'], dir, env);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; model_listed: boolean; prompt_tokens: number };
    assert.equal(parsed.ok, true);
    assert.equal(parsed.model_listed, true);
    assert.ok(parsed.prompt_tokens > 0);
  });

  test('a wrong key is one clear line', async () => {
    const result = await riposte(['llm', 'test'], dir, { ...env, RIPOSTE_SECRET_LLM_KEY: 'sk-wrong-0000000000000000000' });
    assert.equal(result.code, 1);
    oneLine(
      result.stderr,
      /llm test failed for http:\/\/127\.0\.0\.1:\d+: .*refused the credentials \(HTTP 401\): Incorrect API key.*\(check the key in RIPOSTE_SECRET_/,
    );
    assert.doesNotMatch(result.stderr, /sk-wrong/);
  });

  test('a refused connection is one clear line', async () => {
    const result = await riposte(['llm', 'test'], dir, { ...env, RIPOSTE_AI_BASE_URL: `http://127.0.0.1:${closedPort}/v1` });
    assert.equal(result.code, 1);
    oneLine(result.stderr, /ECONNREFUSED.*is the model server running/);
  });

  test('the SSRF guard refusing a loopback endpoint is one clear line', async () => {
    const { RIPOSTE_INTEGRATIONS_HTTP_ALLOW: _allow, ...without } = env;
    const result = await riposte(['llm', 'test'], dir, without);
    assert.equal(result.code, 1);
    oneLine(result.stderr, /refusing to connect to 127\.0\.0\.1.*needs its address in integrations\.http_allow/);
  });

  test('a server answering HTML is one clear line', async () => {
    const port = (html.address() as AddressInfo).port;
    const result = await riposte(['llm', 'test'], dir, { ...env, RIPOSTE_AI_BASE_URL: `http://127.0.0.1:${port}/v1` });
    assert.equal(result.code, 1);
    oneLine(result.stderr, /not JSON.*OpenAI-compatible API root/);
  });

  test('summarize, draft --out and drafts list work on a data directory', async () => {
    const summary = await riposte(['llm', 'summarize', '1'], dir, env);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /Case #1 "Beaconing to 185\.220\.101\.47"/);
    assert.match(summary.stdout, /— riposte-lab-llm, \d+\+\d+ tokens, \d+ ms, interaction /);
    const out = join(dir, 'draft.yml');
    const draft = await riposte(['llm', 'draft', 'Enrich an IP address with VirusTotal and AbuseIPDB', '--out', out], dir, env);
    assert.equal(draft.code, 0, draft.stderr);
    assert.match(draft.stdout, /^draft [0-9a-f-]+: .* — valid$/m);
    assert.match(readFileSync(out, 'utf8'), /action: virustotal\.ip_report/);
    const list = await riposte(['llm', 'drafts', '--json'], dir, env);
    const drafts = JSON.parse(list.stdout) as Array<{ valid: boolean; yaml?: string }>;
    assert.equal(drafts.length, 1);
    assert.equal(drafts[0]?.valid, true);
  });
});
