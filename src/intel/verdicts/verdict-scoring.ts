import type { Evaluation, Evidence } from '../../core/index.ts';
import type { KnownGoodHit } from './known-good.ts';
import { type DecayKind, type DecayModel, decayFactor, decayModelFor } from './score-decay.ts';

/**
 * Turns evidence from several sources into one explainable verdict. The rules (docs/verdicts.md):
 *
 * 1. A user allow-list hit (partner, own range) → benign, confidence 95. Evidence is still listed.
 * 2. Each source's vote is weighted by its reliability (0–10 → 0–1): malicious counts 1, suspicious ½,
 *    benign −1; unknown counts nothing but is named.
 *    threat = Σ w·malicious + ½·Σ w·suspicious − Σ w·benign
 * 3. threat ≥ 1.0 with at least 0.7 of malicious weight → malicious; threat ≥ 0.4 → suspicious;
 *    threat ≤ −0.5 → benign; otherwise unknown.
 * 4. A warning-list hit (CDN, cloud, public resolver, reserved range) caps the verdict at suspicious:
 *    detections against shared infrastructure are about someone else's content.
 * 5. confidence (0–100, STIX scale) = agreement × coverage, where agreement is the share of informative
 *    weight (sources that did not say unknown) that supports the verdict, and coverage = min(1, informative
 *    weight / 1.5): two reliable sources that agree are enough for full coverage. Unknown → confidence 0.
 * 6. Sources expected but absent (down, timed out, not configured) are named in the reasons.
 * 7. Decay: evidence that says when the source last saw the observable (`observed_at`) has its weight
 *    multiplied by the observable type's decay factor at that age (score-decay.ts); below the model's
 *    revoke score it counts as expired (weight 0, named in the reasons). Only when `now` is given, so the
 *    function stays pure.
 *
 * Pure and deterministic: evidence is sorted by source first, so the same evidence in any order gives the
 * same verdict, confidence and reasons.
 */
export type Verdict = Evaluation;

export interface VerdictResult {
  observable: string;
  verdict: Verdict;
  confidence: number;
  reasons: string[];
  score: { threat: number; malicious: number; suspicious: number; benign: number };
  sources: { answered: string[]; missing: string[] };
  known_good: KnownGoodHit[];
}

export interface VerdictInput {
  observable: string;
  evidence: readonly Evidence[];
  knownGood?: readonly KnownGoodHit[];
  /** Sources that should have answered; those without evidence are reported missing. */
  expectedSources?: readonly string[];
  /** Why a missing source is missing (`shodan` → "integration.timeout: …"). */
  failures?: Readonly<Record<string, string>>;
  /** Epoch ms to measure evidence age against; without it nothing decays. */
  now?: number;
  /** Observable type when known (otherwise detected from the value), for the decay model. */
  observableType?: string;
  /** Override decay models per kind, or false to switch decay off. */
  decay?: false | Partial<Record<DecayKind, DecayModel>>;
}

export const THRESHOLDS = { malicious: 1.0, maliciousWeight: 0.7, suspicious: 0.4, benign: -0.5, fullCoverage: 1.5, allowListConfidence: 95 } as const;

const VOTE: Record<Evaluation, number> = { malicious: 1, suspicious: 0.5, benign: -1, unknown: 0 };
const round2 = (n: number) => Math.round(n * 100) / 100;

