import { randomBytes } from 'node:crypto';
import { SIMULATOR_API_KEY } from './seed-data.ts';
import { headerValue, type SimAnswer, type SimRequest, type VendorHandler } from './simulator-server.ts';

/**
 * A PAN-OS firewall's XML API (`/api/`): `type=keygen`, `type=config` set/delete of tag and address
 * objects in a candidate configuration, `type=commit` answering with a job id, and
 * `type=op` `<show><jobs><id>N</id></jobs></show>` reporting the job ACT then FIN. A commit copies the
 * candidate to the running configuration; `blocked()` lists the addresses a dynamic address group
 * matching the block tag would hold in the running configuration. Answers are
 * `<response status="success|error" code="…">` XML, as PAN-OS sends them.
 */
export interface PanAddress {
  name: string;
  ip: string;
  tags: string[];
  description: string;
}

export interface PanOsSimulatorHandler extends VendorHandler {
  readonly candidate: Map<string, PanAddress>;
  readonly running: Map<string, PanAddress>;
  /** Addresses in the running config carrying `tag` (what the dynamic address group matches). */
  blocked(tag?: string): string[];
  /** How many `show jobs` polls a commit stays ACT before FIN (default 1). */
  pollsPerJob: number;
  /** Makes the next commit job finish with result FAIL. */
  failNextCommit(reason: string): void;
}

export const PAN_OS_USER = 'riposte-api';

const xml = (status: number, body: string): SimAnswer => ({ status, raw: `<?xml version="1.0"?>\n${body}`, headers: { 'content-type': 'application/xml' } });
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const error = (status: number, code: number, message: string) =>
  xml(status, `<response status="error" code="${code}"><result><msg>${escapeText(message)}</msg></result></response>`);

function panErrorBody(status: number, message?: string): string {
  const text =
    message ?? (status === 403 ? 'Invalid Credential' : status === 429 ? 'Too many requests' : status === 404 ? 'Not found' : 'Internal error, please retry');
  return `<response status="error" code="${status === 403 ? 403 : status}"><result><msg>${escapeText(text)}</msg></result></response>`;
}

function params(request: SimRequest): URLSearchParams {
  const merged = new URLSearchParams(request.query);
  const type = headerValue(request.headers, 'content-type') ?? '';
  if (request.method === 'POST' && type.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(request.body)) merged.set(k, v);
  }
  return merged;
}

