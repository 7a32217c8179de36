import { createHmac, randomBytes } from 'node:crypto';
import { headerValue, type SimAnswer, type SimRequest, type SimulatorOptions, startSimulator, type VendorSimulator } from './simulator-server.ts';

/**
 * Simulators of the places approval requests go: the Slack Web API (chat.postMessage, chat.update, the
 * interaction `response_url`), a Microsoft Teams incoming webhook or Workflows URL, and the PagerDuty
 * Events API v2. They answer with the vendors' documented shapes — Slack's `{ok:false,error}` bodies on
 * HTTP 200 and `ratelimited` on 429 with Retry-After; Teams' "1" (classic webhook) or 202 (Workflows);
 * PagerDuty's 202 `{status:"success"}` — and keep what they received for tests to inspect. The Slack
 * simulator can also "click" a button: it posts the `block_actions` payload to Riposte's interactions
 * route, form-encoded and signed with the signing secret exactly as Slack does.
 */
export const SIMULATOR_SLACK_BOT_TOKEN = 'xoxb-1111111111-2222222222-riposte-lab-token';
export const SIMULATOR_SLACK_SIGNING_SECRET = 'lab-slack-signing-secret-0123456789abcdef';
export const SIMULATOR_PAGERDUTY_ROUTING_KEY = 'R0UT1NGKEYR1P0STELAB0000000000AB';

export interface SlackPostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  /** Every version, oldest first (the post, then each chat.update or response_url replacement). */
  history: Array<{ via: 'chat.postMessage' | 'chat.update' | 'response_url'; text: string; blocks: Array<Record<string, unknown>> }>;
}

export interface SlackClick {
  status: number;
  body: string;
  responseUrl: string;
}

export interface SlackSimulator extends VendorSimulator {
  /** Channels that exist (chat.postMessage elsewhere answers channel_not_found). */
  readonly channels: Set<string>;
  /** Messages by `${channel}/${ts}`. */
  readonly messages: Map<string, SlackPostedMessage>;
  message(channel: string, ts: string): SlackPostedMessage | undefined;
  /** The latest message posted to `channel`. */
  latest(channel: string): SlackPostedMessage | undefined;
  /**
   * A user clicks a button of a posted message: the simulator sends Riposte what Slack would.
   * `mutate` may change the raw body after signing (tests of a tampered request).
   */
  click(options: {
    interactionsUrl: string;
    signingSecret: string;
    channel: string;
    ts: string;
    actionId: string;
    user: { id: string; name?: string };
    timestamp?: number;
    mutate?: (body: string) => string;
  }): Promise<SlackClick>;
}

function slackTs(counter: number): string {
  return `${Math.floor(Date.now() / 1000)}.${String(counter).padStart(6, '0')}`;
}

function parseBody(request: SimRequest): Record<string, unknown> | undefined {
  const type = headerValue(request.headers, 'content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      const parsed = JSON.parse(request.body) as unknown;
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) {
    const form = Object.fromEntries(new URLSearchParams(request.body));
    if (typeof form.blocks === 'string') {
      try {
        return { ...form, blocks: JSON.parse(form.blocks) };
      } catch {
        return undefined;
      }
    }
    return form;
  }
  return undefined;
}

