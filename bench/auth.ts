import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createAuthService, hashPassword } from '../src/auth/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { buildServer } from '../src/server/index.ts';
import { benchStores, emit, note, percentile } from './harness.ts';

/**
 * What authentication costs: an argon2id hash with the production parameters (the price of each sign-in,
 * and the attacker's price per guess), a whole sign-in, and the per-request overhead of authenticating a
 * bearer token or a session cookie compared with a public route (in-process `inject`, no network).
 */
const HASHES = 20;
const LOGINS = 20;
const REQUESTS = 5_000;

async function requestRate(send: () => Promise<{ statusCode: number }>, n: number) {
  // Warm up first so the route's JIT and serializer costs don't land on whichever variant runs first.
  for (let i = 0; i < 300; i++) await send();
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await send();
    latencies.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`bench request failed with ${res.statusCode}`);
  }
  return { perSecond: n / ((performance.now() - start) / 1000), p99: percentile(latencies, 99) };
}

export async function run(): Promise<void> {
  const hashTimes: number[] = [];
  for (let i = 0; i < HASHES; i++) {
    const t0 = performance.now();
    await hashPassword(`bench password number ${i}`);
    hashTimes.push(performance.now() - t0);
  }
  emit({ suite: 'auth', metric: 'argon2id_hash_p50_ms', value: percentile(hashTimes, 50), unit: 'ms', n: HASHES, params: 'm=19456,t=2,p=1' });

  for (const open of await benchStores()) {
    const { store, backend, dispose } = await open();
    try {
      note(`auth: ${backend} ${store.location}`);
      const auth = createAuthService({ store });
      const password = 'a benchmark passphrase';
      await auth.createUser({ name: 'bench', roles: ['analyst'], password });

      const loginTimes: number[] = [];
      let cookie = '';
      for (let i = 0; i < LOGINS; i++) {
        const t0 = performance.now();
        const session = await auth.login({ name: 'bench', password, clientIp: `10.0.${i}.1` });
        loginTimes.push(performance.now() - t0);
        cookie = `riposte_session=${session.sessionSecret}`;
      }
      emit({ suite: 'auth', metric: 'login_p50_ms', value: percentile(loginTimes, 50), unit: 'ms', n: LOGINS, backend });

      const { token } = await auth.createToken({ userName: 'bench' });
      const config = loadConfig({ env: {}, cwd: tmpdir(), overrides: { 'log.level': 'silent' } });
      const app = await buildServer({ store, config, logger: createLogger({ level: 'silent' }), version: 'bench', auth });
      await app.ready();
      try {
        const publicRoute = await requestRate(() => app.inject({ url: '/healthz' }), REQUESTS);
        emit({ suite: 'auth', metric: 'public_requests_per_s', value: publicRoute.perSecond, unit: '1/s', n: REQUESTS, backend, route: 'GET /healthz' });
        const bearer = await requestRate(() => app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } }), REQUESTS);
        emit({ suite: 'auth', metric: 'bearer_requests_per_s', value: bearer.perSecond, unit: '1/s', n: REQUESTS, backend, route: 'GET /api/v1/auth/me' });
        emit({ suite: 'auth', metric: 'bearer_request_p99_ms', value: bearer.p99, unit: 'ms', n: REQUESTS, backend });
        const session = await requestRate(() => app.inject({ url: '/api/v1/auth/me', headers: { cookie } }), REQUESTS);
        emit({ suite: 'auth', metric: 'session_requests_per_s', value: session.perSecond, unit: '1/s', n: REQUESTS, backend, route: 'GET /api/v1/auth/me' });
        emit({ suite: 'auth', metric: 'session_request_p99_ms', value: session.p99, unit: 'ms', n: REQUESTS, backend });
      } finally {
        await app.close();
      }
    } finally {
      await dispose();
    }
  }
}
