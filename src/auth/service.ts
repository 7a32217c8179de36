import { type Clock, type Config, conflict, invalidInput, type Logger, newId, notFound, RiposteError, systemClock } from '../core/index.ts';
import type { ApiTokenRecord, Store, UserRecord } from '../store/index.ts';
import { type Actor, hasPermission } from './actor.ts';
import { createLoginLimiter, type LoginLimiter } from './login-limiter.ts';
import {
  checkPasswordPolicy,
  DEFAULT_PASSWORD_HASH_PARAMS,
  generatePassword,
  hashPassword,
  needsRehash,
  type PasswordHashParams,
  verifyAgainstDecoy,
  verifyPassword,
} from './passwords.ts';
import { isPermission, isRole, PERMISSIONS, type Permission, permissionsForRoles, ROLES, type Role } from './permissions.ts';
import { constantTimeEqual, generateApiToken, generateSessionSecret, looksLikeApiToken, sha256Hex } from './secrets.ts';

/** Sign-in and session rules, from config `auth.*` (docs/security.md). Durations in milliseconds. */
export interface AuthPolicy {
  sessionIdleTimeoutMs: number;
  sessionMaxAgeMs: number;
  lockoutThreshold: number;
  lockoutDurationMs: number;
  loginRateLimit: number;
  loginRateWindowMs: number;
}

export function authPolicyFromConfig(auth: Config['auth']): AuthPolicy {
  return {
    sessionIdleTimeoutMs: auth.session_idle_timeout,
    sessionMaxAgeMs: auth.session_max_age,
    lockoutThreshold: auth.lockout_threshold,
    lockoutDurationMs: auth.lockout_duration,
    loginRateLimit: auth.login_rate_limit,
    loginRateWindowMs: auth.login_rate_window,
  };
}

export const DEFAULT_AUTH_POLICY: AuthPolicy = {
  sessionIdleTimeoutMs: 30 * 60_000,
  sessionMaxAgeMs: 12 * 3_600_000,
  lockoutThreshold: 5,
  lockoutDurationMs: 15 * 60_000,
  loginRateLimit: 10,
  loginRateWindowMs: 5 * 60_000,
};

/** A user as shown to admins: never the password hash. */
export interface UserView {
  id: string;
  name: string;
  roles: Role[];
  disabled: boolean;
  disabledAt: number | null;
  /** Set while the account is locked after repeated failed sign-ins. */
  lockedUntil: number | null;
  failedLogins: number;
  lastLoginAt: number | null;
  createdAt: number;
  /** False for accounts that can only use API tokens. */
  hasPassword: boolean;
}

export type TokenStatus = 'active' | 'expired' | 'revoked';

/** An API token as listed: never the token or its hash. */
export interface TokenView {
  id: string;
  name: string;
  userId: string;
  userName: string;
  scopes: Permission[];
  status: TokenStatus;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface LoginResult {
  actor: Actor;
  /** Cookie value: give it to the client once, never log it. */
  sessionSecret: string;
  /** The CSRF token bound to this session, for the `x-csrf-token` header. */
  csrfToken: string;
  /** Absolute end of the session. */
  expiresAt: number;
}

export interface SessionAuthentication {
  actor: Actor;
  csrfHash: string;
}

export interface UserChangeRequest {
  roles?: readonly string[];
  disabled?: boolean;
  /** A new password, or null to remove it (token-only account). */
  password?: string | null;
  /** Clears a lockout and the failure count. */
  unlock?: boolean;
}

export interface AuthService {
  readonly policy: AuthPolicy;
  /**
   * On first start (no users at all) creates `admin` with the given password or a generated one,
   * returned once so the caller can show it. Undefined when users already exist.
   */
  ensureInitialAdmin(password?: string): Promise<{ name: string; password: string; generated: boolean } | undefined>;

