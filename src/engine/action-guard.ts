import type { Impact } from './actions.ts';
import type { StepError } from './interpreter.ts';

/**
 * The runner's hook for guardrails. The engine knows nothing of policy: before every action with impact
 * `write` or `destructive` it asks the guard, and turns the answer into step outcomes — `allow` runs the
 * action, `deny` fails the step (on_error applies), `require_approval` parks the step on a durable
 * approval wait (a wait row plus a `wait_started` journal entry carrying the approval id) that only the
 * guard's approvals can end: `Engine.resolveGuardedApproval` when people decide, `settle` when the wait
 * falls due. A released step runs its action with the arguments `release` returns (possibly edited by
 * an approver) and the same idempotency key. `app/` implements this with `policy/`.
 */
export interface GuardRequest {
  run: {
    id: string;
    mode: string;
    playbookId: string;
    playbookVersion: number;
    startedBy: string | null;
    /** The case the run was started for (stored on the run row when it was created). */
    caseId?: string | null;
    /** The pinned playbook's `author`: its last author, who may not approve what it asks for. */
    author?: string;
  };
  stepKey: string;
  stepId: string;
  action: { id: string; impact: Exclude<Impact, 'read'>; inverse?: string; defaultTtl?: string | number };
  /** The arguments the action would receive (validated by its input schema). */
  arguments: Record<string, unknown>;
  /** The step's `with` as evaluated, before the action's schema dropped keys it does not know (confidence, verdict…). */
  rawInput: unknown;
  idempotencyKey: string;
  /** A dry-run asks for the decision only: nothing may be opened or recorded. */
  dryRun: boolean;
  /** Set after the action ran, when it declares an inverse: the arguments that undo this very call. */
  inverseArguments?: Record<string, unknown>;
}

export type GuardVerdict =
  | { decision: 'allow'; record?: unknown }
  | { decision: 'deny'; error: StepError; record?: unknown }
  | { decision: 'require_approval'; approvalId: string; expiresAt: number; record?: unknown };

export type GuardOutcome = { status: 'released' } | { status: 'rejected'; error: StepError } | { status: 'pending' };

export interface ActionGuard {
  check(request: GuardRequest): Promise<GuardVerdict>;
  /** The approval's outcome now that its wait fell due (the guard resolves an expired request first). */
  settle(approvalId: string): Promise<GuardOutcome>;
  /** Right before acting on a released approval: the verified arguments; throws when it cannot be released. */
  release(approvalId: string, context: { runId: string; stepKey: string }): Promise<{ arguments: Record<string, unknown> }>;
  /** After a guarded action ran (blast-radius history, inverse bookkeeping). */
  performed?(request: GuardRequest, output: unknown): Promise<void> | void;
}
