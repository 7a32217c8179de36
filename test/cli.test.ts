import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { testPostgresUrl } from '../src/store/testing.ts';

/**
 * The `riposte` command as a user runs it: a real child process, real exit codes, real stderr.
 * Every failure must be one line naming the problem — never a stack trace.
 */
const ROOT = resolve(import.meta.dirname, '..');
const LAUNCHER = join(ROOT, 'riposte');
const scratch = mkdtempSync(join(tmpdir(), 'riposte-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

function riposte(args: string[], env: Record<string, string> = {}, cwd = scratch) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 90_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

/** Starts a long-running command and resolves with its URL once it prints "listening on"/"running at". */
function startServing(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: scratch, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolveStart, reject) => {
    // Generous: on a loaded 2-core machine a cold start under type stripping can take tens of seconds.
    // A child that never announced itself is killed, so a failed test leaves no server behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no URL within 60 s:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(?:listening on|running at) (http:\/\/[^\s)]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1], output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before serving:\n${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolveExit(code));
    child.kill('SIGTERM');
  });
}

describe('riposte CLI', () => {
  test('--help works on the root and on every command', () => {
    for (const args of [['--help'], ['serve', '--help'], ['db', 'migrate', '--help'], ['db', 'status', '--help'], ['demo', '--help'], ['version', '--help']]) {
      const r = riposte(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /Usage: riposte/);
    }
  });

  test('version prints human and JSON forms', () => {
    assert.match(riposte(['version']).stdout, /^riposte \d+\.\d+\.\d+/);
    const json = JSON.parse(riposte(['version', '--json']).stdout);
    assert.match(json.version, /^\d+\.\d+\.\d+$/);
  });

  test('an unknown flag or command exits 2 with one line', () => {
    const flag = riposte(['serve', '--prot', '80']);
    assert.equal(flag.code, 2);
    assertOneLineError(flag.stderr, /unknown option '--prot'/);
    const command = riposte(['srve']);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command 'srve'/);
    const badPort = riposte(['serve', '--port', 'http']);
    assert.equal(badPort.code, 2);
    assertOneLineError(badPort.stderr, /--port.*must be a port number/);
  });

  test('an invalid config value exits 1 naming the variable', () => {
    const r = riposte(['db', 'status'], { RIPOSTE_LOG_LEVEL: 'chatty' });
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, /log\.level \(from RIPOSTE_LOG_LEVEL\)/);
  });

  test('a corrupt SQLite file exits 1 with a one-line diagnosis', () => {
    const dataDir = join(scratch, 'corrupt');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'riposte.db'), Buffer.alloc(8192, 0x41));
    for (const args of [
      ['db', 'status'],
      ['serve', '--port', '0'],
    ]) {
      const r = riposte(args, { RIPOSTE_DATA_DIR: dataDir });
      assert.equal(r.code, 1, args.join(' '));
      assertOneLineError(r.stderr, /corrupt or not a database .*\[store\.corrupt\]$/);
    }
  });

  test('an unreachable PostgreSQL exits 1 with a one-line diagnosis', () => {
    const r = riposte(['serve', '--port', '0'], { RIPOSTE_DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:1/test' });
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, /cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/test.*\[store\.unreachable\]/);
    assert.doesNotMatch(r.stderr, /:pw@/);
  });

  test('db migrate and db status report the schema, as text and JSON', () => {
    const env = { RIPOSTE_DATA_DIR: join(scratch, 'migrate') };
    const before = JSON.parse(riposte(['db', 'status', '--json'], env).stdout);
    assert.ok(before.pending > 0);
    const migrated = JSON.parse(riposte(['db', 'migrate', '--json'], env).stdout);
    assert.equal(migrated.applied.length, before.pending);
    const again = riposte(['db', 'migrate'], env);
    assert.match(again.stdout, /already up to date/);
    const status = riposte(['db', 'status'], env);
    assert.match(status.stdout, /up to date/);
  });

  test('started on an old Node.js it refuses with a clear message', { skip: !existsSync('/usr/bin/node') }, () => {
    const version = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.slice(1).split('.')[0]) >= 24) return;
    const r = spawnSync('/usr/bin/node', [LAUNCHER, 'version'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assertOneLineError(r.stderr, /Node\.js 24 or newer is required/);
  });

  test('serve on the embedded store answers /healthz and shuts down cleanly on SIGTERM', async () => {
    const { child, url } = await startServing(['serve', '--port', '0'], { RIPOSTE_DATA_DIR: join(scratch, 'serve') });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await (await fetch(`${url}/readyz`)).json()) as { store: string }).store, 'sqlite');
    assert.equal(await stop(child), 0);
  });

  test('serve works against PostgreSQL', { skip: !testPostgresUrl() }, async () => {
    const url = testPostgresUrl() as string;
    const schema = `t_cli_${process.pid}`;
    const { child, url: base } = await startServing(['serve', '--port', '0'], { RIPOSTE_DATABASE_URL: url, RIPOSTE_DATABASE_SCHEMA: schema });
    try {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { store: string };
      assert.equal(ready.store, 'postgres');
    } finally {
      assert.equal(await stop(child), 0);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  test('demo starts a working server on SQLite, even with a PostgreSQL URL in the environment', async () => {
    const { child, url } = await startServing(['demo', '--port', '0'], {
      RIPOSTE_DATA_DIR: join(scratch, 'demo'),
      RIPOSTE_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x',
    });
    assert.equal(((await (await fetch(`${url}/readyz`)).json()) as { store: string }).store, 'sqlite');
    assert.equal(await stop(child), 0);
  });

  test('a port already in use is a one-line error', async () => {
    const { child, url } = await startServing(['serve', '--port', '0'], { RIPOSTE_DATA_DIR: join(scratch, 'busy-a') });
    const port = new URL(url).port;
    // Same data dir: the admin already exists, so the only output is the error.
    const r = riposte(['serve', '--port', port], { RIPOSTE_DATA_DIR: join(scratch, 'busy-a') });
    await stop(child);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  });

  test('riposte worker refuses the embedded SQLite store with one line; serve offers --no-worker', () => {
    const r = riposte(['worker']);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, /riposte worker needs PostgreSQL .*single-process.* \[config\.invalid\]$/);
    const bad = riposte(['worker', '--concurrency', '0']);
    assert.equal(bad.code, 2, 'a bad flag value is a usage error');
    assert.match(riposte(['serve', '--help']).stdout, /--no-worker/);
    assert.match(riposte(['worker', '--help']).stdout, /--health-port <port>/);
  });
});
