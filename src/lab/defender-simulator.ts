import { randomBytes, randomUUID } from 'node:crypto';
import { EdrBehaviour, fleetRegistryKey, scriptArgument } from './edr-behaviour.ts';
import type { Fleet, FleetEndpoint, RegistryValue } from './fleet.ts';
import { KqlError, type KqlRow, runKql } from './kql-subset.ts';
import { headerValue, type SimAnswer, type VendorHandler } from './simulator-server.ts';

/**
 * Microsoft Defender for Endpoint as a hunt sees it, answering from the simulated fleet:
 * - the Microsoft identity platform's token endpoint (`POST /{tenant}/oauth2/v2.0/token`, OAuth 2.0 client
 *   credentials, `scope` https://api.securitycenter.microsoft.com/.default; the v1 form with `resource` too),
 *   with AADSTS error bodies;
 * - the advanced hunting API (`POST /api/advancedqueries/run` with `{"Query": …}`, Bearer token) returning
 *   `{Stats, Schema, Results}` over DeviceRegistryEvents and DeviceInfo built from the fleet's state, so a
 *   re-query after remediation shows the cleanup. Queries run on a KQL subset (kql-subset.ts);
 * - machine actions (`POST /api/machines/{id}/isolate|unisolate|runliveresponse|collectInvestigationPackage`,
 *   polled with `GET /api/machineactions/{id}`): an action starts Pending, runs when its machine is online
 *   (then Succeeded, or Failed at the behaviour's failure rate) and times out (TimeOut) when the machine stays
 *   offline; live response runs the library scripts RemoveRegistryValue.ps1 and SetRegistryValue.ps1
 *   (`-Key '…' -Name '…' [-Type REG_SZ -Data '…']`) against the fleet's registry;
 * - the machine list (`GET /api/machines` with OData `$top`/`$skip` and `@odata.nextLink`).
 */

export const SIMULATOR_TENANT_ID = '6f8d2c1a-1b2c-4d3e-9f00-5a6b7c8d9e0f';
export const SIMULATOR_CLIENT_ID = '3e1c7a52-9b1d-4c6e-8a7f-2d4b6c8e0a13';
export const SIMULATOR_CLIENT_SECRET = 'sim~Defender.ClientSecret_0123456789';
const SCOPE = 'https://api.securitycenter.microsoft.com/.default';
const RESOURCE = 'https://api.securitycenter.microsoft.com';
const TOKEN_LIFETIME_S = 3599;
const OBSERVED_AT = '2026-11-27T09:14:03.1234567Z';

/** Tokens the identity simulator issued, shared with the Defender API simulator that accepts them. */
export class TokenIssuer {
  private readonly tokens = new Map<string, number>();
  private readonly now: () => number;
  issued = 0;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }
  issue(): string {
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.sim`;
    this.tokens.set(token, this.now() + TOKEN_LIFETIME_S * 1000);
    this.issued++;
    return token;
  }
  valid(token: string): boolean {
    const expires = this.tokens.get(token);
    return expires !== undefined && expires > this.now();
  }
  /** Expires every token (tests of the refresh path). */
  expireAll(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }
}

function aadError(status: number, error: string, code: number, description: string): SimAnswer {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}\r\nTrace ID: 0d1c2b3a-4e5f-6a7b-8c9d-0e1f2a3b4c5d\r\nCorrelation ID: 9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4\r\nTimestamp: 2026-11-28 04:00:00Z`,
      error_codes: [code],
      timestamp: '2026-11-28 04:00:00Z',
      trace_id: '0d1c2b3a-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
      correlation_id: '9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4',
    },
  };
}

/** `scopes`: the v2.0 scopes it issues tokens for (Defender's by default; Graph's for the mail simulator). */
export function identityPlatformHandler(issuer: TokenIssuer, scopes: readonly string[] = [SCOPE]): VendorHandler {
  return {
    vendor: 'microsoft-identity',
    errorBody: (status, message) => aadError(status, status === 429 ? 'temporarily_unavailable' : 'server_error', 90033, message ?? 'error').body,
    handle(request) {
      const m = /^\/([^/]+)\/oauth2\/(v2\.0\/)?token$/.exec(request.path);
      if (!m || request.method !== 'POST') return { status: 404, body: { error: 'not_found' } };
      if (m[1] !== SIMULATOR_TENANT_ID) return aadError(400, 'invalid_request', 90002, `Tenant '${m[1]}' not found.`);
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== 'client_credentials')
        return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
      if (form.get('client_id') !== SIMULATOR_CLIENT_ID)
        return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
      if (form.get('client_secret') !== SIMULATOR_CLIENT_SECRET) return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
      const v2 = Boolean(m[2]);
      if (v2 ? !scopes.includes(form.get('scope') ?? '') : form.get('resource') !== RESOURCE) {
        return aadError(400, 'invalid_scope', 1002012, v2 ? `The provided value for scope ${form.get('scope')} is not valid.` : 'Resource not valid.');
      }
      return { status: 200, body: { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, ext_expires_in: TOKEN_LIFETIME_S, access_token: issuer.issue() } };
    },
  };
}

