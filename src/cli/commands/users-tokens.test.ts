import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAuthService } from '../../auth/index.ts';
import { type TestStore, testBackends } from '../../store/testing.ts';
import { runCli } from '../main.ts';
import { withCliStreams } from '../output.ts';

const RIPOSTE = fileURLToPath(new URL('../../../riposte', import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process against the test store (fast); its output is captured, not printed. */
async function cli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const saved = { ...process.env };
  let stdout = '';
  let stderr = '';
  const capture = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  };
  Object.assign(process.env, env);
  try {
    const code = await withCliStreams(capture, () => runCli(args));
    return { code, stdout, stderr };
  } finally {
    for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

for (const backend of testBackends()) {
  describe(`riposte users / tokens (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });
    const run = (...args: string[]) => cli(t.env, ...args);

    test('users add prints a one-time password that signs in; roles are validated as usage errors', async () => {
      const added = await run('users', 'add', 'Alice', '--role', 'analyst,approver');
      assert.equal(added.code, 0, added.stderr);
      const password = /password \(shown once\): (\S+)/.exec(added.stdout)?.[1];
      assert.ok(password, added.stdout);
      const auth = createAuthService({ store: t.store });
      const signedIn = await auth.login({ name: 'alice', password, clientIp: '::1' });
      assert.deepEqual(signedIn.actor.roles, ['analyst', 'approver']);

      const badRole = await run('users', 'add', 'mallory', '--role', 'god');
      assert.equal(badRole.code, 2);
      assert.match(badRole.stderr, /--role "god" is not a role; roles are viewer, analyst/);
      const noRole = await run('users', 'add', 'mallory');
      assert.equal(noRole.code, 2);
      assert.match(noRole.stderr, /--role/);
      const again = await run('users', 'add', 'alice', '--role', 'viewer');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /user "alice" already exists \[auth.user_exists\]/);
    });

    test('users list --json, disable, enable and set-roles', async () => {
      assert.equal((await run('users', 'add', 'svc-siem', '--role', 'viewer', '--no-password')).code, 0);
      const listed = await run('users', 'list', '--json');
      assert.equal(listed.code, 0);
      const users = JSON.parse(listed.stdout) as Array<{ name: string; roles: string[]; disabled: boolean; has_password: boolean }>;
      assert.deepEqual(
        users.map((u) => [u.name, u.has_password]),
        [
          ['alice', true],
          ['svc-siem', false],
        ],
      );
      assert.equal(listed.stdout.includes('argon2'), false, 'hashes never leave the store');

      assert.equal((await run('users', 'disable', 'alice')).code, 0);
      const human = await run('users', 'list');
      assert.match(human.stdout, /alice\s+analyst,approver\s+disabled/);
      assert.equal((await run('users', 'enable', 'alice')).code, 0);
      const roles = await run('users', 'set-roles', 'alice', '--role', 'responder', '--json');
      assert.deepEqual((JSON.parse(roles.stdout) as { roles: string[] }).roles, ['responder']);
      const missing = await run('users', 'disable', 'nobody');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /user "nobody" does not exist/);
    });

    test('tokens create --json prints {"token": …} that authenticates with the asked scopes and expiry', async () => {
      const created = await run('tokens', 'create', '--user', 'alice', '--scope', 'cases:read', '--scope', 'runs:cancel', '--expires', '30d', '--json');
      assert.equal(created.code, 0, created.stderr);
      const body = JSON.parse(created.stdout) as { token: string; id: string; scopes: string[]; expires_at: string };
      assert.match(body.token, /^rpt_[0-9A-Za-z]{43}$/);
      assert.deepEqual(body.scopes, ['cases:read', 'runs:cancel']);
      const auth = createAuthService({ store: t.store });
      const actor = await auth.authenticateToken(body.token);
      assert.deepEqual(actor.permissions, ['cases:read', 'runs:cancel']);

      const plain = await run('tokens', 'create', '--user', 'svc-siem', '--name', 'splunk');
      assert.match(plain.stdout, /^rpt_[0-9A-Za-z]{43}\n$/, 'human mode prints the bare token on stdout');
      assert.match(plain.stderr, /Store it now/);

      const tooWide = await run('tokens', 'create', '--user', 'svc-siem', '--scope', 'users:admin');
      assert.equal(tooWide.code, 1);
      assert.match(tooWide.stderr, /auth.scope_exceeded/);
      assert.equal((await run('tokens', 'create', '--user', 'alice', '--scope', 'cases:fly')).code, 2);
      assert.equal((await run('tokens', 'create', '--user', 'alice', '--expires', 'soon')).code, 2);

      const listed = await run('tokens', 'list', '--json');
      const tokens = JSON.parse(listed.stdout) as Array<{ id: string; name: string; user: string }>;
      assert.ok(tokens.some((x) => x.id === body.id && x.user === 'alice'));
      assert.equal(listed.stdout.includes(body.token), false);

      const revoked = await run('tokens', 'revoke', body.id);
      assert.equal(revoked.code, 0);
      await assert.rejects(auth.authenticateToken(body.token), /revoked/);
      assert.equal((await run('tokens', 'revoke', body.id, '--json')).code, 0, 'revoking twice is harmless');
      assert.equal((await run('tokens', 'revoke', 'no-such-id')).code, 1);
    });

    test('the real binary: --password-stdin and a machine-readable token for scripts', () => {
      const env = { ...process.env, ...t.env, RIPOSTE_LOG_LEVEL: 'silent' };
      const added = spawnSync(RIPOSTE, ['users', 'add', 'scripted', '--role', 'admin', '--password-stdin'], {
        input: 'a password from a pipe\n',
        env,
        encoding: 'utf8',
      });
      assert.equal(added.status, 0, added.stderr);
      assert.doesNotMatch(added.stdout, /a password from a pipe/, 'a supplied password is never echoed');
      const token = spawnSync(RIPOSTE, ['tokens', 'create', '--user', 'scripted', '--json'], { env, encoding: 'utf8' });
      assert.equal(token.status, 0, token.stderr);
      assert.match((JSON.parse(token.stdout) as { token: string }).token, /^rpt_/);
    });

    test('users passwd resets a lost password (the admin recovery path)', async () => {
      const auth = createAuthService({ store: t.store });
      const reset = await run('users', 'passwd', 'scripted', '--json');
      const { password } = JSON.parse(reset.stdout) as { password: string };
      assert.ok(await auth.login({ name: 'scripted', password, clientIp: '::1' }));
      await assert.rejects(auth.login({ name: 'scripted', password: 'a password from a pipe', clientIp: '::1' }));
    });
  });
}
