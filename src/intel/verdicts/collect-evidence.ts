import { type Evidence, EvidenceSchema } from '../../core/index.ts';

/**
 * Playbooks hand `intel.verdict` whatever their enrichment steps produced: a parallel group's outputs keyed
 * by step id (`{vt: {evidence: …}, abuse: null}`), a list of outputs, or bare evidence. This pulls the
 * evidence out and names every entry that has none (a failed or skipped step) so the verdict can say which
 * sources were missing.
 */
export interface CollectedEvidence {
  evidence: Evidence[];
  /** Step ids or sources that produced no evidence, with the error when one was given. */
  failures: Record<string, string>;
}

export function collectEvidence(value: unknown): CollectedEvidence {
  const evidence: Evidence[] = [];
  const failures: Record<string, string> = {};
  const visit = (key: string, item: unknown) => {
    const direct = EvidenceSchema.safeParse(item);
    if (direct.success) {
      evidence.push(direct.data);
      return;
    }
    if (item !== null && typeof item === 'object') {
      const record = item as Record<string, unknown>;
      const nested = EvidenceSchema.safeParse(record.evidence ?? (record.output as Record<string, unknown> | undefined)?.evidence);
      if (nested.success) {
        evidence.push(nested.data);
        return;
      }
      const error = record.error as { code?: string; message?: string } | undefined;
      failures[key] = error ? `${error.code ?? 'error'}: ${error.message ?? ''}`.trim() : 'no evidence in its output';
      return;
    }
    failures[key] = 'no output';
  };
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) visit(String(index), item);
  } else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) visit(key, item);
  return { evidence, failures };
}