const VALUE_TYPES: Record<string, string> = { REG_SZ: 'String', REG_EXPAND_SZ: 'ExpandString', REG_DWORD: 'Dword' };

/** Defender files user hives under HKEY_CURRENT_USER\<SID>\…, where Windows shows HKEY_USERS\<SID>\…. */
function defenderKey(key: string): string {
  return key.replace(/^HKEY_USERS\\/, 'HKEY_CURRENT_USER\\');
}

function registryRows(fleet: Fleet, endpoint: FleetEndpoint): KqlRow[] {
  return fleet.registryRows(endpoint).map((row) => {
    const implant = row.name === fleet.implant.valueName;
    return {
      Timestamp: OBSERVED_AT,
      DeviceId: endpoint.id,
      DeviceName: endpoint.fqdn,
      ActionType: 'RegistryValueSet',
      RegistryKey: defenderKey(row.key),
      RegistryValueType: VALUE_TYPES[row.type] ?? 'String',
      RegistryValueName: row.name,
      RegistryValueData: row.data,
      PreviousRegistryKey: '',
      PreviousRegistryValueName: '',
      PreviousRegistryValueData: '',
      InitiatingProcessAccountDomain: 'corp',
      InitiatingProcessAccountName: endpoint.users[0]?.name ?? 'system',
      InitiatingProcessFileName: implant ? 'odu.exe' : 'explorer.exe',
      InitiatingProcessFolderPath: implant ? (row.data.split(' ')[0] ?? '') : 'c:\\windows\\explorer.exe',
      InitiatingProcessCommandLine: implant ? row.data : 'explorer.exe',
      InitiatingProcessId: 4242,
      ReportId: 1,
    };
  });
}

function schemaOf(rows: KqlRow[]): Array<{ Name: string; Type: string }> {
  const first = rows[0];
  if (!first) return [];
  return Object.entries(first).map(([Name, v]) => ({
    Name,
    Type: Name === 'Timestamp' ? 'DateTime' : typeof v === 'number' ? 'Int64' : typeof v === 'boolean' ? 'Boolean' : 'String',
  }));
}

const apiError = (status: number, message?: string) => ({
  error: {
    code:
      status === 401
        ? 'Unauthorized'
        : status === 403
          ? 'Forbidden'
          : status === 404
            ? 'ResourceNotFound'
            : status === 429
              ? 'TooManyRequests'
              : status === 400
                ? 'BadRequest'
                : 'InternalServerError',
    message:
      message ??
      (status === 429 ? 'API calls quota exceeded! Maximum allowed 45 per minute.' : status === 401 ? 'Authorization token is missing or invalid' : 'Error'),
    target: '4c0a2b7e-3f1d-4e6a-9b8c-7d6e5f4a3b2c',
  },
});

interface MachineAction {
  id: string;
  type: 'Isolate' | 'Unisolate' | 'LiveResponse' | 'CollectInvestigationPackage';
  scope: string | null;
  requestor: string;
  requestorComment: string;
  status: 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'TimeOut' | 'Cancelled';
  machineId: string;
  computerDnsName: string;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  errorHResult: number;
  commands: unknown[];
  /** Simulator-only: what the action does when it runs. */
  effect: () => string | undefined;
  createdAt: number;
}

const ACTION_PATH = /^\/api\/machines\/([0-9a-f]{40})\/(isolate|unisolate|runliveresponse|collectInvestigationPackage)$/i;

function machineJson(e: FleetEndpoint): Record<string, unknown> {
  return {
    id: e.id,
    computerDnsName: e.fqdn,
    osPlatform: e.os.replace(/ /g, ''),
    lastIpAddress: e.ip,
    healthStatus: e.online ? 'Active' : 'Inactive',
    isolationState: e.isolated ? 'Isolated' : 'NotIsolated',
    deviceValue: e.criticality === 'critical' ? 'High' : 'Normal',
    machineTags: [e.role],
  };
}

