import type { CaseRecord } from '../store/index.ts';
import { iso, type Severity, type SlaTimer } from './model.ts';

/**
 * SLA timers per severity: how long until a case must be acknowledged, contained and resolved. Due times are
 * fixed when the case opens (and recomputed if its severity changes); the view says met, breached or running.
 */
export interface SlaTargets {
  acknowledge_ms: number | null;
  contain_ms: number | null;
  resolve_ms: number | null;
}

const H = 3_600_000;
export const DEFAULT_SLA: Record<Severity, SlaTargets> = {
  critical: { acknowledge_ms: 15 * 60_000, contain_ms: 4 * H, resolve_ms: 24 * H },
  high: { acknowledge_ms: 30 * 60_000, contain_ms: 8 * H, resolve_ms: 72 * H },
  medium: { acknowledge_ms: 4 * H, contain_ms: 24 * H, resolve_ms: 7 * 24 * H },
  low: { acknowledge_ms: 24 * H, contain_ms: 72 * H, resolve_ms: 14 * 24 * H },
  informational: { acknowledge_ms: 72 * H, contain_ms: null, resolve_ms: 30 * 24 * H },
};

export function dueTimes(createdAt: number, severity: Severity, sla: Record<Severity, SlaTargets>) {
  const targets = sla[severity];
  const due = (ms: number | null) => (ms === null ? null : createdAt + ms);
  return { acknowledgeDueAt: due(targets.acknowledge_ms), containDueAt: due(targets.contain_ms), resolveDueAt: due(targets.resolve_ms) };
}

function timer(due: number | null, met: number | null, now: number): SlaTimer {
  if (due === null) return { due_at: null, met_at: iso(met), state: met === null ? 'not_set' : 'met' };
  if (met !== null) return { due_at: iso(due), met_at: iso(met), state: met <= due ? 'met' : 'breached' };
  return { due_at: iso(due), met_at: null, state: now > due ? 'breached' : 'running' };
}

export function slaView(c: CaseRecord, now: number) {
  return {
    acknowledge: timer(c.acknowledgeDueAt, c.acknowledgedAt, now),
    contain: timer(c.containDueAt, c.containedAt, now),
    resolve: timer(c.resolveDueAt, c.resolvedAt, now),
  };
}
