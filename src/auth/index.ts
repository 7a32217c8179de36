/**
 * auth: who may do what. Local users with argon2id password hashes, the five roles and the permission
 * catalog they map to, sign-in with rate limiting and lockout, UI sessions with CSRF tokens bound to
 * them, and API tokens (shown once, stored as SHA-256 hashes, scoped, expiring, revocable). The server
 * turns a request into an `Actor` through this module and checks route permissions against it; the
 * CLI manages users and tokens through the same service. The security model is in docs/security.md.
 */
export { type Actor, hasPermission } from './actor.ts';
export {
  checkPasswordPolicy,
  DEFAULT_PASSWORD_HASH_PARAMS,
  generatePassword,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type PasswordHashParams,
  verifyPassword,
} from './passwords.ts';
export {
  AUTHENTICATED,
  isPermission,
  isRole,
  PERMISSIONS,
  type Permission,
  permissionsForRoles,
  ROLE_PERMISSIONS,
  ROLE_SUMMARIES,
  ROLES,
  type Role,
} from './permissions.ts';
export { API_TOKEN_PREFIX, looksLikeApiToken } from './secrets.ts';
export {
  type AuthEvent,
  type AuthPolicy,
  type AuthService,
  type AuthServiceOptions,
  authPolicyFromConfig,
  createAuthService,
  DEFAULT_AUTH_POLICY,
  forbidden,
  INITIAL_ADMIN_NAME,
  type LoginResult,
  normaliseUserName,
  type SessionAuthentication,
  type TokenStatus,
  type TokenView,
  type UserChangeRequest,
  type UserView,
} from './service.ts';
