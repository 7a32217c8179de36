import type { Sla } from './api.ts';

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = now - Date.parse(iso);
  const future = ms < 0;
  const s = Math.abs(ms) / 1000;
  const text = s < 60 ? `${Math.round(s)}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const label = (value: string) => value.replace(/_/g, ' ');

export function SeverityChip(props: { severity: string }) {
  return <span className={`chip sev-${props.severity}`}>{props.severity}</span>;
}

export function StatusChip(props: { status: string }) {
  return <span className={`chip status-${props.status}`}>{label(props.status)}</span>;
}

export function VerdictChip(props: { verdict: string | null; confidence?: number | null }) {
  const verdict = props.verdict ?? 'unknown';
  return (
    <span className={`chip verdict-${verdict}`} data-testid="verdict-chip">
      {verdict}
      {props.confidence !== null && props.confidence !== undefined ? ` · ${props.confidence}` : ''}
    </span>
  );
}

/** The most urgent SLA timer of a case: breached beats due soon beats running. */
export function SlaBadge(props: { sla: { acknowledge: Sla; contain: Sla; resolve: Sla }; now?: number }) {
  const now = props.now ?? Date.now();
  const timers = (['acknowledge', 'contain', 'resolve'] as const).map((name) => ({ name, ...props.sla[name] }));
  const breached = timers.find((t) => t.state === 'breached');
  if (breached)
    return (
      <span className="sla sla-breached" title={`${breached.name} SLA breached`}>
        {breached.name} breached
      </span>
    );
  const running = timers.filter((t) => t.state === 'running' && t.due_at).sort((a, b) => Date.parse(a.due_at ?? '') - Date.parse(b.due_at ?? ''))[0];
  if (!running) return <span className="sla sla-met">met</span>;
  const left = Date.parse(running.due_at ?? '') - now;
  const cls = left < 0 ? 'sla-breached' : left < 30 * 60_000 ? 'sla-soon' : 'sla-running';
  return (
    <span className={`sla ${cls}`} title={`${running.name} due ${running.due_at}`}>
      {running.name} {left < 0 ? 'overdue' : ago(running.due_at, now)}
    </span>
  );
}

const SECRET_KEY = /(secret|token|password|passwd|api[_-]?key|apikey|authorization|cookie|private[_-]?key|credential)/i;

/** Values under secret-looking keys are shown masked; the server scrubs secrets already, this is belt and braces. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return '…';
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null && v !== '' ? '••••••' : maskSecrets(v, depth + 1)]));
  return value;
}

export function Json(props: { value: unknown }) {
  return <pre className="json">{JSON.stringify(maskSecrets(props.value), null, 2)}</pre>;
}
