import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, RiposteError } from '../../core/index.ts';
import type { ApprovalRequest, OnceLedger } from '../approvals.ts';
import { summarizeApproval } from './approval-summary.ts';

/**
 * Slack approvals without an SDK: verifying that a request really comes from Slack (signing secret,
 * v0 scheme), reading the `block_actions` payload a button click sends, and building the Block Kit
 * message and its "decided by" update. The HTTP route and the Slack Web API calls live elsewhere.
 *
 * Slack's scheme: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`,
 * refused when the timestamp is more than five minutes from now (replays of old captures), and here
 * additionally refused when the same signature is seen twice within that window (replays of fresh ones).
 */
export const SLACK_TOLERANCE_MS = 5 * 60_000;
export const SLACK_APPROVE_ACTION = 'riposte.approval.approve';
export const SLACK_REJECT_ACTION = 'riposte.approval.reject';
const BLOCK_ID_PREFIX = 'riposte.approval:';

function slackError(code: string, message: string, status = 401): RiposteError {
  return new RiposteError(code, message, { status });
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const direct = headers[name] ?? headers[name.toLowerCase()] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(direct) ? direct[0] : direct;
}

/** The v0 signature Slack would send for this body and timestamp (also used by the Slack simulator and tests). */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export interface SlackVerification {
  /** Exactly the bytes received: re-serialised JSON or form data will not verify. */
  rawBody: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
  signingSecret: string;
  clock: Clock;
  /** Remembers signatures for the tolerance window: a second delivery of the same request is refused. */
  ledger: OnceLedger;
  toleranceMs?: number;
}

/**
 * Throws slack.signature_missing, slack.stale_request, slack.bad_signature or slack.replayed; returns
 * when the request is authentic and seen for the first time. The comparison is constant-time.
 */
export async function verifySlackRequest(request: SlackVerification): Promise<void> {
  const timestamp = header(request.headers, 'X-Slack-Request-Timestamp');
  const signature = header(request.headers, 'X-Slack-Signature');
  if (!timestamp || !signature) throw slackError('slack.signature_missing', 'Slack request lacks X-Slack-Signature or X-Slack-Request-Timestamp');
  if (!/^\d{1,12}$/.test(timestamp)) throw slackError('slack.bad_signature', 'X-Slack-Request-Timestamp is not a Unix time in seconds');
  const tolerance = request.toleranceMs ?? SLACK_TOLERANCE_MS;
  const sentAt = Number(timestamp) * 1000;
  if (Math.abs(request.clock.now() - sentAt) > tolerance) {
    throw slackError(
      'slack.stale_request',
      `Slack request timestamp is more than ${Math.round(tolerance / 60_000)} minutes from now; refusing a possible replay`,
    );
  }
  const expected = Buffer.from(slackSignature(request.signingSecret, timestamp, request.rawBody));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw slackError('slack.bad_signature', 'Slack request signature does not match the signing secret');
  }
  if (!(await request.ledger.claim(`slack:${signature}`, sentAt + tolerance))) {
    throw slackError('slack.replayed', 'this Slack request was already received; refusing the replay', 409);
  }
}

export interface SlackApprovalClick {
  approval_id: string;
  /** The arguments hash on the message the user clicked: a click on an outdated message is refused. */
  arguments_hash: string;
  decision: 'approve' | 'reject';
  slack_user: { id: string; username?: string; name?: string; team_id?: string };
  /** Where to post the "decided by" update (valid for 30 minutes, 5 uses). */
  response_url: string | undefined;
  channel_id: string | undefined;
  message_ts: string | undefined;
  action_ts: string | undefined;
}

/**
 * Reads an interactive request body (`application/x-www-form-urlencoded`, one field `payload` holding
 * JSON) and returns the Riposte approval click in it. Throws slack.invalid_payload for anything else,
 * slack.not_an_approval for clicks on other apps' buttons.
 */
