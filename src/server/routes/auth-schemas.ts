import type { Actor, TokenView, UserView } from '../../auth/index.ts';

/**
 * JSON shapes of the auth routes, shared by users, tokens and sign-in. Response schemas double as an
 * allow-list: fast-json-stringify drops any field not named here, so a hash can never slip out.
 * Times are ISO 8601 strings in UTC, or null.
 */
const time = { type: ['string', 'null'], format: 'date-time' } as const;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const userSchema = {
  type: 'object',
  required: ['id', 'name', 'roles', 'disabled', 'has_password', 'created_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    disabled: { type: 'boolean' },
    disabled_at: time,
    locked_until: { ...time, description: 'Set while the account is locked after repeated failed sign-ins.' },
    failed_logins: { type: 'integer' },
    last_login_at: time,
    created_at: time,
    has_password: { type: 'boolean', description: 'False for accounts that only use API tokens.' },
  },
} as const;

export function userJson(user: UserView) {
  return {
    id: user.id,
    name: user.name,
    roles: user.roles,
    disabled: user.disabled,
    disabled_at: iso(user.disabledAt),
    locked_until: iso(user.lockedUntil),
    failed_logins: user.failedLogins,
    last_login_at: iso(user.lastLoginAt),
    created_at: iso(user.createdAt),
    has_password: user.hasPassword,
  };
}

export const tokenSchema = {
  type: 'object',
  required: ['id', 'name', 'user', 'scopes', 'status', 'created_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    user: { type: 'string', description: 'Owner’s user name.' },
    scopes: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'expired', 'revoked'] },
    created_at: time,
    expires_at: time,
    revoked_at: time,
    last_used_at: { ...time, description: 'Updated at most once a minute.' },
  },
} as const;

export function tokenJson(token: TokenView) {
  return {
    id: token.id,
    name: token.name,
    user: token.userName,
    scopes: token.scopes,
    status: token.status,
    created_at: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    revoked_at: iso(token.revokedAt),
    last_used_at: iso(token.lastUsedAt),
  };
}

export const actorSchema = {
  type: 'object',
  required: ['kind', 'id', 'user_id', 'name', 'roles', 'permissions'],
  properties: {
    kind: { type: 'string', enum: ['user', 'token'] },
    id: { type: 'string', description: 'User id, or token id when kind is token.' },
    user_id: { type: 'string' },
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    permissions: { type: 'array', items: { type: 'string' } },
    token_name: { type: 'string' },
  },
} as const;

export function actorJson(actor: Actor) {
  return {
    kind: actor.kind,
    id: actor.id,
    user_id: actor.userId,
    name: actor.name,
    roles: actor.roles,
    permissions: actor.permissions,
    ...(actor.tokenName === undefined ? {} : { token_name: actor.tokenName }),
  };
}

/** Error responses as documented in OpenAPI: every failure is problem+json with a stable code. */
export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is stable (docs/errors.md).',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    request_id: { type: 'string' },
    retryable: { type: 'boolean' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;
