import { z } from 'zod';
import { SEVERITIES } from '../cases/index.ts';
import { type Actor, detectObservableType, type Evidence } from '../core/index.ts';
import { type ActionContext, type ActionDefinition, defineAction } from '../engine/index.ts';
import { collectEvidence } from '../intel/index.ts';
import { caseOfRun, playbookActor, type ResponseDeps } from './edl.ts';

/**
 * `cases.*`: how a playbook writes what it found onto the case its run belongs to. The engine knows
 * nothing of cases, so these live here in app/. Each action records on the case named in `case` (id or
 * number), else on the case the run is linked to (runs started by alert triggers are); a run with no
 * case records nothing and says so in its output rather than failing a manual run.
 *
 * - `cases.record_enrichment`: one observable's per-source results (evaluation, reliability, summary,
 *   details, or why a source did not answer), verdict, confidence and reasons, stored on the observable
 *   and summarised on the case timeline (crediting the analyst minutes the lookups would have taken);
 * - `cases.comment`, `cases.set_severity`, `cases.tag`.
 */
const CaseRef = z.string().optional();
type Recorded<T> = ({ recorded: true; case_id: string } & T) | { recorded: false; reason: string };

/** Analyst minutes one manual threat-intel lookup takes (open the site, paste, read): credited per source answered. */
const MINUTES_PER_SOURCE_LOOKUP = 2;

const VerdictShape = z
  .object({
    verdict: z.string(),
    confidence: z.number().min(0).max(100),
    reasons: z.array(z.string()).default([]),
    sources: z.object({ answered: z.array(z.string()).default([]), missing: z.array(z.string()).default([]) }).optional(),
    known_good: z.array(z.unknown()).optional(),
    score: z.record(z.string(), z.number()).optional(),
  })
  .loose();

export const RecordEnrichmentInput = z
  .object({
    /** The observable's value; its type is detected unless given. */
    observable: z.string().min(1),
    type: z.string().optional(),
    /** The `intel.verdict` step's output. */
    verdict: VerdictShape,
    /** The enrichment steps' outputs (a parallel group's output by step id), kept per source on the observable. */
    evidence: z.unknown().optional(),
    /** Other facts to keep beside the sources (CMDB owner, internal sightings …), by name. */
    context: z.record(z.string(), z.unknown()).optional(),
    case: CaseRef,
  })
  .strict();

interface SourceResult {
  evaluation: string;
  reliability?: number;
  summary?: string;
  details?: unknown;
  error?: string;
}

function perSource(value: unknown): Record<string, SourceResult> {
  const { evidence, failures } = collectEvidence(value);
  const out: Record<string, SourceResult> = {};
  for (const e of evidence as Evidence[]) {
    const item = e as Evidence & { summary?: string };
    out[e.source] = {
      evaluation: e.evaluation,
      reliability: e.reliability,
      ...(item.summary ? { summary: item.summary } : {}),
      ...(e.details ? { details: e.details } : {}),
    };
  }
  for (const [source, why] of Object.entries(failures)) out[source] ??= { evaluation: 'unknown', error: why };
  return out;
}

async function target(deps: ResponseDeps, context: ActionContext, given: string | undefined): Promise<string | undefined> {
  const caseId = await caseOfRun(deps.cases, context.runId, given);
  if (caseId === undefined) context.logger?.warn({ run_id: context.runId, step: context.stepKey }, 'cases action: the run has no case to record on');
  return caseId;
}

const noCase = { recorded: false as const, reason: 'the run is not linked to a case and no case was given' };

