import { permissionsForRoles } from '../auth/index.ts';
import type { StepApprovalFacts, StepApprovalOutcome } from '../policy/index.ts';
import type { RunRow, UserRecord, WaitRow } from '../store/index.ts';

/**
 * What the approval channels need to know about a playbook's `approval:` step, read from the engine's
 * wait row and run row: the facts the messages show, how it ended, and who should be e-mailed.
 */

/** Outbox subject of a step approval: one per run and step key (the idempotency key of its messages). */
export function stepApprovalSubject(runId: string, stepKey: string): string {
  return `step:${runId}/${stepKey}`;
}

interface StepRequest {
  prompt?: unknown;
  approvers?: unknown;
  on_timeout?: unknown;
  approval_id?: unknown;
}

/** An open or resolved approval step of a playbook, not a policy approval (those are the approvals desk's). */
export function isStepApprovalWait(wait: WaitRow): boolean {
  return wait.kind === 'approval' && typeof (wait.request as StepRequest | null)?.approval_id !== 'string';
}

export function stepApprovers(wait: WaitRow): string[] {
  const approvers = (wait.request as StepRequest | null)?.approvers;
  return Array.isArray(approvers) ? approvers.filter((a): a is string => typeof a === 'string') : [];
}

export function stepApprovalFacts(wait: WaitRow, run: RunRow, baseUrl: string): StepApprovalFacts {
  const request = (wait.request ?? {}) as StepRequest;
  const definition = (run.definition ?? {}) as { title?: unknown };
  return {
    run_id: run.id,
    step: wait.stepKey,
    prompt: typeof request.prompt === 'string' ? request.prompt : `Approve step ${wait.stepKey}?`,
    playbook: { id: run.playbookId, version: run.playbookVersion, title: typeof definition.title === 'string' ? definition.title : undefined },
    case_id: run.caseId ?? null,
    started_by: run.startedBy ?? null,
    // wakeAt is the timeout; while open it is the expiry (a resolved wait keeps its last value).
    expires_at: wait.wakeAt,
    on_timeout: typeof request.on_timeout === 'string' ? request.on_timeout : 'reject',
    approvers: stepApprovers(wait),
    run_url: `${baseUrl}/runs/${encodeURIComponent(run.id)}`,
    inbox_url: `${baseUrl}/approvals`,
    case_url: run.caseId ? `${baseUrl}/cases/${encodeURIComponent(run.caseId)}` : undefined,
  };
}

/**
 * How a resolved wait ended, from its resolution as the engine wrote it: a decision (Engine.decide), a
 * timeout (the runner, with the on_timeout outcome) or a cancellation (Engine.cancel or the runner).
 */
export function stepApprovalOutcome(wait: WaitRow, runStatus?: string): StepApprovalOutcome | undefined {
  if (wait.status === 'open') return undefined;
  const r = (wait.resolution ?? {}) as {
    decision?: unknown;
    actor?: unknown;
    comment?: unknown;
    timed_out?: unknown;
    cancelled?: unknown;
    output?: { decision?: unknown };
  };
  if (r.cancelled === true) return { status: 'cancelled', by: null, comment: null, text: 'cancelled: the run was cancelled' };
  if (r.timed_out === true) {
    const decision = r.output?.decision;
    const how = decision === 'approve' ? 'approved automatically' : decision === 'reject' ? 'rejected automatically' : 'the step failed';
    return { status: 'timed_out', by: null, comment: null, text: `timed out (${how})` };
  }
  if (r.decision === 'approve' || r.decision === 'reject') {
    const by = typeof r.actor === 'string' ? r.actor : 'someone';
    const comment = typeof r.comment === 'string' && r.comment !== '' ? r.comment : null;
    return {
      status: r.decision === 'approve' ? 'approved' : 'rejected',
      by,
      comment,
      text: `${r.decision === 'approve' ? 'approved' : 'rejected'} by ${by}${comment ? `: ${comment}` : ''}`,
    };
  }
  if (runStatus === 'cancelled') return { status: 'cancelled', by: null, comment: null, text: 'cancelled: the run was cancelled' };
  return { status: 'cancelled', by: null, comment: null, text: 'closed' };
}

/**
 * The users to e-mail about a step approval: those who may decide it (the step's approvers by name or
 * role, or holders of approvals:decide when it names none), enabled, with an address in
 * approvals.channels.email.to, minus those separation of duties bars (the run's starter, the playbook's
 * author). Engine.decide checks the same rules when they answer.
 */
export function stepApprovalRecipients(options: {
  wait: WaitRow;
  run: RunRow;
  users: readonly UserRecord[];
  addresses: Readonly<Record<string, string>>;
}): string[] {
  const approvers = new Set(stepApprovers(options.wait));
  const author = (options.run.definition as { author?: unknown } | undefined)?.author;
  const barred = new Set([options.run.startedBy, typeof author === 'string' ? author : undefined].filter((n): n is string => typeof n === 'string'));
  return options.users
    .filter((user) => user.disabledAt === null && options.addresses[user.name] !== undefined && !barred.has(user.name))
    .filter((user) =>
      approvers.size > 0
        ? approvers.has(user.name) || user.roles.some((role) => approvers.has(role))
        : permissionsForRoles(user.roles).includes('approvals:decide'),
    )
    .map((user) => user.name)
    .sort();
}
