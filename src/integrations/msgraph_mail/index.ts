/**
 * Microsoft 365 mail through Microsoft Graph (v1.0), signed in with an Entra ID app registration (OAuth 2.0
 * client credentials, scope https://graph.microsoft.com/.default, application permissions Mail.ReadWrite and
 * User.Read.All). Two jobs:
 * - the reporting mailbox: list unread messages in its inbox (`GET /users/{mailbox}/mailFolders/inbox/messages`
 *   with `$filter=isRead eq false`), fetch each one's MIME (`GET …/messages/{id}/$value`), then mark it read
 *   and optionally move it to a folder, so it is taken once;
 * - a campaign: search every mailbox (`GET /users`, then `GET /users/{id}/messages?$filter=internetMessageId
 *   eq '…'`, or subject + sender) and purge the copies (`POST …/messages/{id}/move` to `deleteditems`, or
 *   `DELETE` for a hard delete). A 401 after a token expired early is retried once with a fresh token.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { type AccessTokenSource, action, defineIntegration, type IntegrationHttp, type VendorRequest } from '../sdk/index.ts';

const GRAPH_PAGE = 50;
const MAX_PAGES = 200;

const MessageRef = z.object({ mailbox: z.string().min(1).max(320), id: z.string().min(1).max(1024) });
const MessageSummary = z.object({
  mailbox: z.string(),
  id: z.string(),
  subject: z.string(),
  from: z.string().nullable(),
  internet_message_id: z.string().nullable(),
  received_at: z.string().nullable(),
});
type MessageSummary = z.infer<typeof MessageSummary>;

interface GraphMessage {
  id?: string;
  subject?: string | null;
  internetMessageId?: string | null;
  receivedDateTime?: string | null;
  from?: { emailAddress?: { address?: string | null } | null } | null;
}

/** An OData string literal: single quotes doubled (the only escape OData needs). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

type Caller = (request: VendorRequest) => Promise<{ json<T>(): T; text(): string; status: number }>;

function caller(http: IntegrationHttp, accessToken: AccessTokenSource['token'] | undefined, signal: AbortSignal | undefined): Caller {
  if (!accessToken) throw new RiposteError('integration.invalid', 'Microsoft Graph: the instance has no sign-in configured');
  return async (request) => {
    const send = async (refresh: boolean) =>
      http.request({
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${await accessToken({ refresh, ...(signal ? { signal } : {}) })}` },
        ...(signal ? { signal } : {}),
      });
    try {
      return await send(false);
    } catch (error) {
      if (!(error instanceof RiposteError) || error.code !== 'integration.unauthorized') throw error;
      return send(true);
    }
  };
}

function summary(mailbox: string, m: GraphMessage): MessageSummary {
  return {
    mailbox,
    id: String(m.id ?? ''),
    subject: m.subject ?? '',
    from: m.from?.emailAddress?.address ?? null,
    internet_message_id: m.internetMessageId ?? null,
    received_at: m.receivedDateTime ?? null,
  };
}

/** Follows `@odata.nextLink` (an absolute URL on the same API) up to a page limit. */
async function allPages<T>(call: Caller, first: VendorRequest, limit: number): Promise<T[]> {
  const items: T[] = [];
  let request: VendorRequest | undefined = first;
  for (let page = 0; request && page < MAX_PAGES && items.length < limit; page++) {
    const body: { value?: T[]; '@odata.nextLink'?: string } = (await call(request)).json();
    items.push(...(body.value ?? []));
    const next: string | undefined = body['@odata.nextLink'];
    request = next ? { method: 'GET', path: next } : undefined;
  }
  return items.slice(0, limit);
}

function checkConfigured(config: Record<string, unknown>, instance: string): void {
  if (config.tenantId === '')
    throw new RiposteError('integration.not_configured', `${instance}: config tenantId is required (the Entra ID tenant of the app registration)`);
}

