import type { CasesService } from '../cases/index.ts';
import { type Logger, newId } from '../core/index.ts';
import type { Engine, RunnerEvent } from '../engine/index.ts';
import { LIVE_TOPICS, type LiveEvent, type LiveHub } from '../server/index.ts';
import type { ApprovalRecord, Store } from '../store/index.ts';

/** Where this process's live events go. */
export interface LivePublisher {
  publish(event: LiveEvent): void;
}

/** How long events are gathered before one broadcast carries them (a busy runner emits thousands a second). */
const RELAY_FLUSH_MS = 25;
/** Keeps each broadcast under the store's payload limit with room for the envelope. */
const RELAY_BATCH_BYTES = 6000;
const LIVE_EVENT_KEYS = new Set(['topic', 'type', 'run_id', 'step', 'approval_id', 'case_id', 'status']);

/**
 * Carries live events between processes, so an analyst's browser connected to one API process sees runs
 * that a `riposte worker` executes and cases another API replica changed. Events published here reach this
 * process's hub at once and, on PostgreSQL, every other process through the store's broadcast (gathered
 * for a few milliseconds and sent in batches). What arrives from elsewhere is checked field by field before
 * it reaches a browser: only the known keys of a live event, as short strings. On SQLite (one process) it
 * is simply the hub.
 */
export class LiveRelay implements LivePublisher {
  readonly #store: Store;
  readonly #hub: LiveHub | undefined;
  readonly #logger: Logger;
  readonly #origin = newId();
  readonly #shared: boolean;
  #pending: LiveEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #unlisten: (() => Promise<void>) | undefined;

  constructor(options: { store: Store; hub?: LiveHub; logger: Logger }) {
    this.#store = options.store;
    this.#hub = options.hub;
    this.#logger = options.logger;
    this.#shared = options.store.backend === 'postgres';
  }

  /** Starts hearing other processes (only a process with a hub, i.e. one that serves browsers, listens). */
  async start(): Promise<void> {
    if (!this.#shared || this.#hub === undefined || this.#unlisten) return;
    const hub = this.#hub;
    this.#unlisten = await this.#store.listenForBroadcasts((payload) => {
      for (const event of this.#decode(payload)) hub.publish(event);
    });
  }

  publish(event: LiveEvent): void {
    this.#hub?.publish(event);
    if (!this.#shared) return;
    this.#pending.push(event);
    this.#timer ??= setTimeout(() => void this.flush(), RELAY_FLUSH_MS);
  }

  /** Sends what is gathered now (also on stop, so the last events of a run are not dropped). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const events = this.#pending;
    this.#pending = [];
    if (events.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(() => this.#send(events));
    return this.#flushing;
  }

  async stop(): Promise<void> {
    await this.flush();
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    await unlisten?.();
  }

  async #send(events: LiveEvent[]): Promise<void> {
    // The same status told twice in one batch (a step's retries, bulk case updates) is told once; each
    // event is serialised once, and the batch is the events' JSON joined into the envelope's array.
    const unique = [...new Set(events.map((event) => JSON.stringify(event)))];
    let batch: string[] = [];
    let bytes = 0;
    const send = async () => {
      if (batch.length === 0) return;
      const payload = `{"o":${JSON.stringify(this.#origin)},"e":[${batch.join(',')}]}`;
      batch = [];
      bytes = 0;
      try {
        await this.#store.broadcast(payload);
      } catch (error) {
        // Live updates are a convenience: the UI refetches on its own schedule if one is lost.
        this.#logger.warn({ err: error }, 'live updates: broadcasting to other processes failed');
      }
    };
    for (const json of unique) {
      const size = Buffer.byteLength(json) + 1;
      if (bytes + size > RELAY_BATCH_BYTES) await send();
      batch.push(json);
      bytes += size;
    }
    await send();
  }

  #decode(payload: string): LiveEvent[] {
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      return [];
    }
    if (typeof message !== 'object' || message === null) return [];
    const { o, e } = message as { o?: unknown; e?: unknown };
    // Our own events already reached the hub when they were published.
    if (o === this.#origin || !Array.isArray(e)) return [];
    return e.filter(isLiveEvent);
  }
}

function isLiveEvent(value: unknown): value is LiveEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (!(LIVE_TOPICS as readonly unknown[]).includes(record.topic)) return false;
  return Object.entries(record).every(([key, field]) => LIVE_EVENT_KEYS.has(key) && typeof field === 'string' && field.length <= 200);
}

/**
 * Feeds the UI's live stream from this process: case and alert events (after commit) and the progress of
 * runs its runner executes. Events name ids and statuses only; the detail the runner attaches (inputs,
 * outputs, policy records) is dropped here so that the stream cannot leak what the REST routes mask.
 * Given a `LiveRelay`, the events also reach the browsers connected to other processes.
 */
const RUN_ENDED = new Set(['succeeded', 'failed', 'cancelled']);

export function wireLiveUpdates(options: { hub: LivePublisher; engine: Engine; cases: CasesService }): () => void {
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
export function storeWithApprovalEvents(store: Store, hub: LivePublisher): Store {
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
