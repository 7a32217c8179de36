import type { CasesService } from '../cases/index.ts';
import type { Engine, RunnerEvent } from '../engine/index.ts';
import type { LiveHub } from '../server/index.ts';

/**
 * Feeds the UI's live stream from this process: case and alert events (after commit) and the progress of
 * runs its runner executes. Events name ids and statuses only; the detail the runner attaches (inputs,
 * outputs, policy records) is dropped here so that the stream cannot leak what the REST routes mask.
 * Runs executed by a separate worker process are not seen; the UI keeps polling slowly as a fallback.
 */
const RUN_ENDED = new Set(['succeeded', 'failed', 'cancelled']);

export function wireLiveUpdates(options: { hub: LiveHub; engine: Engine; cases: CasesService }): () => void {
  const { hub, engine, cases } = options;
  const offRuns = engine.onEvent((event: RunnerEvent) => {
    if (event.type === 'effect') return;
    const base = { run_id: event.runId, status: event.status, ...(event.key ? { step: event.key } : {}) };
    hub.publish({ topic: 'runs', type: `${event.type}.status`, ...base });
    const detailKind = (event.detail as { kind?: unknown } | null | undefined)?.kind;
    const approvalChanged =
      (event.type === 'step' && ((event.status === 'waiting' && detailKind === 'approval') || event.status === 'released')) ||
      (event.type === 'run' && RUN_ENDED.has(event.status));
    if (approvalChanged) hub.publish({ topic: 'approvals', type: 'approval.changed', ...base });
  });
  const offCases = cases.subscribe((event) => {
    if (event.type === 'alert.ingested') hub.publish({ topic: 'cases', type: event.type, case_id: event.result.case_id });
    else hub.publish({ topic: 'cases', type: event.type, case_id: event.case_id });
  });
  return () => {
    offRuns();
    offCases();
  };
}
