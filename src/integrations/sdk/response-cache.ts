import { canonicalJson } from '../../core/index.ts';

/**
 * Responses of read actions, kept for the action's `cacheTtl`, keyed by instance + action + input
 * (canonical JSON, so key order does not matter). Concurrent identical lookups share one vendor call:
 * ten alerts about the same IP in the same second cost one request. Bounded: oldest entries go first.
 */
export class ResponseCache {
  readonly #entries = new Map<string, { value: unknown; expiresAt: number }>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  static key(instance: string, action: string, input: unknown): string {
    return `${instance}\u0000${action}\u0000${canonicalJson(input)}`;
  }

  async getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > this.#now()) {
      this.hits++;
      return structuredClone(entry.value) as T;
    }
    if (entry) this.#entries.delete(key);
    const pending = this.#inFlight.get(key);
    if (pending) {
      this.hits++;
      return structuredClone(await pending) as T;
    }
    this.misses++;
    const loading = load();
    this.#inFlight.set(key, loading);
    try {
      const value = await loading;
      this.#entries.set(key, { value: structuredClone(value), expiresAt: this.#now() + ttlMs });
      while (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
      return value;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  /** Forgets one instance's entries (after its config or secrets change). */
  forgetInstance(instance: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(`${instance}\u0000`)) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
