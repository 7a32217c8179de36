import { randomUUID } from 'node:crypto';
import type { TokenIssuer } from './defender-simulator.ts';
import { headerValue, type SimAnswer, type SimRequest, type VendorHandler } from './simulator-server.ts';

/**
 * Microsoft Graph mail (v1.0) on loopback: a tenant of mailboxes holding messages (each with its MIME),
 * with the calls the reporting-mailbox poller and the campaign purge make — `GET /users` (paged with
 * `@odata.nextLink`), `GET /users/{id}/messages` and `…/mailFolders/{folder}/messages` with `$filter`
 * (`eq` on isRead, internetMessageId, subject, from/emailAddress/address, joined by `and`), `$top`,
 * `$select`; `GET …/messages/{id}/$value` (the MIME), `PATCH` (isRead), `POST …/move` (new id, as Exchange
 * gives a moved item) and `DELETE`. Errors use Graph's `{"error":{"code","message"}}` body.
 */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface SimMessage {
  id: string;
  folder: string;
  subject: string;
  from: string;
  internetMessageId: string;
  receivedDateTime: string;
  isRead: boolean;
  mime: string;
}

export interface SimMailbox {
  id: string;
  mail: string;
  messages: SimMessage[];
}

const WELL_KNOWN = new Set(['inbox', 'deleteditems', 'junkemail', 'archive', 'sentitems', 'drafts']);

function graphError(status: number, code: string, message: string): SimAnswer {
  return {
    status,
    body: { error: { code, message, innerError: { date: '2026-11-28T04:00:00', 'request-id': randomUUID(), 'client-request-id': randomUUID() } } },
  };
}

function headerOf(mime: string, name: string): string {
  const head = mime.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return m?.[1]?.trim() ?? '';
}

/** The mail world: mailboxes with messages, shared by the handler and the test that inspects it. */
export class GraphMailTenant {
  readonly mailboxes: SimMailbox[] = [];

  addMailbox(mail: string): SimMailbox {
    const box = { id: randomUUID(), mail: mail.toLowerCase(), messages: [] };
    this.mailboxes.push(box);
    return box;
  }

  mailbox(ref: string): SimMailbox | undefined {
    const key = decodeURIComponent(ref).toLowerCase();
    return this.mailboxes.find((b) => b.id === key || b.mail === key);
  }

  /** Delivers a MIME message (its Subject, From and Message-ID headers fill the message's properties). */
  deliver(mail: string, mime: string, options: { folder?: string; isRead?: boolean } = {}): SimMessage {
    const box = this.mailbox(mail) ?? this.addMailbox(mail);
    const from = /<([^>]+)>/.exec(headerOf(mime, 'From'))?.[1] ?? headerOf(mime, 'From');
    const message: SimMessage = {
      id: `AAMkAG${randomUUID().replace(/-/g, '')}`,
      folder: options.folder ?? 'inbox',
      subject: headerOf(mime, 'Subject'),
      from: from.toLowerCase(),
      internetMessageId: headerOf(mime, 'Message-ID'),
      receivedDateTime: new Date().toISOString(),
      isRead: options.isRead ?? false,
      mime,
    };
    box.messages.push(message);
    return message;
  }

  /** Copies of a message (by Message-ID) per mailbox and folder, for assertions. */
  copies(internetMessageId: string): Array<{ mailbox: string; folder: string }> {
    return this.mailboxes.flatMap((b) =>
      b.messages.filter((m) => m.internetMessageId === internetMessageId).map((m) => ({ mailbox: b.mail, folder: m.folder })),
    );
  }
}

type Condition = { field: string; value: string | boolean };

/** The `$filter` subset Riposte sends: `field eq 'literal'` (or true/false) joined by `and`. */
function parseFilter(filter: string): Condition[] | string {
  const conditions: Condition[] = [];
  const re = /\s*([A-Za-z/]+)\s+eq\s+('(?:[^']|'')*'|true|false)\s*(?:and\b|$)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: a sticky regex walk
  while ((m = re.exec(filter)) !== null) {
    const raw = m[2] as string;
    conditions.push({ field: m[1] as string, value: raw === 'true' ? true : raw === 'false' ? false : raw.slice(1, -1).replace(/''/g, "'") });
    last = re.lastIndex;
    if (last >= filter.length) break;
  }
  if (last < filter.trim().length) return `Invalid filter clause: ${filter.slice(last, last + 40)}`;
  return conditions;
}

function matches(message: SimMessage, conditions: Condition[]): boolean | string {
  for (const c of conditions) {
    const actual =
      c.field === 'isRead'
        ? message.isRead
        : c.field === 'internetMessageId'
          ? message.internetMessageId
          : c.field === 'subject'
            ? message.subject
            : c.field === 'from/emailAddress/address'
              ? message.from
              : undefined;
    if (actual === undefined) return `Could not find a property named '${c.field}' on type 'microsoft.graph.message'.`;
    const equal = typeof actual === 'string' && typeof c.value === 'string' ? actual.toLowerCase() === c.value.toLowerCase() : actual === c.value;
    if (!equal) return false;
  }
  return true;
}

