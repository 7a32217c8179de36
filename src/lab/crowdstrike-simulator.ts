import { randomBytes, randomUUID } from 'node:crypto';
import { EdrBehaviour, fleetRegistryKey } from './edr-behaviour.ts';
import type { Fleet, FleetEndpoint, RegistryValue } from './fleet.ts';
import { headerValue, type SimAnswer, type VendorHandler } from './simulator-server.ts';

/**
 * CrowdStrike Falcon as a hunt and its remediation see it, over the simulated fleet:
 * - OAuth2 (`POST /oauth2/token`, form `client_id`/`client_secret`, 201 with a 30-minute bearer token);
 * - Real Time Response batch sessions (`POST /real-time-response/combined/batch-init-session/v1` with
 *   `host_ids` and `queue_offline`), read-only `reg query` through `batch-command/v1` and `reg delete` /
 *   `reg set` through `batch-active-responder-command/v1`, answering per host under `combined.resources`
 *   (`stdout`, `stderr`, `complete`, `offline_queued`); an offline host answers `complete: false` until it
 *   comes back, and a queued command older than the behaviour's timeout is dropped with an error;
 * - hosts: `GET /devices/queries/devices/v1?limit=&offset=` (aids, `meta.pagination.total`) and
 *   `POST /devices/entities/devices/v2` with `{ids}` (hostname, platform);
 * - host actions `POST /devices/entities/devices-actions/v2?action_name=contain|lift_containment`;
 * - `X-RateLimit-Limit` / `X-RateLimit-Remaining` on every answer and 429 with `X-RateLimit-RetryAfter`
 *   (epoch seconds) and `Retry-After` past the per-minute quota (Falcon's default is 6,000 a minute).
 * Host ids (`aid`) are the first 32 hex characters of the fleet's machine ids.
 */
export const SIMULATOR_FALCON_CLIENT_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const SIMULATOR_FALCON_CLIENT_SECRET = 'SimFalconSecret0123456789abcdefABCDEF0123';

export interface FalconSimulatorOptions {
  /** Requests a minute before 429 (default 6,000). */
  perMinute?: number;
}

const TOKEN_LIFETIME_S = 1799;

export function falconAid(endpoint: FleetEndpoint): string {
  return endpoint.id.slice(0, 32);
}

function meta(extra: Record<string, unknown> = {}) {
  return { query_time: 0.01, powered_by: 'sim', trace_id: randomUUID(), ...extra };
}

function errorBody(status: number, message?: string) {
  return {
    meta: meta(),
    resources: [],
    errors: [
      { code: status, message: message ?? (status === 429 ? 'API rate limit exceeded.' : status === 401 ? 'access denied, invalid bearer token' : 'error') },
    ],
  };
}

/** `reg query` output as Falcon prints it: the key, then one `name  type  data` line per value. */
function regQuery(endpoint: FleetEndpoint, key: string): { stdout: string; stderr: string } {
  // `reg query HKU` lists the loaded user hives (one per SID), as reg.exe lists subkeys.
  if (/^(HKU|HKEY_USERS)\\?$/i.test(key)) return { stdout: `${endpoint.users.map((u) => `HKEY_USERS\\${u.sid}`).join('\n')}\n`, stderr: '' };
  const wanted = fleetRegistryKey(key).toLowerCase();
  const entry = [...endpoint.registry.entries()].find(([k]) => k.toLowerCase() === wanted);
  if (!entry) return { stdout: '', stderr: `The system was unable to find the specified registry key or value: ${key}` };
  const lines = [entry[0], ...entry[1].map((v) => `    ${v.name}    ${v.type}    ${v.data}`)];
  return { stdout: `${lines.join('\n')}\n`, stderr: '' };
}

/** Splits a command string honouring double quotes: reg delete "HKLM\…\Run" "Name". */
function words(command: string): string[] {
  return [...command.matchAll(/(\S*?)"([^"]*)"|(\S+)/g)].map((m) => (m[2] !== undefined ? `${m[1] ?? ''}${m[2]}` : (m[3] as string)));
}

