import type { ApprovalRequest, SignedDecision } from '../approvals.ts';
import { summarizeApproval } from './approval-summary.ts';

/**
 * Microsoft Teams approval cards. Teams incoming webhooks (and the Workflows "when a Teams webhook
 * request is received" flow that replaces them) accept a message whose attachment is an Adaptive Card;
 * they cannot call Riposte back (no bot), so the card carries `Action.OpenUrl` links: to the approval
 * page in Riposte, where the approver signs in and decides, and optionally one-time signed links.
 * Cards posted through a webhook cannot be edited later, so a decision posts a short follow-up card.
 */
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
/** 1.4 renders in every Teams client that accepts webhook cards. */
export const ADAPTIVE_CARD_VERSION = '1.4';

export interface TeamsWebhookMessage {
  type: 'message';
  attachments: Array<{ contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; contentUrl: null; content: Record<string, unknown> }>;
}

/** An Adaptive Card in the message envelope Teams webhooks take. */
export function wrapAdaptiveCard(card: Record<string, unknown>): TeamsWebhookMessage {
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: ADAPTIVE_CARD_VERSION,
          msteams: { width: 'Full' },
          ...card,
        },
      },
    ],
  };
}

/**
 * Adaptive Card text supports a Markdown subset: neutralise what would turn data (a domain, an argument)
 * into a link or bold text that could mislead the approver. Underscores stay (action ids are full of them;
 * at worst they italicise).
 */
export function escapeCardText(text: string): string {
  return text.replace(/([\\*[\]<>])/g, '\\$1');
}

export interface TeamsCardOptions {
  /** The approval page in Riposte (sign-in required). */
  reviewUrl: string;
  /** Optional one-time signed links (for a named approver), shown as extra buttons. */
  signedLinks?: { approve?: string; reject?: string };
}

export function buildTeamsApprovalCard(request: ApprovalRequest, options: TeamsCardOptions): TeamsWebhookMessage {
  const s = summarizeApproval(request, 1500);
  const actions: Array<Record<string, unknown>> = [
    { type: 'Action.OpenUrl', title: 'Review and decide in Riposte', url: options.reviewUrl, style: 'positive' },
  ];
  if (options.signedLinks?.approve) actions.push({ type: 'Action.OpenUrl', title: 'Approve (one-time link)', url: options.signedLinks.approve });
  if (options.signedLinks?.reject)
    actions.push({ type: 'Action.OpenUrl', title: 'Reject (one-time link)', url: options.signedLinks.reject, style: 'destructive' });
  return wrapAdaptiveCard({
    body: [
      { type: 'TextBlock', size: 'Large', weight: 'Bolder', text: escapeCardText(s.title), wrap: true },
      { type: 'TextBlock', text: 'Why policy asks:', weight: 'Bolder', wrap: true },
      ...s.reasons.map((reason) => ({ type: 'TextBlock', text: `- ${escapeCardText(reason)}`, wrap: true, spacing: 'None' })),
      {
        type: 'FactSet',
        facts: [
          { title: 'Action', value: escapeCardText(s.action) },
          { title: 'Needs', value: escapeCardText(s.quorum) },
          { title: 'Expires', value: `${s.expiresAtIso} (then ${request.on_expiry})` },
          { title: 'Requested by', value: escapeCardText(request.requester) },
          { title: 'Evidence', value: s.evidence.length > 0 ? escapeCardText(s.evidence.join('; ')) : 'none attached' },
          { title: 'Policy', value: escapeCardText(s.policyRef) },
        ],
      },
      { type: 'TextBlock', text: 'Exact arguments', weight: 'Bolder', wrap: true },
      { type: 'TextBlock', text: escapeCardText(s.argumentsText), fontType: 'Monospace', wrap: true, spacing: 'None' },
      { type: 'TextBlock', text: `approval ${request.id} · arguments ${s.argumentsHashShort}`, isSubtle: true, size: 'Small', wrap: true },
    ],
    actions,
  });
}

const DECISION_WORDS: Record<SignedDecision['decision'], string> = {
  approve: 'Approved',
  reject: 'Rejected',
  break_glass: 'Approved by break-glass',
  expire: 'Expired; resolved',
};

/** The follow-up card after a decision (webhook cards cannot be updated in place). */
export function buildTeamsDecisionCard(request: ApprovalRequest, options: { reviewUrl: string }): TeamsWebhookMessage {
  const s = summarizeApproval(request);
  const color = request.status === 'approved' ? (request.review_required ? 'Warning' : 'Good') : request.status === 'rejected' ? 'Attention' : 'Default';
  const last = request.decisions.at(-1);
  return wrapAdaptiveCard({
    body: [
      { type: 'TextBlock', weight: 'Bolder', color, text: escapeCardText(`${request.action.id}: ${s.status}`), wrap: true },
      ...(last
        ? [
            {
              type: 'TextBlock',
              text: escapeCardText(`${DECISION_WORDS[last.decision]} by ${last.approver}`),
              wrap: true,
              spacing: 'None',
            },
          ]
        : []),
      ...(last?.comment || last?.reason ? [{ type: 'TextBlock', text: escapeCardText(last.comment ?? last.reason ?? ''), wrap: true, isSubtle: true }] : []),
      { type: 'TextBlock', text: `approval ${request.id} · arguments ${s.argumentsHashShort}`, isSubtle: true, size: 'Small', wrap: true },
    ],
    actions: [{ type: 'Action.OpenUrl', title: 'Open in Riposte', url: options.reviewUrl }],
  });
}

/** The on-call page as a card (Teams on-call channel). */
export function buildTeamsOnCallCard(request: ApprovalRequest, options: { reviewUrl: string }): TeamsWebhookMessage {
  const s = summarizeApproval(request, 1000);
  return wrapAdaptiveCard({
    body: [
      {
        type: 'TextBlock',
        weight: 'Bolder',
        color: 'Attention',
        text: escapeCardText(`Policy paged the on-call: ${request.action.id} is held for ${request.required} approvers`),
        wrap: true,
      },
      ...s.reasons.map((reason) => ({ type: 'TextBlock', text: `- ${escapeCardText(reason)}`, wrap: true, spacing: 'None' })),
      { type: 'TextBlock', text: `approval ${request.id} · expires ${s.expiresAtIso} (then ${request.on_expiry})`, isSubtle: true, size: 'Small', wrap: true },
    ],
    actions: [{ type: 'Action.OpenUrl', title: 'Review in Riposte', url: options.reviewUrl }],
  });
}
