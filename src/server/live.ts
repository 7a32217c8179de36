/**
 * Live updates for the UI: what changed, never the data itself. Each event names a topic, a kind and the
 * ids a page needs to decide whether to refetch (through the normal, permission-checked REST routes), so
 * the stream carries no case content, arguments or step outputs.
 */
export const LIVE_TOPICS = ['runs', 'cases', 'approvals'] as const;
export type LiveTopic = (typeof LIVE_TOPICS)[number];

export interface LiveEvent {
  topic: LiveTopic;
  /** e.g. run.status, step.status, case.created, case.updated, alert.ingested, approval.changed */
  type: string;
  run_id?: string;
  step?: string;
  approval_id?: string;
  case_id?: string;
  status?: string;
}

export interface LiveEvents {
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

/** A fan-out point that app/ feeds from the engine and cases services. */
export class LiveHub implements LiveEvents {
  readonly #listeners = new Set<(event: LiveEvent) => void>();

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: LiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // One broken connection must not stop the others from hearing the event.
      }
    }
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
