import { RiposteError } from '../../core/index.ts';

/**
 * A token bucket per integration instance. Every run that calls the instance takes from the same bucket,
 * so twenty parallel playbooks cannot exceed the vendor's quota between them. Waiting callers queue in
 * order; a caller whose signal aborts leaves the queue.
 */
export interface RateLimit {
  /** Sustained rate. */
  perMinute?: number;
  perSecond?: number;
  /** Largest burst (defaults to one second's worth, at least 1). */
  burst?: number;
}

export interface TokenBucketOptions {
  now?: () => number;
}

export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(limit: RateLimit, options: TokenBucketOptions = {}) {
    const perSecond = limit.perSecond ?? (limit.perMinute === undefined ? Number.POSITIVE_INFINITY : limit.perMinute / 60);
    if (!(perSecond > 0)) throw new RiposteError('integration.invalid_rate_limit', 'rateLimit must allow at least some requests');
    this.#ratePerMs = perSecond / 1000;
    this.#capacity = limit.burst ?? Math.max(1, Math.ceil(Number.isFinite(perSecond) ? perSecond : 1));
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#capacity;
    this.#updatedAt = this.#now();
  }

  get unlimited(): boolean {
    return !Number.isFinite(this.#ratePerMs);
  }

  /** Milliseconds until a token is free (0 if one is free now); does not take it. */
  waitTime(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMs);
  }

  /** Takes a token now if one is free. */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits (in arrival order) for a token. */
  take(signal?: AbortSignal): Promise<void> {
    if (this.unlimited) return Promise.resolve();
    const turn = this.#tail.then(() => this.#acquire(signal));
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.tryTake()) return;
      await abortableSleep(this.waitTime(), signal);
    }
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updatedAt) * this.#ratePerMs);
    this.#updatedAt = now;
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
