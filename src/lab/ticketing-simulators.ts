import { randomBytes } from 'node:crypto';
import { SIMULATOR_API_KEY } from './seed-data.ts';
import { headerValue, type SimAnswer, type SimRequest, type VendorHandler } from './simulator-server.ts';

/**
 * Ticketing simulators: Jira Cloud REST v3 (issues and comments, Basic e-mail:API-token, error body
 * `{"errorMessages": [...], "errors": {...}}`) and the ServiceNow Table API for incidents (Basic user:password,
 * `{"result": {...}}`, errors `{"error": {"message", "detail"}, "status": "failure"}`). Each handler keeps
 * the tickets it was sent, so tests and demos can read back what Riposte filed.
 */
function basicPassword(request: SimRequest): { user: string; password: string } | undefined {
  const header = headerValue(request.headers, 'authorization');
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function json(body: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const CREATED_AT = '2026-11-20T08:30:00.000+0000';

// --- Jira Cloud -----------------------------------------------------------------------------------------
export interface JiraIssue {
  id: string;
  key: string;
  fields: Record<string, unknown>;
  comments: Array<{ id: string; body: unknown }>;
}

export interface JiraSimulatorHandler extends VendorHandler {
  readonly issues: Map<string, JiraIssue>;
}

const jiraError = (status: number, message?: string) => ({
  errorMessages: [
    message ??
      (status === 401
        ? 'Client must be authenticated to access this resource.'
        : status === 403
          ? 'You do not have permission to perform this operation.'
          : status === 404
            ? 'Issue does not exist or you do not have permission to see it.'
            : status === 429
              ? 'Rate limit exceeded.'
              : 'Internal server error'),
  ],
  errors: {},
});

export function jiraHandler(): JiraSimulatorHandler {
  const issues = new Map<string, JiraIssue>();
  let nextId = 10_000;
  const self = (path: string) => `https://riposte-lab.atlassian.net${path}`;
  return {
    vendor: 'jira',
    issues,
    errorBody: jiraError,
    handle(request): SimAnswer {
      const auth = basicPassword(request);
      if (!auth?.user.includes('@') || auth.password !== SIMULATOR_API_KEY) return { status: 401, body: jiraError(401) };
      if (request.method === 'POST' && request.path === '/rest/api/3/issue') {
        const fields = json(request.body)?.fields as Record<string, unknown> | undefined;
        const errors: Record<string, string> = {};
        if (!fields) return { status: 400, body: { errorMessages: ['Unexpected request body: fields is required.'], errors: {} } };
        const project = (fields.project as { key?: unknown } | undefined)?.key;
        if (typeof project !== 'string') errors.project = 'Specify a valid project ID or key';
        if (typeof fields.summary !== 'string' || fields.summary === '') errors.summary = 'You must specify a summary of the issue.';
        if (typeof (fields.issuetype as { name?: unknown } | undefined)?.name !== 'string') errors.issuetype = 'Specify an issue type';
        const description = fields.description as { type?: unknown; version?: unknown } | undefined;
        if (description !== undefined && (description.type !== 'doc' || description.version !== 1))
          errors.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format).';
        if (Object.keys(errors).length > 0) return { status: 400, body: { errorMessages: [], errors } };
        const id = String(++nextId);
        const key = `${project}-${issues.size + 1}`;
        issues.set(key, { id, key, fields: { ...fields, status: { name: 'To Do' }, created: CREATED_AT, updated: CREATED_AT }, comments: [] });
        return { status: 201, body: { id, key, self: self(`/rest/api/3/issue/${id}`) } };
      }
      const match = /^\/rest\/api\/3\/issue\/([^/]+)(\/comment)?$/.exec(request.path);
      if (!match) return { status: 404, body: jiraError(404, `No resource at ${request.path}`) };
      const issue = issues.get(match[1] as string) ?? [...issues.values()].find((i) => i.id === match[1]);
      if (!issue) return { status: 404, body: jiraError(404) };
      if (match[2] && request.method === 'POST') {
        const body = json(request.body)?.body as { type?: unknown } | undefined;
        if (body?.type !== 'doc') return { status: 400, body: { errorMessages: [], errors: { comment: 'Comment body must be an Atlassian Document.' } } };
        const id = String(++nextId);
        issue.comments.push({ id, body });
        return {
          status: 201,
          body: { id, self: self(`/rest/api/3/issue/${issue.id}/comment/${id}`), body, created: CREATED_AT, author: { displayName: 'Riposte' } },
        };
      }
      if (!match[2] && request.method === 'GET') {
        return { status: 200, body: { id: issue.id, key: issue.key, self: self(`/rest/api/3/issue/${issue.id}`), fields: issue.fields } };
      }
      return { status: 405, body: jiraError(405, `Method ${request.method} not allowed`) };
    },
  };
}

// --- ServiceNow incidents -------------------------------------------------------------------------------
export interface ServiceNowSimulatorHandler extends VendorHandler {
  readonly incidents: Map<string, Record<string, unknown>>;
}

const snowError = (status: number, message?: string) => {
  const [m, detail] =
    status === 401
      ? ['User Not Authenticated', 'Required to provide Auth information']
      : status === 403
        ? ['Operation Failed', 'ACL Exception Insert Failed due to security constraints']
        : status === 404
          ? ['No Record found', "Record doesn't exist or ACL restricts the record retrieval"]
          : status === 429
            ? ['Rate limit exceeded', 'Too many requests for this user']
            : status === 400
              ? ['Exception while reading request', message ?? 'The payload is not valid JSON.']
              : ['Internal server error', message ?? 'Transaction cancelled'];
  return { error: { message: m, detail }, status: 'failure' };
};

export function serviceNowIncidentHandler(): ServiceNowSimulatorHandler {
  const incidents = new Map<string, Record<string, unknown>>();
  const fields = (record: Record<string, unknown>, query: URLSearchParams) => {
    const wanted = query.get('sysparm_fields');
    if (!wanted) return record;
    return Object.fromEntries(wanted.split(',').map((f) => [f, record[f] ?? '']));
  };
  return {
    vendor: 'servicenow_incident',
    incidents,
    errorBody: snowError,
    handle(request): SimAnswer {
      const auth = basicPassword(request);
      if (!auth || auth.password !== SIMULATOR_API_KEY) return { status: 401, body: snowError(401) };
      if (request.method === 'POST' && request.path === '/api/now/table/incident') {
        const body = json(request.body);
        if (!body) return { status: 400, body: snowError(400) };
        const sysId = randomBytes(16).toString('hex');
        const record: Record<string, unknown> = {
          ...body,
          sys_id: sysId,
          number: `INC${String(10_000 + incidents.size + 1).padStart(7, '0')}`,
          state: '1',
          sys_created_on: '2026-11-20 08:30:00',
        };
        incidents.set(sysId, record);
        return {
          status: 201,
          headers: { location: `https://riposte-lab.service-now.com/api/now/table/incident/${sysId}` },
          body: { result: fields(record, request.query) },
        };
      }
      const match = /^\/api\/now\/table\/incident\/([^/]+)$/.exec(request.path);
      if (!match) return { status: 400, body: snowError(400, `Invalid table or path ${request.path}`) };
      const record = incidents.get(match[1] as string);
      if (!record) return { status: 404, body: snowError(404) };
      if (request.method === 'GET') return { status: 200, body: { result: fields(record, request.query) } };
      if (request.method === 'PATCH' || request.method === 'PUT') {
        const body = json(request.body);
        if (!body) return { status: 400, body: snowError(400) };
        const { work_notes, comments, ...changes } = body;
        Object.assign(record, changes);
        for (const [journal, text] of [
          ['work_notes_log', work_notes],
          ['comments_log', comments],
        ] as const) {
          if (typeof text === 'string') record[journal] = [...((record[journal] as string[] | undefined) ?? []), text];
        }
        return { status: 200, body: { result: fields(record, request.query) } };
      }
      return { status: 405, body: snowError(405, `Method ${request.method} not supported`) };
    },
  };
}