  login(input: { name: string; password: string; clientIp: string; userAgent?: string | undefined }): Promise<LoginResult>;
  /** Ends one UI session. */
  logout(sessionId: string): Promise<void>;
  /** Resolves a bearer token to its actor or throws a 401 RiposteError naming why. */
  authenticateToken(token: string): Promise<Actor>;
  /** Resolves a session cookie to its actor or throws a 401 RiposteError naming why. */
  authenticateSession(sessionSecret: string): Promise<SessionAuthentication>;
  /** Whether the presented CSRF token is the one bound to the session (constant time). */
  csrfMatches(csrfHash: string, presented: string): boolean;

  createUser(input: { name: string; roles: readonly string[]; password?: string | null }, by?: Actor): Promise<UserView>;
  getUser(name: string): Promise<UserView>;
  listUsers(options?: { afterName?: string; limit?: number }): Promise<UserView[]>;
  updateUser(name: string, changes: UserChangeRequest, by?: Actor): Promise<UserView>;
  /** Changes one's own password after proving the current one; ends the user's other sessions. */
  changeOwnPassword(actor: Actor, currentPassword: string, newPassword: string): Promise<void>;

  createToken(
    input: { userName?: string; name?: string; scopes?: readonly string[]; expiresInMs?: number },
    by?: Actor,
  ): Promise<{ token: string; view: TokenView }>;
  /** Tokens of one user (default: `by`'s own) or, with `all`, everyone's (needs tokens:admin). */
  listTokens(options: { userName?: string; all?: boolean }, by?: Actor): Promise<TokenView[]>;
  revokeToken(id: string, by?: Actor): Promise<TokenView>;
}

/**
 * A security-relevant change or sign-in, for the audit trail (the composition root appends these to the
 * audit chain). Never carries a secret. `by` is who acted: a user, or the operator at the CLI.
 */
export interface AuthEvent {
  type: 'user.created' | 'user.changed' | 'user.password_changed' | 'token.created' | 'token.revoked' | 'login.succeeded' | 'login.failed';
  at: number;
  /** Who acted: a user, `cli` (the operator at the command line) or `anonymous` (a failed sign-in). */
  by: { userId: string | null; name: string };
  /** The user the event concerns (for tokens: the owner; for failed sign-ins: the name tried). */
  user: string;
  details: Record<string, unknown>;
}

export interface AuthServiceOptions {
  store: Store;
  /**
   * Receives every AuthEvent after the change is stored. It is awaited: if it throws, the caller sees the
   * error (the change itself has happened), so a failing audit trail is loud rather than silently skipped.
   */
  onEvent?: (event: AuthEvent) => void | Promise<void>;
  clock?: Clock;
  policy?: AuthPolicy;
  /** Receives sign-in events (never secrets). */
  logger?: Logger;
  /** Tests may lower the cost; production keeps the OWASP default. */
  passwordHashing?: PasswordHashParams;
}

export const INITIAL_ADMIN_NAME = 'admin';
const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const MAX_TOKEN_NAME = 100;
/** Activity is written back at most this often, so busy clients don't turn reads into writes. */
const TOUCH_INTERVAL_MS = 60_000;

export function normaliseUserName(name: string, field = 'name'): string {
  const normalised = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!USER_NAME.test(normalised)) {
    throw invalidInput(`${field} must be 1–64 characters: letters, digits and . _ @ -, starting with a letter or digit`, { field });
  }
  return normalised;
}

function parseRoles(roles: readonly string[], field = 'roles'): Role[] {
  if (!Array.isArray(roles) || roles.length === 0) throw invalidInput(`${field} must name at least one role (${ROLES.join(', ')})`, { field });
  const out: Role[] = [];
  for (const role of roles) {
    if (!isRole(role)) throw invalidInput(`${field}: ${JSON.stringify(role)} is not a role; roles are ${ROLES.join(', ')}`, { field });
    if (!out.includes(role)) out.push(role);
  }
  return ROLES.filter((r) => out.includes(r));
}

