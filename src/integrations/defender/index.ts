/**
 * Microsoft Defender for Endpoint: advanced hunting (`POST /api/advancedqueries/run` with `{"Query"}`),
 * signed in with an Entra ID app registration (OAuth 2.0 client credentials against
 * login.microsoftonline.com, scope https://api.securitycenter.microsoft.com/.default). The API allows 45
 * calls a minute per tenant and returns at most 100,000 rows; a 401 after a token expired early is retried
 * once with a fresh token. Machine actions (`POST /api/machines/{id}/isolate|unisolate|runliveresponse|
 * collectInvestigationPackage`) are submitted, then polled (`GET /api/machineactions/{id}`) with the SDK's
 * job poller until Succeeded (Failed, TimeOut and Cancelled are errors); registry values are deleted and
 * restored through live response library scripts, the deletion's inverse carrying the captured data.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { type ActionRunContext, action, defineIntegration, runJob } from '../sdk/index.ts';

const MachineId = z.string().regex(/^[0-9a-f]{40}$/i, 'a Defender machine id (40 hex characters)');
const MachineActionOut = z.object({ action_id: z.string(), machine_id: z.string(), type: z.string(), status: z.string(), polls: z.number() });
const RegistryInput = z.object({
  machine_id: MachineId,
  key: z.string().min(1).max(1024),
  value_name: z.string().min(1).max(256),
  type: z.enum(['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD']).default('REG_SZ'),
  /** The value's data as captured before deletion: what the inverse writes back. */
  data: z.string().max(16_384).default(''),
  comment: z.string().min(1).max(1000).default('Riposte hunt remediation'),
});

/** PowerShell single-quoted literal. */
const psQuote = (text: string) => `'${text.replace(/'/g, "''")}'`;

type DefenderContext = Pick<ActionRunContext<unknown>, 'http' | 'accessToken' | 'signal' | 'config' | 'instance'>;

/** Calls the API with a bearer token; a 401 (token revoked early) gets one fresh sign-in. */
async function defenderCall(context: DefenderContext, request: { method: 'GET' | 'POST'; path: string; json?: unknown }) {
  const { http, accessToken, signal, config, instance } = context;
  if (!accessToken) throw new RiposteError('integration.invalid', 'Defender: the instance has no sign-in configured');
  if (config.tenantId === '')
    throw new RiposteError('integration.not_configured', `${instance}: config tenantId is required (the Entra ID tenant of the app registration)`);
  const send = async (refresh: boolean) => http.request({ ...request, headers: { authorization: `Bearer ${await accessToken({ refresh, signal })}` }, signal });
  try {
    return await send(false);
  } catch (error) {
    if (!(error instanceof RiposteError) || error.code !== 'integration.unauthorized') throw error;
    return send(true);
  }
}

/** Submits a machine action and polls it until it leaves Pending/InProgress. */
async function machineAction(context: DefenderContext, machineId: string, verb: string, body: Record<string, unknown>) {
  let type = verb;
  const { result, jobId, polls } = await runJob<string>({
    vendor: `Defender (${context.instance}) ${verb}`,
    signal: context.signal,
    deadlineMs: Number(context.config.actionTimeoutMs ?? 600_000),
    initialIntervalMs: Number(context.config.pollIntervalMs ?? 5000),
    maxIntervalMs: Math.max(Number(context.config.pollIntervalMs ?? 5000), 30_000),
    submit: async () => {
      const created = (await defenderCall(context, { method: 'POST', path: `/api/machines/${machineId}/${verb}`, json: body })).json<{
        id?: unknown;
        type?: unknown;
      }>();
      if (typeof created.id !== 'string')
        throw new RiposteError('integration.bad_response', 'Defender answered a machine action without an id', { status: 502 });
      type = String(created.type ?? verb);
      return created.id;
    },
    check: async (id) => {
      const state = (await defenderCall(context, { method: 'GET', path: `/api/machineactions/${id}` })).json<{ status?: unknown }>();
      const status = String(state.status ?? '');
      if (status === 'Succeeded') return { done: true, result: status };
      if (status === 'Pending' || status === 'InProgress') return { done: false };
      return { failed: true, reason: `status ${status || 'unknown'}` };
    },
  });
  return { action_id: jobId, machine_id: machineId, type, status: result, polls };
}

