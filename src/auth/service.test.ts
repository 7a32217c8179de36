import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, RiposteError } from '../core/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import type { Actor } from './actor.ts';
import { PERMISSIONS, ROLE_PERMISSIONS } from './permissions.ts';
import { type AuthEvent, type AuthService, createAuthService, DEFAULT_AUTH_POLICY } from './service.ts';

/** Cheap hashing keeps this file fast; passwords.test.ts covers the production parameters. */
const FAST_HASHING = { memory: 1024, passes: 1, parallelism: 1 };
const PASSWORD = 'a perfectly fine passphrase';

function rejectsWith(code: string, status?: number) {
  return (error: unknown) => {
    assert.ok(error instanceof RiposteError, `expected a RiposteError, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (status !== undefined) assert.equal(error.status, status);
    return true;
  };
}

for (const backend of testBackends()) {
  describe(`auth service (${backend.backend})`, () => {
    let t: TestStore;
    let auth: AuthService;
    const clock = new ManualClock(Date.UTC(2026, 3, 1));
    const policy = { ...DEFAULT_AUTH_POLICY, lockoutThreshold: 3, lockoutDurationMs: 10 * 60_000, loginRateLimit: 20 };

    before(async () => {
      t = await backend.open({ clock });
      auth = createAuthService({ store: t.store, clock, policy, passwordHashing: FAST_HASHING });
    });
    after(async () => {
      await t.dispose();
    });

    const login = (name: string, password = PASSWORD, clientIp = '192.0.2.1') => auth.login({ name, password, clientIp });

    test('first start creates admin once, with the given password or a generated one', async () => {
      const created = await auth.ensureInitialAdmin(PASSWORD);
      assert.deepEqual(created, { name: 'admin', password: PASSWORD, generated: false });
      assert.equal(await auth.ensureInitialAdmin(), undefined, 'users exist: nothing happens');
      const admin = await auth.getUser('admin');
      assert.deepEqual(admin.roles, ['admin']);
      const signedIn = await login('admin');
      assert.deepEqual(signedIn.actor.permissions, [...PERMISSIONS]);

      const other = await backend.open({ clock });
      try {
        const fresh = createAuthService({ store: other.store, clock, passwordHashing: FAST_HASHING });
        const generated = await fresh.ensureInitialAdmin();
        assert.equal(generated?.generated, true);
        assert.match(generated?.password ?? '', /^[A-Za-z0-9]{20}$/);
        assert.ok(await fresh.login({ name: 'admin', password: generated?.password ?? '', clientIp: '::1' }));
      } finally {
        await other.dispose();
      }
    });

    test('a too-short RIPOSTE_ADMIN_PASSWORD is refused by name', async () => {
      const other = await backend.open({ clock });
      try {
        await assert.rejects(
          createAuthService({ store: other.store, passwordHashing: FAST_HASHING }).ensureInitialAdmin('short'),
          /RIPOSTE_ADMIN_PASSWORD must be at least 12/,
        );
      } finally {
        await other.dispose();
      }
    });

    test('users: names are normalised and unique, roles validated, views never carry hashes', async () => {
      const alice = await auth.createUser({ name: '  Alice@Example.org ', roles: ['analyst', 'approver', 'analyst'], password: PASSWORD });
      assert.equal(alice.name, 'alice@example.org');
      assert.deepEqual(alice.roles, ['analyst', 'approver']);
      assert.equal(alice.hasPassword, true);
      assert.equal('passwordHash' in alice, false);
      await assert.rejects(auth.createUser({ name: 'ALICE@example.org', roles: ['viewer'] }), rejectsWith('auth.user_exists', 409));
      await assert.rejects(auth.createUser({ name: 'bob', roles: ['root'] }), /"root" is not a role; roles are viewer, analyst/);
      await assert.rejects(auth.createUser({ name: 'bob', roles: [] }), /roles must name at least one role/);
      await assert.rejects(auth.createUser({ name: '-bob', roles: ['viewer'] }), /name must be 1–64 characters/);
      await assert.rejects(auth.createUser({ name: 'bob', roles: ['viewer'], password: 'short' }), /password must be at least 12/);
      const svc = await auth.createUser({ name: 'svc-splunk', roles: ['viewer'] });
      assert.equal(svc.hasPassword, false);
      await assert.rejects(login('svc-splunk', ''), rejectsWith('auth.invalid_credentials', 401));
      const names = (await auth.listUsers()).map((u) => u.name);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('svc-splunk'));
    });

    test('sign-in: wrong passwords lock the account after the threshold, even for the right password', async () => {
      await auth.createUser({ name: 'carol', roles: ['responder'], password: PASSWORD });
      await assert.rejects(login('nobody'), rejectsWith('auth.invalid_credentials', 401));
      for (let i = 0; i < 3; i++) await assert.rejects(login('carol', 'wrong password!!'), rejectsWith('auth.invalid_credentials'));
      const locked = await auth.getUser('carol');
      assert.equal(locked.lockedUntil, clock.now() + 10 * 60_000);
      await assert.rejects(login('carol'), rejectsWith('auth.invalid_credentials'), 'locked: the right password does not help');

      clock.advance(10 * 60_000 + 1);
      const session = await login('carol');
      assert.equal(session.actor.name, 'carol');
      assert.deepEqual(session.actor.roles, ['responder']);
      assert.deepEqual(
        session.actor.permissions,
        PERMISSIONS.filter((p) => ROLE_PERMISSIONS.responder.includes(p)),
      );
      const after = await auth.getUser('carol');
      assert.equal(after.failedLogins, 0);
      assert.equal(after.lastLoginAt, clock.now());
    });

    test('an admin unlock lifts a lockout at once', async () => {
      await auth.createUser({ name: 'dan', roles: ['viewer'], password: PASSWORD });
      for (let i = 0; i < 3; i++) await assert.rejects(login('dan', 'wrong password!!'));
      await assert.rejects(login('dan'));
      await auth.updateUser('dan', { unlock: true });
      assert.ok(await login('dan'));
    });

    test('sign-in is rate limited per name and address with a retry time', async () => {
      const limited = createAuthService({
        store: t.store,
        clock,
        policy: { ...policy, loginRateLimit: 2, lockoutThreshold: 100 },
        passwordHashing: FAST_HASHING,
      });
      await auth.createUser({ name: 'erin', roles: ['viewer'], password: PASSWORD });
      const attempt = (ip: string) => limited.login({ name: 'erin', password: 'wrong password!!', clientIp: ip });
      await assert.rejects(attempt('198.51.100.7'), rejectsWith('auth.invalid_credentials'));
      await assert.rejects(attempt('198.51.100.7'), rejectsWith('auth.invalid_credentials'));
      await assert.rejects(attempt('198.51.100.7'), (error: unknown) => {
        assert.ok(error instanceof RiposteError);
        assert.equal(error.code, 'auth.rate_limited');
        assert.equal(error.status, 429);
        assert.equal(error.details?.retry_after_seconds, 300);
        return true;
      });
      await assert.rejects(attempt('198.51.100.8'), rejectsWith('auth.invalid_credentials'), 'another address still gets an answer');
    });

    test('sessions: idle and absolute expiry, disabled users and CSRF binding', async () => {
      await auth.createUser({ name: 'frank', roles: ['analyst'], password: PASSWORD });
      const first = await login('frank');
      const found = await auth.authenticateSession(first.sessionSecret);
      assert.equal(found.actor.kind, 'user');
      assert.equal(found.actor.sessionId, first.actor.sessionId);
      assert.equal(auth.csrfMatches(found.csrfHash, first.csrfToken), true);
      assert.equal(auth.csrfMatches(found.csrfHash, `${first.csrfToken}x`), false);
      assert.equal(auth.csrfMatches(found.csrfHash, ''), false);
      await assert.rejects(auth.authenticateSession('not-a-session'), rejectsWith('auth.session_expired', 401));

      // Activity keeps it alive through several idle periods...
      for (let i = 0; i < 4; i++) {
        clock.advance(policy.sessionIdleTimeoutMs - 60_000);
        await auth.authenticateSession(first.sessionSecret);
      }
      // ...but not past the idle timeout.
      clock.advance(policy.sessionIdleTimeoutMs + 1);
      await assert.rejects(auth.authenticateSession(first.sessionSecret), rejectsWith('auth.session_expired'));

      const second = await login('frank');
      for (let elapsed = 0; elapsed < policy.sessionMaxAgeMs - 60_000; elapsed += 20 * 60_000) {
        await auth.authenticateSession(second.sessionSecret);
        clock.advance(20 * 60_000);
      }
      clock.advance(60_000);
      await assert.rejects(auth.authenticateSession(second.sessionSecret), rejectsWith('auth.session_expired'), 'absolute age ends even an active session');

      const third = await login('frank');
      await auth.updateUser('frank', { disabled: true });
      await assert.rejects(auth.authenticateSession(third.sessionSecret), rejectsWith('auth.session_expired'), 'disabling ends sessions');
      await assert.rejects(login('frank'), rejectsWith('auth.invalid_credentials'));
      await auth.updateUser('frank', { disabled: false });
      const fourth = await login('frank');
      await auth.logout(fourth.actor.sessionId ?? '');
      await assert.rejects(auth.authenticateSession(fourth.sessionSecret), rejectsWith('auth.session_expired'));
    });

    test('API tokens: scoped within the owner, shown once, expiring, revocable, narrowed by demotion', async () => {
      await auth.createUser({ name: 'grace', roles: ['analyst'], password: PASSWORD });
      const full = await auth.createToken({ userName: 'grace', name: 'laptop' });
      assert.match(full.token, /^rpt_[0-9A-Za-z]{43}$/);
      assert.deepEqual(
        full.view.scopes,
        PERMISSIONS.filter((p) => ROLE_PERMISSIONS.analyst.includes(p)),
      );
      assert.equal(JSON.stringify(full.view).includes(full.token), false, 'the view never repeats the token');

      const narrow = await auth.createToken({ userName: 'grace', scopes: ['cases:read', 'alerts:read'], expiresInMs: 3_600_000 });
      assert.deepEqual(narrow.view.scopes, ['alerts:read', 'cases:read']);
      const actor = await auth.authenticateToken(narrow.token);
      assert.equal(actor.kind, 'token');
      assert.equal(actor.id, narrow.view.id);
      assert.equal(actor.name, 'grace');
      assert.deepEqual(actor.permissions, ['alerts:read', 'cases:read']);

      await assert.rejects(auth.createToken({ userName: 'grace', scopes: ['users:admin'] }), rejectsWith('auth.scope_exceeded', 403));
      await assert.rejects(auth.createToken({ userName: 'grace', scopes: ['cases:fly'] }), /"cases:fly" is not a permission/);

      clock.advance(3_600_000);
      await assert.rejects(auth.authenticateToken(narrow.token), rejectsWith('auth.token_expired', 401));
      const listed = await auth.listTokens({ userName: 'grace' });
      assert.deepEqual(
        listed.map((x) => [x.name, x.status]),
        [
          ['api token', 'expired'],
          ['laptop', 'active'],
        ],
      );

      // Demotion narrows a live token at once.
      await auth.updateUser('grace', { roles: ['viewer'] });
      const demoted = await auth.authenticateToken(full.token);
      assert.equal(demoted.permissions.includes('cases:write'), false);
      assert.equal(demoted.permissions.includes('cases:read'), true);
      assert.ok((await auth.listTokens({ userName: 'grace' })).find((x) => x.id === full.view.id)?.lastUsedAt);

      const revoked = await auth.revokeToken(full.view.id);
      assert.equal(revoked.status, 'revoked');
      await assert.rejects(auth.authenticateToken(full.token), rejectsWith('auth.token_revoked', 401));
      await assert.rejects(auth.authenticateToken(`rpt_${'A'.repeat(43)}`), rejectsWith('auth.invalid_token', 401));
      await assert.rejects(auth.authenticateToken('Basic abc'), rejectsWith('auth.invalid_token', 401));
    });

    test('tokens of a disabled owner stop working', async () => {
      await auth.createUser({ name: 'heidi', roles: ['viewer'] });
      const { token } = await auth.createToken({ userName: 'heidi' });
      await auth.authenticateToken(token);
      await auth.updateUser('heidi', { disabled: true });
      await assert.rejects(auth.authenticateToken(token), rejectsWith('auth.account_disabled', 401));
      await assert.rejects(auth.createToken({ userName: 'heidi' }), rejectsWith('conflict', 409));
    });

    test('acting as someone: self-service is allowed, others need tokens:admin, scopes never exceed the caller', async () => {
      await auth.createUser({ name: 'ivan', roles: ['viewer'], password: PASSWORD });
      await auth.createUser({ name: 'judy', roles: ['analyst'], password: PASSWORD });
      const ivan = (await login('ivan')).actor;
      const judy = (await login('judy')).actor;
      const admin = (await login('admin')).actor;

      const own = await auth.createToken({ name: 'mine' }, ivan);
      assert.equal(own.view.userName, 'ivan');
      await assert.rejects(auth.createToken({ userName: 'judy' }, ivan), rejectsWith('auth.forbidden', 403));
      await assert.rejects(auth.listTokens({ userName: 'judy' }, ivan), rejectsWith('auth.forbidden'));
      await assert.rejects(auth.listTokens({ all: true }, ivan), rejectsWith('auth.forbidden'));
      const judys = await auth.createToken({ userName: 'judy', scopes: ['cases:write'] }, admin);
      await assert.rejects(
        auth.revokeToken(judys.view.id, ivan),
        (e: unknown) => e instanceof RiposteError && e.code === 'auth.forbidden' && /tokens:admin/.test(e.message),
      );
      assert.deepEqual(
        (await auth.listTokens({}, judy)).map((x) => x.id),
        [judys.view.id],
      );
      assert.equal((await auth.revokeToken(judys.view.id, judy)).status, 'revoked');

      // A token acting for its owner cannot mint a wider token than itself.
      const readOnly = await auth.authenticateToken((await auth.createToken({ userName: 'judy', scopes: ['cases:read', 'tokens:self'] })).token);
      await assert.rejects(auth.createToken({ scopes: ['cases:write'] }, readOnly), rejectsWith('auth.scope_exceeded'));
      const child = await auth.createToken({}, readOnly);
      assert.deepEqual(child.view.scopes, ['cases:read', 'tokens:self']);
      assert.ok((await auth.listTokens({ all: true }, admin)).length >= 3);
    });

    test('the last enabled admin can be neither demoted nor disabled', async () => {
      await assert.rejects(auth.updateUser('admin', { disabled: true }), rejectsWith('auth.last_admin', 409));
      await assert.rejects(auth.updateUser('admin', { roles: ['viewer'] }), rejectsWith('auth.last_admin', 409));
      await auth.createUser({ name: 'root2', roles: ['admin'], password: PASSWORD });
      await auth.updateUser('root2', { disabled: true });
      await assert.rejects(auth.updateUser('admin', { roles: ['analyst'] }), rejectsWith('auth.last_admin'), 'a disabled admin does not count');
      await auth.updateUser('root2', { disabled: false });
      const demoted = await auth.updateUser('admin', { roles: ['analyst', 'approver'] });
      assert.deepEqual(demoted.roles, ['analyst', 'approver']);
      await auth.updateUser('admin', { roles: ['admin'] });
    });

    test('changing passwords ends sessions; the own-password change checks the current one', async () => {
      await auth.createUser({ name: 'kim', roles: ['viewer'], password: PASSWORD });
      const session = await login('kim');
      const actor: Actor = session.actor;
      await assert.rejects(auth.changeOwnPassword(actor, 'not my password', 'a brand new passphrase'), rejectsWith('auth.invalid_credentials', 403));
      await assert.rejects(auth.changeOwnPassword(actor, PASSWORD, 'short'), /new_password must be at least 12/);
      await auth.changeOwnPassword(actor, PASSWORD, 'a brand new passphrase');
      await assert.rejects(auth.authenticateSession(session.sessionSecret), rejectsWith('auth.session_expired'));
      await assert.rejects(login('kim'), rejectsWith('auth.invalid_credentials'));
      assert.ok(await login('kim', 'a brand new passphrase'));
      await auth.updateUser('kim', { password: 'admin-chosen passphrase' });
      assert.ok(await login('kim', 'admin-chosen passphrase'));
    });

    test('a hash made with weaker parameters is upgraded at sign-in', async () => {
      const strong = createAuthService({ store: t.store, clock, policy, passwordHashing: { memory: 2048, passes: 2, parallelism: 1 } });
      await auth.createUser({ name: 'leo', roles: ['viewer'], password: PASSWORD });
      assert.match((await t.store.users.byName('leo'))?.passwordHash ?? '', /m=1024,t=1/);
      await strong.login({ name: 'leo', password: PASSWORD, clientIp: '::1' });
      assert.match((await t.store.users.byName('leo'))?.passwordHash ?? '', /m=2048,t=2/);
    });
  });
}

describe('auth events for the audit trail', () => {
  test('changes and sign-ins are reported with who and what, never a secret', async () => {
    const [backend] = testBackends();
    assert.ok(backend);
    const t = await backend.open();
    try {
      const events: AuthEvent[] = [];
      const auth = createAuthService({ store: t.store, passwordHashing: FAST_HASHING, onEvent: (event) => void events.push(event) });
      await auth.createUser({ name: 'olga', roles: ['admin'], password: PASSWORD });
      const { actor } = await auth.login({ name: 'olga', password: PASSWORD, clientIp: '192.0.2.5' });
      await assert.rejects(auth.login({ name: 'olga', password: 'wrong password!!', clientIp: '192.0.2.5' }));
      await auth.createUser({ name: 'pat', roles: ['viewer'] }, actor);
      await auth.updateUser('pat', { roles: ['analyst'], password: 'a new long password' }, actor);
      const { token, view } = await auth.createToken({ userName: 'pat', scopes: ['cases:read'] }, actor);
      await auth.revokeToken(view.id, actor);
      assert.deepEqual(
        events.map((e) => [e.type, e.user, e.by.name]),
        [
          ['user.created', 'olga', 'cli'],
          ['login.succeeded', 'olga', 'olga'],
          ['login.failed', 'olga', 'anonymous'],
          ['user.created', 'pat', 'olga'],
          ['user.changed', 'pat', 'olga'],
          ['token.created', 'pat', 'olga'],
          ['token.revoked', 'pat', 'olga'],
        ],
      );
      assert.deepEqual(events[4]?.details, { roles: ['analyst'], password_changed: true });
      const text = JSON.stringify(events);
      for (const secret of [PASSWORD, 'a new long password', token, 'wrong password!!']) assert.equal(text.includes(secret), false);
    } finally {
      await t.dispose();
    }
  });
});
