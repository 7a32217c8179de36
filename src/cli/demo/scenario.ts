import type { Runtime } from '../../app/index.ts';
import type { Lab } from '../../lab/index.ts';

/**
 * One flagship scenario of `riposte demo`: it plays against the running server and the lab, and reports
 * what was decided and done, what waits for a person, and how long it took against doing it by hand.
 */
export interface DemoContext {
  runtime: Runtime;
  lab: Lab;
  /** Base URL of the running server (webhooks and the UI). */
  url: string;
  /** Webhook token the demo configured for the SIEM sources. */
  webhookToken: string;
  /** A progress line on the terminal. */
  say(line: string): void;
}

export interface ScenarioOutcome {
  /** What the scenario was about, e.g. "185.220.101.47 (malicious)". */
  subject: string;
  decided: string;
  done: string;
  /** Set when something waits for a person (an approval). */
  waiting?: string;
  caseNumber?: number;
  ms: number;
}

export interface ScenarioReport {
  title: string;
  /** What the same work costs an analyst by hand, for the summary. */
  manualBaseline: string;
  outcomes: ScenarioOutcome[];
  ms: number;
}

export interface DemoScenario {
  id: string;
  title: string;
  play(context: DemoContext): Promise<ScenarioReport>;
}

/** Polls until `probe` gives a value or the deadline passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 25): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