export function parseSlackApprovalClick(rawBody: string | Buffer): SlackApprovalClick {
  const invalid = (why: string) => slackError('slack.invalid_payload', `Slack interaction payload: ${why}`, 400);
  const payloadText = new URLSearchParams(rawBody.toString()).get('payload');
  if (payloadText === null) throw invalid('no payload= field in the form body');
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(payloadText) as Record<string, unknown>;
  } catch {
    throw invalid('payload is not JSON');
  }
  if (payload === null || typeof payload !== 'object') throw invalid('payload is not an object');
  if (payload.type !== 'block_actions') throw invalid(`type is ${JSON.stringify(payload.type)}, expected "block_actions"`);
  const user = payload.user as Record<string, unknown> | undefined;
  if (!user || typeof user.id !== 'string') throw invalid('user.id is missing');
  const actions = Array.isArray(payload.actions) ? (payload.actions as Array<Record<string, unknown>>) : [];
  const action = actions.find((a) => a.action_id === SLACK_APPROVE_ACTION || a.action_id === SLACK_REJECT_ACTION);
  if (!action) throw slackError('slack.not_an_approval', 'the Slack interaction is not a click on a Riposte approval button', 400);
  const value = typeof action.value === 'string' ? action.value : '';
  const match = /^([A-Za-z0-9-]{1,64}):([0-9a-f]{64})$/.exec(value);
  if (!match) throw invalid('the button value is not "<approval id>:<arguments hash>"');
  const container = (payload.container ?? {}) as Record<string, unknown>;
  const channel = (payload.channel ?? {}) as Record<string, unknown>;
  const message = (payload.message ?? {}) as Record<string, unknown>;
  const team = (payload.team ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    approval_id: match[1] as string,
    arguments_hash: match[2] as string,
    decision: action.action_id === SLACK_APPROVE_ACTION ? 'approve' : 'reject',
    slack_user: { id: user.id, username: str(user.username), name: str(user.name), team_id: str(user.team_id) ?? str(team.id) },
    response_url: str(payload.response_url),
    channel_id: str(container.channel_id) ?? str(channel.id),
    message_ts: str(container.message_ts) ?? str(message.ts),
    action_ts: str(action.action_ts),
  };
}

/** Buttons on a playbook approval step's message ("<run id>|<step key>"); decided through the engine. */
export const SLACK_STEP_APPROVE_ACTION = 'riposte.step.approve';
export const SLACK_STEP_REJECT_ACTION = 'riposte.step.reject';

export interface SlackStepClick {
  run_id: string;
  step_key: string;
  decision: 'approve' | 'reject';
  slack_user: { id: string; username?: string; name?: string; team_id?: string };
}

/**
 * The click on a playbook approval step's button in a verified interaction body, or undefined when the
 * interaction is anything else (then parseSlackApprovalClick says what it is). Throws slack.invalid_payload
 * for a step click that is malformed.
 */
export function parseSlackStepClick(rawBody: string | Buffer): SlackStepClick | undefined {
  const payloadText = new URLSearchParams(rawBody.toString()).get('payload');
  if (payloadText === null) return undefined;
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(payloadText) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object' || payload.type !== 'block_actions') return undefined;
  const actions = Array.isArray(payload.actions) ? (payload.actions as Array<Record<string, unknown>>) : [];
  const action = actions.find((a) => a.action_id === SLACK_STEP_APPROVE_ACTION || a.action_id === SLACK_STEP_REJECT_ACTION);
  if (!action) return undefined;
  const invalid = (why: string) => slackError('slack.invalid_payload', `Slack interaction payload: ${why}`, 400);
  const user = payload.user as Record<string, unknown> | undefined;
  if (!user || typeof user.id !== 'string') throw invalid('user.id is missing');
  const match = /^([A-Za-z0-9_-]{1,64})\|(.{1,256})$/s.exec(typeof action.value === 'string' ? action.value : '');
  if (!match) throw invalid('the button value is not "<run id>|<step key>"');
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    run_id: match[1] as string,
    step_key: match[2] as string,
    decision: action.action_id === SLACK_STEP_APPROVE_ACTION ? 'approve' : 'reject',
    slack_user: { id: user.id, username: str(user.username), name: str(user.name), team_id: str(user.team_id) },
  };
}

/** Slack mrkdwn treats &, < and > as markup (<!channel>, <url|label>): escape anything that came from data. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function slackDate(ms: number, iso: string): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${iso}>`;
}

export interface SlackMessage {
  /** Fallback text for notifications and screen readers. */
  text: string;
  blocks: Array<Record<string, unknown>>;
}

function describeBlocks(request: ApprovalRequest, reviewUrl: string): Array<Record<string, unknown>> {
  const s = summarizeApproval(request, 2500);
  const reasons = s.reasons.map((r) => `• ${escapeSlackText(r)}`).join('\n');
  const evidence = s.evidence.length > 0 ? s.evidence.map((e) => `• ${escapeSlackText(e)}`).join('\n') : '_none attached_';
  return [
    { type: 'header', text: { type: 'plain_text', text: cut(s.title, 150) } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`*Why policy asks:*\n${reasons}`, 3000) },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Action*\n\`${escapeSlackText(s.action)}\`` },
        { type: 'mrkdwn', text: `*Needs*\n${request.required} distinct approver${request.required === 1 ? '' : 's'}` },
        { type: 'mrkdwn', text: `*Expires*\n${slackDate(request.expires_at, s.expiresAtIso)} → ${request.on_expiry}` },
        { type: 'mrkdwn', text: `*Requested by*\n${escapeSlackText(request.requester)}` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`*Exact arguments*\n\`\`\`${escapeSlackText(s.argumentsText)}\`\`\``, 3000) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`*Evidence*\n${evidence}`, 3000) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: cut(`approval ${request.id} · arguments ${s.argumentsHashShort} · ${escapeSlackText(s.policyRef)} · <${reviewUrl}|open in Riposte>`, 3000),
        },
      ],
    },
  ];
}