/** Runs a library script from a live response command; returns an error text or undefined. */
function runScript(fleet: Fleet, endpoint: FleetEndpoint, script: string, args: string): string | undefined {
  const key = scriptArgument(args, 'Key');
  const name = scriptArgument(args, 'Name');
  if (!key || !name) return `${script}: -Key and -Name are required`;
  if (script === 'RemoveRegistryValue.ps1') {
    return fleet.deleteValue(endpoint, fleetRegistryKey(key), name) ? undefined : `value ${name} not found under ${key}`;
  }
  if (script === 'SetRegistryValue.ps1') {
    const type = (scriptArgument(args, 'Type') ?? 'REG_SZ') as RegistryValue['type'];
    fleet.setValue(endpoint, fleetRegistryKey(key), { name, type, data: scriptArgument(args, 'Data') ?? '' });
    return undefined;
  }
  return `script ${script} is not in the live response library`;
}

export function defenderHandler(fleet: Fleet, issuer: TokenIssuer, behaviour: EdrBehaviour = new EdrBehaviour()): VendorHandler {
  const actions = new Map<string, MachineAction>();
  const iso = () => new Date(behaviour.now()).toISOString();
  /** An action runs when its machine is online; a machine offline past the timeout times it out. */
  const settle = (action: MachineAction) => {
    if (action.status !== 'Pending' && action.status !== 'InProgress') return;
    const endpoint = fleet.endpoint(action.machineId) as FleetEndpoint;
    if (!endpoint.online) {
      if (behaviour.now() - action.createdAt > behaviour.offlineTimeoutMs) action.status = 'TimeOut';
    } else if (action.type !== 'CollectInvestigationPackage' && behaviour.fails()) {
      action.status = 'Failed';
      action.errorHResult = -2147024891;
    } else {
      const error = action.effect();
      action.status = error ? 'Failed' : 'Succeeded';
      if (error) action.errorHResult = -2147024894;
    }
    action.lastUpdateDateTimeUtc = iso();
  };
  const publicAction = ({ effect: _e, createdAt: _c, ...rest }: MachineAction) => rest;

  const machineAction = (request: { path: string; body: string }): SimAnswer | undefined => {
    const m = ACTION_PATH.exec(request.path);
    if (!m) return undefined;
    const endpoint = fleet.endpoint((m[1] as string).toLowerCase());
    if (!endpoint) return { status: 404, body: apiError(404, `Machine ${m[1]} was not found`) };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body || '{}') as Record<string, unknown>;
    } catch {
      return { status: 400, body: apiError(400, 'Request body is not valid JSON') };
    }
    if (typeof body.Comment !== 'string' || body.Comment === '') return { status: 400, body: apiError(400, "The 'Comment' field is required") };
    const verb = (m[2] as string).toLowerCase();
    let type: MachineAction['type'];
    let effect: MachineAction['effect'];
    let scope: string | null = null;
    let commands: unknown[] = [];
    if (verb === 'isolate') {
      const isolationType = body.IsolationType ?? 'Full';
      if (isolationType !== 'Full' && isolationType !== 'Selective') return { status: 400, body: apiError(400, 'IsolationType must be Full or Selective') };
      if (endpoint.isolated) return { status: 400, body: apiError(400, 'Action is not supported: machine is already isolated') };
      type = 'Isolate';
      scope = String(isolationType);
      effect = () => {
        endpoint.isolated = true;
        return undefined;
      };
    } else if (verb === 'unisolate') {
      type = 'Unisolate';
      effect = () => {
        endpoint.isolated = false;
        return undefined;
      };
    } else if (verb === 'collectinvestigationpackage') {
      type = 'CollectInvestigationPackage';
      effect = () => undefined;
    } else {
      const list = Array.isArray(body.Commands) ? (body.Commands as Array<{ type?: unknown; params?: Array<{ key?: unknown; value?: unknown }> }>) : [];
      const run = list.filter((c) => c.type === 'RunScript');
      if (run.length === 0 || run.length !== list.length) return { status: 400, body: apiError(400, 'Commands must be RunScript commands') };
      const scripts = run.map((c) => {
        const param = (key: string) => String(c.params?.find((p) => p.key === key)?.value ?? '');
        return { script: param('ScriptName'), args: param('Args') };
      });
      if (scripts.some((s) => s.script === '')) return { status: 400, body: apiError(400, 'RunScript needs a ScriptName parameter') };
      type = 'LiveResponse';
      commands = run;
      effect = () => {
        for (const s of scripts) {
          const error = runScript(fleet, endpoint, s.script, s.args);
          if (error) return error;
        }
        return undefined;
      };
    }
    const created: MachineAction = {
      id: randomUUID(),
      type,
      scope,
      requestor: SIMULATOR_CLIENT_ID,
      requestorComment: body.Comment,
      status: 'Pending',
      machineId: endpoint.id,
      computerDnsName: endpoint.fqdn,
      creationDateTimeUtc: iso(),
      lastUpdateDateTimeUtc: iso(),
      errorHResult: 0,
      commands,
      effect,
      createdAt: behaviour.now(),
    };
    actions.set(created.id, created);
    return { status: 201, body: { '@odata.context': 'https://api.security.microsoft.com/api/$metadata#MachineActions/$entity', ...publicAction(created) } };
  };

  return {
    vendor: 'defender',
    errorBody: apiError,
    handle(request) {
      const auth = headerValue(request.headers, 'authorization') ?? '';
      const token = /^Bearer (.+)$/.exec(auth)?.[1];
      if (!token || !issuer.valid(token)) return { status: 401, body: apiError(401) };
      if (request.method === 'POST') {
        const answer = machineAction(request);
        if (answer) return answer;
      }
      const actionId = /^\/api\/machineactions\/([0-9a-f-]{36})$/.exec(request.path)?.[1];
      if (actionId && request.method === 'GET') {
        const action = actions.get(actionId);
        if (!action) return { status: 404, body: apiError(404, `MachineAction ${actionId} was not found`) };
        settle(action);
        return { status: 200, body: publicAction(action) };
      }
      if (request.path === '/api/machines' && request.method === 'GET') {
        const top = Math.min(10_000, Number(request.query.get('$top') ?? 10_000) || 10_000);
        const skip = Number(request.query.get('$skip') ?? 0) || 0;
        const page = fleet.endpoints.slice(skip, skip + top).map(machineJson);
        const next = skip + top < fleet.endpoints.length ? `/api/machines?$top=${top}&$skip=${skip + top}` : undefined;
        return {
          status: 200,
          body: { '@odata.context': 'https://api.security.microsoft.com/api/$metadata#Machines', value: page, ...(next ? { '@odata.nextLink': next } : {}) },
        };
      }
      if (request.path !== '/api/advancedqueries/run' || request.method !== 'POST')
        return { status: 404, body: apiError(404, `No route for ${request.method} ${request.path}`) };
      let body: unknown;
      try {
        body = JSON.parse(request.body);
      } catch {
        return { status: 400, body: apiError(400, 'Request body is not valid JSON') };
      }
      const query = (body as { Query?: unknown } | null)?.Query;
      if (typeof query !== 'string' || query.trim() === '') return { status: 400, body: apiError(400, "The 'Query' field is required") };
      const started = performance.now();
      let results: KqlRow[];
      try {
        results = runKql(query, {
          DeviceRegistryEvents: () => fleet.endpoints.flatMap((e) => registryRows(fleet, e)),
          DeviceInfo: () =>
            fleet.endpoints.map((e) => ({
              Timestamp: OBSERVED_AT,
              DeviceId: e.id,
              DeviceName: e.fqdn,
              OSPlatform: e.os.replace(/ /g, ''),
              DeviceType: e.role === 'server' ? 'Server' : 'Workstation',
              PublicIP: '203.0.113.10',
              IsIsolated: e.isolated,
            })),
        });
      } catch (error) {
        if (error instanceof KqlError) return { status: 400, body: apiError(400, `Query is invalid: ${error.message}`) };
        throw error;
      }
      return {
        status: 200,
        body: {
          Stats: {
            ExecutionTime: (performance.now() - started) / 1000,
            resource_usage: {
              cache: { memory: { hits: 0, misses: 0, total: 0 }, disk: { hits: 0, misses: 0, total: 0 } },
              cpu: { user: '00:00:00', kernel: '00:00:00', 'total cpu': '00:00:00' },
              memory: { peak_per_node: 0 },
            },
            dataset_statistics: [{ table_row_count: results.length, table_size: JSON.stringify(results).length }],
          },
          Schema: schemaOf(results),
          Results: results,
        },
      };
    },
  };
}
