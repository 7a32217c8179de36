import { RiposteError } from '../core/index.ts';
import { hashArguments } from './approvals.ts';
import type { PolicyDecision } from './evaluate-policy.ts';
import type { PolicyInput } from './policy-input.ts';

/**
 * The shapes the runner writes when policy has spoken: one record for the case timeline and the audit
 * chain (the same everywhere, so an auditor can match them), and the error a denied step fails with.
 */
export interface PolicyDecisionRecord {
  action: string;
  impact: string;
  /** sha256 of the canonical arguments, the same hash approvals sign. */
  arguments_hash: string;
  targets: string[];
  decision: PolicyDecision['decision'];
  rule: PolicyDecision['rule'];
  reasons: PolicyDecision['reasons'];
  approval?: Extract<PolicyDecision, { decision: 'require_approval' }>['approval'];
  requester: string;
  run_id?: string;
}

export function policyDecisionRecord(input: PolicyInput, decision: PolicyDecision): PolicyDecisionRecord {
  return {
    action: input.action.id,
    impact: input.action.impact,
    arguments_hash: hashArguments(input.action.arguments ?? {}),
    targets: (input.targets ?? []).map((t) => t.value),
    decision: decision.decision,
    rule: decision.rule,
    reasons: decision.reasons,
    ...(decision.decision === 'require_approval' ? { approval: decision.approval } : {}),
    requester: input.requester.id,
    ...(input.run?.id ? { run_id: input.run.id } : {}),
  };
}

/** The error a step fails with when policy denies its action; the reasons travel in `details`. */
export function policyDeniedError(input: PolicyInput, decision: Extract<PolicyDecision, { decision: 'deny' }>): RiposteError {
  return new RiposteError('policy.denied', `policy denied ${input.action.id}: ${decision.reasons[0]?.text ?? 'no reason given'}`, {
    status: 403,
    details: { rule: decision.rule, reasons: decision.reasons },
  });
}
