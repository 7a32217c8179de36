/**
 * CrowdStrike Falcon: Real Time Response and host containment. Signs in with OAuth2 client credentials
 * (`POST /oauth2/token` on the API host, 30-minute tokens). Registry work goes through RTR batch sessions
 * (`batch-init-session`, then `reg query` via `batch-command` and `reg delete` / `reg set` via
 * `batch-active-responder-command`), so one request reaches many hosts; hosts that are offline are queued
 * (`queue_offline`) and reported as not complete, for the caller to retry. Falcon allows 6,000 requests a
 * minute per client and says so in `X-RateLimit-*` headers; a 429 is waited out (Retry-After) by the SDK.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { type ActionRunContext, action, defineIntegration } from '../sdk/index.ts';

const Aid = z.string().regex(/^[0-9a-f]{32}$/i, 'a Falcon host id (aid, 32 hex characters)');
const HostResult = z.object({
  aid: z.string(),
  complete: z.boolean(),
  offline_queued: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  error: z.string().nullable(),
});
type HostResultT = z.infer<typeof HostResult>;

type FalconContext = Pick<ActionRunContext<unknown>, 'http' | 'accessToken' | 'signal'>;

async function falcon(context: FalconContext, request: { method?: 'GET' | 'POST'; path: string; query?: Record<string, string>; json?: unknown }) {
  if (!context.accessToken) throw new RiposteError('integration.invalid', 'CrowdStrike: the instance has no sign-in configured');
  const send = async (refresh: boolean) =>
    context.http.request({
      method: 'POST',
      ...request,
      headers: { authorization: `Bearer ${await context.accessToken?.({ refresh, signal: context.signal })}` },
      signal: context.signal,
    });
  try {
    return (await send(false)).json<Record<string, unknown>>();
  } catch (error) {
    if (!(error instanceof RiposteError) || error.code !== 'integration.unauthorized') throw error;
    return (await send(true)).json<Record<string, unknown>>();
  }
}

/** Opens a batch session and runs one command on every host in it; one result per host. */
async function batchCommand(context: FalconContext, hostIds: string[], command: string, responder: boolean, queueOffline: boolean): Promise<HostResultT[]> {
  const init = await falcon(context, { path: '/real-time-response/combined/batch-init-session/v1', json: { host_ids: hostIds, queue_offline: queueOffline } });
  const batchId = init.batch_id;
  if (typeof batchId !== 'string')
    throw new RiposteError('integration.bad_response', 'CrowdStrike answered batch-init-session without a batch_id', { status: 502 });
  const out = await falcon(context, {
    path: `/real-time-response/combined/${responder ? 'batch-active-responder-command' : 'batch-command'}/v1`,
    json: { batch_id: batchId, base_command: command.split(' ')[0], command_string: command },
  });
  const resources = ((out.combined as { resources?: Record<string, Record<string, unknown>> } | undefined)?.resources ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const initResources = (init.resources ?? {}) as Record<string, Record<string, unknown>>;
  return hostIds.map((aid) => {
    const r = resources[aid] ?? initResources[aid] ?? {};
    const errors = Array.isArray(r.errors) ? (r.errors as Array<{ message?: unknown }>) : [];
    return {
      aid,
      complete: r.complete === true,
      offline_queued: r.offline_queued === true,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      error: errors.length > 0 ? errors.map((e) => String(e.message ?? 'error')).join('; ') : r.stderr ? String(r.stderr) : null,
    };
  });
}

/** `reg query` output: the key line, then `name  TYPE  data` lines. */
export function parseRegQuery(stdout: string): { keys: string[]; values: Array<{ key: string; name: string; type: string; data: string }> } {
  const keys: string[] = [];
  const values: Array<{ key: string; name: string; type: string; data: string }> = [];
  let current = '';
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const m = /^\s+(.+?)\s{2,}(REG_[A-Z_]+)\s{2,}(.*)$/.exec(line);
    if (m) values.push({ key: current, name: m[1] as string, type: m[2] as string, data: m[3] as string });
    else {
      current = line.trim();
      keys.push(current);
    }
  }
  return { keys, values };
}

const quote = (text: string) => `"${text.replace(/"/g, '')}"`;
const RegistryInput = z.object({
  host_id: Aid,
  key: z.string().min(1).max(1024),
  value_name: z.string().min(1).max(256),
  type: z.enum(['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD']).default('REG_SZ'),
  /** Captured before deletion: what the inverse writes back. */
  data: z.string().max(16_384).default(''),
});

function single(results: HostResultT[], what: string): HostResultT {
  const r = results[0] as HostResultT;
  if (!r.complete) {
    throw new RiposteError(
      r.offline_queued ? 'integration.host_offline' : 'integration.job_failed',
      `CrowdStrike ${what} on ${r.aid}: ${r.error ?? 'host offline, command queued'}`,
      {
        retryable: r.offline_queued,
        details: { aid: r.aid },
      },
    );
  }
  if (r.error) throw new RiposteError('integration.job_failed', `CrowdStrike ${what} on ${r.aid} failed: ${r.error}`, { details: { aid: r.aid } });
  return r;
}

