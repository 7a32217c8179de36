import { seededRandom } from './fleet.ts';

/**
 * What the EDR simulators share beyond the fleet itself: how often a remediation action fails (the
 * "30% of the wave fails" acceptance case), and how long a command waits for an offline endpoint before
 * it times out, as the real consoles queue commands for machines that are not connected. The failure draw
 * is seeded, so a test sees the same hosts fail every time.
 */
export interface EdrBehaviourOptions {
  /** Share of remediation actions (registry delete/restore, isolate/release, scripts) that fail (0–1). */
  failureRate?: number;
  seed?: number;
  /** A command for an offline endpoint stays pending this long, then times out (default 10 minutes). */
  offlineTimeoutMs?: number;
  now?: () => number;
}

export class EdrBehaviour {
  failureRate: number;
  offlineTimeoutMs: number;
  readonly now: () => number;
  private random: () => number;
  /** Remediation actions the simulators failed on purpose (for assertions). */
  injectedFailures = 0;

  constructor(options: EdrBehaviourOptions = {}) {
    this.failureRate = options.failureRate ?? 0;
    this.offlineTimeoutMs = options.offlineTimeoutMs ?? 600_000;
    this.now = options.now ?? Date.now;
    this.random = seededRandom(options.seed ?? 7);
  }

  /** Changes the failure rate (and reseeds), e.g. for one bad wave. */
  setFailureRate(rate: number, seed?: number): void {
    this.failureRate = rate;
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** Draws whether this remediation action fails. */
  fails(): boolean {
    if (this.failureRate <= 0) return false;
    const failed = this.random() < this.failureRate;
    if (failed) this.injectedFailures++;
    return failed;
  }
}

/** Parses `-Key 'HKEY_…' -Name 'value'` style arguments (single or double quotes; '' escapes a quote). */
export function scriptArgument(text: string, name: string): string | undefined {
  const m = new RegExp(`-${name}\\s+(?:'((?:[^']|'')*)'|"([^"]*)")`, 'i').exec(text);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/''/g, "'") : m[2];
}

/** Key paths as the fleet stores them, from the forms EDRs print (HKLM\…, HKU\…, Defender's HKEY_CURRENT_USER\<SID>\…). */
export function fleetRegistryKey(key: string): string {
  return key
    .replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\')
    .replace(/^HKU\\/i, 'HKEY_USERS\\')
    .replace(/^HKEY_CURRENT_USER\\(S-1-)/i, 'HKEY_USERS\\$1');
}
