import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

/**
 * `riposte edl list|add|remove` and `riposte lab fire ip-alert` as an operator runs them: real child
 * processes, exit codes and output. The fire command is pointed at a loopback stand-in for Riposte's
 * webhook so the test sees exactly what was sent.
 */
const LAUNCHER = join(resolve(import.meta.dirname, '..'), 'riposte');
const scratch = mkdtempSync(join(tmpdir(), 'riposte-response-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function riposte(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RIPOSTE_DATA_DIR: join(scratch, 'data'), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('riposte edl', () => {
  test('add, list, refresh and remove entries; bad input is a usage error', () => {
    const added = riposte(['edl', 'add', '203.0.113.9', '--ttl', '12h', '--reason', 'C2 beacon', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const entry = JSON.parse(added.stdout) as { value: string; expires_at: string; created: boolean; added_by: string };
    assert.equal(entry.value, '203.0.113.9');
    assert.equal(entry.created, true);
    assert.match(entry.added_by, /^cli:/);
    assert.ok(Date.parse(entry.expires_at) > Date.now() + 11 * 3_600_000);
    assert.match(riposte(['edl', 'add', '203.0.113.9', '--ttl', 'never']).stdout, /refreshed 203\.0\.113\.9 .*\(no expiry\)/);
    const listed = riposte(['edl', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /203\.0\.113\.9\s+never/);
    assert.equal(riposte(['edl', 'remove', '203.0.113.9']).code, 0);
    const again = riposte(['edl', 'remove', '203.0.113.9']);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /was not on EDL/);
    const wide = riposte(['edl', 'add', '10.0.0.0/8']);
    assert.notEqual(wide.code, 0);
    assert.match(wide.stderr, /wider than \/16/);
    assert.equal(riposte(['edl', 'add', '1.2.3.4', '--ttl', 'soon']).code, 2);
    assert.match(riposte(['edl', '--help']).stdout, /Example:/);
  });
});

describe('riposte lab fire ip-alert', () => {
  test('posts a Splunk notable about the IP to the webhook with the token, and reports the case', async () => {
    const seen: Array<{ url: string; token: string | undefined; body: unknown }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', token: req.headers['x-riposte-token'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ results: [{ outcome: 'new_case', case_id: 'c-1', case_number: 7 }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
        const p = spawn(process.execPath, [LAUNCHER, 'lab', 'fire', 'ip-alert', '--ip', '45.155.205.233', '--server', url, '--token', 'tok-1'], {
          cwd: scratch,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, RIPOSTE_DATA_DIR: join(scratch, 'data') },
        });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d));
        p.stderr.on('data', (d: Buffer) => (stderr += d));
        p.on('close', (code) => resolveRun({ code, stdout, stderr }));
      });
      assert.equal(child.code, 0, child.stderr);
      assert.match(child.stdout, /alert about 45\.155\.205\.233 accepted: new_case case #7 \(c-1\)/);
      assert.equal(seen[0]?.url, '/api/v1/webhooks/splunk');
      assert.equal(seen[0]?.token, 'tok-1');
      const body = seen[0]?.body as { search_name: string; result: { dest: string; src: string } };
      assert.equal(body.result.dest, '45.155.205.233');
      assert.match(body.search_name, /Malicious Host/);
    } finally {
      server.close();
    }
    const noToken = riposte(['lab', 'fire', 'ip-alert', '--server', url]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /--token/);
  });
});
