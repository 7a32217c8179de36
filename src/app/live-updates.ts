import type { CasesService } from '../cases/index.ts';
import type { Engine, RunnerEvent } from '../engine/index.ts';
import type { LiveHub } from '../server/index.ts';
import type { ApprovalRecord, Store } from '../store/index.ts';

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
    // A step's "waiting" is told before the wait is committed; the run's own "waiting" comes after the
    // commit (the run parked), so that is when a refetching inbox is sure to see the new approval.
    const approvalChanged =
      (event.type === 'step' && event.status === 'released') || (event.type === 'run' && (event.status === 'waiting' || RUN_ENDED.has(event.status)));
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

/**
 * The store the approvals desk (Guardrails) writes through, telling the stream after each approval is
 * created or changed (a decision short of quorum, a rejection, an expiry, a break-glass): the inbox's
 * "1 of 2" moves without waiting for the run. Reads and everything else pass straight through.
 */
export function storeWithApprovalEvents(store: Store, hub: LiveHub): Store {
  const tell = (record: ApprovalRecord) =>
    hub.publish({
      topic: 'approvals',
      type: 'approval.changed',
      approval_id: record.id,
      status: record.status,
      ...(record.runId ? { run_id: record.runId } : {}),
    });
  const approvals = {
    ...store.approvals,
    insert: async (record: ApprovalRecord) => {
      const inserted = await store.approvals.insert(record);
      if (inserted) tell(record);
      return inserted;
    },
    update: async (record: ApprovalRecord, expectedRevision: number) => {
      const updated = await store.approvals.update(record, expectedRevision);
      if (updated) tell(record);
      return updated;
    },
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'approvals') return approvals;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