/** Approve and Reject buttons carrying `value`; rejecting asks for confirmation first. */
export function slackDecisionButtons(options: {
  approve: string;
  reject: string;
  value: string;
  confirmTitle: string;
  confirmText: string;
}): Array<Record<string, unknown>> {
  return [
    { type: 'button', action_id: options.approve, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: options.value },
    {
      type: 'button',
      action_id: options.reject,
      style: 'danger',
      text: { type: 'plain_text', text: 'Reject' },
      value: options.value,
      confirm: {
        title: { type: 'plain_text', text: options.confirmTitle },
        text: { type: 'plain_text', text: options.confirmText },
        confirm: { type: 'plain_text', text: 'Reject' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    },
  ];
}

/**
 * The approval request as an interactive Block Kit message. Buttons carry "<approval id>:<arguments hash>",
 * so a click on a message that shows outdated arguments is refused rather than approving something else.
 */
export function buildSlackApprovalMessage(request: ApprovalRequest, options: { reviewUrl: string }): SlackMessage {
  const value = `${request.id}:${request.arguments_hash}`;
  const s = summarizeApproval(request);
  return {
    text: `${s.title}: ${request.required} approver(s) needed before ${new Date(request.expires_at).toISOString()}`,
    blocks: [
      ...describeBlocks(request, options.reviewUrl),
      {
        type: 'actions',
        block_id: `${BLOCK_ID_PREFIX}${request.id}`,
        elements: [
          ...slackDecisionButtons({
            approve: SLACK_APPROVE_ACTION,
            reject: SLACK_REJECT_ACTION,
            value,
            confirmTitle: 'Reject this action?',
            confirmText: 'One rejection stops the action for good.',
          }),
          { type: 'button', action_id: 'riposte.approval.open', text: { type: 'plain_text', text: 'Review / edit in Riposte' }, url: options.reviewUrl },
        ],
      },
    ],
  };
}

/**
 * The update posted to the click's response_url (or chat.update) after a decision: while the quorum is
 * incomplete the buttons stay and the message says who approved so far; once resolved the buttons go and
 * the message says who decided and how.
 */
export function buildSlackDecisionUpdate(request: ApprovalRequest, options: { reviewUrl: string; error?: string }): SlackMessage & { replace_original: true } {
  const s = summarizeApproval(request);
  if (request.status === 'pending') {
    const message = buildSlackApprovalMessage(request, options);
    const progress = {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: escapeSlackText(
            `${s.status}${s.approvedBy.length > 0 ? ` (so far: ${s.approvedBy.join(', ')})` : ''}${options.error ? ` — ${options.error}` : ''}`,
          ),
        },
      ],
    };
    return { replace_original: true, text: `${s.title}: ${s.status}`, blocks: [...message.blocks.slice(0, -1), progress, ...message.blocks.slice(-1)] };
  }
  const icon = request.status === 'approved' ? (request.review_required ? ':rotating_light:' : ':white_check_mark:') : ':no_entry:';
  const comment = request.decisions.at(-1)?.comment ?? request.decisions.at(-1)?.reason;
  return {
    replace_original: true,
    text: `${request.action.id}: ${s.status}`,
    blocks: [
      ...describeBlocks(request, options.reviewUrl),
      {
        type: 'section',
        text: { type: 'mrkdwn', text: cut(`${icon} *${escapeSlackText(s.status)}*${comment ? `\n> ${escapeSlackText(comment)}` : ''}`, 3000) },
      },
    ],
  };
}

/** The on-call page in Slack: who is needed and why, with the way into Riposte (the approval message carries the buttons). */
export function buildSlackOnCallPage(request: ApprovalRequest, options: { reviewUrl: string }): SlackMessage {
  const s = summarizeApproval(request);
  const reasons = s.reasons.map((r) => `• ${escapeSlackText(r)}`).join('\n');
  return {
    text: `Page: ${request.action.id} is held for ${request.required} approvers`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: cut(
            `:rotating_light: *Policy paged the on-call*: \`${escapeSlackText(request.action.id)}\` is held for ${request.required} distinct approvers.\n${reasons}`,
            3000,
          ),
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `approval ${request.id} · expires ${slackDate(request.expires_at, s.expiresAtIso)} → ${request.on_expiry} · <${options.reviewUrl}|review in Riposte>`,
          },
        ],
      },
    ],
  };
}
