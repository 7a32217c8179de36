import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { openRuntime, type Runtime, serverServices } from '../src/app/index.ts';
import { AUTHENTICATED, isPermission, ROLE_PERMISSIONS, ROLES } from '../src/auth/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * The route inventory: builds the server exactly as `riposte serve` does and walks every route it
 * registered — including routes other modules add later, with no change here. It fails when a route
 * declares neither a permission nor `public`, when a public route is not on the short allowed list,
 * when a permission is not in the catalog, and when any non-public route answers a caller without
 * credentials with anything but 401 (or a caller lacking the permission with anything but 403).
 */

/** The only routes that may be reached without authentication. */
function publicRouteAllowed(method: string, url: string): boolean {
  const read = method === 'GET' || method === 'HEAD';
  if (url === '/healthz' || url === '/readyz') return read;
  if (url === '/api/v1/auth/login') return method === 'POST';
  // Signed webhooks authenticate the sender themselves (HMAC or per-source token).
  if (url.startsWith('/api/v1/webhooks/')) return true;
  // One-time signed approval links (e-mail, Teams): the link's MAC, expiry and single use authenticate it.
  if (url === '/api/v1/approval-links') return method === 'GET' || method === 'HEAD' || method === 'POST';
  // API documentation: the OpenAPI document and Swagger UI.
  if (url === '/api/openapi.json' || url === '/api/docs' || url.startsWith('/api/docs/')) return read;
  return false;
}

interface InventoryRoute {
  method: string;
  url: string;
  public: boolean;
  permission: string | undefined;
}

const SAMPLE_ID = '01900000-0000-7000-8000-000000000000';

/** A concrete URL for a route pattern: any value will do, authentication runs before validation. */
function concreteUrl(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+(\([^)]*\))?/g, SAMPLE_ID).replace(/\*$/, 'anything');
}

function inventoryOf(routes: readonly RouteOptions[]): InventoryRoute[] {
  const out = new Map<string, InventoryRoute>();
  for (const route of routes) {
    const config = (route.config ?? {}) as { public?: boolean; permission?: string };
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      out.set(`${method} ${route.url}`, { method, url: route.url, public: config.public === true, permission: config.permission });
    }
  }
  return [...out.values()];
}