export function crowdStrikeHandler(fleet: Fleet, behaviour: EdrBehaviour = new EdrBehaviour(), options: FalconSimulatorOptions = {}): VendorHandler {
  const tokens = new Map<string, number>();
  const byAid = new Map(fleet.endpoints.map((e) => [falconAid(e), e]));
  const batches = new Map<string, { hosts: string[]; createdAt: number }>();
  const limit = options.perMinute ?? 6000;
  let windowStart = behaviour.now();
  let used = 0;

  const run = (endpoint: FleetEndpoint, base: string, command: string, responder: boolean) => {
    const argv = words(command);
    if (argv[0] !== 'reg') return { stdout: '', stderr: `${base}: only reg commands are simulated` };
    const verb = (argv[1] ?? '').toLowerCase();
    if (verb === 'query') return regQuery(endpoint, argv[2] ?? '');
    if (!responder) return { stdout: '', stderr: `reg ${verb} needs the active responder role (batch-active-responder-command)` };
    if (behaviour.fails()) return { stdout: '', stderr: 'Command failed: the operation could not be completed (simulated failure)' };
    if (verb === 'delete') {
      const removed = fleet.deleteValue(endpoint, fleetRegistryKey(argv[2] ?? ''), argv[3] ?? '');
      return removed
        ? { stdout: 'The operation completed successfully.\n', stderr: '' }
        : { stdout: '', stderr: `value ${argv[3]} not found under ${argv[2]}` };
    }
    if (verb === 'set') {
      // reg set <key> <name> -ValueType=REG_SZ -Value=<data>
      const type = (argv.find((a) => a.startsWith('-ValueType='))?.slice(11) ?? 'REG_SZ') as RegistryValue['type'];
      const data = argv.find((a) => a.startsWith('-Value='))?.slice(7) ?? '';
      fleet.setValue(endpoint, fleetRegistryKey(argv[2] ?? ''), { name: argv[3] ?? '', type, data });
      return { stdout: 'The operation completed successfully.\n', stderr: '' };
    }
    return { stdout: '', stderr: `reg ${verb} is not supported` };
  };

  const answer = (request: { method: string; path: string; query: URLSearchParams; body: string; headers: Parameters<typeof headerValue>[0] }): SimAnswer => {
    if (request.path === '/oauth2/token' && request.method === 'POST') {
      const form = new URLSearchParams(request.body);
      if (form.get('client_id') !== SIMULATOR_FALCON_CLIENT_ID || form.get('client_secret') !== SIMULATOR_FALCON_CLIENT_SECRET)
        return { status: 401, body: errorBody(401, 'access denied, invalid client credentials') };
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, behaviour.now() + TOKEN_LIFETIME_S * 1000);
      return { status: 201, body: { access_token: token, token_type: 'bearer', expires_in: TOKEN_LIFETIME_S } };
    }
    const bearer = /^Bearer (.+)$/i.exec(headerValue(request.headers, 'authorization') ?? '')?.[1];
    if (!bearer || (tokens.get(bearer) ?? 0) <= behaviour.now()) return { status: 401, body: errorBody(401) };
    let body: Record<string, unknown> = {};
    if (request.method === 'POST') {
      try {
        body = JSON.parse(request.body || '{}') as Record<string, unknown>;
      } catch {
        return { status: 400, body: errorBody(400, 'invalid JSON body') };
      }
    }
    if (request.path === '/real-time-response/combined/batch-init-session/v1' && request.method === 'POST') {
      const ids = Array.isArray(body.host_ids) ? body.host_ids.map(String) : [];
      if (ids.length === 0) return { status: 400, body: errorBody(400, 'host_ids is required') };
      if (ids.length > 10_000) return { status: 400, body: errorBody(400, 'a batch session takes at most 10,000 hosts') };
      const queue = body.queue_offline === true;
      const resources: Record<string, unknown> = {};
      const hosts: string[] = [];
      for (const aid of ids) {
        const endpoint = byAid.get(aid);
        if (!endpoint) {
          resources[aid] = { aid, session_id: '', complete: false, offline_queued: false, errors: [{ code: 404, message: 'host not found' }] };
          continue;
        }
        hosts.push(aid);
        resources[aid] = { aid, session_id: randomUUID(), complete: endpoint.online, offline_queued: !endpoint.online && queue, errors: [] };
      }
      const batchId = randomUUID();
      batches.set(batchId, { hosts, createdAt: behaviour.now() });
      return { status: 201, body: { meta: meta(), batch_id: batchId, resources, errors: [] } };
    }
    const command = /^\/real-time-response\/combined\/(batch-command|batch-active-responder-command)\/v1$/.exec(request.path)?.[1];
    if (command && request.method === 'POST') {
      const batch = batches.get(String(body.batch_id ?? ''));
      if (!batch) return { status: 404, body: errorBody(404, 'batch session not found') };
      const base = String(body.base_command ?? '');
      const text = String(body.command_string ?? '');
      if (base === '' || !text.startsWith(base)) return { status: 400, body: errorBody(400, 'command_string must start with base_command') };
      const only = Array.isArray(body.optional_hosts) ? new Set(body.optional_hosts.map(String)) : undefined;
      const expired = behaviour.now() - batch.createdAt > behaviour.offlineTimeoutMs;
      const resources: Record<string, unknown> = {};
      for (const aid of batch.hosts) {
        if (only && !only.has(aid)) continue;
        const endpoint = byAid.get(aid) as FleetEndpoint;
        if (!endpoint.online) {
          resources[aid] = {
            aid,
            session_id: '',
            task_id: '',
            complete: false,
            offline_queued: !expired,
            stdout: '',
            stderr: '',
            base_command: base,
            errors: expired ? [{ code: 40401, message: 'host is offline and the queued session expired' }] : [],
          };
          continue;
        }
        const out = run(endpoint, base, text, command === 'batch-active-responder-command');
        resources[aid] = {
          aid,
          session_id: randomUUID(),
          task_id: randomUUID(),
          complete: true,
          offline_queued: false,
          base_command: base,
          errors: [],
          ...out,
        };
      }
      return { status: 201, body: { meta: meta(), combined: { resources }, errors: [] } };
    }
    if (request.path === '/devices/queries/devices/v1' && request.method === 'GET') {
      const limit = Math.min(5000, Math.max(1, Number(request.query.get('limit') ?? 100) || 100));
      const offset = Math.max(0, Number(request.query.get('offset') ?? 0) || 0);
      const aids = fleet.endpoints.map(falconAid);
      return {
        status: 200,
        body: { meta: meta({ pagination: { offset, limit, total: aids.length } }), resources: aids.slice(offset, offset + limit), errors: [] },
      };
    }
    if (request.path === '/devices/entities/devices/v2' && request.method === 'POST') {
      const ids = Array.isArray(body.ids) ? body.ids.map(String) : [];
      if (ids.length === 0 || ids.length > 5000) return { status: 400, body: errorBody(400, 'ids must list 1 to 5,000 hosts') };
      const resources = ids.flatMap((aid) => {
        const e = byAid.get(aid);
        return e ? [{ device_id: aid, hostname: e.hostname, platform_name: 'Windows', os_version: e.os, status: e.isolated ? 'contained' : 'normal' }] : [];
      });
      return { status: 200, body: { meta: meta(), resources, errors: [] } };
    }
    if (request.path === '/devices/entities/devices-actions/v2' && request.method === 'POST') {
      const name = request.query.get('action_name');
      if (name !== 'contain' && name !== 'lift_containment') return { status: 400, body: errorBody(400, `action_name ${name} is not supported`) };
      const ids = Array.isArray(body.ids) ? body.ids.map(String) : [];
      if (ids.length === 0 || ids.length > 100) return { status: 400, body: errorBody(400, 'ids must list 1 to 100 hosts') };
      const resources: Array<{ id: string; path: string }> = [];
      const errors: Array<{ code: number; message: string; id: string }> = [];
      for (const aid of ids) {
        const endpoint = byAid.get(aid);
        if (!endpoint) errors.push({ code: 404, message: `host ${aid} not found`, id: aid });
        else if (behaviour.fails()) errors.push({ code: 500, message: `${name} failed on ${aid} (simulated failure)`, id: aid });
        else {
          // Falcon queues containment for offline hosts; the simulated state changes at once.
          endpoint.isolated = name === 'contain';
          resources.push({ id: aid, path: '' });
        }
      }
      return { status: errors.length > 0 && resources.length === 0 ? 500 : 202, body: { meta: meta(), resources, errors } };
    }
    return { status: 404, body: errorBody(404, `no route for ${request.method} ${request.path}`) };
  };

  return {
    vendor: 'crowdstrike',
    errorBody,
    handle(request) {
      const now = behaviour.now();
      if (now - windowStart >= 60_000) {
        windowStart = now;
        used = 0;
      }
      used++;
      const reset = Math.ceil((windowStart + 60_000) / 1000);
      const headers = { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(Math.max(0, limit - used)) };
      if (used > limit) {
        return {
          status: 429,
          headers: { ...headers, 'x-ratelimit-retryafter': String(reset), 'retry-after': String(Math.max(1, reset - Math.floor(now / 1000))) },
          body: errorBody(429),
        };
      }
      const out = answer(request);
      return { ...out, headers: { ...headers, ...out.headers } };
    },
  };
}