const liveResponse = (script: string, args: string, comment: string) => ({
  Commands: [
    {
      type: 'RunScript',
      params: [
        { key: 'ScriptName', value: script },
        { key: 'Args', value: args },
      ],
    },
  ],
  Comment: comment,
});

const HuntingResponse = z
  .object({
    Schema: z.array(z.object({ Name: z.string(), Type: z.string() }).loose()).default([]),
    Results: z.array(z.record(z.string(), z.unknown())),
    Stats: z.object({ ExecutionTime: z.number().optional() }).loose().optional(),
  })
  .loose();

export default defineIntegration({
  id: 'defender',
  title: 'Microsoft Defender for Endpoint',
  config: z.object({
    baseUrl: z.url().default('https://api.security.microsoft.com'),
    loginUrl: z.url().default('https://login.microsoftonline.com'),
    // Empty until configured, so the unconfigured default instance still exists (its calls fail clearly).
    tenantId: z.string().default(''),
    clientId: z.string().default(''),
    timeoutMs: z.number().int().positive().optional(),
    /** First interval between machine-action status polls (grows 1.5× per poll). */
    pollIntervalMs: z.number().int().positive().default(5000),
    /** A machine action still Pending after this long (its machine offline) is given up as a timeout. */
    actionTimeoutMs: z.number().int().positive().default(600_000),
  }),
  secrets: {
    clientSecret:
      'client secret of the Entra ID app registration (application permissions AdvancedQuery.Read.All, Machine.Read.All, Machine.Isolate, Machine.LiveResponse, Machine.CollectForensics)',
  },
  rateLimit: { perMinute: 45, burst: 5 },
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl: (config) => `${String(config.loginUrl).replace(/\/$/, '')}/${encodeURIComponent(String(config.tenantId))}/oauth2/v2.0/token`,
    audience: () => ({ scope: 'https://api.securitycenter.microsoft.com/.default' }),
    clientIdConfig: 'clientId',
    clientSecret: 'clientSecret',
  },
  healthCheck: { action: 'advanced_hunting', input: { query: 'DeviceInfo | take 1' } },
  actions: {
    advanced_hunting: action({
      title: 'Advanced hunting query (KQL)',
      description: 'Runs a KQL query over the last 30 days of device telemetry; returns the schema and the rows (at most 100,000).',
      impact: 'read',
      input: z.object({ query: z.string().min(1).max(100_000) }),
      output: z.object({
        schema: z.array(z.object({ name: z.string(), type: z.string() })),
        results: z.array(z.record(z.string(), z.unknown())),
        row_count: z.number(),
        execution_time_s: z.number().nullable(),
      }),
      async run({ input, http, accessToken, signal, config, instance }) {
        if (!accessToken) throw new RiposteError('integration.invalid', 'Defender: the instance has no sign-in configured');
        if (config.tenantId === '')
          throw new RiposteError('integration.not_configured', `${instance}: config tenantId is required (the Entra ID tenant of the app registration)`);
        const send = async (refresh: boolean) =>
          http.request({
            method: 'POST',
            path: '/api/advancedqueries/run',
            json: { Query: input.query },
            headers: { authorization: `Bearer ${await accessToken({ refresh, signal })}` },
            signal,
          });
        let response: Awaited<ReturnType<typeof send>>;
        try {
          response = await send(false);
        } catch (error) {
          // A token revoked or expired before its stated lifetime: one fresh sign-in, then give up.
          if (!(error instanceof RiposteError) || error.code !== 'integration.unauthorized') throw error;
          response = await send(true);
        }
        const parsed = HuntingResponse.safeParse(response.json());
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'Defender answered advanced hunting without Results', { status: 502 });
        return {
          schema: parsed.data.Schema.map((c) => ({ name: c.Name, type: c.Type })),
          results: parsed.data.Results,
          row_count: parsed.data.Results.length,
          execution_time_s: parsed.data.Stats?.ExecutionTime ?? null,
        };
      },
    }),
    list_machines: action({
      title: 'List machines',
      description: 'Every onboarded machine (OData pages of `$top`, following `@odata.nextLink`).',
      impact: 'read',
      input: z.object({ page_size: z.number().int().min(1).max(10_000).default(10_000) }),
      output: z.object({
        machines: z.array(
          z.object({ id: z.string(), computer_dns_name: z.string(), health_status: z.string(), isolation_state: z.string(), device_value: z.string() }),
        ),
      }),
      async run(context) {
        const machines: Array<{ id: string; computer_dns_name: string; health_status: string; isolation_state: string; device_value: string }> = [];
        let path: string | undefined = `/api/machines?$top=${context.input.page_size}`;
        for (let page = 0; path && page < 1000; page++) {
          const body: { value?: Array<Record<string, unknown>>; '@odata.nextLink'?: string } = (await defenderCall(context, { method: 'GET', path })).json<{
            value?: Array<Record<string, unknown>>;
            '@odata.nextLink'?: string;
          }>();
          for (const m of body.value ?? [])
            machines.push({
              id: String(m.id),
              computer_dns_name: String(m.computerDnsName ?? ''),
              health_status: String(m.healthStatus ?? ''),
              isolation_state: String(m.isolationState ?? ''),
              device_value: String(m.deviceValue ?? ''),
            });
          path = body['@odata.nextLink'];
        }
        return { machines };
      },
    }),
    isolate: action({
      title: 'Isolate machine',
      description: 'Cuts the machine off the network (Full or Selective) and waits until Defender reports the action done.',
      impact: 'destructive',
      inverse: 'unisolate',
      inverseInput: (input) => ({ machine_id: input.machine_id, comment: `Release: ${input.comment}` }),
      input: z.object({ machine_id: MachineId, comment: z.string().min(1).max(1000), isolation_type: z.enum(['Full', 'Selective']).default('Full') }),
      output: MachineActionOut,
      run: (context) =>
        machineAction(context, context.input.machine_id, 'isolate', { Comment: context.input.comment, IsolationType: context.input.isolation_type }),
    }),
    unisolate: action({
      title: 'Release machine from isolation',
      impact: 'write',
      input: z.object({ machine_id: MachineId, comment: z.string().min(1).max(1000) }),
      output: MachineActionOut,
      run: (context) => machineAction(context, context.input.machine_id, 'unisolate', { Comment: context.input.comment }),
    }),
    collect_investigation_package: action({
      title: 'Collect investigation package',
      description: 'Forensic collection (autoruns, processes, network connections …) before remediation changes the machine.',
      impact: 'read',
      input: z.object({ machine_id: MachineId, comment: z.string().min(1).max(1000) }),
      output: MachineActionOut,
      run: (context) => machineAction(context, context.input.machine_id, 'collectInvestigationPackage', { Comment: context.input.comment }),
    }),
    run_live_response: action({
      title: 'Run a live response library script',
      impact: 'destructive',
      input: z.object({
        machine_id: MachineId,
        script_name: z.string().min(1).max(256),
        args: z.string().max(4000).default(''),
        comment: z.string().min(1).max(1000),
      }),
      output: MachineActionOut,
      run: (context) =>
        machineAction(context, context.input.machine_id, 'runliveresponse', liveResponse(context.input.script_name, context.input.args, context.input.comment)),
    }),
    delete_registry_value: action({
      title: 'Delete a registry value (live response)',
      description: 'Runs RemoveRegistryValue.ps1 from the live response library; the inverse writes the captured data back.',
      impact: 'destructive',
      inverse: 'restore_registry_value',
      inverseInput: (input) => ({ ...input, comment: `Rollback: ${input.comment}` }),
      input: RegistryInput,
      output: MachineActionOut,
      run: (context) =>
        machineAction(
          context,
          context.input.machine_id,
          'runliveresponse',
          liveResponse('RemoveRegistryValue.ps1', `-Key ${psQuote(context.input.key)} -Name ${psQuote(context.input.value_name)}`, context.input.comment),
        ),
    }),
    restore_registry_value: action({
      title: 'Write a registry value back (live response)',
      impact: 'write',
      input: RegistryInput,
      output: MachineActionOut,
      run: (context) =>
        machineAction(
          context,
          context.input.machine_id,
          'runliveresponse',
          liveResponse(
            'SetRegistryValue.ps1',
            `-Key ${psQuote(context.input.key)} -Name ${psQuote(context.input.value_name)} -Type ${context.input.type} -Data ${psQuote(context.input.data)}`,
            context.input.comment,
          ),
        ),
    }),
  },
});
