import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PERMISSIONS } from '../auth/index.ts';
import { testBackends } from '../store/testing.ts';
import { parseCookies, serializeCookie } from './auth.ts';
import { openTestServer, type TestServer } from './testing.ts';

const PASSWORD = 'correct horse battery staple';

interface Json {
  [key: string]: unknown;
}

for (const backend of testBackends()) {
  describe(`API authentication and RBAC (${backend.backend})`, () => {
    let server: TestServer;
    before(async () => {
      server = await openTestServer(backend, { authPolicy: { loginRateLimit: 4, lockoutThreshold: 50 } });
      await server.auth.createUser({ name: 'root', roles: ['admin'], password: PASSWORD });
      await server.auth.createUser({ name: 'vera', roles: ['viewer'], password: PASSWORD });
    });
    after(async () => {
      await server.dispose();
    });

    const login = async (username: string, password = PASSWORD) => {
      const res = await server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
      assert.equal(res.statusCode, 200, res.body);
      const cookies = parseCookies(
        (res.headers['set-cookie'] as string[])
          .map((c) => c.split(';')[0])
          .filter(Boolean)
          .join('; '),
      );
      const body = res.json() as { csrf_token: string };
      return { cookie: `riposte_session=${cookies.get('riposte_session')}; riposte_csrf=${cookies.get('riposte_csrf')}`, csrf: body.csrf_token, res };
    };

    test('without credentials: 401 problem+json with WWW-Authenticate: Bearer', async () => {
      const res = await server.app.inject({ method: 'GET', url: '/api/v1/users' });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="riposte"');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const problem = res.json() as Json;
      assert.equal(problem.code, 'auth.unauthenticated');
      assert.match(String(problem.detail), /POST \/api\/v1\/auth\/login/);
    });

    test('a bad or foreign Authorization header is refused and says so', async () => {
      const basic = await server.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: 'Basic cm9vdDpwdw==' } });
      assert.equal(basic.statusCode, 401);
      assert.match((basic.json() as Json).detail as string, /must be "Bearer <API token>"/);
      const unknown = await server.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer rpt_${'x'.repeat(43)}` } });
      assert.equal(unknown.statusCode, 401);
      assert.equal((unknown.json() as Json).code, 'auth.invalid_token');
      assert.equal(unknown.headers['www-authenticate'], 'Bearer realm="riposte", error="invalid_token"');
    });

    test('health probes stay public; /metrics needs metrics:read', async () => {
      assert.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200);
      assert.equal((await server.app.inject({ url: '/readyz' })).statusCode, 200);
      assert.equal((await server.app.inject({ url: '/metrics' })).statusCode, 401);
      const viewer = await server.as('viewer');
      const metrics = await server.app.inject({ url: '/metrics', headers: viewer });
      assert.equal(metrics.statusCode, 200);
      assert.match(metrics.body, /riposte_http_request_duration_seconds/);
      const narrow = await server.as('admin', ['cases:read']);
      const refused = await server.app.inject({ url: '/metrics', headers: narrow });
      assert.equal(refused.statusCode, 403);
      const problem = refused.json() as Json;
      assert.equal(problem.code, 'auth.forbidden');
      assert.deepEqual(problem.details, { permission: 'metrics:read' });
      assert.match(String(problem.detail), /needs permission metrics:read/);
    });

    test('403 names the missing permission and the caller’s roles', async () => {
      const res = await server.app.inject({ url: '/api/v1/users', headers: await server.as(['analyst', 'approver']) });
      assert.equal(res.statusCode, 403);
      assert.match(
        (res.json() as Json).detail as string,
        /needs permission users:admin, which this API token does not grant \(owner's roles: analyst, approver/,
      );
      const { cookie } = await login('vera');
      const bySession = await server.app.inject({ url: '/api/v1/users', headers: { cookie } });
      assert.match((bySession.json() as Json).detail as string, /needs permission users:admin, which your role \(viewer\) does not grant/);
    });

    test('GET /api/v1/auth/me describes a token caller with its narrowed permissions', async () => {
      const res = await server.app.inject({ url: '/api/v1/auth/me', headers: await server.as('responder', ['cases:read', 'runs:cancel']) });
      assert.equal(res.statusCode, 200);
      const me = res.json() as Json;
      assert.equal(me.kind, 'token');
      assert.deepEqual(me.roles, ['responder']);
      assert.deepEqual(me.permissions, ['cases:read', 'runs:cancel']);
    });

    test('sign-in sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie', async () => {
      const { res, csrf } = await login('root');
      const setCookie = res.headers['set-cookie'] as string[];
      assert.equal(setCookie.length, 2);
      assert.match(setCookie[0] ?? '', /^riposte_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; SameSite=Strict; HttpOnly$/);
      assert.match(setCookie[1] ?? '', /^riposte_csrf=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; SameSite=Strict$/);
      assert.ok(setCookie[1]?.includes(csrf));
      const body = res.json() as { user: Json };
      assert.equal(body.user.name, 'root');
      assert.deepEqual(body.user.permissions, [...PERMISSIONS]);
    });

    test('cookie callers need x-csrf-token for changes, not for reads', async () => {
      const { cookie, csrf } = await login('root');
      const read = await server.app.inject({ url: '/api/v1/users', headers: { cookie } });
      assert.equal(read.statusCode, 200);

      const payload = { name: 'csrf-victim', roles: ['admin'], password: PASSWORD };
      const forged = await server.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie }, payload });
      assert.equal(forged.statusCode, 403);
      assert.equal((forged.json() as Json).code, 'auth.csrf_failed');
      const wrong = await server.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { cookie, 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` },
        payload,
      });
      assert.equal(wrong.statusCode, 403);
      const otherSite = await server.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' },
        payload,
      });
      assert.equal(otherSite.statusCode, 403);
      assert.match((otherSite.json() as Json).detail as string, /origin https:\/\/evil\.example refused/);
      const opaque = await server.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie, 'x-csrf-token': csrf, origin: 'null' }, payload });
      assert.equal(opaque.statusCode, 403, 'a sandboxed frame (Origin: null) is refused');
      assert.equal(await server.auth.getUser('csrf-victim').catch(() => 'absent'), 'absent');

      const ok = await server.app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie, 'x-csrf-token': csrf }, payload });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    test('another session’s CSRF token does not fit this session', async () => {
      const first = await login('root');
      const second = await login('root');
      const res = await server.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { cookie: first.cookie, 'x-csrf-token': second.csrf },
        payload: {},
      });
      assert.equal(res.statusCode, 403);
    });

    test('sign-out ends the session and clears both cookies', async () => {
      const { cookie, csrf } = await login('vera');
      const out = await server.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(out.statusCode, 204);
      const cleared = out.headers['set-cookie'] as string[];
      assert.ok(cleared.every((c) => /Max-Age=0/.test(c)));
      const me = await server.app.inject({ url: '/api/v1/auth/me', headers: { cookie } });
      assert.equal(me.statusCode, 401);
      assert.equal((me.json() as Json).code, 'auth.session_expired');
    });

    test('failed sign-ins get one generic answer and are rate limited with Retry-After', async () => {
      const attempt = (password: string) =>
        server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'vera', password }, remoteAddress: '203.0.113.9' });
      const wrong = await attempt('not her password');
      assert.equal(wrong.statusCode, 401);
      assert.equal((wrong.json() as Json).code, 'auth.invalid_credentials');
      const nobody = await server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody', password: 'whatever it is' } });
      assert.equal((nobody.json() as Json).detail, (wrong.json() as Json).detail, 'unknown users look the same as wrong passwords');
      for (let i = 0; i < 3; i++) await attempt('not her password');
      const limited = await attempt(PASSWORD);
      assert.equal(limited.statusCode, 429);
      assert.equal((limited.json() as Json).code, 'auth.rate_limited');
      assert.match(String(limited.headers['retry-after']), /^\d+$/);
    });

    test('login validates its body and refuses forms', async () => {
      const missing = await server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'root' } });
      assert.equal(missing.statusCode, 400);
      assert.match((missing.json() as Json).detail as string, /body\.password/);
      const form = await server.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=root&password=x',
      });
      assert.equal(form.statusCode, 415);
    });

    test('changing one’s password ends one’s sessions', async () => {
      await server.auth.createUser({ name: 'paula', roles: ['viewer'], password: PASSWORD });
      const { cookie, csrf } = await login('paula');
      const bad = await server.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers: { cookie, 'x-csrf-token': csrf },
        payload: { current_password: 'nope', new_password: 'another long passphrase' },
      });
      assert.equal(bad.statusCode, 403);
      const ok = await server.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers: { cookie, 'x-csrf-token': csrf },
        payload: { current_password: PASSWORD, new_password: 'another long passphrase' },
      });
      assert.equal(ok.statusCode, 204);
      assert.equal((await server.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode, 401);
      await login('paula', 'another long passphrase');
    });
  });

  describe(`users and tokens routes (${backend.backend})`, () => {
    let server: TestServer;
    let admin: { authorization: string };
    before(async () => {
      server = await openTestServer(backend);
      admin = await server.as('admin');
    });
    after(async () => {
      await server.dispose();
    });

    test('admins create, page through, change and disable users', async () => {
      for (const name of ['ann', 'ben', 'cat', 'dev']) {
        const res = await server.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: admin,
          payload: { name, roles: ['analyst'], password: PASSWORD },
        });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal('password_hash' in (res.json() as Json), false);
      }
      const clash = await server.app.inject({ method: 'POST', url: '/api/v1/users', headers: admin, payload: { name: 'ANN', roles: ['viewer'] } });
      assert.equal(clash.statusCode, 409);
      assert.equal((clash.json() as Json).code, 'auth.user_exists');
      const badRole = await server.app.inject({ method: 'POST', url: '/api/v1/users', headers: admin, payload: { name: 'eve', roles: ['god'] } });
      assert.equal(badRole.statusCode, 400);
      assert.match((badRole.json() as Json).detail as string, /body\.roles\.0/);

      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/api/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await server.app.inject({ url, headers: admin })).json() as { items: Array<{ name: string }>; next_cursor: string | null };
        assert.ok(page.items.length <= 2);
        names.push(...page.items.map((u) => u.name));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(
        names.filter((n) => !n.startsWith('test-user')),
        ['ann', 'ben', 'cat', 'dev'],
      );
      const badCursor = await server.app.inject({ url: '/api/v1/users?cursor=bm9wZQ', headers: admin });
      assert.equal(badCursor.statusCode, 400);
      assert.equal((badCursor.json() as Json).code, 'input.invalid_cursor');

      const promoted = await server.app.inject({ method: 'PATCH', url: '/api/v1/users/ben', headers: admin, payload: { roles: ['responder', 'approver'] } });
      assert.deepEqual((promoted.json() as Json).roles, ['responder', 'approver']);
      const disabled = await server.app.inject({ method: 'PATCH', url: '/api/v1/users/ben', headers: admin, payload: { disabled: true } });
      assert.equal((disabled.json() as Json).disabled, true);
      const signIn = await server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ben', password: PASSWORD } });
      assert.equal(signIn.statusCode, 401);
      const empty = await server.app.inject({ method: 'PATCH', url: '/api/v1/users/ben', headers: admin, payload: {} });
      assert.equal(empty.statusCode, 400);
      const missing = await server.app.inject({ url: '/api/v1/users/zed', headers: admin });
      assert.equal(missing.statusCode, 404);
    });

    test('the last admin cannot be disabled over the API', async () => {
      const other = await openTestServer(backend);
      try {
        await other.auth.createUser({ name: 'solo', roles: ['admin'], password: PASSWORD });
        const { token } = await other.auth.createToken({ userName: 'solo' });
        const res = await other.app.inject({
          method: 'PATCH',
          url: '/api/v1/users/solo',
          headers: { authorization: `Bearer ${token}` },
          payload: { disabled: true },
        });
        assert.equal(res.statusCode, 409);
        assert.equal((res.json() as Json).code, 'auth.last_admin');
      } finally {
        await other.dispose();
      }
    });

    test('tokens: shown once at creation, usable, listed without secrets, revocable', async () => {
      const analyst = await server.as('analyst');
      const created = await server.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: analyst,
        payload: { name: 'splunk', scopes: ['cases:read'], expires_in: '30d' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json() as { token: string; id: string; scopes: string[]; expires_at: string; status: string };
      assert.match(body.token, /^rpt_[0-9A-Za-z]{43}$/);
      assert.deepEqual(body.scopes, ['cases:read']);
      assert.equal(body.status, 'active');
      assert.ok(Date.parse(body.expires_at) > Date.now() + 29 * 86_400_000);

      const me = await server.app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${body.token}` } });
      assert.deepEqual((me.json() as Json).permissions, ['cases:read']);

      const listed = await server.app.inject({ url: '/api/v1/tokens', headers: analyst });
      assert.equal(listed.body.includes(body.token), false, 'listing never shows a token');
      assert.ok((listed.json() as { items: Array<{ id: string }> }).items.some((t) => t.id === body.id));

      const tooWide = await server.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: analyst, payload: { scopes: ['users:admin'] } });
      assert.equal(tooWide.statusCode, 403);
      assert.equal((tooWide.json() as Json).code, 'auth.scope_exceeded');
      const badExpiry = await server.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: analyst, payload: { expires_in: 'soon' } });
      assert.equal(badExpiry.statusCode, 400);
      assert.match((badExpiry.json() as Json).detail as string, /body\.expires_in/);
      const forOthers = await server.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: analyst, payload: { user: 'ann' } });
      assert.equal(forOthers.statusCode, 403);
      assert.match((forOthers.json() as Json).detail as string, /tokens:admin/);

      const revokedByStranger = await server.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${body.id}`, headers: await server.as('analyst') });
      assert.equal(revokedByStranger.statusCode, 403);
      const revoked = await server.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${body.id}`, headers: analyst });
      assert.equal((revoked.json() as Json).status, 'revoked');
      const after = await server.app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${body.token}` } });
      assert.equal(after.statusCode, 401);
      assert.equal((after.json() as Json).code, 'auth.token_revoked');
    });

    test('admins manage other users’ tokens', async () => {
      const created = await server.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { user: 'ann', name: 'for ann' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal((created.json() as Json).user, 'ann');
      const all = await server.app.inject({ url: '/api/v1/tokens?all=true', headers: admin });
      assert.ok((all.json() as { items: Array<{ user: string }> }).items.some((t) => t.user === 'ann'));
      const anns = await server.app.inject({ url: '/api/v1/tokens?user=ann', headers: admin });
      assert.deepEqual(
        (anns.json() as { items: Array<{ name: string }> }).items.map((t) => t.name),
        ['for ann'],
      );
    });
  });
}