export function caseActions(deps: () => ResponseDeps): ActionDefinition[] {
  const recordEnrichment = defineAction({
    id: 'cases.record_enrichment',
    title: "Record an observable's enrichment and verdict on its case",
    impact: 'write',
    input: RecordEnrichmentInput,
    async run(input, context): Promise<Recorded<{ observable_id: string; verdict: string; confidence: number; sources: number }>> {
      const d = deps();
      const caseId = await target(d, context, input.case);
      if (!caseId) return noCase;
      const actor: Actor = playbookActor(context.runId);
      const type = input.type ?? detectObservableType(input.observable) ?? 'other';
      const [observable] = await d.cases.addCaseObservables(caseId, [{ type, value: input.observable }], actor);
      if (!observable) return noCase;
      const sources = input.evidence === undefined ? {} : perSource(input.evidence);
      const v = input.verdict;
      const answered = v.sources?.answered ?? Object.keys(sources).filter((s) => !sources[s]?.error);
      const missing = v.sources?.missing ?? Object.keys(sources).filter((s) => sources[s]?.error);
      const enrichment: Record<string, unknown> = {
        verdict: v.verdict,
        confidence: v.confidence,
        reasons: v.reasons,
        sources,
        answered,
        missing,
        ...(v.known_good && v.known_good.length > 0 ? { known_good: v.known_good } : {}),
        ...(v.score ? { score: v.score } : {}),
        ...(input.context ? { context: input.context } : {}),
        run_id: context.runId,
      };
      await d.cases.recordEnrichment(observable.id, { verdict: v.verdict, confidence: v.confidence, enrichment }, actor);
      const missingText = missing.length > 0 ? `; no answer from ${missing.join(', ')}` : '';
      await d.cases.appendTimeline(
        caseId,
        {
          kind: 'observable.enriched',
          summary: `${observable.type} ${observable.value} is ${v.verdict} (confidence ${v.confidence}) from ${answered.length} source(s)${missingText}: ${v.reasons.slice(0, 3).join('; ')}`,
          details: {
            observable_id: observable.id,
            observable: observable.value,
            verdict: v.verdict,
            confidence: v.confidence,
            reasons: v.reasons,
            answered,
            missing,
          },
          minutes_saved: answered.length * MINUTES_PER_SOURCE_LOOKUP,
        },
        actor,
      );
      return { recorded: true, case_id: caseId, observable_id: observable.id, verdict: v.verdict, confidence: v.confidence, sources: answered.length };
    },
    describeEffect: (input) => `record ${input.observable} as ${input.verdict.verdict} (confidence ${input.verdict.confidence}) on the case`,
  });

  const comment = defineAction({
    id: 'cases.comment',
    title: 'Comment on the case',
    impact: 'write',
    input: z.object({ body: z.string().min(1).max(100_000), case: CaseRef }).strict(),
    async run(input, context): Promise<Recorded<{ comment_id: string }>> {
      const d = deps();
      const caseId = await target(d, context, input.case);
      if (!caseId) return noCase;
      const made = await d.cases.addComment(caseId, { body: input.body }, playbookActor(context.runId));
      return { recorded: true, case_id: caseId, comment_id: made.id };
    },
    describeEffect: (input) => `comment on the case: ${input.body.slice(0, 200)}`,
  });

  const setSeverity = defineAction({
    id: 'cases.set_severity',
    title: "Set the case's severity",
    impact: 'write',
    input: z.object({ severity: z.enum(SEVERITIES), case: CaseRef }).strict(),
    async run(input, context): Promise<Recorded<{ severity: string }>> {
      const d = deps();
      const caseId = await target(d, context, input.case);
      if (!caseId) return noCase;
      const updated = await d.cases.updateCase(caseId, { severity: input.severity }, playbookActor(context.runId));
      return { recorded: true, case_id: caseId, severity: updated.severity };
    },
    describeEffect: (input) => `set the case severity to ${input.severity}`,
  });

  const tag = defineAction({
    id: 'cases.tag',
    title: 'Add tags to the case',
    impact: 'write',
    input: z.object({ tags: z.array(z.string().min(1).max(100)).min(1).max(50), case: CaseRef }).strict(),
    async run(input, context): Promise<Recorded<{ tags: string[] }>> {
      const d = deps();
      const caseId = await target(d, context, input.case);
      if (!caseId) return noCase;
      const current = await d.cases.getCase(caseId);
      const tags = [...new Set([...current.tags, ...input.tags])];
      const updated = await d.cases.updateCase(caseId, { tags }, playbookActor(context.runId));
      return { recorded: true, case_id: caseId, tags: updated.tags };
    },
    describeEffect: (input) => `tag the case ${input.tags.join(', ')}`,
  });

  return [recordEnrichment, comment, setSeverity, tag] as ActionDefinition[];
}