export async function startSlackSimulator(options: SimulatorOptions & { channels?: readonly string[]; token?: string } = {}): Promise<SlackSimulator> {
  const token = options.token ?? SIMULATOR_SLACK_BOT_TOKEN;
  const channels = new Set(options.channels ?? ['C0SOC', 'C0ONCALL']);
  const messages = new Map<string, SlackPostedMessage>();
  /** response_url path → the message it replaces. */
  const responseUrls = new Map<string, { key: string; uses: number }>();
  let counter = 0;
  const fail = (error: string, status = 200): SimAnswer => ({ status, body: { ok: false, error } });

  const sim = await startSimulator(
    {
      vendor: 'slack',
      errorBody: (status) => ({ ok: false, error: status === 429 ? 'ratelimited' : status >= 500 ? 'internal_error' : 'invalid_request' }),
      handle(request) {
        if (request.method !== 'POST') return { status: 405, body: { ok: false, error: 'method_not_supported_for_channel_type' } };
        if (request.path.startsWith('/actions/')) {
          // A response_url: no token, valid for a few uses.
          const target = responseUrls.get(request.path);
          if (!target) return { status: 404, raw: 'no_response_url', headers: { 'content-type': 'text/plain' } };
          if (++target.uses > 5) return { status: 410, raw: 'used_url', headers: { 'content-type': 'text/plain' } };
          const body = parseBody(request);
          const message = messages.get(target.key);
          if (!body || !message) return { status: 400, raw: 'invalid_payload', headers: { 'content-type': 'text/plain' } };
          if (body.replace_original === true || body.replace_original === 'true') {
            message.text = String(body.text ?? '');
            message.blocks = Array.isArray(body.blocks) ? (body.blocks as Array<Record<string, unknown>>) : [];
            message.history.push({ via: 'response_url', text: message.text, blocks: message.blocks });
          }
          return { status: 200, raw: 'ok', headers: { 'content-type': 'text/plain' } };
        }
        const method = /^\/api\/(chat\.postMessage|chat\.update)$/.exec(request.path)?.[1];
        if (!method) return fail('unknown_method', 404);
        const auth = headerValue(request.headers, 'authorization');
        if (!auth) return fail('not_authed');
        if (auth !== `Bearer ${token}`) return fail('invalid_auth');
        const body = parseBody(request);
        if (!body) return fail('invalid_form_data');
        const channel = typeof body.channel === 'string' ? body.channel : '';
        const text = typeof body.text === 'string' ? body.text : '';
        const blocks = Array.isArray(body.blocks) ? (body.blocks as Array<Record<string, unknown>>) : [];
        if (!channel) return fail('channel_not_found');
        if (!text && blocks.length === 0) return fail('no_text');
        if (blocks.length > 50) return fail('invalid_blocks');
        if (method === 'chat.postMessage') {
          if (!channels.has(channel)) return fail('channel_not_found');
          const ts = slackTs(++counter);
          const message: SlackPostedMessage = { channel, ts, text, blocks, history: [{ via: 'chat.postMessage', text, blocks }] };
          messages.set(`${channel}/${ts}`, message);
          return { status: 200, body: { ok: true, channel, ts, message: { type: 'message', subtype: 'bot_message', text, blocks, bot_id: 'B0RIPOSTE', ts } } };
        }
        const ts = typeof body.ts === 'string' ? body.ts : '';
        const message = messages.get(`${channel}/${ts}`);
        if (!channels.has(channel)) return fail('channel_not_found');
        if (!message) return fail('message_not_found');
        message.text = text;
        message.blocks = blocks;
        message.history.push({ via: 'chat.update', text, blocks });
        return { status: 200, body: { ok: true, channel, ts, text, message: { type: 'message', text, blocks, ts } } };
      },
    },
    options,
  );

  // The simulator itself, with the vendor's extras: its getters (url, requests) stay live.
  const extras: Omit<SlackSimulator, keyof VendorSimulator> = {
    channels,
    messages,
    message: (channel, ts) => messages.get(`${channel}/${ts}`),
    latest(channel) {
      return [...messages.values()].filter((m) => m.channel === channel).at(-1);
    },
    async click(o) {
      const key = `${o.channel}/${o.ts}`;
      const message = messages.get(key);
      if (!message) throw new Error(`slack simulator: no message ${key}`);
      const actionsBlock = message.blocks.find((b) => b.type === 'actions');
      const button = ((actionsBlock?.elements ?? []) as Array<Record<string, unknown>>).find((e) => e.action_id === o.actionId);
      if (!actionsBlock || !button) throw new Error(`slack simulator: message ${key} has no button ${o.actionId}`);
      const path = `/actions/T0LAB/${++counter}/${randomBytes(12).toString('hex')}`;
      responseUrls.set(path, { key, uses: 0 });
      const responseUrl = `${sim.url}${path}`;
      const payload = {
        type: 'block_actions',
        user: { id: o.user.id, username: o.user.name ?? o.user.id, name: o.user.name ?? o.user.id, team_id: 'T0LAB' },
        api_app_id: 'A0RIPOSTE',
        token: 'deprecated-verification-token',
        container: { type: 'message', message_ts: o.ts, channel_id: o.channel, is_ephemeral: false },
        trigger_id: `${counter}.${Date.now()}.${randomBytes(4).toString('hex')}`,
        team: { id: 'T0LAB', domain: 'riposte-lab' },
        channel: { id: o.channel, name: 'soc-approvals' },
        message: { type: 'message', ts: o.ts, text: message.text, blocks: message.blocks },
        response_url: responseUrl,
        actions: [
          {
            type: 'button',
            action_id: o.actionId,
            block_id: actionsBlock.block_id,
            value: button.value,
            text: button.text,
            action_ts: `${(Date.now() / 1000).toFixed(6)}`,
          },
        ],
      };
      const signed = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
      // Slack's v0 scheme, written out here (lab imports only core): HMAC-SHA256 over "v0:<timestamp>:<body>".
      const signature = `v0=${createHmac('sha256', o.signingSecret).update(`v0:${timestamp}:${signed}`).digest('hex')}`;
      const body = o.mutate ? o.mutate(signed) : signed;
      const response = await fetch(o.interactionsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signature,
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        },
        body,
      });
      return { status: response.status, body: await response.text(), responseUrl };
    },
  };
  return Object.assign(sim, extras);
}

// --- Microsoft Teams -----------------------------------------------------------------------------------

export interface TeamsReceivedCard {
  path: string;
  message: Record<string, unknown>;
  /** The Adaptive Card (attachments[0].content). */
  card: Record<string, unknown>;
}

export interface TeamsSimulator extends VendorSimulator {
  readonly received: TeamsReceivedCard[];
  /** The webhook URL to configure (a path under the simulator). */
  readonly webhookUrl: string;
}

