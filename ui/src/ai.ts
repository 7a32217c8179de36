import { api, can, type Me } from './api.ts';

/**
 * The AI assistance API as the UI sees it (docs/api.md, "AI assistance"). Model output arrives validated by
 * the server, but it is still text a model wrote from case content an attacker may control: the UI reads it
 * defensively (missing or mistyped fields become empty) and shows every string as text.
 */
export interface AiStatus {
  enabled: boolean;
  model: string | null;
  endpoint: string | null;
  allow_tlp_red: boolean;
  usage_today?: { requests: number; prompt_tokens: number; completion_tokens: number };
  budget?: { case_tokens: number; daily_tokens: number };
}

export interface InjectionSignal {
  where: string;
  pattern: string;
  excerpt: string;
}

export interface Injection {
  suspected: boolean;
  signals: InjectionSignal[];
}

export type AiKind = 'summary' | 'explain' | 'next_steps' | 'playbook_draft';

export interface AiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
}

export interface AiAnswer {
  interaction_id: string;
  kind: AiKind;
  model: string;
  output: unknown;
  injection: Injection;
  withheld?: { tlp_red: number };
  usage: AiUsage;
}

export interface SummaryOutput {
  summary: string;
  handoff: string;
  key_facts: string[];
  open_questions: string[];
}

export interface ExplainOutput {
  observable: string | null;
  verdict: string | null;
  explanation: string;
  factors: Array<{ source: string; effect: string; detail: string }>;
}

export interface SuggestedStep {
  title: string;
  rationale: string;
  technique: string | null;
  mitigation: { id: string; name: string } | null;
  playbook: { id: string; title: string; inputs: Record<string, unknown> } | null;
  startable: boolean;
  refused_reason: string | null;
}

export interface AiInteraction {
  id: string;
  kind: AiKind;
  model: string;
  /** Who asked: the server sends the actor record ({ kind, id, name }); older answers may carry a name. */
  actor: string | { name?: string; id?: string } | null;
  created_at: string;
  status: 'ok' | 'error' | 'refused';
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
  injection: Injection | null;
  output: unknown;
  error?: unknown;
}

export interface DraftIssue {
  message: string;
  line: number | null;
  column: number | null;
}

export interface PlaybookDraft {
  id: string;
  title: string;
  description: string;
  yaml?: string;
  valid: boolean;
  issues?: DraftIssue[];
  status: 'draft';
  created_by: string;
  created_at: string;
  interaction_id: string;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value));
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.map(text).filter((v) => v !== '') : []);
const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

export function readSummary(output: unknown): SummaryOutput {
  const o = record(output);
  return { summary: text(o.summary), handoff: text(o.handoff), key_facts: texts(o.key_facts), open_questions: texts(o.open_questions) };
}

export function readExplain(output: unknown): ExplainOutput {
  const o = record(output);
  return {
    observable: typeof o.observable === 'string' ? o.observable : null,
    verdict: typeof o.verdict === 'string' ? o.verdict : null,
    explanation: text(o.explanation),
    factors: (Array.isArray(o.factors) ? o.factors : []).map((f) => {
      const r = record(f);
      return { source: text(r.source), effect: text(r.effect), detail: text(r.detail) };
    }),
  };
}

export function readSteps(output: unknown): SuggestedStep[] {
  const steps = record(output).steps;
  return (Array.isArray(steps) ? steps : []).map((s) => {
    const r = record(s);
    const mitigation = record(r.mitigation);
    const playbook = record(r.playbook);
    return {
      title: text(r.title),
      rationale: text(r.rationale),
      technique: typeof r.technique === 'string' && r.technique ? r.technique : null,
      mitigation: r.mitigation ? { id: text(mitigation.id), name: text(mitigation.name) } : null,
      playbook: r.playbook && typeof playbook.id === 'string' ? { id: playbook.id, title: text(playbook.title), inputs: record(playbook.inputs) } : null,
      // Only the server's word makes a step startable, and only with a playbook to start.
      startable: r.startable === true && typeof playbook.id === 'string',
      refused_reason: typeof r.refused_reason === 'string' ? r.refused_reason : null,
    };
  });
}

export function actorName(actor: AiInteraction['actor']): string {
  if (typeof actor === 'string') return actor;
  return text(actor?.name ?? actor?.id ?? '') || 'unknown';
}

export function readInjection(value: unknown): Injection {
  const o = record(value);
  return {
    suspected: o.suspected === true,
    signals: (Array.isArray(o.signals) ? o.signals : []).map((s) => {
      const r = record(s);
      return { where: text(r.where), pattern: text(r.pattern), excerpt: text(r.excerpt) };
    }),
  };
}

/** The AI status, asked once per page load (it only changes when the server's configuration does). */
let statusRequest: Promise<AiStatus> | undefined;
export function aiStatus(): Promise<AiStatus> {
  statusRequest ??= api<AiStatus>('/api/v1/ai/status').catch((error) => {
    statusRequest = undefined;
    throw error;
  });
  return statusRequest;
}

/** Whether this user may ask the model about cases: AI is enabled on the server and a role grants `ai:use`. */
export function aiUsable(me: Me, status: AiStatus | undefined): boolean {
  return status?.enabled === true && can(me, 'ai:use');
}

export const AI_ERRORS: Record<string, string> = {
  'ai.disabled': 'AI assistance is disabled on this server.',
  'ai.tlp_red_refused': 'Refused: this case holds TLP:RED content and the model endpoint is not allowed to receive it.',
  'ai.budget_exceeded': 'Token budget exhausted.',
  'ai.endpoint_failed': 'The model endpoint failed.',
  'ai.bad_model_output': 'The model answered with something that is not a valid suggestion; it was discarded.',
};

export const KIND_NAMES: Record<string, string> = {
  summary: 'Summary',
  explain: 'Verdict explanation',
  next_steps: 'Next steps',
  playbook_draft: 'Playbook draft',
};
