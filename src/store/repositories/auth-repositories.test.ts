import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, newId } from '../../core/index.ts';
import { type TestStore, testBackends } from '../testing.ts';
import type { UserRecord } from './users.ts';

function user(name: string, clock: ManualClock, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: newId(clock.now()),
    name,
    roles: ['analyst'],
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    disabledAt: null,
    failedLogins: 0,
    lockedUntil: null,
    lastLoginAt: null,
    createdAt: clock.now(),
    updatedAt: clock.now(),
    ...overrides,
  };
}

for (const backend of testBackends()) {
  describe(`users, api tokens and sessions repositories (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    test('a user name is unique; insert reports the clash instead of throwing', async () => {
      const alice = user('alice', clock, { roles: ['analyst', 'approver'] });
      assert.equal(await t.store.users.insert(alice), true);
      assert.equal(await t.store.users.insert(user('alice', clock)), false);
      assert.deepEqual(await t.store.users.byName('alice'), alice);
      assert.deepEqual(await t.store.users.byId(alice.id), alice);
      assert.equal(await t.store.users.byName('bob'), undefined);
    });

    test('list pages by name and count counts', async () => {
      for (const name of ['zoe', 'carol', 'bob']) await t.store.users.insert(user(name, clock));
      const first = await t.store.users.list({ limit: 2 });
      assert.deepEqual(
        first.map((u) => u.name),
        ['alice', 'bob'],
      );
      const rest = await t.store.users.list({ afterName: 'bob' });
      assert.deepEqual(
        rest.map((u) => u.name),
        ['carol', 'zoe'],
      );
      assert.equal(await t.store.users.count(), 4);
    });

    test('concurrent failed sign-ins are all counted and lock at the threshold; a run-out lock starts over', async () => {
      const dave = user('dave', clock);
      await t.store.users.insert(dave);
      const results = await Promise.all(Array.from({ length: 6 }, () => t.store.users.recordFailedLogin(dave.id, 5, 60_000)));
      const counts = results.map((r) => r?.failedLogins).sort((a, b) => (a ?? 0) - (b ?? 0));
      assert.deepEqual(counts, [1, 2, 3, 4, 5, 6]);
      const locked = await t.store.users.byName('dave');
      assert.equal(locked?.lockedUntil, clock.now() + 60_000);
      assert.equal(locked?.failedLogins, 6);

      clock.advance(60_001);
      const afterLock = await t.store.users.recordFailedLogin(dave.id, 5, 60_000);
      assert.deepEqual(afterLock, { failedLogins: 1, lockedUntil: null });

      await t.store.users.recordLogin(dave.id);
      const fresh = await t.store.users.byName('dave');
      assert.equal(fresh?.failedLogins, 0);
      assert.equal(fresh?.lockedUntil, null);
      assert.equal(fresh?.lastLoginAt, clock.now());
      assert.equal(await t.store.users.recordFailedLogin(newId(), 5, 60_000), undefined);
    });

    test('update changes only the given fields', async () => {
      const erin = user('erin', clock);
      await t.store.users.insert(erin);
      clock.advance(1000);
      assert.equal(await t.store.users.update(erin.id, { roles: ['admin'], disabledAt: clock.now() }), true);
      const got = await t.store.users.byId(erin.id);
      assert.deepEqual(got?.roles, ['admin']);
      assert.equal(got?.disabledAt, clock.now());
      assert.equal(got?.passwordHash, erin.passwordHash);
      assert.equal(got?.updatedAt, clock.now());
      assert.equal(await t.store.users.update(erin.id, { disabledAt: null, passwordHash: null }), true);
      const back = await t.store.users.byId(erin.id);
      assert.equal(back?.disabledAt, null);
      assert.equal(back?.passwordHash, null);
      assert.equal(await t.store.users.update(newId(), { roles: [] }), false);
    });

    test('api tokens are found by hash with their owner, touched sparingly and revoked once', async () => {
      const owner = user('frank', clock);
      await t.store.users.insert(owner);
      const id = newId(clock.now());
      await t.store.apiTokens.insert({
        id,
        userId: owner.id,
        name: 'splunk',
        tokenHash: 'a'.repeat(64),
        scopes: ['alerts:ingest'],
        createdAt: clock.now(),
        createdBy: null,
        expiresAt: clock.now() + 86_400_000,
        revokedAt: null,
        lastUsedAt: null,
      });
      const found = await t.store.apiTokens.byHash('a'.repeat(64));
      assert.equal(found?.token.id, id);
      assert.deepEqual(found?.token.scopes, ['alerts:ingest']);
      assert.deepEqual(found?.owner, owner);
      assert.equal(await t.store.apiTokens.byHash('b'.repeat(64)), undefined);

      await t.store.apiTokens.touch(id, 60_000);
      const firstUse = clock.now();
      clock.advance(30_000);
      await t.store.apiTokens.touch(id, 60_000);
      assert.equal((await t.store.apiTokens.byId(id))?.lastUsedAt, firstUse, 'a second use within the interval is not written');
      clock.advance(30_000);
      await t.store.apiTokens.touch(id, 60_000);
      assert.equal((await t.store.apiTokens.byId(id))?.lastUsedAt, clock.now());

      assert.equal(await t.store.apiTokens.revoke(id), true);
      assert.equal(await t.store.apiTokens.revoke(id), false);
      assert.equal((await t.store.apiTokens.byId(id))?.revokedAt, clock.now());
      assert.deepEqual(
        (await t.store.apiTokens.list({ userId: owner.id })).map((x) => x.id),
        [id],
      );
      assert.ok((await t.store.apiTokens.list()).length >= 1);
    });

    test('sessions are found by hash with their user and expire by idleness or absolute age', async () => {
      const owner = user('grace', clock);
      await t.store.users.insert(owner);
      const make = (hash: string, expiresIn: number) => ({
        id: newId(clock.now()),
        userId: owner.id,
        tokenHash: hash,
        csrfHash: `csrf-${hash}`,
        createdAt: clock.now(),
        lastSeenAt: clock.now(),
        expiresAt: clock.now() + expiresIn,
        clientIp: '127.0.0.1',
        userAgent: 'test',
      });
      const keep = make('s1', 10 * 3_600_000);
      const idle = make('s2', 10 * 3_600_000);
      const old = make('s3', 1_000);
      for (const s of [keep, idle, old]) await t.store.sessions.insert(s);
      assert.deepEqual((await t.store.sessions.byHash('s1'))?.session, keep);
      assert.equal((await t.store.sessions.byHash('s1'))?.user.name, 'grace');

      clock.advance(20 * 60_000);
      await t.store.sessions.touch(keep.id, 60_000);
      assert.equal(await t.store.sessions.deleteExpired(15 * 60_000), 2);
      assert.ok(await t.store.sessions.byHash('s1'));
      assert.equal(await t.store.sessions.byHash('s2'), undefined);

      await t.store.sessions.insert(make('s4', 3_600_000));
      assert.equal(await t.store.sessions.deleteForUser(owner.id), 2);
      assert.equal(await t.store.sessions.delete(keep.id), false);
    });
  });
}