/**
 * `flavour: 'webhook'` answers like a classic incoming webhook (200, body "1"); `'workflow'` like a
 * Workflows "when a Teams webhook request is received" trigger (202 Accepted, empty body).
 */
export async function startTeamsSimulator(options: SimulatorOptions & { flavour?: 'webhook' | 'workflow' } = {}): Promise<TeamsSimulator> {
  const flavour = options.flavour ?? 'webhook';
  const received: TeamsReceivedCard[] = [];
  const webhookPath =
    flavour === 'webhook' ? '/webhookb2/lab-team@lab-tenant/IncomingWebhook/0a1b2c/lab-user' : '/workflows/lab-flow/triggers/manual/paths/invoke';
  const bad = (why: string): SimAnswer =>
    flavour === 'webhook'
      ? { status: 400, raw: `Bad payload received by generic incoming webhook. (${why})`, headers: { 'content-type': 'text/plain' } }
      : { status: 400, body: { error: { code: 'InvalidRequestContent', message: why } } };
  const sim = await startSimulator(
    {
      vendor: 'teams',
      errorBody: (status) =>
        status === 429
          ? { error: { code: 'TooManyRequests', message: 'Microsoft Teams endpoint returned HTTP error 429' } }
          : { error: { code: 'InternalServerError', message: `HTTP ${status}` } },
      handle(request) {
        if (request.method !== 'POST') return { status: 405, raw: 'Method Not Allowed', headers: { 'content-type': 'text/plain' } };
        if (request.path !== webhookPath) return { status: 404, raw: 'Webhook not found', headers: { 'content-type': 'text/plain' } };
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(request.body) as Record<string, unknown>;
        } catch {
          return bad('body is not JSON');
        }
        if (message?.type !== 'message' || !Array.isArray(message.attachments)) return bad('expected {"type":"message","attachments":[…]}');
        const attachment = message.attachments[0] as Record<string, unknown> | undefined;
        const card = attachment?.content as Record<string, unknown> | undefined;
        if (attachment?.contentType !== 'application/vnd.microsoft.card.adaptive' || card?.type !== 'AdaptiveCard')
          return bad('attachment is not an Adaptive Card');
        if (!Array.isArray(card.body)) return bad('card has no body');
        received.push({ path: request.path, message, card });
        return flavour === 'webhook' ? { status: 200, raw: '1', headers: { 'content-type': 'text/plain; charset=utf-8' } } : { status: 202, raw: '' };
      },
    },
    options,
  );
  // The simulator itself, with the vendor's extras: its getters (url, requests) stay live.
  const extras: Omit<TeamsSimulator, keyof VendorSimulator> = {
    received,
    webhookUrl: `${sim.url}${webhookPath}`,
  };
  return Object.assign(sim, extras);
}

// --- PagerDuty Events API v2 ----------------------------------------------------------------------------

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; [key: string]: unknown };
  links?: Array<{ href: string; text?: string }>;
  [key: string]: unknown;
}

export interface PagerDutySimulator extends VendorSimulator {
  readonly events: PagerDutyEvent[];
}

export async function startPagerDutySimulator(options: SimulatorOptions & { routingKey?: string } = {}): Promise<PagerDutySimulator> {
  const routingKey = options.routingKey ?? SIMULATOR_PAGERDUTY_ROUTING_KEY;
  const events: PagerDutyEvent[] = [];
  const invalid = (...errors: string[]): SimAnswer => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } });
  const sim = await startSimulator(
    {
      vendor: 'pagerduty',
      errorBody: (status) =>
        status === 429
          ? { status: 'throttle event', message: 'Requests for this service are arriving too quickly.  Please retry later.' }
          : { status: 'error', message: `HTTP ${status}` },
      handle(request) {
        if (request.method !== 'POST' || request.path !== '/v2/enqueue') return { status: 404, body: { status: 'error', message: 'Not found' } };
        let event: PagerDutyEvent;
        try {
          event = JSON.parse(request.body) as PagerDutyEvent;
        } catch {
          return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] } };
        }
        if (event.routing_key !== routingKey) return invalid("'routing_key' is invalid");
        if (!['trigger', 'acknowledge', 'resolve'].includes(event.event_action)) return invalid("'event_action' is invalid");
        if (event.event_action === 'trigger') {
          const p = event.payload;
          if (!p?.summary || !p.source || !['critical', 'error', 'warning', 'info'].includes(p.severity)) {
            return invalid("'payload' needs summary, source and a severity of critical, error, warning or info");
          }
        } else if (!event.dedup_key) return invalid("'dedup_key' is required for acknowledge and resolve");
        events.push(event);
        const dedup = event.dedup_key ?? randomBytes(16).toString('hex');
        return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedup } };
      },
    },
    options,
  );
  // The simulator itself, with the vendor's extras: its getters (url, requests) stay live.
  const extras: Omit<PagerDutySimulator, keyof VendorSimulator> = {
    events,
  };
  return Object.assign(sim, extras);
}
