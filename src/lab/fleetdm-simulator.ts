import { randomUUID } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { EdrBehaviour, fleetRegistryKey } from './edr-behaviour.ts';
import type { Fleet, FleetEndpoint, RegistryValue } from './fleet.ts';
import { headerValue, type SimAnswer, type VendorHandler } from './simulator-server.ts';

/**
 * Fleet (fleetdm.com, osquery management) over the simulated fleet:
 * - `GET /api/v1/fleet/hosts?page=&per_page=` (pages of hosts with `status` online/offline);
 * - `POST /api/v1/fleet/queries/run` with `{query, host_ids}`: a live query, answered by the online hosts
 *   only (`targeted_host_count`, `responded_host_count`, `results: [{host_id, rows, error}]`). osquery is
 *   SQLite with virtual tables, so the simulator runs the SQL on an in-memory SQLite database whose
 *   `registry` table holds each host's registry: LIKE/ESCAPE/GLOB behave exactly as on a real agent;
 * - scripts: `POST /api/v1/fleet/scripts/run` with `{host_id, script_contents}` (202 with an
 *   `execution_id`), results from `GET /api/v1/fleet/scripts/results/{execution_id}`: `exit_code` null while
 *   the host is offline, `host_timeout` true past the behaviour's timeout. PowerShell
 *   `Remove-ItemProperty -Path 'Registry::<key>' -Name '<name>'` and
 *   `New-ItemProperty -Path 'Registry::<key>' -Name '<name>' -PropertyType String -Value '<data>' -Force`
 *   change the fleet's registry.
 * All with `Authorization: Bearer <API token>`. Host ids are positions in the fleet, from 1.
 */
export const SIMULATOR_FLEET_API_TOKEN = 'sim-fleet-api-token-0123456789abcdefghijklmnop';

function errorBody(status: number, message?: string) {
  return {
    message: message ?? (status === 401 ? 'Authentication required' : status === 429 ? 'Too many requests' : 'error'),
    errors: [{ name: 'base', reason: message ?? 'error' }],
  };
}

interface Execution {
  id: string;
  endpoint: FleetEndpoint;
  hostId: number;
  script: string;
  createdAt: number;
  exitCode: number | null;
  output: string;
  hostTimeout: boolean;
}

function psArg(text: string, name: string): string | undefined {
  const m = new RegExp(`-${name}\\s+'((?:[^']|'')*)'`, 'i').exec(text);
  return m?.[1]?.replace(/''/g, "'");
}