const text = (element: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(element)?.[1];
const members = (element: string): string[] => [...element.matchAll(/<member>([^<]*)<\/member>/g)].map((m) => m[1] as string);

export function panOsHandler(): PanOsSimulatorHandler {
  const candidate = new Map<string, PanAddress>();
  const running = new Map<string, PanAddress>();
  const tags = new Set<string>();
  const jobs = new Map<string, { polls: number; fail?: string; snapshot: Map<string, PanAddress> }>();
  let nextJob = 1;
  let dirty = false;
  let nextFailure: string | undefined;
  const apiKey = `LUFRPT1${randomBytes(12).toString('base64url')}==`;
  const vsysPath =
    /^\/config\/devices\/entry\[@name='localhost\.localdomain'\]\/vsys\/entry\[@name='(vsys\d+)'\]\/(tag|address)\/entry\[@name='([A-Za-z0-9._-]{1,63})'\]$/;
  const handler: PanOsSimulatorHandler = {
    vendor: 'palo_alto',
    contentType: 'application/xml',
    candidate,
    running,
    pollsPerJob: 1,
    blocked: (tag = 'riposte-block') => [...running.values()].filter((a) => a.tags.includes(tag)).map((a) => a.ip),
    failNextCommit(reason) {
      nextFailure = reason;
    },
    errorBody: panErrorBody,
    handle(request) {
      if (request.path !== '/api/' && request.path !== '/api') return error(404, 404, `no such path ${request.path}`);
      const p = params(request);
      const type = p.get('type');
      if (type === 'keygen') {
        if (p.get('user') !== PAN_OS_USER || p.get('password') !== SIMULATOR_API_KEY) return error(403, 403, 'Invalid Credential');
        return xml(200, `<response status="success"><result><key>${apiKey}</key></result></response>`);
      }
      const key = headerValue(request.headers, 'x-pan-key') ?? p.get('key');
      if (key !== apiKey) return error(403, 403, 'Invalid Credential');
      if (type === 'config') {
        const match = vsysPath.exec(p.get('xpath') ?? '');
        if (!match) return error(200, 6, 'Bad Xpath');
        const [, , kind, name] = match as unknown as [string, string, 'tag' | 'address', string];
        const act = p.get('action');
        if (act === 'set') {
          const element = p.get('element') ?? '';
          if (kind === 'tag') tags.add(name);
          else {
            const ip = text(element, 'ip-netmask');
            if (!ip) return error(200, 12, `${name} is missing 'ip-netmask'`);
            const wanted = members(element);
            const unknown = wanted.find((t) => !tags.has(t));
            if (unknown) return error(200, 12, `address -> ${name} -> tag '${unknown}' is not a valid reference`);
            candidate.set(name, { name, ip, tags: wanted, description: text(element, 'description') ?? '' });
          }
          dirty = true;
          return xml(200, '<response status="success" code="20"><msg>command succeeded</msg></response>');
        }
        if (act === 'delete') {
          const existed = kind === 'tag' ? tags.delete(name) : candidate.delete(name);
          if (!existed) return xml(200, `<response status="success" code="7"><msg>Object doesn't exist</msg></response>`);
          dirty = true;
          return xml(200, '<response status="success" code="20"><msg>command succeeded</msg></response>');
        }
        return error(400, 400, `action ${act ?? '(none)'} is not supported here`);
      }
      if (type === 'commit') {
        if (!/^<commit>.*<\/commit>$/s.test(p.get('cmd') ?? '')) return error(400, 17, 'Invalid command: cmd must be <commit>…</commit>');
        if (!dirty) return xml(200, '<response status="success" code="19"><msg>There are no changes to commit.</msg></response>');
        const id = String(nextJob++);
        jobs.set(id, { polls: 0, ...(nextFailure ? { fail: nextFailure } : {}), snapshot: new Map(candidate) });
        nextFailure = undefined;
        dirty = false;
        return xml(
          200,
          `<response status="success" code="19"><result><msg><line>Commit job enqueued with jobid ${id}</line></msg><job>${id}</job></result></response>`,
        );
      }
      if (type === 'op') {
        const id = /^<show><jobs><id>(\d+)<\/id><\/jobs><\/show>$/.exec(p.get('cmd') ?? '')?.[1];
        if (!id) return error(200, 17, 'Invalid command: only <show><jobs><id>N</id></jobs></show> is simulated');
        const job = jobs.get(id);
        if (!job) return error(200, 13, `job ${id} not found`);
        job.polls++;
        const finished = job.polls > handler.pollsPerJob;
        if (finished && !job.fail) {
          running.clear();
          for (const [k, v] of job.snapshot) running.set(k, v);
        }
        const status = finished ? 'FIN' : 'ACT';
        const result = finished ? (job.fail ? 'FAIL' : 'OK') : 'PEND';
        const details = job.fail ? `<line>${escapeText(job.fail)}</line>` : finished ? '<line>Configuration committed successfully</line>' : '';
        return xml(
          200,
          `<response status="success"><result><job><tenq>2026/11/20 08:30:00</tenq><id>${id}</id><user>${PAN_OS_USER}</user><type>Commit</type><status>${status}</status><queued>NO</queued><stoppable>no</stoppable><result>${result}</result><progress>${finished ? 100 : 55}</progress><details>${details}</details><warnings/></job></result></response>`,
        );
      }
      return error(400, 400, `type ${type ?? '(none)'} is not supported here`);
    },
  };
  return handler;
}
