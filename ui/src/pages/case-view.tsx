import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiError, api, type CaseItem, can, type Me, type Observable, type Run } from '../api.ts';
import { ago, label, SeverityChip, SlaBadge, StatusChip, VerdictChip } from '../format.tsx';
import { Markdown } from '../markdown.tsx';
import { Link } from '../router.tsx';
import { AiPanel, type ExplainRequest, useAiUsable } from './ai-panel.tsx';
import { EmailPanel } from './email-view.tsx';

/**
 * One case: header (severity, status, NIST phase, TLP/PAP, assignee, SLA), the observables with their verdict
 * and why, ATT&CK techniques, timeline, tasks, comments, evidence files and the playbook runs linked to it.
 * Every value is rendered as text; comments go through the safe Markdown renderer.
 */
const PHASES = ['preparation', 'detection_analysis', 'containment_eradication_recovery', 'post_incident'];
const PHASE_NAMES: Record<string, string> = {
  preparation: 'Preparation',
  detection_analysis: 'Detection & analysis',
  containment_eradication_recovery: 'Containment, eradication & recovery',
  post_incident: 'Post-incident',
};

interface TimelineEntry {
  id: string;
  at: string;
  actor: { name: string; kind: string };
  kind: string;
  summary: string;
}
interface Task {
  id: string;
  title: string;
  status: string;
  assignee: string | null;
}
interface Comment {
  id: string;
  author: { name: string };
  body: string;
  created_at: string;
}
interface Evidence {
  id: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  uploaded_by?: string;
  created_at: string;
}
interface Alert {
  id: string;
  title: string;
  description: string;
  severity: string;
  source: string;
  received_at: string;
  rule: { name: string };
}

/** What the runs say about an observable: the intel.verdict output and each source's evidence. */
export interface VerdictWhy {
  verdict: string;
  confidence: number;
  reasons: string[];
  sources: { answered: string[]; missing: string[] };
  evidence: Array<{ source: string; evaluation: string; summary: string }>;
  runId: string;
}

export function verdictsFromRuns(runs: Run[]): Map<string, VerdictWhy> {
  const out = new Map<string, VerdictWhy>();
  for (const run of runs) {
    const steps = run.steps ?? [];
    const evidenceFor = (observable: string) =>
      steps.flatMap((s) => {
        const o = s.output as { observable?: unknown; evidence?: { source?: unknown; evaluation?: unknown; summary?: unknown } } | null;
        if (!o || o.observable !== observable || !o.evidence || typeof o.evidence.source !== 'string') return [];
        return [{ source: String(o.evidence.source), evaluation: String(o.evidence.evaluation ?? 'unknown'), summary: String(o.evidence.summary ?? '') }];
      });
    for (const step of steps) {
      const o = step.output as Partial<VerdictWhy> & { observable?: unknown };
      if (!o || typeof o !== 'object' || typeof o.observable !== 'string' || typeof o.verdict !== 'string' || !Array.isArray(o.reasons)) continue;
      if (out.has(o.observable)) continue;
      out.set(o.observable, {
        verdict: o.verdict,
        confidence: Number(o.confidence ?? 0),
        reasons: o.reasons.map(String),
        sources: o.sources ?? { answered: [], missing: [] },
        evidence: evidenceFor(o.observable),
        runId: run.id,
      });
    }
  }
  return out;
}

interface TechniqueInfo {
  name?: string;
  tactics?: Array<{ name: string }>;
}

/** Technique names and tactics from the ATT&CK catalog (when the user may read intel); ids alone otherwise. */
function Techniques(props: { me: Me; ids: string[] }) {
  const [info, setInfo] = useState<Record<string, TechniqueInfo>>({});
  const key = props.ids.join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed by the id list
  useEffect(() => {
    if (!can(props.me, 'intel:read')) return;
    Promise.all(
      props.ids.map((id) =>
        api<TechniqueInfo>(`/api/v1/attack/techniques/${encodeURIComponent(id)}`).then(
          (t) => [id, t] as const,
          () => [id, {}] as const,
        ),
      ),
    ).then((entries) => setInfo(Object.fromEntries(entries)));
  }, [key]);
  return (
    <ul className="techniques" data-testid="techniques">
      {props.ids.map((t) => (
        <li key={t}>
          <a href={`https://attack.mitre.org/techniques/${t.replace('.', '/')}/`} target="_blank" rel="noopener noreferrer">
            {t}
          </a>
          {info[t]?.name && <span> {info[t]?.name}</span>}
          {info[t]?.tactics?.length ? <span className="muted"> · {info[t]?.tactics?.map((x) => x.name).join(', ')}</span> : null}
        </li>
      ))}
    </ul>
  );
}