export function fleetDmHandler(fleet: Fleet, behaviour: EdrBehaviour = new EdrBehaviour()): VendorHandler {
  const executions = new Map<string, Execution>();
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE registry_all (host_id INTEGER, key TEXT, name TEXT, path TEXT, type TEXT, data TEXT, mtime INTEGER)');
  db.exec('CREATE INDEX registry_host ON registry_all (host_id)');
  const clearHost = db.prepare('DELETE FROM registry_all WHERE host_id = ?');
  const insertRow = db.prepare('INSERT INTO registry_all VALUES (?, ?, ?, ?, ?, ?, ?)');
  const statements = new Map<string, StatementSync>();

  const hostJson = (e: FleetEndpoint, index: number) => ({
    id: index + 1,
    hostname: e.fqdn,
    display_name: e.hostname,
    computer_name: e.hostname,
    platform: 'windows',
    os_version: e.os,
    status: e.online ? 'online' : 'offline',
    primary_ip: e.ip,
  });

  const runScript = (execution: Execution) => {
    const text = execution.script;
    const key = psArg(text, 'Path')?.replace(/^Registry::/i, '');
    const name = psArg(text, 'Name');
    if (behaviour.fails()) return { exit: 1, output: 'The operation could not be completed (simulated failure).' };
    if (!key || !name) return { exit: 1, output: 'script: -Path and -Name are required' };
    if (/^\s*Remove-ItemProperty\b/im.test(text)) {
      return fleet.deleteValue(execution.endpoint, fleetRegistryKey(key), name)
        ? { exit: 0, output: '' }
        : { exit: 1, output: `Property ${name} does not exist at path ${key}.` };
    }
    if (/^\s*New-ItemProperty\b/im.test(text)) {
      const type = ({ String: 'REG_SZ', ExpandString: 'REG_EXPAND_SZ', DWord: 'REG_DWORD' }[psArg(text, 'PropertyType') ?? 'String'] ??
        'REG_SZ') as RegistryValue['type'];
      fleet.setValue(execution.endpoint, fleetRegistryKey(key), { name, type, data: psArg(text, 'Value') ?? '' });
      return { exit: 0, output: '' };
    }
    return { exit: 1, output: 'script: only Remove-ItemProperty and New-ItemProperty are simulated' };
  };

  const settle = (execution: Execution) => {
    if (execution.exitCode !== null || execution.hostTimeout) return;
    if (!execution.endpoint.online) {
      if (behaviour.now() - execution.createdAt > behaviour.offlineTimeoutMs) execution.hostTimeout = true;
      return;
    }
    const out = runScript(execution);
    execution.exitCode = out.exit;
    execution.output = out.output;
  };

  const liveQuery = (query: string, hostIds: number[]): SimAnswer => {
    if (!/^\s*SELECT\b/i.test(query) || !/\bFROM\s+registry\b/i.test(query))
      return { status: 422, body: errorBody(422, 'only SELECT queries over the registry table are simulated') };
    let statement = statements.get(query);
    if (!statement) {
      try {
        statement = db.prepare(query.replace(/;\s*$/, '').replace(/\bFROM\s+registry\b/i, 'FROM (SELECT * FROM registry_all WHERE host_id = ?) AS registry'));
      } catch (error) {
        return { status: 422, body: errorBody(422, `query is invalid: ${(error as Error).message}`) };
      }
      statements.set(query, statement);
    }
    // A host that checks in for the query runs the scripts queued for it first, as fleetd does.
    const asked = new Set(hostIds);
    for (const execution of executions.values()) if (asked.has(execution.hostId)) settle(execution);
    const results: Array<{ host_id: number; rows: unknown[]; error: string | null }> = [];
    db.exec('BEGIN');
    try {
      for (const id of hostIds) {
        const endpoint = fleet.endpoints[id - 1];
        if (!endpoint?.online) continue;
        clearHost.run(id);
        for (const row of fleet.registryRows(endpoint)) insertRow.run(id, row.key, row.name, row.path, row.type, row.data, 1_764_300_000);
      }
    } finally {
      db.exec('COMMIT');
    }
    for (const id of hostIds) {
      const endpoint = fleet.endpoints[id - 1];
      if (!endpoint?.online) continue;
      results.push({ host_id: id, rows: statement.all(id), error: null });
    }
    return { status: 200, body: { query_id: null, targeted_host_count: hostIds.length, responded_host_count: results.length, results } };
  };

  return {
    vendor: 'fleetdm',
    errorBody,
    handle(request) {
      if (headerValue(request.headers, 'authorization') !== `Bearer ${SIMULATOR_FLEET_API_TOKEN}`) return { status: 401, body: errorBody(401) };
      let body: Record<string, unknown> = {};
      if (request.method === 'POST') {
        try {
          body = JSON.parse(request.body || '{}') as Record<string, unknown>;
        } catch {
          return { status: 400, body: errorBody(400, 'invalid JSON body') };
        }
      }
      if (request.path === '/api/v1/fleet/hosts' && request.method === 'GET') {
        const perPage = Math.min(10_000, Math.max(1, Number(request.query.get('per_page') ?? 100) || 100));
        const page = Math.max(0, Number(request.query.get('page') ?? 0) || 0);
        return { status: 200, body: { hosts: fleet.endpoints.slice(page * perPage, (page + 1) * perPage).map((e, i) => hostJson(e, page * perPage + i)) } };
      }
      if (request.path === '/api/v1/fleet/queries/run' && request.method === 'POST') {
        const ids = Array.isArray(body.host_ids) ? body.host_ids.map(Number).filter((n) => Number.isInteger(n) && n > 0) : [];
        if (typeof body.query !== 'string' || ids.length === 0) return { status: 422, body: errorBody(422, 'query and host_ids are required') };
        return liveQuery(body.query, ids);
      }
      if (request.path === '/api/v1/fleet/scripts/run' && request.method === 'POST') {
        const hostId = Number(body.host_id);
        const endpoint = fleet.endpoints[hostId - 1];
        if (!endpoint) return { status: 404, body: errorBody(404, `host ${body.host_id} not found`) };
        if (typeof body.script_contents !== 'string' || body.script_contents === '' || body.script_contents.length > 10_000)
          return { status: 422, body: errorBody(422, 'script_contents must be 1 to 10,000 characters') };
        const execution: Execution = {
          id: randomUUID(),
          endpoint,
          hostId,
          script: body.script_contents,
          createdAt: behaviour.now(),
          exitCode: null,
          output: '',
          hostTimeout: false,
        };
        executions.set(execution.id, execution);
        return { status: 202, body: { host_id: hostId, execution_id: execution.id } };
      }
      const executionId = /^\/api\/v1\/fleet\/scripts\/results\/([0-9a-f-]{36})$/.exec(request.path)?.[1];
      if (executionId && request.method === 'GET') {
        const execution = executions.get(executionId);
        if (!execution) return { status: 404, body: errorBody(404, `script execution ${executionId} not found`) };
        settle(execution);
        return {
          status: 200,
          body: {
            host_id: execution.hostId,
            execution_id: execution.id,
            script_contents: execution.script,
            exit_code: execution.exitCode,
            output: execution.output,
            message: execution.hostTimeout
              ? 'Fleet hasn’t heard from the host in over the timeout. Fleet doesn’t know if the script ran.'
              : execution.exitCode === null
                ? 'Script is running or will run when the host comes online.'
                : '',
            runtime: execution.exitCode === null ? 0 : 1,
            host_timeout: execution.hostTimeout,
            host_name: execution.endpoint.hostname,
          },
        };
      }
      return { status: 404, body: errorBody(404, `no route for ${request.method} ${request.path}`) };
    },
  };
}
