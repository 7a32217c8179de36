import { z } from 'zod';

/**
 * What one source says about one observable, in the shape verdict scoring consumes: an evaluation, how far
 * that source is trusted on it (0–10, the Admiralty-style reliability a SOC assigns), and the details that
 * explain it. Connectors produce it; intel/verdicts turns a set of them into a verdict.
 */
export const EVALUATIONS = ['malicious', 'suspicious', 'benign', 'unknown'] as const;
export type Evaluation = (typeof EVALUATIONS)[number];

export const EvidenceSchema = z.object({
  source: z.string().min(1),
  evaluation: z.enum(EVALUATIONS),
  reliability: z.number().min(0).max(10),
  /** One line a human reads in the case ("14/94 engines flag it malicious"). */
  summary: z.string().optional(),
  details: z.record(z.string(), z.unknown()).default({}),
  /**
   * When the source last saw the observable active (its newest report), ISO 8601. Verdict scoring decays
   * the evidence's weight by this age (docs/verdicts.md); without it the evidence counts as current.
   */
  observed_at: z.iso.datetime({ offset: true }).optional(),
});
export type Evidence = z.output<typeof EvidenceSchema>;