for (const backend of testBackends()) {
  describe(`route inventory (${backend.backend})`, () => {
    let testStore: TestStore;
    let runtime: Runtime;
    let app: FastifyInstance;
    let inventory: InventoryRoute[];

    before(async () => {
      testStore = await backend.open();
      await testStore.store.close();
      const config = loadConfig({ env: testStore.env, cwd: tmpdir(), overrides: { 'log.level': 'silent' } });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
      const routes: RouteOptions[] = [];
      app = await buildServer({ ...serverServices(runtime), onRoute: (route) => routes.push(route) });
      await app.ready();
      // Read after ready: plugins may still adjust a route's config in their own onRoute hooks.
      inventory = inventoryOf(routes);
    });
    after(async () => {
      await app?.close();
      await runtime?.close();
      // The runtime closed the store it opened; dispose() removes the file or schema.
      await testStore?.dispose().catch(() => {});
    });

    test('the inventory sees the whole server (so the checks below cannot pass vacuously)', () => {
      const keys = new Set(inventory.map((r) => `${r.method} ${r.url}`));
      for (const expected of [
        'GET /healthz',
        'GET /metrics',
        'POST /api/v1/auth/login',
        'GET /api/v1/users',
        'DELETE /api/v1/tokens/:id',
        'GET /api/openapi.json',
      ]) {
        assert.ok(keys.has(expected), `${expected} missing from the inventory`);
      }
    });

    test('every route declares a permission from the catalog, or is public', () => {
      const undeclared = inventory.filter((r) => !r.public && !r.permission).map((r) => `${r.method} ${r.url}`);
      assert.deepEqual(undeclared, [], 'routes without config.permission or config.public');
      const unknown = inventory
        .filter((r) => !r.public && r.permission !== undefined && r.permission !== AUTHENTICATED && !isPermission(r.permission))
        .map((r) => `${r.method} ${r.url}: ${r.permission}`);
      assert.deepEqual(unknown, [], 'permissions that are not in the catalog (src/auth/permissions.ts)');
    });

    test('only health, login, signed webhooks and the API docs are public', () => {
      const unexpected = inventory.filter((r) => r.public && !publicRouteAllowed(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
      assert.deepEqual(unexpected, [], 'public routes outside the allowed list');
    });

    test('every non-public route answers 401 without credentials, and with a foreign token', async () => {
      const failures: string[] = [];
      for (const route of inventory.filter((r) => !r.public)) {
        const url = concreteUrl(route.url);
        for (const headers of [{}, { authorization: `Bearer rpt_${'0'.repeat(43)}` }] as Array<Record<string, string>>) {
          const res = await app.inject({ method: route.method as 'GET', url, headers });
          if (res.statusCode !== 401) failures.push(`${route.method} ${url} ${headers.authorization ? '(unknown token)' : ''}→ ${res.statusCode}`);
          else if (res.headers['www-authenticate'] === undefined) failures.push(`${route.method} ${url}: 401 without WWW-Authenticate`);
        }
      }
      assert.deepEqual(failures, []);
    });

    test('every permission-guarded route answers 403 to a valid token that lacks the permission', async () => {
      await runtime.auth.createUser({ name: 'inventory-admin', roles: ['admin'] });
      const tokenWith = async (scope: 'metrics:read' | 'alerts:read') =>
        `Bearer ${(await runtime.auth.createToken({ userName: 'inventory-admin', scopes: [scope] })).token}`;
      const onlyMetrics = await tokenWith('metrics:read');
      const onlyAlerts = await tokenWith('alerts:read');
      const failures: string[] = [];
      for (const route of inventory.filter((r) => !r.public && r.permission !== AUTHENTICATED)) {
        const authorization = route.permission === 'metrics:read' ? onlyAlerts : onlyMetrics;
        const url = concreteUrl(route.url);
        const res = await app.inject({ method: route.method as 'GET', url, headers: { authorization } });
        if (res.statusCode !== 403) failures.push(`${route.method} ${url} → ${res.statusCode}`);
      }
      assert.deepEqual(failures, []);
    });

    test('authorisation matrix: every guarded route × every role is allowed exactly when the role holds the permission', async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const role of ROLES) {
        await runtime.auth.createUser({ name: `matrix-${role}`, roles: [role] });
        const authorization = `Bearer ${(await runtime.auth.createToken({ userName: `matrix-${role}` })).token}`;
        const granted = new Set<string>(ROLE_PERMISSIONS[role]);
        for (const route of inventory.filter((r) => !r.public && r.permission !== AUTHENTICATED && r.method !== 'HEAD')) {
          const url = concreteUrl(route.url);
          const res = await app.inject({ method: route.method as 'GET', url, headers: { authorization } });
          const allowed = granted.has(route.permission ?? '');
          checked++;
          // Allowed: anything but an authentication/authorisation refusal (404, 400 and 200 are all fine here).
          if (allowed && (res.statusCode === 401 || res.statusCode === 403))
            failures.push(`${role} ${route.method} ${url} → ${res.statusCode}, expected access`);
          if (!allowed && res.statusCode !== 403) failures.push(`${role} ${route.method} ${url} → ${res.statusCode}, expected 403`);
        }
      }
      assert.ok(checked > ROLES.length * 20, `matrix too small to mean anything (${checked})`);
      recordFigure('security', 'authz_matrix_requests (route×role)', checked);
      assert.deepEqual(failures, []);
    });

    test('CSRF: every state-changing route refuses an admin cookie session without the x-csrf-token header', async () => {
      const password = 'inventory-csrf-password-0123';
      await runtime.auth.createUser({ name: 'inventory-csrf', roles: ['admin'], password });
      const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'inventory-csrf', password } });
      assert.equal(login.statusCode, 200, login.body);
      const jar = (login.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]).join('; ');
      const csrf = (login.json() as { csrf_token: string }).csrf_token;
      const failures: string[] = [];
      let checked = 0;
      for (const route of inventory.filter((r) => !r.public && !['GET', 'HEAD', 'OPTIONS'].includes(r.method))) {
        const url = concreteUrl(route.url);
        checked++;
        for (const headers of [
          { cookie: jar },
          { cookie: jar, 'x-csrf-token': `${csrf.slice(0, -2)}xx` },
          { cookie: jar, 'x-csrf-token': csrf, origin: 'https://evil.example' },
        ]) {
          const res = await app.inject({ method: route.method as 'POST', url, headers, payload: {} });
          // Problem+json carries `code`; TAXII routes answer with TAXII's error resource and `error_code`.
          const body = res.statusCode === 403 ? (res.json() as { code?: string; error_code?: string }) : {};
          const code = body.code ?? body.error_code;
          if (code !== 'auth.csrf_failed') failures.push(`${route.method} ${url} ${Object.keys(headers).join('+')} → ${res.statusCode} ${code ?? ''}`);
        }
      }
      assert.ok(checked > 20, `too few state-changing routes seen (${checked})`);
      recordFigure('security', 'csrf_routes_checked', checked);
      assert.deepEqual(failures, []);
      // The same session with its token gets past the CSRF check (here: a validation error, not a refusal).
      const ok = await app.inject({ method: 'POST', url: '/api/v1/users', headers: { cookie: jar, 'x-csrf-token': csrf }, payload: {} });
      assert.equal(ok.statusCode, 400, ok.body);
    });

    test('public webhook and approval-link routes refuse an unsigned request', async () => {
      const failures: string[] = [];
      const signed = (url: string) => url.startsWith('/api/v1/webhooks/') || url === '/api/v1/approval-links';
      for (const route of inventory.filter((r) => r.public && signed(r.url) && r.method !== 'HEAD')) {
        const url = concreteUrl(route.url);
        const res = await app.inject({ method: route.method as 'POST', url, payload: { title: 'unsigned' } });
        if (res.statusCode < 400) failures.push(`${route.method} ${url} → ${res.statusCode}`);
      }
      assert.deepEqual(failures, []);
    });
  });
}