export function scoreVerdict(input: VerdictInput): VerdictResult {
  const evidence = [...input.evidence].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : VOTE[b.evaluation] - VOTE[a.evaluation]));
  const knownGood = [...(input.knownGood ?? [])];
  const answered = [...new Set(evidence.map((e) => e.source))];
  const missing = [...new Set(input.expectedSources ?? [])].filter((source) => !answered.includes(source)).sort();
  const weight = { malicious: 0, suspicious: 0, benign: 0 };
  const reasons: string[] = [];

  const model = input.decay === false || input.now === undefined ? undefined : decayModelFor(input.observable, input.observableType, input.decay);
  for (const item of evidence) {
    let w = Math.min(10, Math.max(0, item.reliability)) / 10;
    let aged = '';
    const observed = item.observed_at === undefined ? Number.NaN : Date.parse(item.observed_at);
    if (model && input.now !== undefined && !Number.isNaN(observed)) {
      const ageMs = input.now - observed;
      const factor = decayFactor(model, ageMs);
      const days = Math.max(0, Math.floor(ageMs / 86_400_000));
      if (100 * factor < model.revokeScore) {
        w = 0;
        aged = ` [expired: last seen ${days} days ago, past the ${model.lifetimeDays}-day decay model's revoke score]`;
      } else if (factor < 1) {
        w *= factor;
        aged = ` [last seen ${days} days ago: weight ×${round2(factor)}]`;
      }
    }
    if (item.evaluation !== 'unknown') weight[item.evaluation] += w;
    reasons.push(`${item.source} (reliability ${item.reliability}/10): ${item.evaluation}${item.summary ? ` — ${item.summary}` : ''}${aged}`);
  }
  const threat = round2(weight.malicious + 0.5 * weight.suspicious - weight.benign);
  const informative = weight.malicious + weight.suspicious + weight.benign;
  const coverage = Math.min(1, informative / THRESHOLDS.fullCoverage);

  let verdict: Verdict =
    threat >= THRESHOLDS.malicious && weight.malicious >= THRESHOLDS.maliciousWeight
      ? 'malicious'
      : threat >= THRESHOLDS.suspicious
        ? 'suspicious'
        : threat <= THRESHOLDS.benign
          ? 'benign'
          : 'unknown';
  const support = (v: Verdict) =>
    v === 'malicious'
      ? weight.malicious + 0.5 * weight.suspicious
      : v === 'suspicious'
        ? weight.malicious + weight.suspicious
        : v === 'benign'
          ? weight.benign
          : 0;
  let confidence = informative === 0 || verdict === 'unknown' ? 0 : Math.round(100 * (support(verdict) / informative) * coverage);

  const allowHit = knownGood.find((hit) => hit.kind === 'allowlist');
  const warningHits = knownGood.filter((hit) => hit.kind === 'warninglist');
  const head: string[] = [];
  if (allowHit) {
    head.push(
      `allow-listed: ${allowHit.title} (${allowHit.list}: ${allowHit.entry}) — benign by policy${verdict === 'malicious' || verdict === 'suspicious' ? `, overriding ${verdict} evidence` : ''}`,
    );
    verdict = 'benign';
    confidence = THRESHOLDS.allowListConfidence;
  } else if (warningHits.length > 0) {
    const names = warningHits.map((hit) => `${hit.title} (${hit.entry})`).join('; ');
    if (verdict === 'malicious') {
      head.push(`known shared infrastructure: ${names} — capped at suspicious, detections there are usually about other tenants' content`);
      verdict = 'suspicious';
      confidence = Math.min(confidence, 50);
    } else {
      head.push(`on warning list: ${names}`);
      if (verdict === 'unknown') {
        verdict = 'benign';
        confidence = 60;
      }
    }
  }
  head.push(
    `${verdict} with confidence ${confidence}: threat score ${threat} (malicious ${round2(weight.malicious)}, suspicious ${round2(weight.suspicious)}, benign ${round2(weight.benign)})`,
  );
  for (const source of missing)
    reasons.push(`${source}: no answer${input.failures?.[source] ? ` (${input.failures[source]})` : ''} — verdict reached without it`);
  if (answered.length === 0) reasons.push('no source answered');

  return {
    observable: input.observable,
    verdict,
    confidence,
    reasons: [...head, ...reasons],
    score: { threat, malicious: round2(weight.malicious), suspicious: round2(weight.suspicious), benign: round2(weight.benign) },
    sources: { answered, missing },
    known_good: knownGood,
  };
}
