import { escapeSlackText, SLACK_STEP_APPROVE_ACTION, SLACK_STEP_REJECT_ACTION, type SlackMessage, slackDecisionButtons } from './slack.ts';
import { escapeCardText, type TeamsWebhookMessage, wrapAdaptiveCard } from './teams.ts';

/**
 * Messages for a playbook's own `approval:` step (not a policy approval): the rendered prompt and where
 * it comes from (playbook, run, case, who started it), who may answer and by when, and the way into
 * Riposte. Deliberately no run inputs beyond what the prompt already shows: a prompt is written by the
 * playbook's author to be read by approvers, the inputs are not. Decided in Riposte (UI, API), where
 * separation of duties and the step's approvers list are enforced: the messages carry links, and Slack
 * (whose clicks are signed and come from a mapped user) Approve/Reject buttons that go through the same check.
 */
export interface StepApprovalFacts {
  run_id: string;
  step: string;
  /** Already rendered by the engine when the run parked. */
  prompt: string;
  playbook: { id: string; version: number; title?: string | undefined };
  case_id: string | null;
  started_by: string | null;
  /** Null: no timeout, the run waits until someone decides. */
  expires_at: number | null;
  on_timeout: string;
  /** Users or roles; empty: anyone allowed to decide approvals. */
  approvers: readonly string[];
  run_url: string;
  inbox_url: string;
  case_url?: string | undefined;
}

export interface StepApprovalOutcome {
  status: 'approved' | 'rejected' | 'timed_out' | 'cancelled';
  by: string | null;
  comment: string | null;
  /** One line: "approved by carol: reason", "timed out (rejected automatically)". */
  text: string;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export function stepApprovalTitle(facts: StepApprovalFacts): string {
  return `Approval needed: ${facts.playbook.title ?? facts.playbook.id} (step ${facts.step})`;
}

function whoMay(facts: StepApprovalFacts): string {
  const listed = facts.approvers.length > 0 ? facts.approvers.join(', ') : 'anyone who may decide approvals';
  return `${listed}; not ${facts.started_by ? `${facts.started_by} (started the run) nor ` : ''}the playbook's author`;
}

function expiry(facts: StepApprovalFacts): string {
  return facts.expires_at === null ? 'no timeout' : `${new Date(facts.expires_at).toISOString()} (then ${facts.on_timeout})`;
}

function facts(f: StepApprovalFacts): Array<[string, string]> {
  return [
    ['Playbook', `${f.playbook.title ? `${f.playbook.title} — ` : ''}${f.playbook.id} v${f.playbook.version}`],
    ['Run', f.run_id],
    ['Case', f.case_id ?? 'none'],
    ['Started by', f.started_by ?? 'a trigger'],
    ['Who may decide', whoMay(f)],
    ['Expires', expiry(f)],
  ];
}

/** `buttons`: Approve/Reject buttons (only when Slack clicks can be verified, i.e. a signing secret is set). */
export function buildSlackStepApprovalMessage(f: StepApprovalFacts, outcome?: StepApprovalOutcome, options: { buttons?: boolean } = {}): SlackMessage {
  const title = stepApprovalTitle(f);
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`>${escapeSlackText(f.prompt).replace(/\n/g, '\n>')}`, 3000) } },
    {
      type: 'section',
      fields: facts(f).map(([k, v]) => ({
        type: 'mrkdwn',
        text: cut(`*${k}*\n${k === 'Case' && f.case_url && f.case_id ? `<${f.case_url}|${escapeSlackText(v)}>` : escapeSlackText(v)}`, 2000),
      })),
    },
  ];
  if (outcome) {
    const icon = outcome.status === 'approved' ? ':white_check_mark:' : outcome.status === 'cancelled' ? ':heavy_minus_sign:' : ':no_entry:';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`${icon} *${escapeSlackText(outcome.text)}*`, 3000) } });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: cut(`run ${f.run_id} · step ${escapeSlackText(f.step)} · <${f.run_url}|open the run in Riposte>`, 3000) }],
  });
  if (!outcome) {
    blocks.push({
      type: 'actions',
      block_id: `riposte.step-approval:${f.run_id}`,
      elements: [
        ...(options.buttons ? slackStepButtons(f) : []),
        {
          type: 'button',
          action_id: 'riposte.step-approval.open',
          ...(options.buttons ? {} : { style: 'primary' }),
          text: { type: 'plain_text', text: 'Decide in Riposte' },
          url: f.run_url,
        },
        { type: 'button', action_id: 'riposte.step-approval.inbox', text: { type: 'plain_text', text: 'Approvals inbox' }, url: f.inbox_url },
      ],
    });
  }
  return {
    text: outcome ? `${title}: ${outcome.text}` : `${title}: ${cut(oneLine(f.prompt), 200)}`,
    blocks,
  };
}