describe('session cookies over real HTTP', () => {
  const [backend] = testBackends();
  let server: TestServer;
  let base: string;
  before(async () => {
    if (!backend) throw new Error('no test backend');
    server = await openTestServer(backend);
    await server.auth.createUser({ name: 'hana', roles: ['analyst'], password: PASSWORD });
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await server.dispose();
  });

  test('a browser-like client signs in, reads, needs the CSRF header to change, and signs out', async () => {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'hana', password: PASSWORD }),
    });
    assert.equal(login.status, 200);
    const setCookies = login.headers.getSetCookie();
    const jar = setCookies.map((c) => c.split(';')[0]).join('; ');
    const csrfCookie = parseCookies(jar).get('riposte_csrf') ?? '';
    assert.ok(setCookies.some((c) => c.startsWith('riposte_session=') && c.includes('HttpOnly') && c.includes('SameSite=Strict')));

    const me = await fetch(`${base}/api/v1/auth/me`, { headers: { cookie: jar } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as Json).name, 'hana');

    const withoutCsrf = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(withoutCsrf.status, 403);
    assert.equal(((await withoutCsrf.json()) as Json).code, 'auth.csrf_failed');
    // Double submit: the page reads the CSRF cookie and echoes it in the header.
    const withCsrf = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie: jar, 'content-type': 'application/json', 'x-csrf-token': csrfCookie, origin: base },
      body: JSON.stringify({ name: 'from the ui' }),
    });
    assert.equal(withCsrf.status, 201);

    const out = await fetch(`${base}/api/v1/auth/logout`, { method: 'POST', headers: { cookie: jar, 'x-csrf-token': csrfCookie } });
    assert.equal(out.status, 204);
    assert.equal((await fetch(`${base}/api/v1/auth/me`, { headers: { cookie: jar } })).status, 401);
  });

  test('with an https public URL the cookies are __Host- prefixed and Secure', async () => {
    if (!backend) return;
    const secure = await openTestServer(backend, { config: { 'server.public_url': 'https://soar.example.org' } });
    try {
      await secure.auth.createUser({ name: 'ivy', roles: ['viewer'], password: PASSWORD });
      const res = await secure.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ivy', password: PASSWORD } });
      const cookies = res.headers['set-cookie'] as string[];
      assert.match(cookies[0] ?? '', /^__Host-riposte_session=.*; Path=\/; .*SameSite=Strict; HttpOnly; Secure$/);
      assert.match(cookies[1] ?? '', /^__Host-riposte_csrf=.*; Secure$/);
      const jar = cookies.map((c) => c.split(';')[0]).join('; ');
      const csrf = (res.json() as { csrf_token: string }).csrf_token;
      const sameSite = await secure.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { cookie: jar, 'x-csrf-token': csrf, origin: 'https://soar.example.org' },
        payload: {},
      });
      assert.equal(sameSite.statusCode, 201, sameSite.body);
    } finally {
      await secure.dispose();
    }
  });
});