export default defineIntegration({
  id: 'crowdstrike',
  title: 'CrowdStrike Falcon',
  config: z.object({
    baseUrl: z.url().default('https://api.crowdstrike.com'),
    clientId: z.string().default(''),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { clientSecret: 'API client secret (scopes: Hosts read/write, Real time response read/write)' },
  rateLimit: { perMinute: 6000, burst: 50 },
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl: (config) => `${String(config.baseUrl).replace(/\/$/, '')}/oauth2/token`,
    audience: () => ({}),
    clientIdConfig: 'clientId',
    clientSecret: 'clientSecret',
  },
  actions: {
    list_hosts: action({
      title: 'List hosts (aid and hostname)',
      description: 'Every host id from `GET /devices/queries/devices/v1` (pages of 5,000), with hostnames from `POST /devices/entities/devices/v2`.',
      impact: 'read',
      input: z.object({ filter: z.string().max(1024).optional() }),
      output: z.object({ hosts: z.array(z.object({ id: z.string(), hostname: z.string(), platform: z.string().nullable() })) }),
      async run(context) {
        const ids: string[] = [];
        for (let offset = 0; ; ) {
          const page = await falcon(context, {
            method: 'GET',
            path: '/devices/queries/devices/v1',
            query: { limit: '5000', offset: String(offset), ...(context.input.filter ? { filter: context.input.filter } : {}) },
          });
          const resources = Array.isArray(page.resources) ? page.resources.map(String) : [];
          ids.push(...resources);
          const total = Number((page.meta as { pagination?: { total?: unknown } } | undefined)?.pagination?.total ?? 0);
          offset += resources.length;
          if (resources.length === 0 || offset >= total) break;
        }
        const hosts: Array<{ id: string; hostname: string; platform: string | null }> = [];
        for (let i = 0; i < ids.length; i += 5000) {
          const details = await falcon(context, { path: '/devices/entities/devices/v2', json: { ids: ids.slice(i, i + 5000) } });
          for (const d of (Array.isArray(details.resources) ? details.resources : []) as Array<Record<string, unknown>>)
            hosts.push({
              id: String(d.device_id),
              hostname: String(d.hostname ?? d.device_id),
              platform: d.platform_name == null ? null : String(d.platform_name),
            });
        }
        return { hosts };
      },
    }),
    reg_query: action({
      title: 'Registry query on many hosts (RTR batch)',
      description: 'Runs `reg query KEY` on up to 10,000 hosts in one batch session; offline hosts are queued and come back not complete.',
      impact: 'read',
      input: z.object({ host_ids: z.array(Aid).min(1).max(10_000), key: z.string().min(1).max(1024), queue_offline: z.boolean().default(true) }),
      output: z.object({
        hosts: z.array(
          HostResult.extend({
            values: z.array(z.object({ key: z.string(), name: z.string(), type: z.string(), data: z.string() })),
            subkeys: z.array(z.string()),
          }),
        ),
      }),
      async run(context) {
        const results = await batchCommand(context, context.input.host_ids, `reg query ${quote(context.input.key)}`, false, context.input.queue_offline);
        return {
          hosts: results.map((r) => {
            const parsed = parseRegQuery(r.stdout);
            return { ...r, values: parsed.values, subkeys: parsed.values.length === 0 ? parsed.keys : [] };
          }),
        };
      },
    }),
    delete_registry_value: action({
      title: 'Delete a registry value (RTR reg delete)',
      impact: 'destructive',
      inverse: 'restore_registry_value',
      inverseInput: (input) => ({ ...input }),
      input: RegistryInput,
      output: z.object({ aid: z.string(), stdout: z.string() }),
      async run(context) {
        const { host_id, key, value_name } = context.input;
        const r = single(await batchCommand(context, [host_id], `reg delete ${quote(key)} ${quote(value_name)}`, true, false), 'reg delete');
        return { aid: r.aid, stdout: r.stdout };
      },
    }),
    restore_registry_value: action({
      title: 'Write a registry value back (RTR reg set)',
      impact: 'write',
      input: RegistryInput,
      output: z.object({ aid: z.string(), stdout: z.string() }),
      async run(context) {
        const { host_id, key, value_name, type, data } = context.input;
        const command = `reg set ${quote(key)} ${quote(value_name)} -ValueType=${type} -Value=${quote(data)}`;
        const r = single(await batchCommand(context, [host_id], command, true, false), 'reg set');
        return { aid: r.aid, stdout: r.stdout };
      },
    }),
    contain: action({
      title: 'Network-contain hosts',
      impact: 'destructive',
      inverse: 'lift_containment',
      input: z.object({ host_ids: z.array(Aid).min(1).max(100) }),
      output: z.object({ contained: z.array(z.string()), errors: z.array(z.string()) }),
      async run(context) {
        const out = await falcon(context, {
          path: '/devices/entities/devices-actions/v2',
          query: { action_name: 'contain' },
          json: { ids: context.input.host_ids },
        });
        return hostActionResult(out, 'contain');
      },
    }),
    lift_containment: action({
      title: 'Lift network containment',
      impact: 'write',
      input: z.object({ host_ids: z.array(Aid).min(1).max(100) }),
      output: z.object({ contained: z.array(z.string()), errors: z.array(z.string()) }),
      async run(context) {
        const out = await falcon(context, {
          path: '/devices/entities/devices-actions/v2',
          query: { action_name: 'lift_containment' },
          json: { ids: context.input.host_ids },
        });
        return hostActionResult(out, 'lift_containment');
      },
    }),
  },
});

function hostActionResult(out: Record<string, unknown>, name: string) {
  const ok = (Array.isArray(out.resources) ? (out.resources as Array<{ id?: unknown }>) : []).map((r) => String(r.id));
  const errors = (Array.isArray(out.errors) ? (out.errors as Array<{ message?: unknown }>) : []).map((e) => String(e.message ?? 'error'));
  if (ok.length === 0) throw new RiposteError('integration.job_failed', `CrowdStrike ${name} failed: ${errors.join('; ') || 'no host accepted'}`);
  return { contained: ok, errors };
}