function view(m: SimMessage) {
  return {
    id: m.id,
    subject: m.subject,
    internetMessageId: m.internetMessageId,
    receivedDateTime: m.receivedDateTime,
    isRead: m.isRead,
    parentFolderId: m.folder,
    from: { emailAddress: { name: m.from, address: m.from } },
  };
}

export function graphMailHandler(tenant: GraphMailTenant, issuer: TokenIssuer, options: { baseUrl?: () => string; maxPage?: number } = {}): VendorHandler {
  return {
    vendor: 'msgraph',
    errorBody: (status, message) =>
      graphError(status, status === 429 ? 'TooManyRequests' : status === 401 ? 'InvalidAuthenticationToken' : 'generalException', message ?? 'error').body,
    handle(request: SimRequest): SimAnswer {
      const token = /^Bearer (.+)$/.exec(headerValue(request.headers, 'authorization') ?? '')?.[1];
      if (!token || !issuer.valid(token)) return graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
      const path = request.path;
      const top = Math.min(Number(request.query.get('$top') ?? 10) || 10, options.maxPage ?? 999);
      const skip = Number(request.query.get('$skip') ?? 0) || 0;
      const page = <T>(items: T[], basePath: string) => {
        const value = items.slice(skip, skip + top);
        const next = new URLSearchParams(request.query);
        next.set('$skip', String(skip + top));
        return {
          status: 200,
          body: {
            '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#${basePath}`,
            value,
            ...(skip + top < items.length ? { '@odata.nextLink': `${options.baseUrl?.() ?? ''}${basePath}?${next.toString()}` } : {}),
          },
        };
      };
      if (request.method === 'GET' && path === '/v1.0/users') {
        return page(
          tenant.mailboxes.map((b) => ({ id: b.id, mail: b.mail, userPrincipalName: b.mail })),
          '/v1.0/users',
        );
      }
      const m = /^\/v1\.0\/users\/([^/]+)(?:\/mailFolders\/([^/]+))?\/messages(?:\/([^/]+)(?:\/(\$value|move))?)?$/.exec(path);
      if (!m) return graphError(404, 'UnknownError', `No route for ${request.method} ${path}`);
      const box = tenant.mailbox(m[1] as string);
      if (!box) return graphError(404, 'ErrorInvalidUser', `The requested user '${decodeURIComponent(m[1] as string)}' is invalid.`);
      const folder = m[2] ? decodeURIComponent(m[2]).toLowerCase() : undefined;
      if (folder && !WELL_KNOWN.has(folder)) return graphError(404, 'ErrorInvalidIdMalformed', 'Id is malformed.');
      const id = m[3] ? decodeURIComponent(m[3]) : undefined;
      if (!id) {
        if (request.method !== 'GET') return graphError(405, 'Request_BadRequest', 'Method not allowed');
        const filter = request.query.get('$filter');
        const conditions = filter ? parseFilter(filter) : [];
        if (typeof conditions === 'string') return graphError(400, 'BadRequest', conditions);
        const found: SimMessage[] = [];
        for (const message of box.messages) {
          if (folder && message.folder !== folder) continue;
          const ok = matches(message, conditions);
          if (typeof ok === 'string') return graphError(400, 'BadRequest', ok);
          if (ok) found.push(message);
        }
        return page(found.map(view), path);
      }
      const message = box.messages.find((x) => x.id === id);
      if (!message) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      if (m[4] === '$value' && request.method === 'GET') return { status: 200, raw: message.mime, headers: { 'content-type': 'text/plain' } };
      if (m[4] === 'move' && request.method === 'POST') {
        let destination: unknown;
        try {
          destination = (JSON.parse(request.body) as { destinationId?: unknown }).destinationId;
        } catch {
          return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
        }
        if (typeof destination !== 'string' || !WELL_KNOWN.has(destination.toLowerCase()))
          return graphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
        message.folder = destination.toLowerCase();
        // Exchange gives a moved item a new id.
        message.id = `AAMkAG${randomUUID().replace(/-/g, '')}`;
        return { status: 201, body: view(message) };
      }
      if (m[4]) return graphError(405, 'Request_BadRequest', 'Method not allowed');
      if (request.method === 'GET') return { status: 200, body: view(message) };
      if (request.method === 'PATCH') {
        let patch: { isRead?: unknown };
        try {
          patch = JSON.parse(request.body) as { isRead?: unknown };
        } catch {
          return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
        }
        if (typeof patch.isRead === 'boolean') message.isRead = patch.isRead;
        return { status: 200, body: view(message) };
      }
      if (request.method === 'DELETE') {
        box.messages.splice(box.messages.indexOf(message), 1);
        return { status: 204 };
      }
      return graphError(405, 'Request_BadRequest', 'Method not allowed');
    },
  };
}
