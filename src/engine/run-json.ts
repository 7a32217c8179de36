import type { RunRow, WaitRow } from '../store/index.ts';
import type { RunView, StepRecord } from './engine.ts';

/**
 * Runs as users see them (REST responses and `--json` CLI output): snake_case fields and ISO-8601
 * times, per docs/api.md. Lease bookkeeping stays internal.
 */
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** API shape of a wait: snake_case, ISO times (docs/api.md). */
export function waitJson(wait: WaitRow) {
  return {
    run_id: wait.runId,
    step_key: wait.stepKey,
    kind: wait.kind,
    event_name: wait.eventName,
    status: wait.status,
    request: wait.request,
    resolution: wait.resolution,
    wake_at: iso(wait.wakeAt),
    created_at: iso(wait.createdAt),
    resolved_at: iso(wait.resolvedAt),
  };
}

export function stepJson(step: StepRecord) {
  return {
    key: step.key,
    status: step.status,
    attempts: step.attempts,
    input: step.input ?? null,
    output: step.output ?? null,
    error: step.error ?? null,
    at: iso(step.at),
  };
}

/** API shape of a run, with its per-step history and waits when loaded. */
export function runJson(run: RunView | Omit<RunRow, 'definition'>) {
  const view = run as RunView;
  return {
    id: run.id,
    playbook_id: run.playbookId,
    playbook_version: run.playbookVersion,
    status: run.status,
    mode: run.mode,
    inputs: run.inputs,
    output: run.output,
    error: run.error,
    parent_run_id: run.parentRunId,
    parent_step_key: run.parentStepKey,
    started_by: run.startedBy,
    case_id: run.caseId ?? null,
    wake_at: iso(run.wakeAt),
    cancel_requested: run.cancelRequested,
    created_at: iso(run.createdAt),
    updated_at: iso(run.updatedAt),
    finished_at: iso(run.finishedAt),
    ...(view.steps ? { steps: view.steps.map(stepJson) } : {}),
    ...(view.waits ? { waits: view.waits.map(waitJson) } : {}),
  };
}
