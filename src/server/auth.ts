import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { type Actor, AUTHENTICATED, type AuthService, forbidden, hasPermission, isPermission, normaliseUserName } from '../auth/index.ts';
import { type Config, isRiposteError, RiposteError } from '../core/index.ts';
import { sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route that is not public (undefined on public routes). */
    actor: Actor | undefined;
  }
}

/**
 * Authentication and RBAC for every route, in one onRequest hook so nothing is parsed or validated for
 * a caller who may not be there. A request carries either `Authorization: Bearer rpt_…` (scripts, SIEMs,
 * the CLI) or the session cookie set at sign-in (the UI); with both, the bearer token wins. Each route
 * declares `config.permission` (or `config.public: true`); a route with neither is refused with a 500
 * rather than served, and the server refuses to start with one (see `checkRouteDeclarations`).
 *
 * Cookie-authenticated requests that change state must also send the session's CSRF token in the
 * `x-csrf-token` header (double submit: the token is also in a script-readable cookie), which is
 * checked in constant time against the token bound to that session. Bearer requests need no CSRF
 * token: browsers never attach an Authorization header on their own.
 */
export interface SessionCookieNames {
  session: string;
  csrf: string;
  secure: boolean;
}

/** `__Host-` cookies (Secure, Path=/, no Domain) whenever the public URL is https. */
export function sessionCookieNames(config: Config): SessionCookieNames {
  const secure = config.server.public_url?.startsWith('https:') ?? false;
  return secure ? { session: '__Host-riposte_session', csrf: '__Host-riposte_csrf', secure } : { session: 'riposte_session', csrf: 'riposte_csrf', secure };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const BASIC = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i;
const REALM = 'Bearer realm="riposte"';
const BASIC_REALM = 'Basic realm="riposte", charset="UTF-8"';

/**
 * Routes for clients that only speak HTTP Basic (TAXII clients, firewalls polling an External Dynamic List)
 * set `config.basicAuth`: the user name and one of that user's API tokens as the password.
 */
function acceptsBasic(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { basicAuth?: boolean } | undefined)?.basicAuth === true;
}

/** Cookie header → map (first occurrence wins, as browsers send the most specific cookie first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function serializeCookie(name: string, value: string, options: { httpOnly: boolean; secure: boolean; maxAgeSeconds: number }): string {
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`, 'SameSite=Strict'];
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

function unauthenticated(message: string, code = 'auth.unauthenticated'): RiposteError {
  return new RiposteError(code, message, { status: 401 });
}

function sendAuthProblem(reply: FastifyReply, request: FastifyRequest, error: RiposteError): FastifyReply {
  if (error.status === 401) {
    // RFC 6750 §3: say which scheme to use, and whether the token presented was the problem.
    const tokenProblem = error.code !== 'auth.unauthenticated' && request.headers.authorization !== undefined;
    const bearer = tokenProblem ? `${REALM}, error="invalid_token"` : REALM;
    reply.header('www-authenticate', acceptsBasic(request) ? [BASIC_REALM, bearer] : bearer);
  }
  return sendProblem(reply, request, error);
}

/**
 * Whether an Origin header names this server: its configured public URL, or the host the request was
 * sent to (scheme aside, since a TLS proxy in front makes the browser's https look like our http).
 */
function sameOrigin(request: FastifyRequest, config: Config): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (config.server.public_url !== undefined && origin === new URL(config.server.public_url).origin) return true;
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}

export async function authenticateRequest(request: FastifyRequest, auth: AuthService, cookies: SessionCookieNames, config: Config): Promise<Actor> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const basic = acceptsBasic(request) ? BASIC.exec(header) : null;
    if (basic?.[1]) return authenticateBasic(basic[1], auth);
    const match = BEARER.exec(header);
    if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <API token>"');
    return auth.authenticateToken(match[1]);
  }
  const sessionSecret = parseCookies(request.headers.cookie).get(cookies.session);
  if (sessionSecret === undefined || sessionSecret === '') {
    throw unauthenticated('sign in (POST /api/v1/auth/login) or send "Authorization: Bearer <API token>"');
  }
  const { actor, csrfHash } = await auth.authenticateSession(sessionSecret);
  if (!SAFE_METHODS.has(request.method)) {
    const presented = request.headers['x-csrf-token'];
    if (!sameOrigin(request, config)) {
      throw new RiposteError(
        'auth.csrf_failed',
        `request from origin ${request.headers.origin} refused: cookie-authenticated changes must come from this site`,
        {
          status: 403,
        },
      );
    }
    if (typeof presented !== 'string' || !auth.csrfMatches(csrfHash, presented)) {
      throw new RiposteError(
        'auth.csrf_failed',
        'the x-csrf-token header is missing or does not match this session (it is returned at sign-in and in the CSRF cookie)',
        {
          status: 403,
        },
      );
    }
  }
  return actor;
}

