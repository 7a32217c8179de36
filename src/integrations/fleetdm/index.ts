/**
 * Fleet (fleetdm.com), the osquery manager: hosts (paged), live queries across hosts
 * (`POST /api/v1/fleet/queries/run` with the osquery SQL a hunt converts to; offline hosts do not answer
 * and are left for the caller to retry), and scripts (`POST /api/v1/fleet/scripts/run`, then
 * `GET /api/v1/fleet/scripts/results/{execution_id}` polled with the SDK's job poller until an exit code, or
 * `host_timeout`). Registry values are deleted and restored with PowerShell scripts; the deletion's inverse
 * carries the captured data. API token as `Authorization: Bearer`.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { type ActionRunContext, action, collectPages, defineIntegration, runJob } from '../sdk/index.ts';

type FleetContext = Pick<ActionRunContext<unknown>, 'http' | 'secrets' | 'signal' | 'config' | 'instance'>;

const headers = (context: FleetContext) => ({ authorization: `Bearer ${context.secrets.apiToken ?? ''}` });
const psQuote = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function runScript(context: FleetContext, hostId: number, script: string) {
  const { result, jobId, polls } = await runJob<{ exit_code: number; output: string }>({
    vendor: `Fleet (${context.instance}) script`,
    signal: context.signal,
    deadlineMs: Number(context.config.scriptTimeoutMs ?? 600_000),
    initialIntervalMs: Number(context.config.pollIntervalMs ?? 5000),
    maxIntervalMs: Math.max(Number(context.config.pollIntervalMs ?? 5000), 30_000),
    submit: async () => {
      const out = (
        await context.http.request({
          method: 'POST',
          path: '/api/v1/fleet/scripts/run',
          json: { host_id: hostId, script_contents: script },
          headers: headers(context),
          signal: context.signal,
        })
      ).json<{ execution_id?: unknown }>();
      if (typeof out.execution_id !== 'string')
        throw new RiposteError('integration.bad_response', 'Fleet answered scripts/run without an execution_id', { status: 502 });
      return out.execution_id;
    },
    check: async (id) => {
      const r = await context.http.getJson<{ exit_code?: number | null; output?: string; host_timeout?: boolean; message?: string }>(
        `/api/v1/fleet/scripts/results/${id}`,
        {
          headers: headers(context),
          signal: context.signal,
        },
      );
      if (r.host_timeout) return { failed: true, reason: `host timed out (${r.message ?? 'offline'})` };
      if (r.exit_code === null || r.exit_code === undefined) return { done: false };
      if (r.exit_code !== 0) return { failed: true, reason: `exit code ${r.exit_code}: ${(r.output ?? '').slice(0, 500)}` };
      return { done: true, result: { exit_code: r.exit_code, output: r.output ?? '' } };
    },
  });
  return { execution_id: jobId, host_id: hostId, exit_code: result.exit_code, output: result.output, polls };
}

const ScriptOut = z.object({ execution_id: z.string(), host_id: z.number(), exit_code: z.number(), output: z.string(), polls: z.number() });
const RegistryInput = z.object({
  host_id: z.number().int().positive(),
  key: z.string().min(1).max(1024),
  value_name: z.string().min(1).max(256),
  type: z.enum(['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD']).default('REG_SZ'),
  data: z.string().max(8000).default(''),
});
const PS_TYPES = { REG_SZ: 'String', REG_EXPAND_SZ: 'ExpandString', REG_DWORD: 'DWord' } as const;

export default defineIntegration({
  id: 'fleetdm',
  title: 'Fleet (osquery)',
  config: z.object({
    baseUrl: z.url().default('https://fleet.example.com'),
    timeoutMs: z.number().int().positive().optional(),
    pollIntervalMs: z.number().int().positive().default(5000),
    /** A script still pending after this long (host offline) is given up. */
    scriptTimeoutMs: z.number().int().positive().default(600_000),
  }),
  secrets: { apiToken: 'API token of a Fleet API-only user (role maintainer or admin, to run scripts)' },
  rateLimit: { perSecond: 50, burst: 50 },
  actions: {
    list_hosts: action({
      title: 'List hosts',
      impact: 'read',
      input: z.object({ per_page: z.number().int().min(1).max(10_000).default(1000) }),
      output: z.object({
        hosts: z.array(z.object({ id: z.number(), hostname: z.string(), display_name: z.string(), status: z.string(), platform: z.string() })),
      }),
      async run(context) {
        const hosts = await collectPages<Record<string, unknown>, number>({
          first: 0,
          maxPages: 1000,
          fetch: async (page) => {
            const out = await context.http.getJson<{ hosts?: Array<Record<string, unknown>> }>('/api/v1/fleet/hosts', {
              query: { page, per_page: context.input.per_page },
              headers: headers(context),
              signal: context.signal,
            });
            const items = out.hosts ?? [];
            return { items, next: items.length < context.input.per_page ? undefined : page + 1 };
          },
        });
        return {
          hosts: hosts.map((h) => ({
            id: Number(h.id),
            hostname: String(h.hostname ?? ''),
            display_name: String(h.display_name ?? ''),
            status: String(h.status ?? ''),
            platform: String(h.platform ?? ''),
          })),
        };
      },
    }),
    live_query: action({
      title: 'Live query across hosts (osquery SQL)',
      description: 'Runs the SQL on the given hosts now; hosts that are offline do not answer (listed in `missing`).',
      impact: 'read',
      input: z.object({ query: z.string().min(1).max(100_000), host_ids: z.array(z.number().int().positive()).min(1).max(10_000) }),
      output: z.object({
        results: z.array(z.object({ host_id: z.number(), rows: z.array(z.record(z.string(), z.unknown())), error: z.string().nullable() })),
        missing: z.array(z.number()),
      }),
      async run(context) {
        const out = (
          await context.http.request({
            method: 'POST',
            path: '/api/v1/fleet/queries/run',
            json: { query: context.input.query, host_ids: context.input.host_ids },
            headers: headers(context),
            signal: context.signal,
          })
        ).json<{ results?: Array<{ host_id: number; rows?: Array<Record<string, unknown>>; error?: string | null }> }>();
        const results = (out.results ?? []).map((r) => ({ host_id: Number(r.host_id), rows: r.rows ?? [], error: r.error ?? null }));
        const answered = new Set(results.map((r) => r.host_id));
        return { results, missing: context.input.host_ids.filter((id) => !answered.has(id)) };
      },
    }),
    run_script: action({
      title: 'Run a script on a host',
      impact: 'destructive',
      input: z.object({ host_id: z.number().int().positive(), script: z.string().min(1).max(10_000) }),
      output: ScriptOut,
      run: (context) => runScript(context, context.input.host_id, context.input.script),
    }),
    delete_registry_value: action({
      title: 'Delete a registry value (PowerShell script)',
      impact: 'destructive',
      inverse: 'restore_registry_value',
      inverseInput: (input) => ({ ...input }),
      input: RegistryInput,
      output: ScriptOut,
      run: (context) =>
        runScript(
          context,
          context.input.host_id,
          `Remove-ItemProperty -Path ${psQuote(`Registry::${context.input.key}`)} -Name ${psQuote(context.input.value_name)} -ErrorAction Stop`,
        ),
    }),
    restore_registry_value: action({
      title: 'Write a registry value back (PowerShell script)',
      impact: 'write',
      input: RegistryInput,
      output: ScriptOut,
      run: (context) =>
        runScript(
          context,
          context.input.host_id,
          `New-ItemProperty -Path ${psQuote(`Registry::${context.input.key}`)} -Name ${psQuote(context.input.value_name)} -PropertyType ${PS_TYPES[context.input.type]} -Value ${psQuote(context.input.data)} -Force`,
        ),
    }),
  },
});
