import { appendFileSync } from 'node:fs';

/**
 * The security and chaos campaigns (issue: reliability and security hardening) print figures — inputs
 * fuzzed, requests sent, faults injected, data lost. Tests report them here; `scripts/test-campaign.ts`
 * sets RIPOSTE_CAMPAIGN_FIGURES to a file, sums what the test processes appended, and prints the table.
 * Without that variable (a test run on its own) recording is a no-op.
 */
export type Campaign = 'security' | 'chaos';

export function recordFigure(campaign: Campaign, name: string, value: number): void {
  const file = process.env.RIPOSTE_CAMPAIGN_FIGURES;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ campaign, name, value })}\n`);
}
