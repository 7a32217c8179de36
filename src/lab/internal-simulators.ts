import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { SEED_ASSETS, SEED_MISP, SEED_NOW_MS, SIMULATOR_API_KEY, seedLogEvents } from './seed-data.ts';
import { headerValue, type SimAnswer, type SimRequest, type VendorHandler } from './simulator-server.ts';

/**
 * Simulators of the organisation's own tools the IP scenario asks: two MISP servers (threat sharing),
 * Splunk search jobs and Elasticsearch `_search` (internal sightings), and ServiceNow's CMDB Table API.
 * Same world as the threat-intel simulators (seed-data.ts): the malicious IPs were contacted by seeded
 * internal hosts, and those hosts are in the CMDB with owners and business criticality.
 */
const SEEN_S = Math.floor(SEED_NOW_MS / 1000);
const uuidFor = (text: string) => {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const firstIp = (text: string) => /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(text)?.[1] ?? /([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})/i.exec(text)?.[1];

// --- MISP -----------------------------------------------------------------------------------------------
const mispError = (status: number, message?: string, url = '/attributes/restSearch') => {
  const text =
    message ??
    (status === 403 || status === 401
      ? 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.'
      : status === 404
        ? 'Not Found'
        : status === 429
          ? 'Rate limit exceeded.'
          : 'An Internal Error Has Occurred.');
  return { name: text, message: text, url };
};

/** One MISP server; `server` picks which seeded attributes it holds (two servers share some). */
export function mispHandler(server: 'misp_a' | 'misp_b'): VendorHandler {
  const sightings: Array<Record<string, unknown>> = [];
  const org = server === 'misp_a' ? { id: '1', name: 'CIRCL' } : { id: '2', name: 'Sector-ISAC' };
  return {
    vendor: server,
    errorBody: (status, message) => mispError(status, message),
    handle(request): SimAnswer {
      if (headerValue(request.headers, 'authorization') !== SIMULATOR_API_KEY) return { status: 403, body: mispError(403, undefined, request.path) };
      if (!/application\/json/.test(headerValue(request.headers, 'accept') ?? ''))
        return { status: 406, body: mispError(406, 'Please set the Accept header to application/json', request.path) };
      let body: Record<string, unknown>;
      try {
        body = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
      } catch {
        return { status: 400, body: mispError(400, 'Invalid JSON input. Make sure that the JSON input is a correctly formatted JSON string.', request.path) };
      }
      const held = SEED_MISP.filter((a) => a.servers.includes(server));
      if (request.method === 'POST' && request.path === '/attributes/restSearch') {
        const value = String(body.value ?? '');
        // MISP compares with SQL LIKE: `%` is a wildcard.
        const pattern = new RegExp(`^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('%', '.*')}$`, 'i');
        const matches = held.filter(
          (a) => pattern.test(a.value) && (body.type === undefined || body.type === a.type || (Array.isArray(body.type) && body.type.includes(a.type))),
        );
        const withContext = body.includeContext === true;
        return {
          status: 200,
          body: {
            response: {
              Attribute: matches.map((a, i) => ({
                id: String(100 + SEED_MISP.indexOf(a)),
                event_id: String(10 + SEED_MISP.indexOf(a)),
                object_id: '0',
                object_relation: null,
                category: 'Network activity',
                type: a.type,
                to_ids: a.toIds,
                uuid: uuidFor(`${server}-${a.value}-${i}`),
                // Relative to the real clock (not the fixed seed date) so score decay sees the same
                // three-day-old report whenever the lab runs.
                timestamp: String(Math.floor(Date.now() / 1000) - 86_400 * (3 + i)),
                distribution: '5',
                sharing_group_id: '0',
                comment: '',
                deleted: false,
                disable_correlation: false,
                first_seen: null,
                last_seen: null,
                value: a.value,
                Event: {
                  org_id: org.id,
                  distribution: '1',
                  id: String(10 + SEED_MISP.indexOf(a)),
                  info: a.eventInfo,
                  orgc_id: org.id,
                  uuid: uuidFor(`${server}-event-${a.eventInfo}`),
                  ...(withContext
                    ? { threat_level_id: String(a.threatLevel), analysis: '2', published: true, date: '2026-11-17', Orgc: { id: org.id, name: org.name } }
                    : {}),
                },
                Tag: a.tags.map((name, t) => ({
                  id: String(t + 1),
                  name,
                  colour: '#004646',
                  numerical_value: null,
                  is_galaxy: name.startsWith('misp-galaxy:'),
                  local: 0,
                })),
              })),
            },
          },
        };
      }
      if (request.method === 'POST' && request.path === '/sightings/add') {
        const value = String(body.value ?? '');
        const attribute = held.find((a) => a.value === value);
        if (!attribute) return { status: 403, body: mispError(403, 'Could not add the Sighting. Reason: No valid attributes found.', request.path) };
        const sighting = {
          id: String(sightings.length + 1),
          attribute_id: String(100 + SEED_MISP.indexOf(attribute)),
          event_id: String(10 + SEED_MISP.indexOf(attribute)),
          org_id: org.id,
          date_sighting: String(body.timestamp ?? SEEN_S),
          uuid: uuidFor(`${server}-sighting-${sightings.length}`),
          source: String(body.source ?? ''),
          type: String(body.type ?? '0'),
          value,
        };
        sightings.push(sighting);
        return { status: 200, body: { Sighting: sighting } };
      }
      return { status: 404, body: mispError(404, undefined, request.path) };
    },
  };
}

// --- Splunk search jobs ---------------------------------------------------------------------------------
const splunkError = (status: number, message?: string) => ({
  messages: [
    {
      type: status === 401 ? 'WARN' : 'ERROR',
      text:
        message ??
        (status === 401 ? 'call not properly authenticated' : status === 404 ? 'Unknown sid.' : status === 429 ? 'Too many requests' : 'Internal error'),
    },
  ],
});

function splunkAuthorised(request: SimRequest): boolean {
  const auth = headerValue(request.headers, 'authorization') ?? '';
  if (auth === `Bearer ${SIMULATOR_API_KEY}` || auth === `Splunk ${SIMULATOR_API_KEY}`) return true;
  if (auth.startsWith('Basic ')) return Buffer.from(auth.slice(6), 'base64').toString('utf8').endsWith(`:${SIMULATOR_API_KEY}`);
  return false;
}

export function splunkHandler(): VendorHandler {
  const jobs = new Map<string, { search: string; polls: number; failed?: string; cancelled?: boolean }>();
  let nextSid = 1;
  return {
    vendor: 'splunk',
    errorBody: splunkError,
    handle(request): SimAnswer {
      if (!splunkAuthorised(request)) return { status: 401, body: splunkError(401) };
      if (request.method === 'POST' && request.path === '/services/search/jobs') {
        const form = new URLSearchParams(request.body);
        const search = form.get('search') ?? '';
        if (!search) return { status: 400, body: splunkError(400, 'Missing search.') };
        const bad = /\|\s*(badcommand\w*)/.exec(search);
        const sid = `${SEEN_S}.${nextSid++}`;
        jobs.set(sid, {
          search,
          polls: 0,
          ...(bad ? { failed: `Unknown search command '${bad[1]}'.` } : {}),
          // Stands in for an admin cancelling the job from Job Inspector while it runs.
          ...(/\|\s*cancelled_by_admin/.test(search) ? { cancelled: true } : {}),
        });
        return { status: 201, body: { sid } };
      }
      const status = /^\/services\/search\/jobs\/([^/]+)$/.exec(request.path);
      if (status && request.method === 'GET') {
        const job = jobs.get(status[1] as string);
        if (!job) return { status: 404, body: splunkError(404) };
        job.polls++;
        const dispatchState = job.failed ? 'FAILED' : job.cancelled && job.polls >= 2 ? 'USER_CANCEL' : job.polls >= 2 ? 'DONE' : 'RUNNING';
        const rows = rowsFor(job.search);
        return {
          status: 200,
          body: {
            links: {},
            origin: `https://splunk.example:8089/services/search/jobs`,
            entry: [
              {
                name: status[1],
                id: `https://splunk.example:8089/services/search/jobs/${status[1]}`,
                content: {
                  sid: status[1],
                  dispatchState,
                  isDone: dispatchState === 'DONE' || dispatchState === 'FAILED',
                  isFailed: dispatchState === 'FAILED',
                  doneProgress: dispatchState === 'RUNNING' ? 0.5 : 1,
                  resultCount: dispatchState === 'DONE' ? rows.length : 0,
                  messages: job.failed ? [{ type: 'FATAL', text: job.failed }] : [],
                },
              },
            ],
          },
        };
      }
      const results = /^\/services\/search\/jobs\/([^/]+)\/results$/.exec(request.path);
      if (results && request.method === 'GET') {
        const job = jobs.get(results[1] as string);
        if (!job) return { status: 404, body: splunkError(404) };
        const offset = Number(request.query.get('offset') ?? 0);
        const count = Number(request.query.get('count') ?? 100);
        const rows = rowsFor(job.search);
        return {
          status: 200,
          body: {
            preview: false,
            init_offset: offset,
            messages: [],
            fields: [{ name: 'host' }, { name: 'count' }, { name: 'first_seen' }, { name: 'last_seen' }],
            results: rows.slice(offset, count === 0 ? undefined : offset + count),
          },
        };
      }
      return { status: 404, body: splunkError(404, `Not Found: ${request.path}`) };
    },
  };
}

/** `… | stats count min(_time) as first_seen max(_time) as last_seen by host` over the seeded events (Splunk returns strings). */
function rowsFor(search: string): Array<Record<string, string>> {
  const ip = firstIp(search);
  if (!ip) return [];
  const byHost = new Map<string, { count: number; first: number; last: number }>();
  for (const event of seedLogEvents(ip)) {
    const row = byHost.get(event.host) ?? { count: 0, first: Number.POSITIVE_INFINITY, last: 0 };
    row.count++;
    row.first = Math.min(row.first, event.timeMs);
    row.last = Math.max(row.last, event.timeMs);
    byHost.set(event.host, row);
  }
  return [...byHost.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([host, row]) => ({ host, count: String(row.count), first_seen: String(row.first / 1000), last_seen: String(row.last / 1000) }));
}

// --- Elasticsearch --------------------------------------------------------------------------------------
const elasticError = (status: number, message?: string) => {
  const type =
    status === 401 || status === 403
      ? 'security_exception'
      : status === 404
        ? 'index_not_found_exception'
        : status === 429
          ? 'es_rejected_execution_exception'
          : status === 400
            ? 'parsing_exception'
            : 'search_phase_execution_exception';
  const reason =
    message ??
    (status === 401
      ? 'unable to authenticate with provided credentials and anonymous access is not allowed for this request'
      : status === 404
        ? 'no such index [missing]'
        : status === 429
          ? 'rejected execution of coordinating operation'
          : 'all shards failed');
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
};

function findIp(node: unknown): string | undefined {
  if (typeof node === 'string') return isIP(node) ? node : undefined;
  if (Array.isArray(node)) return node.map(findIp).find(Boolean);
  if (node && typeof node === 'object') return Object.values(node).map(findIp).find(Boolean);
  return undefined;
}

export function elasticHandler(): VendorHandler {
  return {
    vendor: 'elastic',
    errorBody: elasticError,
    handle(request): SimAnswer {
      if (headerValue(request.headers, 'authorization') !== `ApiKey ${SIMULATOR_API_KEY}`) return { status: 401, body: elasticError(401) };
      const match = /^\/([^/_][^/]*)\/_search$/.exec(request.path);
      if (!match || (request.method !== 'POST' && request.method !== 'GET'))
        return { status: 404, body: elasticError(404, `no handler found for ${request.path}`) };
      const index = match[1] as string;
      if (!index.split(',').every((name) => /^(logs-|filebeat-|packetbeat-)/.test(name)))
        return { status: 404, body: elasticError(404, `no such index [${index}]`) };
      let body: { size?: number; search_after?: [number, string]; query?: unknown };
      try {
        body = request.body ? JSON.parse(request.body) : {};
      } catch {
        return { status: 400, body: elasticError(400, 'request body is not valid JSON') };
      }
      const ip = findIp(body.query);
      const events = ip ? seedLogEvents(ip) : [];
      const after = body.search_after;
      const start = after ? events.findIndex((e) => e.timeMs > after[0] || (e.timeMs === after[0] && e.id > after[1])) : 0;
      const size = body.size ?? 10;
      const page = start < 0 ? [] : events.slice(start, start + size);
      return {
        status: 200,
        body: {
          took: 3,
          timed_out: false,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
          hits: {
            total: { value: events.length, relation: 'eq' },
            max_score: null,
            hits: page.map((e) => ({
              _index: `.ds-logs-network-default-2026.11.20-000001`,
              _id: createHash('sha1').update(e.id).digest('hex').slice(0, 20),
              _score: null,
              _source: {
                '@timestamp': new Date(e.timeMs).toISOString(),
                event: { id: e.id, category: ['network'], action: e.action, dataset: 'network_traffic.flow' },
                host: { name: e.host },
                source: { ip: e.srcIp },
                destination: { ip: e.destIp, port: e.destPort },
              },
              sort: [e.timeMs, e.id],
            })),
          },
        },
      };
    },
  };
}

// --- ServiceNow CMDB (Table API) ------------------------------------------------------------------------
const serviceNowError = (status: number, message?: string) => ({
  error: {
    message: message ?? (status === 401 ? 'User Not Authenticated' : status === 403 ? 'Operation Failed' : status === 404 ? 'No Record found' : 'Server error'),
    detail: status === 401 ? 'Required to provide Auth information' : status === 404 ? "Record doesn't exist or ACL restricts the record retrieval" : '',
  },
  status: 'failure',
});

const TABLES: Record<string, readonly string[]> = {
  cmdb_ci: ['cmdb_ci_server', 'cmdb_ci_computer'],
  cmdb_ci_server: ['cmdb_ci_server'],
  cmdb_ci_computer: ['cmdb_ci_computer'],
};

export function serviceNowCmdbHandler(): VendorHandler {
  return {
    vendor: 'servicenow_cmdb',
    errorBody: serviceNowError,
    handle(request): SimAnswer {
      const auth = headerValue(request.headers, 'authorization') ?? '';
      if (!auth.startsWith('Basic ') || !Buffer.from(auth.slice(6), 'base64').toString('utf8').endsWith(`:${SIMULATOR_API_KEY}`))
        return { status: 401, body: serviceNowError(401) };
      const match = /^\/api\/now\/table\/([a-z_]+)$/.exec(request.path);
      if (!match || request.method !== 'GET') return { status: 400, body: serviceNowError(400, 'Requested URI does not represent any resource') };
      const classes = TABLES[match[1] as string];
      if (!classes) return { status: 400, body: serviceNowError(400, `Invalid table ${match[1]}`) };
      // Encoded query: conditions joined by ^ (AND); field=value only, which is what the connector sends.
      const conditions = (request.query.get('sysparm_query') ?? '')
        .split('^')
        .filter(Boolean)
        .map((part) => part.split('=') as [string, string]);
      const display = request.query.get('sysparm_display_value') === 'true';
      const records = SEED_ASSETS.filter((a) => classes.includes(a.table))
        .map((a) => ({
          sys_id: createHash('md5').update(a.name).digest('hex'),
          name: a.name,
          ip_address: a.ip,
          host_name: a.name,
          fqdn: `${a.name}.corp.example`,
          sys_class_name: a.table,
          owned_by: display ? a.owner : createHash('md5').update(a.owner).digest('hex'),
          busines_criticality: a.businessCriticality,
          used_for: a.usedFor,
          operational_status: display ? 'Operational' : '1',
        }))
        .filter((record) => conditions.every(([field, value]) => String((record as Record<string, unknown>)[field]) === value));
      const limit = Number(request.query.get('sysparm_limit') ?? 10000);
      const offset = Number(request.query.get('sysparm_offset') ?? 0);
      const fields = request.query.get('sysparm_fields')?.split(',').filter(Boolean);
      const page = records
        .slice(offset, offset + limit)
        .map((record) => (fields ? Object.fromEntries(Object.entries(record).filter(([key]) => fields.includes(key))) : record));
      const origin = `http://${headerValue(request.headers, 'host') ?? '127.0.0.1'}`;
      const link = (at: number, rel: string) => {
        const params = new URLSearchParams(request.query);
        params.set('sysparm_offset', String(at));
        params.set('sysparm_limit', String(limit));
        return `<${origin}${request.path}?${params.toString()}>;rel="${rel}"`;
      };
      const links = [link(0, 'first')];
      if (offset + limit < records.length) links.push(link(offset + limit, 'next'));
      if (offset > 0) links.push(link(Math.max(0, offset - limit), 'prev'));
      links.push(link(Math.max(0, Math.floor((records.length - 1) / limit) * limit), 'last'));
      return { status: 200, headers: { link: links.join(','), 'x-total-count': String(records.length) }, body: { result: page } };
    },
  };
}

export const INTERNAL_HANDLERS = [mispHandler('misp_a'), mispHandler('misp_b'), splunkHandler(), elasticHandler(), serviceNowCmdbHandler()] as const;