function userRoles(user: UserRecord): Role[] {
  return ROLES.filter((r) => user.roles.includes(r));
}

function toUserView(user: UserRecord, now: number): UserView {
  return {
    id: user.id,
    name: user.name,
    roles: userRoles(user),
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt,
    lockedUntil: user.lockedUntil !== null && user.lockedUntil > now ? user.lockedUntil : null,
    failedLogins: user.failedLogins,
    lastLoginAt: user.lastLoginAt,
    createdAt: user.createdAt,
    hasPassword: user.passwordHash !== null,
  };
}

function tokenStatus(token: ApiTokenRecord, now: number): TokenStatus {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return 'active';
}

function toTokenView(token: ApiTokenRecord, userName: string, now: number): TokenView {
  return {
    id: token.id,
    name: token.name,
    userId: token.userId,
    userName,
    scopes: token.scopes.filter(isPermission),
    status: tokenStatus(token, now),
    createdAt: token.createdAt,
    createdBy: token.createdBy,
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
    lastUsedAt: token.lastUsedAt,
  };
}

function unauthenticated(code: string, message: string): RiposteError {
  return new RiposteError(code, message, { status: 401 });
}

export function forbidden(permission: string, actor: Pick<Actor, 'kind' | 'roles'>, doing?: string): RiposteError {
  const roles = actor.roles.join(', ') || 'none';
  const who =
    actor.kind === 'token'
      ? `this API token does not grant (owner's roles: ${roles}, narrowed by the token's scopes)`
      : `your role${actor.roles.length === 1 ? '' : 's'} (${roles}) do${actor.roles.length === 1 ? 'es' : ''} not grant`;
  return new RiposteError('auth.forbidden', `${doing ?? 'this request'} needs permission ${permission}, which ${who}`, {
    status: 403,
    details: { permission },
  });
}

const INVALID_CREDENTIALS = 'user name or password is wrong, or the account is locked or disabled';