/** HTTP Basic with an API token as the password; the user name must be the token's owner. */
async function authenticateBasic(encoded: string, auth: AuthService): Promise<Actor> {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw unauthenticated('HTTP Basic credentials must be "user name:API token"');
  const actor = await auth.authenticateToken(decoded.slice(colon + 1));
  let name: string;
  try {
    name = normaliseUserName(decoded.slice(0, colon));
  } catch {
    name = '';
  }
  if (name !== actor.name) throw unauthenticated('the user name does not own this API token', 'auth.invalid_token');
  return actor;
}

/** The actor of an authenticated route; a programming error (500) if called on a public one. */
export function requireActor(request: FastifyRequest): Actor {
  if (request.actor === undefined) throw new RiposteError('internal', 'route read the actor but is not authenticated');
  return request.actor;
}

export interface RouteDeclaration {
  method: string;
  url: string;
  public: boolean;
  permission: string | undefined;
}

function declarationOf(route: RouteOptions): RouteDeclaration[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const config = (route.config ?? {}) as { public?: boolean; permission?: string };
  return methods.map((method) => ({ method, url: route.url, public: config.public === true, permission: config.permission }));
}

/** Routes that declare neither a permission nor `public` (the server will not start with any). */
export function undeclaredRoutes(routes: readonly RouteOptions[]): RouteDeclaration[] {
  return routes.flatMap(declarationOf).filter((r) => !r.public && (typeof r.permission !== 'string' || r.permission === ''));
}

export function routeDeclarations(routes: readonly RouteOptions[]): RouteDeclaration[] {
  return routes.flatMap(declarationOf);
}

/**
 * Installs authentication on `app` (call at the root, before routes are registered). Also refuses to
 * start a server that has a route without a declared permission, so a forgotten `config` fails loudly
 * at boot instead of becoming an open endpoint.
 */
export function installAuth(app: FastifyInstance, options: { auth: AuthService; config: Config }): void {
  const { auth, config } = options;
  const cookies = sessionCookieNames(config);
  const routes: RouteOptions[] = [];

  app.decorateRequest('actor', undefined);
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    const missing = undeclaredRoutes(routes);
    if (missing.length > 0) {
      const list = missing.map((r) => `${r.method} ${r.url}`).join(', ');
      throw new RiposteError('server.route_undeclared', `routes without config.permission or config.public: ${list}`);
    }
    const unknown = routeDeclarations(routes).filter((r) => !r.public && r.permission !== AUTHENTICATED && !isPermission(r.permission));
    if (unknown.length > 0) {
      const list = unknown.map((r) => `${r.method} ${r.url} (${r.permission})`).join(', ');
      throw new RiposteError('server.route_undeclared', `routes whose permission is not in the catalog (src/auth/permissions.ts): ${list}`);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    // Unmatched URLs fall through to the 404 handler: there is nothing there to protect.
    if (request.routeOptions.url === undefined) return;
    const route = request.routeOptions.config as { public?: boolean; permission?: string };
    if (route.public === true) return;
    const permission = route.permission;
    if (typeof permission !== 'string' || permission === '') {
      return sendProblem(
        reply,
        request,
        new RiposteError('server.route_undeclared', `route ${request.method} ${request.routeOptions.url} declares no permission; refusing to serve it`),
      );
    }
    try {
      const actor = await authenticateRequest(request, auth, cookies, config);
      if (permission !== AUTHENTICATED && !hasPermission(actor, permission)) throw forbidden(permission, actor);
      request.actor = actor;
    } catch (error) {
      if (isRiposteError(error) && (error.status === 401 || error.status === 403)) return sendAuthProblem(reply, request, error);
      throw error;
    }
  });
}
