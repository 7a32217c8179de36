import { tmpdir } from 'node:os';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { type AuthService, createAuthService, DEFAULT_AUTH_POLICY, type Permission, type Role } from '../auth/index.ts';
import { type Clock, type Config, createLogger, loadConfig } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { TestBackend, TestStore } from '../store/testing.ts';
import { buildServer } from './app.ts';
import type { ServerServices } from './services.ts';

/**
 * Test support for route tests: a server on a fresh store of the given backend, and bearer tokens for
 * any role or set of permissions, so each route test can say "as a viewer…" in one line:
 *
 *   const server = await openTestServer(backend);
 *   const res = await server.app.inject({ url: '/api/v1/cases', headers: await server.as('viewer') });
 */
export interface TestServer {
  app: FastifyInstance;
  store: Store;
  auth: AuthService;
  config: Config;
  /** Authorization headers for a fresh user with these roles (narrowed to `scopes` when given). */
  as(roles: Role | Role[], scopes?: Permission[]): Promise<{ authorization: string }>;
  dispose(): Promise<void>;
}

/** Cheap argon2 parameters: route tests sign in often; passwords.test.ts covers the real ones. */
export const FAST_PASSWORD_HASHING = { memory: 1024, passes: 1, parallelism: 1 };

let userCounter = 0;

export async function openTestServer(
  backend: TestBackend,
  options: {
    /** Config overrides by dotted key, e.g. { 'server.public_url': 'https://soar.example' }. */
    config?: Record<string, unknown>;
    clock?: Clock;
    authPolicy?: Partial<typeof DEFAULT_AUTH_POLICY>;
    /** Adds services a route under test needs (cases, engine…); a function receives the test store and config. */
    services?: Partial<ServerServices> | ((store: Store, config: Config) => Partial<ServerServices>);
    onRoute?: (route: RouteOptions) => void;
  } = {},
): Promise<TestServer> {
  const testStore: TestStore = await backend.open(options.clock ? { clock: options.clock } : {});
  const config = loadConfig({ env: {}, cwd: tmpdir(), overrides: { 'log.level': 'silent', ...options.config } });
  const logger = createLogger({ level: 'silent' });
  const auth = createAuthService({
    store: testStore.store,
    clock: options.clock,
    policy: { ...DEFAULT_AUTH_POLICY, ...options.authPolicy },
    passwordHashing: FAST_PASSWORD_HASHING,
  });
  const app = await buildServer({
    store: testStore.store,
    config,
    logger,
    version: '0.0.0-test',
    auth,
    ...(typeof options.services === 'function' ? options.services(testStore.store, config) : options.services),
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  });
  return {
    app,
    store: testStore.store,
    auth,
    config,
    async as(roles, scopes) {
      const name = `test-user-${process.pid}-${++userCounter}`;
      await auth.createUser({ name, roles: Array.isArray(roles) ? roles : [roles] });
      const { token } = await auth.createToken({ userName: name, ...(scopes ? { scopes } : {}) });
      return { authorization: `Bearer ${token}` };
    },
    async dispose() {
      await app.close();
      await testStore.dispose();
    },
  };
}
