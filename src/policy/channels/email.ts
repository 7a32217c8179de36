import type { ApprovalRequest } from '../approvals.ts';
import { summarizeApproval } from './approval-summary.ts';

/**
 * The approval request as an e-mail to one approver: the same facts as Slack and Teams, with that
 * approver's one-time signed approve/reject links (which are bound to the arguments shown, so a later
 * edit makes them fail) and a link to the approval page. Sending is the mail integration's job.
 */
export interface ApprovalEmail {
  subject: string;
  text: string;
  html: string;
}

export interface ApprovalEmailLinks {
  reviewUrl: string;
  approveUrl?: string;
  rejectUrl?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function buildApprovalEmail(request: ApprovalRequest, links: ApprovalEmailLinks): ApprovalEmail {
  const s = summarizeApproval(request, 4000);
  // Subject lines are shown before anything is opened: no data beyond the action id (no header injection either).
  const subject = `[Riposte] Approval needed: ${request.action.id.replace(/[\r\n]/g, ' ')} (${request.required} approver${request.required === 1 ? '' : 's'})`;
  const lines = [
    s.title,
    '',
    'Why policy asks:',
    ...s.reasons.map((r) => `  - ${r}`),
    '',
    `Action:       ${s.action}`,
    `Needs:        ${s.quorum}`,
    `Expires:      ${s.expiresAtIso} (then ${request.on_expiry})`,
    `Requested by: ${request.requester}`,
    `Policy:       ${s.policyRef}`,
    `Evidence:     ${s.evidence.length > 0 ? s.evidence.join('; ') : 'none attached'}`,
    '',
    'Exact arguments:',
    s.argumentsText,
    '',
    ...(links.approveUrl ? [`Approve (one-time link): ${links.approveUrl}`] : []),
    ...(links.rejectUrl ? [`Reject (one-time link):  ${links.rejectUrl}`] : []),
    `Review or edit in Riposte: ${links.reviewUrl}`,
    '',
    `approval ${request.id} · arguments ${s.argumentsHashShort}`,
  ];
  const button = (url: string, label: string, color: string) =>
    `<a href="${escapeHtml(url)}" style="display:inline-block;padding:8px 16px;margin-right:8px;background:${color};color:#fff;text-decoration:none;border-radius:4px">${label}</a>`;
  const html = [
    `<h2>${escapeHtml(s.title)}</h2>`,
    '<p><strong>Why policy asks:</strong></p>',
    `<ul>${s.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`,
    '<table cellpadding="4">',
    ...[
      ['Action', s.action],
      ['Needs', s.quorum],
      ['Expires', `${s.expiresAtIso} (then ${request.on_expiry})`],
      ['Requested by', request.requester],
      ['Policy', s.policyRef],
      ['Evidence', s.evidence.length > 0 ? s.evidence.join('; ') : 'none attached'],
    ].map(([k, v]) => `<tr><th align="left">${escapeHtml(k as string)}</th><td>${escapeHtml(v as string)}</td></tr>`),
    '</table>',
    '<p><strong>Exact arguments:</strong></p>',
    `<pre>${escapeHtml(s.argumentsText)}</pre>`,
    '<p>',
    links.approveUrl ? button(links.approveUrl, 'Approve', '#2e7d32') : '',
    links.rejectUrl ? button(links.rejectUrl, 'Reject', '#c62828') : '',
    button(links.reviewUrl, 'Review in Riposte', '#455a64'),
    '</p>',
    `<p style="color:#777;font-size:small">approval ${escapeHtml(request.id)} · arguments ${s.argumentsHashShort} · each link works once and expires</p>`,
  ].join('\n');
  return { subject, text: lines.join('\n'), html };
}

/** The follow-up after an approval is resolved (sent in reply to the request e-mail). */
export function buildApprovalOutcomeEmail(request: ApprovalRequest, links: { reviewUrl: string }): ApprovalEmail {
  const s = summarizeApproval(request, 2000);
  const last = request.decisions.at(-1);
  const note = last?.comment ?? last?.reason;
  const subject = `[Riposte] ${request.action.id.replace(/[\r\n]/g, ' ')}: ${s.status.replace(/[\r\n]/g, ' ')}`.slice(0, 300);
  const lines = [
    `${request.action.id}: ${s.status}`,
    ...(note ? ['', `"${note}"`] : []),
    '',
    'Arguments:',
    s.argumentsText,
    '',
    `Open in Riposte: ${links.reviewUrl}`,
    '',
    `approval ${request.id} · arguments ${s.argumentsHashShort} · any one-time links for it no longer work`,
  ];
  const html = [
    `<p><strong>${escapeHtml(`${request.action.id}: ${s.status}`)}</strong></p>`,
    note ? `<blockquote>${escapeHtml(note)}</blockquote>` : '',
    `<pre>${escapeHtml(s.argumentsText)}</pre>`,
    `<p><a href="${escapeHtml(links.reviewUrl)}">Open in Riposte</a></p>`,
    `<p style="color:#777;font-size:small">approval ${escapeHtml(request.id)} · arguments ${s.argumentsHashShort}</p>`,
  ].join('\n');
  return { subject, text: lines.join('\n'), html };
}

/** The on-call page when policy says page_on_call (blast radius): short, with the way into Riposte. */
export function buildOnCallPageEmail(request: ApprovalRequest, links: { reviewUrl: string }): ApprovalEmail {
  const s = summarizeApproval(request, 1500);
  const subject = `[Riposte] PAGE: ${request.action.id.replace(/[\r\n]/g, ' ')} held for ${request.required} approvers`;
  const text = [
    `Policy paged the on-call: ${request.action.id} is held for ${request.required} distinct approvers.`,
    '',
    ...s.reasons.map((r) => `  - ${r}`),
    '',
    `Expires: ${s.expiresAtIso} (then ${request.on_expiry})`,
    `Review in Riposte: ${links.reviewUrl}`,
    '',
    `approval ${request.id}`,
  ].join('\n');
  const html = [
    `<p><strong>Policy paged the on-call:</strong> ${escapeHtml(request.action.id)} is held for ${request.required} distinct approvers.</p>`,
    `<ul>${s.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`,
    `<p>Expires ${escapeHtml(s.expiresAtIso)} (then ${request.on_expiry}). <a href="${escapeHtml(links.reviewUrl)}">Review in Riposte</a></p>`,
  ].join('\n');
  return { subject, text, html };
}