export function CasePage(props: { me: Me; id: string }) {
  const { me, id } = props;
  const [kase, setCase] = useState<CaseItem>();
  const [error, setError] = useState<string>();
  const [observables, setObservables] = useState<Observable[]>([]);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [comments, setComments] = useState<Comment[]>([]);
  const [evidence, setEvidence] = useState<Evidence[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [runs, setRuns] = useState<Run[]>([]);
  const aiOn = useAiUsable(me);
  const [explainAsk, setExplainAsk] = useState<ExplainRequest>();

  const load = useCallback(async () => {
    try {
      const c = await api<CaseItem>(`/api/v1/cases/${encodeURIComponent(id)}`);
      setCase(c);
      const base = `/api/v1/cases/${c.id}`;
      const optional = <T,>(path: string, fallback: T) => api<T>(path).catch(() => fallback);
      const [o, t, tk, cm, ev, al, lr] = await Promise.all([
        optional<{ items: Observable[] }>(`${base}/observables`, { items: [] }),
        optional<{ items: TimelineEntry[] }>(`${base}/timeline?limit=200`, { items: [] }),
        optional<{ items: Task[] }>(`${base}/tasks`, { items: [] }),
        optional<{ items: Comment[] }>(`${base}/comments?limit=200`, { items: [] }),
        optional<{ items: Evidence[] }>(`${base}/evidence`, { items: [] }),
        optional<{ items: Alert[] }>(`${base}/alerts?limit=50`, { items: [] }),
        optional<{ items: Array<{ run_id: string }> }>(`${base}/runs`, { items: [] }),
      ]);
      setObservables(o.items);
      setTimeline(t.items);
      setTasks(tk.items);
      setComments(cm.items);
      setEvidence(ev.items);
      setAlerts(al.items);
      const loaded = await Promise.all(
        lr.items.map((r) =>
          api<{ run: Run }>(`/api/v1/runs/${r.run_id}`).then(
            (x) => x.run,
            () => undefined,
          ),
        ),
      );
      setRuns(loaded.filter((r): r is Run => r !== undefined));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? `Case ${id} does not exist.` : (e as Error).message);
    }
  }, [id]);
  useEffect(() => {
    load();
  }, [load]);

  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!kase) return <p className="loading">Loading case…</p>;
  const why = verdictsFromRuns(runs);
  const phaseIndex = PHASES.indexOf(kase.phase);

  return (
    <article className="case" data-testid="case-view">
      <header className="case-header">
        <div className="case-title">
          <span className="muted">Case #{kase.number}</span>
          <h1 data-testid="case-title">{kase.title}</h1>
        </div>
        <dl className="facts">
          <div>
            <dt>Severity</dt>
            <dd>
              <SeverityChip severity={kase.severity} />
            </dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>
              <StatusChip status={kase.status} />
            </dd>
          </div>
          <div>
            <dt>TLP / PAP</dt>
            <dd>
              <span className={`chip tlp-${kase.tlp.replace('+', '-')}`}>TLP:{kase.tlp.toUpperCase()}</span>{' '}
              <span className="chip">PAP:{kase.pap.toUpperCase()}</span>
            </dd>
          </div>
          <div>
            <dt>Assignee</dt>
            <dd data-testid="case-assignee">{kase.assignee ?? <span className="muted">unassigned</span>}</dd>
          </div>
          <div>
            <dt>SLA</dt>
            <dd>
              <SlaBadge sla={kase.sla} />
            </dd>
          </div>
        </dl>
        <ol className="phases" aria-label="NIST incident phase">
          {PHASES.map((p, i) => (
            <li key={p} className={i < phaseIndex ? 'done' : i === phaseIndex ? 'current' : undefined} aria-current={i === phaseIndex ? 'step' : undefined}>
              {PHASE_NAMES[p]}
            </li>
          ))}
        </ol>
        <CaseActions me={me} kase={kase} onChange={load} />
      </header>

      {kase.description && <p className="description">{kase.description}</p>}

      <div className="columns">
        <div className="main-column">
          <EmailPanel caseId={kase.id} evidence={evidence} />
          <section>
            <h2>Observables</h2>
            <table className="observables">
              <thead>
                <tr>
                  <th>Type</th>
                  <th>Value</th>
                  <th>Verdict</th>
                  <th>Sightings</th>
                </tr>
              </thead>
              <tbody>
                {observables.map((o) => {
                  const w = why.get(o.value);
                  return (
                    <tr key={o.id} data-testid="observable-row">
                      <td>{o.type}</td>
                      <td className="mono">{o.value}</td>
                      <td>
                        <VerdictChip verdict={o.verdict ?? w?.verdict ?? null} confidence={o.confidence ?? w?.confidence ?? null} />
                        {aiOn && (
                          <button
                            type="button"
                            className="link-button"
                            data-testid="ai-explain-observable"
                            onClick={() => setExplainAsk((x) => ({ observable: o.value, seq: (x?.seq ?? 0) + 1 }))}
                          >
                            Explain (AI)
                          </button>
                        )}
                        {w && (
                          <details className="why" data-testid="verdict-why">
                            <summary>why</summary>
                            <ul className="reasons">
                              {w.reasons.map((r) => (
                                <li key={r}>{r}</li>
                              ))}
                            </ul>
                            {w.evidence.length > 0 && (
                              <table className="evidence">
                                <tbody>
                                  {w.evidence.map((e) => (
                                    <tr key={e.source}>
                                      <th>{e.source}</th>
                                      <td>
                                        <span className={`chip verdict-${e.evaluation}`}>{e.evaluation}</span>
                                      </td>
                                      <td>{e.summary}</td>
                                    </tr>
                                  ))}
                                </tbody>
                              </table>
                            )}
                            {w.sources.missing.length > 0 && <p className="muted">No answer from: {w.sources.missing.join(', ')}</p>}
                            <Link to={`/runs/${w.runId}`}>from run {w.runId.slice(-8)}</Link>
                          </details>
                        )}
                      </td>
                      <td>{o.case_sightings ?? o.sightings}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {observables.length === 0 && <p className="muted">No observables.</p>}
          </section>

          {aiOn && <AiPanel key={kase.id} me={me} kase={kase} observables={observables} explain={explainAsk} onChange={load} />}

          <section>
            <h2>Timeline</h2>
            <ol className="timeline" data-testid="timeline">
              {timeline.map((t) => (
                <li key={t.id} className={`tl-${t.kind.split('.')[0]}`}>
                  <time dateTime={t.at} title={t.at}>
                    {new Date(t.at).toLocaleString()}
                  </time>
                  <span className="kind">{t.kind}</span>
                  <span className="summary">{t.summary}</span>
                  <span className="muted"> — {t.actor.name}</span>
                </li>
              ))}
            </ol>
          </section>

          <section>
            <h2>Comments</h2>
            <div className="comments">
              {comments.map((c) => (
                <div key={c.id} className="comment" data-testid="comment">
                  <div className="muted">
                    {c.author.name} · {ago(c.created_at)}
                  </div>
                  <Markdown source={c.body} />
                </div>
              ))}
            </div>
            {can(me, 'comments:write') && <CommentForm caseId={kase.id} onAdded={load} />}
          </section>
        </div>

        <aside className="side-column">
          <section>
            <h2>Linked runs</h2>
            <ul className="runs">
              {runs.map((r) => (
                <li key={r.id}>
                  <Link to={`/runs/${r.id}`} testId="linked-run">
                    {r.playbook_id} v{r.playbook_version}
                  </Link>{' '}
                  <StatusChip status={r.status} />
                </li>
              ))}
            </ul>
            {runs.length === 0 && <p className="muted">None.</p>}
            {/* A hunt's case is tagged hunt:<id>; its fleet progress and remediation waves are on the hunts page. */}
            {kase.tags
              .filter((t) => t.startsWith('hunt:'))
              .map((t) => (
                <p key={t}>
                  <Link to={`/hunts/${encodeURIComponent(t.slice(5))}`} testId="case-hunt">
                    Hunt progress and remediation waves
                  </Link>
                </p>
              ))}
          </section>
          <section>
            <h2>ATT&amp;CK techniques</h2>
            <Techniques me={me} ids={kase.techniques} />
            {kase.techniques.length === 0 && <p className="muted">None.</p>}
            <div className="tags">
              {kase.tags.map((t) => (
                <span key={t} className="tag">
                  {t}
                </span>
              ))}
            </div>
          </section>
          <section>
            <h2>Tasks</h2>
            <ul className="tasks">
              {tasks.map((t) => (
                <li key={t.id}>
                  <label>
                    <input
                      type="checkbox"
                      checked={t.status === 'done'}
                      disabled={!can(me, 'tasks:write')}
                      onChange={async (e) => {
                        await api(`/api/v1/cases/${kase.id}/tasks/${t.id}`, { method: 'PATCH', body: { status: e.target.checked ? 'done' : 'open' } }).catch(
                          () => {},
                        );
                        load();
                      }}
                    />{' '}
                    {t.title}
                  </label>
                  {t.assignee && <span className="muted"> · {t.assignee}</span>}
                </li>
              ))}
            </ul>
            {tasks.length === 0 && <p className="muted">No tasks.</p>}
          </section>
          <section>
            <h2>Alerts</h2>
            <ul className="alerts">
              {alerts.map((a) => (
                <li key={a.id} data-testid="alert">
                  <SeverityChip severity={a.severity} /> <span className="alert-title">{a.title}</span>
                  <div className="muted">
                    {a.source} · {ago(a.received_at)}
                  </div>
                  {a.description && <div className="alert-description">{a.description}</div>}
                </li>
              ))}
            </ul>
          </section>
          <section>
            <h2>Evidence files</h2>
            <ul className="evidence-files">
              {evidence.map((e) => (
                <li key={e.id}>
                  <a href={`/api/v1/cases/${kase.id}/evidence/${e.id}`} download>
                    {e.name}
                  </a>{' '}
                  <span className="muted">
                    {e.content_type}, {e.size} bytes, sha256 {e.sha256.slice(0, 12)}…
                  </span>
                </li>
              ))}
            </ul>
            {evidence.length === 0 && <p className="muted">None.</p>}
          </section>
        </aside>
      </div>
    </article>
  );
}

function CaseActions(props: { me: Me; kase: CaseItem; onChange: () => void }) {
  const { me, kase } = props;
  const [assignee, setAssignee] = useState(kase.assignee ?? '');
  const [error, setError] = useState<string>();
  const act = async (path: string, body: unknown, method = 'POST') => {
    try {
      await api(`/api/v1/cases/${kase.id}${path}`, { method, body });
      setError(undefined);
      props.onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const closed = kase.status === 'closed';
  return (
    <div className="case-actions">
      {can(me, 'cases:assign') && (
        <>
          <input aria-label="Assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)} placeholder="assignee" />
          <button type="button" onClick={() => act('/assign', { assignee: assignee.trim() || null })}>
            Assign
          </button>
          <button type="button" onClick={() => act('/assign', { assignee: me.name })}>
            Take it
          </button>
        </>
      )}
      {can(me, 'cases:write') && !closed && (
        <select aria-label="Phase" value={kase.phase} onChange={(e) => act('', { phase: e.target.value }, 'PATCH')}>
          {PHASES.map((p) => (
            <option key={p} value={p}>
              {PHASE_NAMES[p]}
            </option>
          ))}
        </select>
      )}
      {can(me, 'cases:close') && !closed && (
        <button type="button" onClick={() => act('/close', { resolution: 'true_positive' })}>
          Close as true positive
        </button>
      )}
      {error && <span className="error">{label(error)}</span>}
    </div>
  );
}

function CommentForm(props: { caseId: string; onAdded: () => void }) {
  const [body, setBody] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!body.trim()) return;
    try {
      await api(`/api/v1/cases/${props.caseId}/comments`, { method: 'POST', body: { body } });
      setBody('');
      props.onAdded();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <form className="comment-form" onSubmit={submit}>
      <textarea aria-label="Comment" value={body} onChange={(e) => setBody(e.target.value)} placeholder="Comment (Markdown)" rows={3} />
      <button type="submit">Comment</button>
      {error && <span className="error">{error}</span>}
    </form>
  );
}
