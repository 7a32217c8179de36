import { detectObservableType, type ObservableType } from '../../core/index.ts';

/**
 * How fast a piece of threat intelligence goes stale, per observable type: the polynomial model MISP's
 * decaying models and OpenCTI's decay rules both use,
 *
 *     score(t) = base × (1 − (t / lifetime)^(1 / rate))      for 0 ≤ t ≤ lifetime, 0 after
 *
 * `lifetime` is when the score reaches 0; `rate` (MISP's δ, OpenCTI's decay factor) shapes the curve:
 * 1 is linear, above 1 drops fast at first and then levels out (an IP re-assigned next week), below 1
 * holds its value and falls late (a malware hash stays bad). Once the score falls under `revokeScore`
 * the intelligence is treated as expired (OpenCTI revokes the indicator at that moment).
 *
 * Infrastructure is cheap to change and re-used by someone else soon after (IPs in days to weeks, URLs
 * and domains in weeks to months); a file hash never stops identifying the same file, so it decays
 * slowly and mostly out of relevance. Pure functions: the same inputs always give the same result.
 */
export interface DecayModel {
  lifetimeDays: number;
  /** > 0; 1 linear, > 1 fast early decay, < 1 slow early decay. */
  rate: number;
  /** 0–100: below this (relative to a base of 100) the intelligence is expired. */
  revokeScore: number;
}

export type DecayKind = 'ip' | 'cidr' | 'url' | 'domain' | 'email' | 'hash' | 'other';

export const DEFAULT_DECAY_MODELS: Readonly<Record<DecayKind, DecayModel>> = {
  ip: { lifetimeDays: 30, rate: 2, revokeScore: 20 },
  cidr: { lifetimeDays: 60, rate: 2, revokeScore: 20 },
  url: { lifetimeDays: 60, rate: 1.5, revokeScore: 20 },
  domain: { lifetimeDays: 180, rate: 1, revokeScore: 20 },
  email: { lifetimeDays: 120, rate: 1, revokeScore: 20 },
  hash: { lifetimeDays: 730, rate: 0.5, revokeScore: 10 },
  other: { lifetimeDays: 180, rate: 1, revokeScore: 20 },
};

const DAY_MS = 86_400_000;

export function decayKindOf(type: ObservableType | string | undefined): DecayKind {
  switch (type) {
    case 'ipv4':
    case 'ipv6':
      return 'ip';
    case 'cidr':
      return 'cidr';
    case 'url':
      return 'url';
    case 'domain':
    case 'hostname':
      return 'domain';
    case 'email':
      return 'email';
    case 'md5':
    case 'sha1':
    case 'sha256':
      return 'hash';
    default:
      return 'other';
  }
}

/** The model for an observable value (type detected from the value when not given). */
export function decayModelFor(observable: string, type?: string, models: Partial<Record<DecayKind, DecayModel>> = {}): DecayModel {
  const kind = decayKindOf(type ?? detectObservableType(observable));
  return models[kind] ?? DEFAULT_DECAY_MODELS[kind];
}

/** 1 at age 0, falling to 0 at the lifetime; an age in the future counts as 0 (clock skew is not a bonus). */
export function decayFactor(model: DecayModel, ageMs: number): number {
  const t = Math.max(0, ageMs) / (model.lifetimeDays * DAY_MS);
  if (t >= 1) return 0;
  return 1 - t ** (1 / model.rate);
}

export function decayedScore(base: number, model: DecayModel, ageMs: number): number {
  return base * decayFactor(model, ageMs);
}

/** When a score starting at `base` falls to the revoke score (OpenCTI's computed valid_until), in ms. */
export function revokeAfterMs(model: DecayModel, base = 100): number {
  if (base <= model.revokeScore) return 0;
  return model.lifetimeDays * DAY_MS * (1 - model.revokeScore / base) ** model.rate;
}

export function isRevoked(model: DecayModel, ageMs: number, base = 100): boolean {
  return decayedScore(base, model, ageMs) < model.revokeScore;
}