export function createAuthService(options: AuthServiceOptions): AuthService {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const policy = options.policy ?? DEFAULT_AUTH_POLICY;
  const hashing = options.passwordHashing ?? DEFAULT_PASSWORD_HASH_PARAMS;
  const log = options.logger;
  const limiter: LoginLimiter = createLoginLimiter({
    perUserAndAddress: policy.loginRateLimit,
    // Enough for a shared office NAT, few enough to slow a spray across many names.
    perAddress: policy.loginRateLimit * 10,
    windowMs: policy.loginRateWindowMs,
  });

  const requireUser = async (name: string, field = 'user'): Promise<UserRecord> => {
    const normalised = normaliseUserName(name, field);
    const user = await store.users.byName(normalised);
    if (!user) throw notFound('user', normalised);
    return user;
  };

  const ensureAnAdminRemains = async (changing: UserRecord, next: { roles: Role[]; disabled: boolean }) => {
    if (next.roles.includes('admin') && !next.disabled) return;
    if (!changing.roles.includes('admin') || changing.disabledAt !== null) return;
    const others = (await store.users.list()).filter((u) => u.id !== changing.id && u.disabledAt === null && u.roles.includes('admin'));
    if (others.length === 0) {
      throw new RiposteError('auth.last_admin', `${changing.name} is the last enabled admin; make another user admin first`, { status: 409 });
    }
  };

  /** `by` undefined means the operator at the command line; 'anonymous' a caller not signed in. */
  const emitEvent = async (type: AuthEvent['type'], user: string, by: Actor | undefined | 'anonymous', details: Record<string, unknown> = {}) => {
    const who = by === 'anonymous' ? { userId: null, name: 'anonymous' } : by ? { userId: by.userId, name: by.name } : { userId: null, name: 'cli' };
    await options.onEvent?.({ type, at: clock.now(), by: who, user, details });
  };

  const actorForUser = (user: UserRecord, sessionId: string): Actor => {
    const roles = userRoles(user);
    return { kind: 'user', id: user.id, userId: user.id, name: user.name, roles, permissions: permissionsForRoles(roles), sessionId };
  };

  const service: AuthService = {
    policy,

    async ensureInitialAdmin(password) {
      if ((await store.users.count()) > 0) return undefined;
      const generated = password === undefined || password === '';
      const chosen = generated ? generatePassword() : password;
      checkPasswordPolicy(chosen, 'RIPOSTE_ADMIN_PASSWORD');
      const now = clock.now();
      const inserted = await store.users.insert({
        id: newId(now),
        name: INITIAL_ADMIN_NAME,
        roles: ['admin'],
        passwordHash: await hashPassword(chosen, hashing),
        disabledAt: null,
        failedLogins: 0,
        lockedUntil: null,
        lastLoginAt: null,
        createdAt: now,
        updatedAt: now,
      });
      // Another process starting at the same moment may have won the race: then it announces.
      if (!inserted) return undefined;
      log?.info({ user: INITIAL_ADMIN_NAME, generated }, 'created the initial admin user');
      return { name: INITIAL_ADMIN_NAME, password: chosen, generated };
    },

    async login({ name, password, clientIp, userAgent }) {
      const now = clock.now();
      const userName = typeof name === 'string' ? name.trim().toLowerCase() : '';
      const wait = limiter.attempt(userName, clientIp, now);
      if (wait > 0) {
        log?.warn({ user: userName, ip: clientIp }, 'sign-in rate limit reached');
        throw new RiposteError('auth.rate_limited', `too many sign-in attempts; try again in ${Math.ceil(wait / 1000)} s`, {
          status: 429,
          retryable: true,
          details: { retry_after_seconds: Math.ceil(wait / 1000) },
        });
      }
      const user = USER_NAME.test(userName) ? await store.users.byName(userName) : undefined;
      const locked = user?.lockedUntil != null && user.lockedUntil > now;
      if (!user || user.passwordHash === null || user.disabledAt !== null || locked || typeof password !== 'string' || password.length > 1024) {
        await verifyAgainstDecoy(String(password ?? '').slice(0, 1024), hashing);
        const reason = !user
          ? 'unknown user'
          : locked
            ? 'locked'
            : user.disabledAt !== null
              ? 'disabled'
              : user.passwordHash === null
                ? 'no password'
                : 'password too long';
        log?.warn({ user: userName, ip: clientIp, reason }, 'sign-in refused');
        // Attempts on real accounts are audited; unknown names are not, so noise cannot flood the audit chain.
        if (user) await emitEvent('login.failed', user.name, 'anonymous', { ip: clientIp, reason });
        throw unauthenticated('auth.invalid_credentials', INVALID_CREDENTIALS);
      }
      if (!(await verifyPassword(password, user.passwordHash))) {
        const state = await store.users.recordFailedLogin(user.id, policy.lockoutThreshold, policy.lockoutDurationMs);
        const nowLocked = state?.lockedUntil != null && state.lockedUntil > now;
        log?.warn({ user: user.name, ip: clientIp, failed_logins: state?.failedLogins, locked: nowLocked }, 'sign-in failed');
        await emitEvent('login.failed', user.name, 'anonymous', {
          ip: clientIp,
          reason: 'wrong password',
          failed_logins: state?.failedLogins,
          locked: nowLocked,
        });
        throw unauthenticated('auth.invalid_credentials', INVALID_CREDENTIALS);
      }
      limiter.succeeded(userName, clientIp);
      await store.users.recordLogin(user.id);
      if (needsRehash(user.passwordHash, hashing)) await store.users.update(user.id, { passwordHash: await hashPassword(password, hashing) });
      // Sign-in is rare enough to carry the housekeeping of abandoned sessions.
      await store.sessions.deleteExpired(policy.sessionIdleTimeoutMs);
      const sessionSecret = generateSessionSecret();
      const csrfToken = generateSessionSecret();
      const sessionId = newId(now);
      const expiresAt = now + policy.sessionMaxAgeMs;
      await store.sessions.insert({
        id: sessionId,
        userId: user.id,
        tokenHash: sha256Hex(sessionSecret),
        csrfHash: sha256Hex(csrfToken),
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
        clientIp,
        userAgent: userAgent?.slice(0, 512) ?? null,
      });
      log?.info({ user: user.name, ip: clientIp }, 'signed in');
      const actor = actorForUser(user, sessionId);
      await emitEvent('login.succeeded', user.name, actor, { ip: clientIp });
      return { actor, sessionSecret, csrfToken, expiresAt };
    },

    async logout(sessionId) {
      await store.sessions.delete(sessionId);
    },

    async authenticateToken(token) {
      if (!looksLikeApiToken(token)) throw unauthenticated('auth.invalid_token', 'the bearer token is not a Riposte API token (rpt_…)');
      const hash = sha256Hex(token);
      const found = await store.apiTokens.byHash(hash);
      // The lookup is by hash of a 256-bit secret, so its timing reveals nothing useful; the compare
      // below keeps the final decision constant-time all the same.
      if (!found || !constantTimeEqual(found.token.tokenHash, hash)) throw unauthenticated('auth.invalid_token', 'the API token is not known');
      const { token: record, owner } = found;
      const now = clock.now();
      if (record.revokedAt !== null) throw unauthenticated('auth.token_revoked', `API token ${record.id} was revoked`);
      if (record.expiresAt !== null && record.expiresAt <= now) {
        throw unauthenticated('auth.token_expired', `API token ${record.id} expired at ${new Date(record.expiresAt).toISOString()}`);
      }
      if (owner.disabledAt !== null) throw unauthenticated('auth.account_disabled', `the owner of API token ${record.id} is disabled`);
      // The row just read says whether the last-use time is stale: most requests skip the write entirely.
      if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS) await store.apiTokens.touch(record.id, TOUCH_INTERVAL_MS);
      const roles = userRoles(owner);
      // The owner's current roles bound the token: demoting a user narrows their tokens at once.
      const ownerPermissions = new Set(permissionsForRoles(roles));
      const permissions = PERMISSIONS.filter((p) => ownerPermissions.has(p) && record.scopes.includes(p));
      return { kind: 'token', id: record.id, userId: owner.id, name: owner.name, roles, permissions, tokenName: record.name };
    },

    async authenticateSession(sessionSecret) {
      const found = await store.sessions.byHash(sha256Hex(sessionSecret));
      if (!found) throw unauthenticated('auth.session_expired', 'the session has ended; sign in again');
      const { session, user } = found;
      const now = clock.now();
      if (session.expiresAt <= now || session.lastSeenAt + policy.sessionIdleTimeoutMs <= now) {
        await store.sessions.delete(session.id);
        throw unauthenticated('auth.session_expired', 'the session has ended; sign in again');
      }
      if (user.disabledAt !== null) {
        await store.sessions.delete(session.id);
        throw unauthenticated('auth.account_disabled', 'this account is disabled');
      }
      const touchInterval = Math.min(TOUCH_INTERVAL_MS, Math.floor(policy.sessionIdleTimeoutMs / 10));
      if (now - session.lastSeenAt >= touchInterval) await store.sessions.touch(session.id, touchInterval);
      return { actor: actorForUser(user, session.id), csrfHash: session.csrfHash };
    },

    csrfMatches(csrfHash, presented) {
      return typeof presented === 'string' && presented.length > 0 && presented.length <= 256 && constantTimeEqual(sha256Hex(presented), csrfHash);
    },

    async createUser(input, by) {
      const name = normaliseUserName(input.name);
      const roles = parseRoles(input.roles);
      if (input.password !== undefined && input.password !== null) checkPasswordPolicy(input.password);
      const now = clock.now();
      const userRow: UserRecord = {
        id: newId(now),
        name,
        roles,
        passwordHash: typeof input.password === 'string' ? await hashPassword(input.password, hashing) : null,
        disabledAt: null,
        failedLogins: 0,
        lockedUntil: null,
        lastLoginAt: null,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await store.users.insert(userRow))) {
        throw new RiposteError('auth.user_exists', `user ${JSON.stringify(name)} already exists`, { status: 409 });
      }
      log?.info({ user: name, roles, by: by?.name ?? 'cli' }, 'user created');
      await emitEvent('user.created', name, by, { roles, has_password: userRow.passwordHash !== null });
      return toUserView(userRow, now);
    },

    async getUser(name) {
      return toUserView(await requireUser(name, 'name'), clock.now());
    },

    async listUsers(options = {}) {
      const now = clock.now();
      return (await store.users.list(options)).map((u) => toUserView(u, now));
    },

    async updateUser(name, changes, by) {
      const user = await requireUser(name, 'name');
      const roles = changes.roles === undefined ? userRoles(user) : parseRoles(changes.roles);
      const disabled = changes.disabled ?? user.disabledAt !== null;
      await ensureAnAdminRemains(user, { roles, disabled });
      const now = clock.now();
      const patch: Parameters<Store['users']['update']>[1] = {};
      if (changes.roles !== undefined) patch.roles = roles;
      if (changes.disabled !== undefined) patch.disabledAt = changes.disabled ? (user.disabledAt ?? now) : null;
      if (changes.password !== undefined) {
        if (changes.password !== null) checkPasswordPolicy(changes.password);
        patch.passwordHash = changes.password === null ? null : await hashPassword(changes.password, hashing);
      }
      if (changes.unlock || changes.disabled === false) {
        patch.failedLogins = 0;
        patch.lockedUntil = null;
      }
      await store.users.update(user.id, patch);
      // A disabled account or a replaced password must not leave a signed-in browser behind.
      if (changes.disabled === true || changes.password !== undefined) await store.sessions.deleteForUser(user.id);
      log?.info(
        {
          user: user.name,
          by: by?.name ?? 'cli',
          roles: changes.roles === undefined ? undefined : roles,
          disabled: changes.disabled,
          password_changed: changes.password !== undefined,
          unlocked: changes.unlock,
        },
        'user changed',
      );
      await emitEvent('user.changed', user.name, by, {
        ...(changes.roles === undefined ? {} : { roles }),
        ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
        ...(changes.password === undefined ? {} : { password_changed: true }),
        ...(changes.unlock ? { unlocked: true } : {}),
      });
      return toUserView((await store.users.byId(user.id)) ?? user, now);
    },

    async changeOwnPassword(actor, currentPassword, newPassword) {
      const user = await store.users.byId(actor.userId);
      if (!user) throw notFound('user', actor.name);
      if (user.passwordHash === null || typeof currentPassword !== 'string' || !(await verifyPassword(currentPassword.slice(0, 1024), user.passwordHash))) {
        throw new RiposteError('auth.invalid_credentials', 'current_password is wrong', { status: 403, details: { field: 'current_password' } });
      }
      checkPasswordPolicy(newPassword, 'new_password');
      await store.users.update(user.id, { passwordHash: await hashPassword(newPassword, hashing) });
      await store.sessions.deleteForUser(user.id);
      log?.info({ user: user.name }, 'password changed');
      await emitEvent('user.password_changed', user.name, actor);
    },

    async createToken(input, by) {
      const owner = input.userName === undefined ? (by ? await store.users.byId(by.userId) : undefined) : await requireUser(input.userName);
      if (!owner) throw invalidInput('user is required when creating a token from the command line', { field: 'user' });
      if (by && owner.id !== by.userId && !hasPermission(by, 'tokens:admin')) throw forbidden('tokens:admin', by, `creating a token for ${owner.name}`);
      if (owner.disabledAt !== null) throw conflict(`user ${owner.name} is disabled; enable it before giving it tokens`);
      const ownerPermissions = permissionsForRoles(userRoles(owner));
      const allowed = by ? ownerPermissions.filter((p) => hasPermission(by, p)) : ownerPermissions;
      let scopes: Permission[];
      if (input.scopes === undefined) {
        scopes = allowed;
      } else {
        if (input.scopes.length === 0)
          throw invalidInput('scopes must list at least one permission (or be left out for all of the owner’s)', { field: 'scopes' });
        for (const scope of input.scopes) {
          if (!isPermission(scope)) throw invalidInput(`scopes: ${JSON.stringify(scope)} is not a permission (see docs/security.md)`, { field: 'scopes' });
          if (!allowed.includes(scope)) {
            throw new RiposteError(
              'auth.scope_exceeded',
              `scope ${scope} is not held by ${by && owner.id !== by.userId ? `both ${owner.name} and you` : owner.name}; a token cannot exceed its owner's permissions`,
              { status: 403, details: { field: 'scopes', permission: scope } },
            );
          }
        }
        scopes = PERMISSIONS.filter((p) => input.scopes?.includes(p));
      }
      if (scopes.length === 0) throw invalidInput(`${owner.name} holds no permissions a token could carry`, { field: 'scopes' });
      const label = (input.name ?? 'api token').trim();
      if (label.length === 0 || label.length > MAX_TOKEN_NAME) throw invalidInput(`name must be 1–${MAX_TOKEN_NAME} characters`, { field: 'name' });
      if (input.expiresInMs !== undefined && !(Number.isFinite(input.expiresInMs) && input.expiresInMs > 0)) {
        throw invalidInput('expires must be a positive duration such as 30d', { field: 'expires' });
      }
      const now = clock.now();
      const token = generateApiToken();
      const tokenRow: ApiTokenRecord = {
        id: newId(now),
        userId: owner.id,
        name: label,
        tokenHash: sha256Hex(token),
        scopes,
        createdAt: now,
        createdBy: by?.userId ?? null,
        expiresAt: input.expiresInMs === undefined ? null : now + input.expiresInMs,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.apiTokens.insert(tokenRow);
      log?.info({ id: tokenRow.id, user: owner.name, scopes, by: by?.name ?? 'cli' }, 'API token created');
      await emitEvent('token.created', owner.name, by, { id: tokenRow.id, name: label, scopes, expires_at: tokenRow.expiresAt });
      return { token, view: toTokenView(tokenRow, owner.name, now) };
    },

    async listTokens(options, by) {
      let userId: string | undefined;
      if (options.all) {
        if (by && !hasPermission(by, 'tokens:admin')) throw forbidden('tokens:admin', by, 'listing every user’s tokens');
      } else if (options.userName !== undefined) {
        const user = await requireUser(options.userName);
        if (by && user.id !== by.userId && !hasPermission(by, 'tokens:admin')) throw forbidden('tokens:admin', by, `listing ${user.name}'s tokens`);
        userId = user.id;
      } else if (by) {
        userId = by.userId;
      }
      const tokens = await store.apiTokens.list(userId === undefined ? {} : { userId });
      const names = new Map((await store.users.list()).map((u) => [u.id, u.name]));
      const now = clock.now();
      return tokens.map((t) => toTokenView(t, names.get(t.userId) ?? '?', now));
    },

    async revokeToken(id, by) {
      const token = await store.apiTokens.byId(id);
      if (!token) throw notFound('API token', id);
      if (by && token.userId !== by.userId && !hasPermission(by, 'tokens:admin')) throw forbidden('tokens:admin', by, 'revoking another user’s token');
      await store.apiTokens.revoke(id);
      log?.info({ id, by: by?.name ?? 'cli' }, 'API token revoked');
      const owner = await store.users.byId(token.userId);
      await emitEvent('token.revoked', owner?.name ?? '?', by, { id });
      return toTokenView((await store.apiTokens.byId(id)) ?? token, owner?.name ?? '?', clock.now());
    },
  };
  return service;
}
