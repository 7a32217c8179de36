import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

/**
 * A newcomer follows the README's quick start literally: the quick start is exactly two commands, the
 * first is `npm ci && npm run demo` (the install already happened for this test run, so only `npm run demo`
 * is executed) — and within its output they find the scenario summary, the URL and one-time credentials,
 * sign in as the approver, release the block that waits for them, and see the blocked IP on the EDL.
 */
const ROOT = resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'riposte-newcomer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function quickStartCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Quick start$/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

describe('newcomer walk-through (README quick start)', () => {
  test('the quick start is two commands: install + demo, and the tests', () => {
    assert.deepEqual(quickStartCommands(), ['npm ci && npm run demo', 'npm test']);
  });

  test('npm run demo plays the scenarios; the printed credentials release the held block in the API', { timeout: 240_000 }, async () => {
    const demo = quickStartCommands()[0]?.split('&&')[1]?.trim() ?? '';
    assert.equal(demo, 'npm run demo');
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RIPOSTE_') && !key.startsWith('npm_')));
    const child = spawn('npm', ['run', 'demo', '--silent'], {
      cwd: ROOT,
      env: { ...env, RIPOSTE_DATA_DIR: join(scratch, 'data'), RIPOSTE_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      const ready = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`the demo did not come up within 180 s:\n${out}`)), 180_000);
        const check = () => {
          const match = /Riposte is running at (http:\/\/\S+)/.exec(out);
          if (match?.[1] && /approver\s+\S+/.test(out)) {
            clearTimeout(timer);
            done(match[1]);
          }
        };
        child.stdout.on('data', check);
        child.on('exit', (code) => fail(new Error(`the demo exited (${code}) before serving:\n${out}`)));
      });
      const url = ready;
      assert.match(out, /Summary/);
      assert.match(out, /Suspicious IP from a SIEM alert/);
      assert.match(out, /User-reported phishing/);
      assert.match(out, /told the verdict by e-mail/);
      assert.match(out, /Hunt a new TTP across the fleet/);
      assert.match(out, /host\(s\) cleaned and verified/);
      assert.match(out, /blocked on the EDL/);
      assert.match(out, /WAITING/);
      const password = /^\s*approver\s+(\S+)/m.exec(out)?.[1];
      assert.ok(password, out);

      // The UI is served at the printed URL.
      const page = await fetch(url, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="root">|<!doctype html>/i);

      // Sign in as the approver, as the README and the demo's last lines say, and release the held block.
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'approver', password }),
      });
      assert.equal(login.status, 200, await login.clone().text());
      const cookies = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };
      const headers = { cookie: cookies, 'x-csrf-token': csrf, 'content-type': 'application/json', origin: url };
      const inbox = (await (await fetch(`${url}/api/v1/approvals`, { headers })).json()) as {
        items: Array<{ id: string; kind: string; run_id: string; action: string | null }>;
      };
      const held = inbox.items.find((a) => a.kind === 'policy' && a.action === 'edl.block_ip');
      assert.ok(held, `a held block in the inbox: ${JSON.stringify(inbox)}`);
      // The approver sees the exact arguments and decides on their hash: what was reviewed is what runs.
      const detail = (await (await fetch(`${url}/api/v1/approvals/${held.id}`, { headers })).json()) as { approval: { request: { arguments_hash: string } } };
      const decided = await fetch(`${url}/api/v1/approvals/${held.id}/decide`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ decision: 'approve', arguments_hash: detail.approval.request.arguments_hash, comment: 'confirmed with the identity team' }),
      });
      assert.ok(decided.status < 300, `${decided.status} ${await decided.text()}`);
      let status = '';
      for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
        status = ((await (await fetch(`${url}/api/v1/runs/${held.run_id}`, { headers })).json()) as { run: { status: string } }).run.status;
        if (status !== 'succeeded') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 'succeeded', 'the released run finishes');
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        // Already gone.
      }
      await new Promise((r) => child.once('exit', r).once('error', r));
    }
  });
});
