import { type Actor, RiposteError } from '../core/index.ts';
import type { NormalizedAlert } from './model.ts';

export interface IntakeRequest {
  alerts: NormalizedAlert[];
  actor: Actor;
  delivery: { source: string; id: string; expiresAt: number } | undefined;
}

type Outcome<R> = R | RiposteError;

interface Pending<R> {
  request: IntakeRequest;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit for alerts: requests queue up while the previous batch is being written, then go to the
 * store together in one transaction, so a burst costs one commit per few hundred alerts instead of one
 * each. The queue is bounded; past the bound a request is refused at once with 429 and Retry-After —
 * the sender keeps the alert and retries — never accepted and then dropped. If a batch fails, each of
 * its requests is retried alone so that one bad alert cannot sink its neighbours.
 */
export class AlertIntake<R = unknown> {
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #process: (requests: IntakeRequest[]) => Promise<Array<Outcome<R>>>;
  #queue: Array<Pending<R>> = [];
  #queuedAlerts = 0;
  #running: Promise<void> | undefined;
  /** Cleared synchronously when the loop sees an empty queue, so a submit never waits on a loop that is ending. */
  #active = false;

  constructor(options: { maxQueue: number; batchSize: number; process: (requests: IntakeRequest[]) => Promise<Array<Outcome<R>>> }) {
    this.#maxQueue = options.maxQueue;
    this.#batchSize = options.batchSize;
    this.#process = options.process;
  }

  stats(): { queued: number; maxQueue: number } {
    return { queued: this.#queuedAlerts, maxQueue: this.#maxQueue };
  }

  submit(request: IntakeRequest): Promise<R> {
    if (this.#queuedAlerts + request.alerts.length > this.#maxQueue) {
      return Promise.reject(
        new RiposteError('alerts.overloaded', `alert intake is full (${this.#queuedAlerts} alerts waiting); retry shortly`, {
          status: 429,
          retryable: true,
          details: { retry_after_seconds: 1 },
        }),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#queuedAlerts += request.alerts.length;
      if (!this.#active) {
        this.#active = true;
        this.#running = this.#run();
      }
    });
  }

  async drain(): Promise<void> {
    while (this.#active) await this.#running;
  }

  async #run(): Promise<void> {
    // Let requests arriving in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch: Array<Pending<R>> = [];
      let alerts = 0;
      while (this.#queue.length > 0 && (batch.length === 0 || alerts + (this.#queue[0]?.request.alerts.length ?? 0) <= this.#batchSize)) {
        const next = this.#queue.shift() as Pending<R>;
        batch.push(next);
        alerts += next.request.alerts.length;
      }
      try {
        const outcomes = await this.#process(batch.map((p) => p.request));
        settle(batch, outcomes);
      } catch (error) {
        if (batch.length === 1) (batch[0] as Pending<R>).reject(error);
        else {
          for (const pending of batch) {
            try {
              settle([pending], await this.#process([pending.request]));
            } catch (single) {
              pending.reject(single);
            }
          }
        }
      } finally {
        this.#queuedAlerts -= alerts;
      }
    }
    // In the same synchronous step as the final emptiness check: a submit from now on starts a new loop.
    this.#active = false;
  }
}

function settle<R>(batch: Array<Pending<R>>, outcomes: Array<Outcome<R>>): void {
  batch.forEach((pending, i) => {
    const outcome = outcomes[i];
    if (outcome instanceof RiposteError) pending.reject(outcome);
    else pending.resolve(outcome as R);
  });
}
