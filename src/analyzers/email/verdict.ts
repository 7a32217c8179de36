/**
 * From signals to a verdict. Each signal has a weight and a strength; the threat score is their sum
 * (capped at 100). No single signal makes a message malicious: that needs a score of 70 from at least two
 * signals, and a lone weak one (a missing SPF record, a shortener) never even makes it suspicious.
 */
export type Verdict = 'malicious' | 'suspicious' | 'spam' | 'graymail' | 'benign' | 'simulation';
export type SignalStrength = 'weak' | 'medium' | 'strong';
export type SignalCategory = 'sender' | 'auth' | 'link' | 'attachment' | 'content' | 'reputation';

export interface Signal {
  code: string;
  category: SignalCategory;
  weight: number;
  strength: SignalStrength;
  detail: string;
  /** The domain the signal is about, where blocking it is the response (a lookalike sender or link domain). */
  domain?: string;
}

export const MALICIOUS_SCORE = 70;
export const SUSPICIOUS_SCORE = 35;
export const SPAM_SCORE = 30;

export function strengthOf(weight: number): SignalStrength {
  return weight >= 40 ? 'strong' : weight >= 15 ? 'medium' : 'weak';
}

export function signal(code: string, category: SignalCategory, weight: number, detail: string, domain?: string): Signal {
  return { code, category, weight, strength: strengthOf(weight), detail, ...(domain ? { domain } : {}) };
}

export interface VerdictInput {
  signals: Signal[];
  spamScore: number;
  bulk: boolean;
  simulation: string | undefined;
}

export interface VerdictOutcome {
  verdict: Verdict;
  score: number;
  /** ATT&CK techniques for the delivery: T1566.001 attachment, T1566.002 link, T1566 otherwise. */
  techniques: string[];
}

export function decideVerdict(input: VerdictInput): VerdictOutcome {
  // The same code twice (two lookalike links) counts once at full weight and once more at a third.
  const byCode = new Map<string, number>();
  let raw = 0;
  for (const s of input.signals) {
    const seen = byCode.get(s.code) ?? 0;
    raw += seen === 0 ? s.weight : seen === 1 ? s.weight / 3 : 0;
    byCode.set(s.code, seen + 1);
  }
  const score = Math.min(100, Math.round(raw));
  const distinct = byCode.size;
  const strong = input.signals.some((s) => s.strength === 'strong');
  let verdict: Verdict;
  if (input.simulation) verdict = 'simulation';
  else if (score >= MALICIOUS_SCORE && distinct >= 2 && strong) verdict = 'malicious';
  else if ((score >= SUSPICIOUS_SCORE && distinct >= 2) || strong) verdict = 'suspicious';
  else if (input.spamScore >= SPAM_SCORE) verdict = 'spam';
  else if (input.bulk) verdict = 'graymail';
  else verdict = 'benign';
  const techniques: string[] = [];
  if (verdict === 'malicious' || verdict === 'suspicious') {
    if (input.signals.some((s) => s.category === 'attachment')) techniques.push('T1566.001');
    if (input.signals.some((s) => s.category === 'link')) techniques.push('T1566.002');
    if (techniques.length === 0) techniques.push('T1566');
  }
  return { verdict, score, techniques };
}