const mailboxPath = (mailbox: string) => `/v1.0/users/${encodeURIComponent(mailbox)}`;

export default defineIntegration({
  id: 'msgraph_mail',
  title: 'Microsoft 365 mail (Graph)',
  description: 'Reads a reporting mailbox and searches and purges messages across mailboxes through Microsoft Graph.',
  config: z.object({
    baseUrl: z.url().default('https://graph.microsoft.com'),
    loginUrl: z.url().default('https://login.microsoftonline.com'),
    tenantId: z.string().default(''),
    clientId: z.string().default(''),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { clientSecret: 'client secret of the Entra ID app registration (application permissions Mail.ReadWrite, User.Read.All)' },
  // Graph allows 10,000 requests per 10 minutes per app and mailbox; stay well below.
  rateLimit: { perMinute: 600, burst: 20 },
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl: (config) => `${String(config.loginUrl).replace(/\/$/, '')}/${encodeURIComponent(String(config.tenantId))}/oauth2/v2.0/token`,
    audience: () => ({ scope: 'https://graph.microsoft.com/.default' }),
    clientIdConfig: 'clientId',
    clientSecret: 'clientSecret',
  },
  healthCheck: { action: 'list_mailboxes', input: { limit: 1 } },
  actions: {
    list_mailboxes: action({
      title: 'List mailboxes',
      impact: 'read',
      input: z.object({ limit: z.number().int().min(1).max(100_000).default(10_000) }),
      output: z.object({ mailboxes: z.array(z.string()) }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        const users = await allPages<{ id?: string; mail?: string | null; userPrincipalName?: string }>(
          call,
          { method: 'GET', path: '/v1.0/users', query: { $select: 'id,mail,userPrincipalName', $top: 999 } },
          input.limit,
        );
        return { mailboxes: users.map((u) => u.mail ?? u.userPrincipalName ?? u.id ?? '').filter(Boolean) };
      },
    }),
    list_unread: action({
      title: 'Unread messages in a mailbox folder',
      description: 'The reporting mailbox poller: unread messages of a folder (default the inbox), oldest first.',
      impact: 'read',
      input: z.object({
        mailbox: z.string().min(1).max(320),
        folder: z.string().min(1).max(200).default('inbox'),
        limit: z.number().int().min(1).max(500).default(50),
      }),
      output: z.object({ messages: z.array(MessageSummary) }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        const messages = await allPages<GraphMessage>(
          call,
          {
            method: 'GET',
            path: `${mailboxPath(input.mailbox)}/mailFolders/${encodeURIComponent(input.folder)}/messages`,
            query: {
              $filter: 'isRead eq false',
              $select: 'id,subject,from,internetMessageId,receivedDateTime',
              $orderby: 'receivedDateTime asc',
              $top: Math.min(input.limit, GRAPH_PAGE),
            },
          },
          input.limit,
        );
        return { messages: messages.map((m) => summary(input.mailbox, m)) };
      },
    }),
    get_mime: action({
      title: 'A message as MIME (.eml)',
      impact: 'read',
      input: MessageRef,
      output: z.object({ mime: z.string() }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        const response = await call({
          method: 'GET',
          path: `${mailboxPath(input.mailbox)}/messages/${encodeURIComponent(input.id)}/$value`,
          headers: { accept: '*/*' },
        });
        return { mime: response.text() };
      },
    }),
    mark_processed: action({
      title: 'Mark a message read (and move it)',
      description: 'Marks a reported message read so the poller takes it once; moves it to `move_to` when given.',
      impact: 'write',
      input: MessageRef.extend({ move_to: z.string().min(1).max(200).optional() }),
      output: z.object({ id: z.string() }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        const path = `${mailboxPath(input.mailbox)}/messages/${encodeURIComponent(input.id)}`;
        await call({ method: 'PATCH', path, json: { isRead: true } });
        if (!input.move_to) return { id: input.id };
        const moved = (await call({ method: 'POST', path: `${path}/move`, json: { destinationId: input.move_to } })).json<GraphMessage>();
        return { id: String(moved.id ?? input.id) };
      },
    }),
    search_messages: action({
      title: 'Find copies of a message in every mailbox',
      description: 'By Internet Message-ID, or by subject and sender; every mailbox unless `mailboxes` names some.',
      impact: 'read',
      input: z
        .object({
          internet_message_id: z.string().min(3).max(998).optional(),
          subject: z.string().max(998).optional(),
          from: z.string().min(3).max(320).optional(),
          mailboxes: z.array(z.string().min(1).max(320)).max(100_000).optional(),
          limit_per_mailbox: z.number().int().min(1).max(1000).default(100),
        })
        .refine((v) => v.internet_message_id !== undefined || (v.subject !== undefined && v.from !== undefined), {
          message: 'give internet_message_id, or subject and from',
        }),
      output: z.object({ searched: z.number(), matches: z.array(MessageSummary) }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        const mailboxes =
          input.mailboxes ??
          (
            await allPages<{ id?: string; mail?: string | null; userPrincipalName?: string }>(
              call,
              { method: 'GET', path: '/v1.0/users', query: { $select: 'id,mail,userPrincipalName', $top: 999 } },
              100_000,
            )
          )
            .map((u) => u.mail ?? u.userPrincipalName ?? u.id ?? '')
            .filter(Boolean);
        const filter = input.internet_message_id
          ? `internetMessageId eq ${odataString(input.internet_message_id)}`
          : `subject eq ${odataString(input.subject ?? '')} and from/emailAddress/address eq ${odataString(input.from ?? '')}`;
        const matches: MessageSummary[] = [];
        for (const mailbox of mailboxes) {
          const found = await allPages<GraphMessage>(
            call,
            {
              method: 'GET',
              path: `${mailboxPath(mailbox)}/messages`,
              query: { $filter: filter, $select: 'id,subject,from,internetMessageId,receivedDateTime', $top: GRAPH_PAGE },
            },
            input.limit_per_mailbox,
          );
          for (const m of found) matches.push(summary(mailbox, m));
        }
        return { searched: mailboxes.length, matches };
      },
    }),
    purge_messages: action({
      title: 'Purge messages from mailboxes',
      description: 'Moves each message to Deleted Items (soft, the default; a user can still restore it) or deletes it (hard).',
      impact: 'destructive',
      input: z.object({ messages: z.array(MessageRef).min(1).max(10_000), mode: z.enum(['soft', 'hard']).default('soft') }),
      output: z.object({
        purged: z.number(),
        already_gone: z.number(),
        failed: z.array(z.object({ mailbox: z.string(), id: z.string(), error: z.string() })),
        mailboxes: z.array(z.string()),
      }),
      async run({ input, http, accessToken, signal, config, instance }) {
        checkConfigured(config, instance);
        const call = caller(http, accessToken, signal);
        let purged = 0;
        let alreadyGone = 0;
        const failed: Array<{ mailbox: string; id: string; error: string }> = [];
        const mailboxes = new Set<string>();
        for (const message of input.messages) {
          const path = `${mailboxPath(message.mailbox)}/messages/${encodeURIComponent(message.id)}`;
          try {
            if (input.mode === 'hard') await call({ method: 'DELETE', path });
            else await call({ method: 'POST', path: `${path}/move`, json: { destinationId: 'deleteditems' } });
            purged++;
            mailboxes.add(message.mailbox);
          } catch (error) {
            // A retried step finds the copies it moved already gone: that is success, not failure.
            if (error instanceof RiposteError && error.code === 'integration.not_found') alreadyGone++;
            else if (error instanceof RiposteError && !error.retryable) failed.push({ ...message, error: error.message });
            else throw error;
          }
        }
        return { purged, already_gone: alreadyGone, failed, mailboxes: [...mailboxes] };
      },
    }),
  },
});
