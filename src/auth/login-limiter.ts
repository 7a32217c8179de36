/**
 * Sign-in attempt limits kept in memory: per user name + client address (stops one source guessing
 * one account's password) and per client address alone (stops spraying one password across many
 * names). Lockout after repeated failures is separate and durable (it lives on the user row); this
 * limiter is the fast first line. It is per process: with several servers behind a balancer each
 * enforces its own window, and the durable lockout still bounds the total.
 */
export interface LoginLimiterOptions {
  /** Attempts per user name + address within the window. */
  perUserAndAddress: number;
  /** Attempts per address within the window (across all names). */
  perAddress: number;
  windowMs: number;
  /** Keys remembered at most; the oldest are forgotten first, so a flood cannot exhaust memory. */
  maxKeys?: number;
}

export interface LoginLimiter {
  /** Counts an attempt; returns 0 when allowed, otherwise the milliseconds until one is allowed again. */
  attempt(name: string, address: string, now: number): number;
  /** After a successful sign-in the name + address window starts over. */
  succeeded(name: string, address: string): void;
}

export function createLoginLimiter(options: LoginLimiterOptions): LoginLimiter {
  const maxKeys = options.maxKeys ?? 50_000;
  // Insertion-ordered: re-inserting on each hit keeps the least recently used key first.
  const windows = new Map<string, number[]>();

  const hit = (key: string, limit: number, now: number): number => {
    const since = now - options.windowMs;
    const times = (windows.get(key) ?? []).filter((t) => t > since);
    windows.delete(key);
    if (times.length >= limit) {
      windows.set(key, times);
      return (times[0] ?? now) + options.windowMs - now;
    }
    times.push(now);
    windows.set(key, times);
    while (windows.size > maxKeys) {
      const oldest = windows.keys().next().value;
      if (oldest === undefined) break;
      windows.delete(oldest);
    }
    return 0;
  };

  return {
    attempt(name, address, now) {
      const byAddress = hit(`a\u0000${address}`, options.perAddress, now);
      if (byAddress > 0) return byAddress;
      return hit(`u\u0000${name}\u0000${address}`, options.perUserAndAddress, now);
    },
    succeeded(name, address) {
      windows.delete(`u\u0000${name}\u0000${address}`);
    },
  };
}
