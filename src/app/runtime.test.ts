import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadConfig } from '../core/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { openRuntime, startServer } from './runtime.ts';

/** A logger whose lines are kept, to prove what never reaches a log. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ level: 'trace', destination }), text: () => lines.join('') };
}

for (const backend of testBackends()) {
  describe(`first start and secrets in logs (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
      await t.store.close();
    });
    after(async () => {
      await t.dispose().catch(() => {});
    });
    const config = () => loadConfig({ env: t.env, cwd: tmpdir() });

    test('the first start creates admin with a one-time password shown once, and never logs it', async () => {
      const announced: string[] = [];
      const logs = capturingLogger();
      const runtime = await openRuntime(config(), logs.logger, { env: {}, announce: (text) => announced.push(text) });
      try {
        assert.equal(announced.length, 1);
        const password = /one-time password\n\n {4}(\S+)\n/.exec(announced[0] ?? '')?.[1];
        assert.ok(password, announced[0]);
        assert.match(announced[0] ?? '', /riposte users passwd admin/);
        const session = await runtime.auth.login({ name: 'admin', password, clientIp: '::1' });
        assert.deepEqual(session.actor.roles, ['admin']);
        assert.equal(logs.text().includes(password), false, 'the password is not in the log');
        assert.match(logs.text(), /created the initial admin user/);
      } finally {
        await runtime.close();
      }

      const again: string[] = [];
      const second = await openRuntime(config(), createLogger({ level: 'silent' }), { env: {}, announce: (text) => again.push(text) });
      await second.close();
      assert.deepEqual(again, [], 'later starts create nothing and say nothing');
    });

    test('the server never logs passwords, tokens, session cookies or CSRF tokens', async () => {
      const logs = capturingLogger();
      const runtime = await openRuntime(config(), logs.logger, { env: {}, announce: () => {} });
      const server = await startServer(runtime, { host: '127.0.0.1', port: 0 });
      try {
        const password = 'a password that must not be logged';
        await runtime.auth.createUser({ name: 'logcheck', roles: ['admin'], password });
        const { token } = await runtime.auth.createToken({ userName: 'logcheck' });
        const wrong = await fetch(`${server.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'logcheck', password: `${password}!` }),
        });
        assert.equal(wrong.status, 401);
        const login = await fetch(`${server.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'logcheck', password }),
        });
        const { csrf_token } = (await login.json()) as { csrf_token: string };
        const cookie = login.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        const created = await fetch(`${server.url}/api/v1/tokens`, {
          method: 'POST',
          headers: { cookie, 'x-csrf-token': csrf_token, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'from log test' }),
        });
        const { token: second } = (await created.json()) as { token: string };
        await fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
        await fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}x` } });
        await fetch(`${server.url}/api/v1/users/logcheck?token=${token}`, { headers: { authorization: `Bearer ${second}` } });

        const text = logs.text();
        assert.match(text, /sign-in failed/, 'the log does record security events');
        for (const secret of [password, token, second, csrf_token, cookie.split('=')[1] ?? 'missing']) {
          assert.equal(text.includes(secret.slice(0, 20)), false, `a secret reached the log: ${secret.slice(0, 8)}…`);
        }
      } finally {
        await server.close();
      }
    });
  });
}