describe('route declarations', () => {
  test('the server refuses to start with a route that declares neither permission nor public', async () => {
    const [backend] = testBackends();
    if (!backend) return;
    const server = await openTestServer(backend);
    try {
      server.app.get('/api/v1/forgotten', async () => ({ secret: true }));
      await assert.rejects(async () => {
        await server.app.ready();
      }, /routes without config\.permission or config\.public: GET \/api\/v1\/forgotten/);
    } finally {
      await server.dispose().catch(() => {});
    }
  });

  test('the server refuses to start with a permission that is not in the catalog', async () => {
    const [backend] = testBackends();
    if (!backend) return;
    const server = await openTestServer(backend);
    try {
      server.app.get('/api/v1/typo', { config: { permission: 'case:read' } }, async () => ({}));
      await assert.rejects(async () => {
        await server.app.ready();
      }, /permission is not in the catalog.*GET \/api\/v1\/typo \(case:read\)/);
    } finally {
      await server.dispose().catch(() => {});
    }
  });
});

describe('client addresses behind a proxy', () => {
  const attempt = (server: TestServer, forwardedFor: string) =>
    server.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'nobody-here', password: 'wrong password!!' },
      headers: { 'x-forwarded-for': forwardedFor },
      remoteAddress: '127.0.0.1',
    });

  test('X-Forwarded-For is ignored unless the proxy is trusted, so it cannot dodge sign-in limits', async () => {
    const [backend] = testBackends();
    assert.ok(backend);
    const untrusted = await openTestServer(backend, { authPolicy: { loginRateLimit: 2 } });
    try {
      assert.equal((await attempt(untrusted, '198.51.100.1')).statusCode, 401);
      assert.equal((await attempt(untrusted, '198.51.100.2')).statusCode, 401);
      assert.equal((await attempt(untrusted, '198.51.100.3')).statusCode, 429, 'all three came from 127.0.0.1');
    } finally {
      await untrusted.dispose();
    }
    const trusted = await openTestServer(backend, { authPolicy: { loginRateLimit: 2 }, config: { 'server.trust_proxy': '127.0.0.1' } });
    try {
      assert.equal((await attempt(trusted, '198.51.100.1')).statusCode, 401);
      assert.equal((await attempt(trusted, '198.51.100.1')).statusCode, 401);
      assert.equal((await attempt(trusted, '198.51.100.1')).statusCode, 429);
      assert.equal((await attempt(trusted, '198.51.100.2')).statusCode, 401, 'another client behind the proxy has its own budget');
    } finally {
      await trusted.dispose();
    }
  });
});

describe('cookie handling', () => {
  test('parses the Cookie header leniently and keeps the first of duplicate names', () => {
    const cookies = parseCookies('a=1; riposte_session=abc_-; quoted="x y"; riposte_session=later; novalue; =orphan');
    assert.equal(cookies.get('a'), '1');
    assert.equal(cookies.get('riposte_session'), 'abc_-');
    assert.equal(cookies.get('quoted'), 'x y');
    assert.equal(cookies.has('novalue'), false);
    assert.equal(parseCookies(undefined).size, 0);
  });

  test('serialises cookies with the attributes that matter', () => {
    assert.equal(
      serializeCookie('s', 'v', { httpOnly: true, secure: true, maxAgeSeconds: 60.9 }),
      's=v; Path=/; Max-Age=60; SameSite=Strict; HttpOnly; Secure',
    );
    assert.equal(serializeCookie('c', '', { httpOnly: false, secure: false, maxAgeSeconds: -5 }), 'c=; Path=/; Max-Age=0; SameSite=Strict');
  });
});
