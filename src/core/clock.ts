/**
 * Time is an input. Code that needs "now" takes a Clock, so tests and replays can pin it and the
 * engine's interpreter never reads the wall clock itself.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests and deterministic replays. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): number {
    this.#now += ms;
    return this.#now;
  }
  set(ms: number | Date): void {
    this.#now = typeof ms === 'number' ? ms : ms.getTime();
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses durations as SOC engineers write them in playbooks and config: "500ms", "30s", "5m", "24h",
 * "7d", "1h30m", or a bare number of milliseconds. Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const parts = trimmed.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g);
  let total = 0;
  let consumed = '';
  for (const [whole, value, unit] of parts) {
    total += Number(value) * (UNITS[unit as string] ?? 0);
    consumed += whole;
  }
  if (consumed.replace(/\s+/g, '') !== trimmed.replace(/\s+/g, '') || consumed === '') return undefined;
  return Math.round(total);
}
