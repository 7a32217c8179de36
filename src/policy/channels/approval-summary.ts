import type { ApprovalRequest } from '../approvals.ts';
import { countedApprovers } from '../approvals.ts';

/**
 * The facts every channel shows an approver before they decide, in one place so Slack, Teams and e-mail
 * say the same thing: the exact action and arguments, why policy asked, the evidence, the quorum and
 * the deadline. Text is plain; each channel escapes it for its own markup.
 */
export interface ApprovalSummary {
  title: string;
  action: string;
  /** Pretty JSON of the exact arguments, cut to `maxArgumentsChars` with a note when longer. */
  argumentsText: string;
  argumentsHashShort: string;
  reasons: string[];
  evidence: string[];
  quorum: string;
  approvedBy: string[];
  expiresAtIso: string;
  policyRef: string;
  status: string;
}

export function summarizeApproval(request: ApprovalRequest, maxArgumentsChars = 1500): ApprovalSummary {
  const full = JSON.stringify(request.arguments, null, 2);
  const argumentsText =
    full.length > maxArgumentsChars ? `${full.slice(0, maxArgumentsChars)}\n… (${full.length - maxArgumentsChars} more characters: open in Riposte)` : full;
  const approvedBy = countedApprovers(request);
  const resolution = request.resolution;
  let status = `waiting: ${approvedBy.length} of ${request.required} approval${request.required === 1 ? '' : 's'}`;
  if (resolution) {
    const how = {
      quorum: 'approved',
      rejected: 'rejected',
      expired: `expired (${resolution.outcome})`,
      break_glass: 'approved by break-glass (flagged for review)',
    }[resolution.how];
    status = `${how} by ${resolution.how === 'quorum' ? approvedBy.join(', ') : resolution.by}`;
  }
  return {
    title: `Approval needed: ${request.action.id}`,
    action: `${request.action.id} (${request.action.impact})`,
    argumentsText,
    argumentsHashShort: request.arguments_hash.slice(0, 12),
    reasons: request.policy.reasons.map((r) => r.text),
    evidence: request.evidence.map((e) => `${e.kind} ${e.title ?? e.id}`),
    quorum: `${request.required} distinct approver${request.required === 1 ? '' : 's'} (roles: ${request.roles.join(', ')}); the requester, the run's initiator and the playbook's last author cannot approve`,
    approvedBy,
    expiresAtIso: new Date(request.expires_at).toISOString(),
    policyRef: `${request.policy.rule.policy_id} v${request.policy.rule.policy_version}, rule ${request.policy.rule.id}`,
    status,
  };
}