function slackStepButtons(f: StepApprovalFacts): Array<Record<string, unknown>> {
  return slackDecisionButtons({
    approve: SLACK_STEP_APPROVE_ACTION,
    reject: SLACK_STEP_REJECT_ACTION,
    value: `${f.run_id}|${f.step}`,
    confirmTitle: 'Reject this step?',
    confirmText: 'The step fails and the playbook takes its rejection path.',
  });
}

export function buildTeamsStepApprovalCard(f: StepApprovalFacts): TeamsWebhookMessage {
  return wrapAdaptiveCard({
    body: [
      { type: 'TextBlock', size: 'Large', weight: 'Bolder', text: escapeCardText(stepApprovalTitle(f)), wrap: true },
      { type: 'TextBlock', text: escapeCardText(cut(f.prompt, 3000)), wrap: true },
      { type: 'FactSet', facts: facts(f).map(([title, value]) => ({ title, value: escapeCardText(value) })) },
      { type: 'TextBlock', text: `run ${f.run_id} · step ${escapeCardText(f.step)}`, isSubtle: true, size: 'Small', wrap: true },
    ],
    actions: [
      { type: 'Action.OpenUrl', title: 'Decide in Riposte', url: f.run_url, style: 'positive' },
      { type: 'Action.OpenUrl', title: 'Approvals inbox', url: f.inbox_url },
    ],
  });
}

export function buildTeamsStepDecisionCard(f: StepApprovalFacts, outcome: StepApprovalOutcome): TeamsWebhookMessage {
  const color = outcome.status === 'approved' ? 'Good' : outcome.status === 'cancelled' ? 'Default' : 'Attention';
  return wrapAdaptiveCard({
    body: [
      {
        type: 'TextBlock',
        weight: 'Bolder',
        color,
        text: escapeCardText(`${stepApprovalTitle(f).replace(/^Approval needed: /, '')}: ${outcome.text}`),
        wrap: true,
      },
      { type: 'TextBlock', text: `run ${f.run_id} · step ${escapeCardText(f.step)}`, isSubtle: true, size: 'Small', wrap: true },
    ],
    actions: [{ type: 'Action.OpenUrl', title: 'Open the run in Riposte', url: f.run_url }],
  });
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function buildStepApprovalEmail(f: StepApprovalFacts): { subject: string; text: string; html: string } {
  // Subject lines show before anything is opened: the playbook and step only, never the prompt.
  const subject = oneLine(`[Riposte] ${stepApprovalTitle(f)}`).slice(0, 300);
  const text = [
    stepApprovalTitle(f),
    '',
    f.prompt,
    '',
    ...facts(f).map(([k, v]) => `${`${k}:`.padEnd(16)}${v}`),
    '',
    `Decide in Riposte: ${f.run_url}`,
    `Approvals inbox:   ${f.inbox_url}`,
    '',
    `run ${f.run_id} · step ${f.step}`,
  ].join('\n');
  const html = [
    `<h2>${escapeHtml(stepApprovalTitle(f))}</h2>`,
    `<blockquote style="white-space:pre-wrap">${escapeHtml(f.prompt)}</blockquote>`,
    '<table cellpadding="4">',
    ...facts(f).map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    `<p><a href="${escapeHtml(f.run_url)}" style="display:inline-block;padding:8px 16px;background:#2e7d32;color:#fff;text-decoration:none;border-radius:4px">Decide in Riposte</a> <a href="${escapeHtml(f.inbox_url)}">Approvals inbox</a></p>`,
    `<p style="color:#777;font-size:small">run ${escapeHtml(f.run_id)} · step ${escapeHtml(f.step)}</p>`,
  ].join('\n');
  return { subject, text, html };
}

export function buildStepApprovalOutcomeEmail(f: StepApprovalFacts, outcome: StepApprovalOutcome): { subject: string; text: string; html: string } {
  const name = stepApprovalTitle(f).replace(/^Approval needed: /, '');
  const subject = oneLine(`[Riposte] ${name}: ${outcome.text}`).slice(0, 300);
  const text = [`${name}: ${outcome.text}`, '', `Open the run in Riposte: ${f.run_url}`, '', `run ${f.run_id} · step ${f.step}`].join('\n');
  const html = [
    `<p><strong>${escapeHtml(`${name}: ${outcome.text}`)}</strong></p>`,
    `<p><a href="${escapeHtml(f.run_url)}">Open the run in Riposte</a></p>`,
    `<p style="color:#777;font-size:small">run ${escapeHtml(f.run_id)} · step ${escapeHtml(f.step)}</p>`,
  ].join('\n');
  return { subject, text, html };
}
