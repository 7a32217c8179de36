import type { Actor, ExtractedObservable, ObservableType } from '../core/index.ts';

/**
 * The vocabulary of cases: severities (OCSF severity ids), statuses, the NIST SP 800-61 phases, TLP 2.0
 * and PAP markings, and the shapes the API returns. JSON field names are snake_case because they are
 * what API clients and playbooks see.
 */
export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** OCSF severity_id for each severity (1 Informational … 5 Critical). */
export const SEVERITY_ID: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

export const CASE_STATUSES = ['new', 'acknowledged', 'in_progress', 'contained', 'resolved', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
/** Cases in these statuses no longer attract new alerts: a repeat opens a fresh case. */
export const FINISHED_STATUSES: readonly CaseStatus[] = ['resolved', 'closed'];

/** NIST SP 800-61 incident response life cycle. */
export const CASE_PHASES = ['preparation', 'detection_analysis', 'containment_eradication_recovery', 'post_incident'] as const;
export type CasePhase = (typeof CASE_PHASES)[number];

/** Traffic Light Protocol 2.0 (FIRST). */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
export type Tlp = (typeof TLP_LEVELS)[number];
/** Permissible Actions Protocol. */
export const PAP_LEVELS = ['clear', 'green', 'amber', 'red'] as const;
export type Pap = (typeof PAP_LEVELS)[number];

export const TASK_STATUSES = ['open', 'in_progress', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const ALERT_SOURCES = ['generic', 'splunk', 'elastic', 'sentinel'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

/**
 * An alert after its source adapter: modelled on OCSF's Detection Finding (class 2004) — when, how bad,
 * which rule fired, which product said so, what it is about — with the vendor's event kept as received.
 */
export interface NormalizedAlert {
  source: AlertSource;
  /** When the detection happened (epoch ms); the receive time when the vendor did not say. */
  time: number;
  severity: Severity;
  severity_id: number;
  title: string;
  description: string;
  rule: { name: string; uid: string | null };
  product: { name: string; vendor: string };
  /** The vendor's id for this alert, when it has one. */
  uid: string | null;
  /** Same source + same dedup key = the same alert sent again. */
  dedup_key: string;
  /** Link back to the alert in the vendor's console. */
  url: string | null;
  observables: ExtractedObservable[];
  /** ATT&CK technique ids named by the vendor (validated against the catalog when attached to a case). */
  techniques: string[];
  tags: string[];
  /** The event as the vendor sent it. */
  raw: unknown;
}

export interface SlaTimer {
  due_at: string | null;
  met_at: string | null;
  state: 'met' | 'breached' | 'running' | 'not_set';
}

export interface CaseView {
  id: string;
  number: number;
  title: string;
  description: string;
  severity: Severity;
  status: CaseStatus;
  phase: CasePhase;
  tlp: Tlp;
  pap: Pap;
  assignee: string | null;
  tags: string[];
  techniques: string[];
  source: string | null;
  resolution: string | null;
  alert_count: number;
  minutes_saved: number;
  created_at: string;
  updated_at: string;
  acknowledged_at: string | null;
  contained_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  sla: { acknowledge: SlaTimer; contain: SlaTimer; resolve: SlaTimer };
}

export interface TimelineEntryView {
  id: string;
  at: string;
  actor: Actor;
  kind: string;
  summary: string;
  details: Record<string, unknown>;
}

export interface ObservableView {
  id: string;
  type: ObservableType;
  value: string;
  first_seen_at: string;
  last_seen_at: string;
  sightings: number;
  verdict: string | null;
  confidence: number | null;
  enrichment: Record<string, unknown>;
  enriched_at: string | null;
}

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function severityFromAny(value: unknown): Severity | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // OCSF severity_id: 0 unknown, 1 info … 5 critical, 6 fatal.
    if (value >= 5) return 'critical';
    if (value >= 1) return SEVERITIES[Math.round(value) - 1];
    return undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return severityFromAny(Number(text));
  const map: Record<string, Severity> = {
    info: 'informational',
    informational: 'informational',
    information: 'informational',
    low: 'low',
    medium: 'medium',
    moderate: 'medium',
    med: 'medium',
    high: 'high',
    critical: 'critical',
    crit: 'critical',
    fatal: 'critical',
    urgent: 'critical',
  };
  return map[text];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_ID[a] >= SEVERITY_ID[b] ? a : b;
}
