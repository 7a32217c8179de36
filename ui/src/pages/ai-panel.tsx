import { useCallback, useEffect, useRef, useState } from 'react';
import {
  AI_ERRORS,
  type AiAnswer,
  type AiInteraction,
  type AiStatus,
  type AiUsage,
  actorName,
  aiStatus,
  aiUsable,
  type Injection,
  KIND_NAMES,
  readExplain,
  readInjection,
  readSteps,
  readSummary,
  type SuggestedStep,
} from '../ai.ts';
import { ApiError, api, type CaseItem, can, type Me, type Observable, type Run } from '../api.ts';
import { ago, duration, Json, label, StatusChip, VerdictChip } from '../format.tsx';
import { Link } from '../router.tsx';

/**
 * The case view's AI assistance: a summary and hand-off note, a verdict explained in plain words, suggested
 * next steps. The model only suggests. Its text is data an attacker may have steered (alert fields and email
 * bodies reach the prompt), so it is always shown as plain text, labelled as AI output, with the prompt-
 * injection signals the server found; a suggested playbook starts only when a person confirms the exact
 * playbook and inputs, through the normal run API (policy and approvals apply).
 */

/** Whether the signed-in user may use AI assistance here (server enabled, role grants `ai:use`). */
export function useAiStatus(): AiStatus | undefined {
  const [status, setStatus] = useState<AiStatus>();
  useEffect(() => {
    let current = true;
    aiStatus()
      .then((s) => {
        if (current) setStatus(s);
      })
      .catch(() => {});
    return () => {
      current = false;
    };
  }, []);
  return status;
}

export function useAiUsable(me: Me): boolean {
  return aiUsable(me, useAiStatus());
}

/** A request from elsewhere on the page (an observable row's **Explain** button); `seq` makes repeats count. */
export interface ExplainRequest {
  observable: string;
  seq: number;
}

interface Failure {
  code: string;
  message: string;
}

const failureOf = (e: unknown): Failure => (e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'error', message: String(e) });

export function AiPanel(props: { me: Me; kase: CaseItem; observables: Observable[]; explain?: ExplainRequest; onChange: () => void }) {
  const { me, kase, observables } = props;
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<Failure>();
  const [answer, setAnswer] = useState<AiAnswer>();
  const [shown, setShown] = useState<AiInteraction>();
  const [target, setTarget] = useState('');
  const [history, setHistory] = useState<AiInteraction[]>([]);
  const section = useRef<HTMLElement>(null);

  const loadHistory = useCallback(() => {
    api<{ interactions: AiInteraction[] }>(`/api/v1/cases/${kase.id}/ai/interactions`)
      .then((r) => setHistory(Array.isArray(r.interactions) ? r.interactions : []))
      .catch(() => {});
  }, [kase.id]);
  useEffect(() => {
    loadHistory();
  }, [loadHistory]);

  const ask = useCallback(
    async (path: string, body: Record<string, unknown>, what: string) => {
      setBusy(what);
      setFailure(undefined);
      setShown(undefined);
      try {
        setAnswer(await api<AiAnswer>(`/api/v1/cases/${kase.id}/ai/${path}`, { method: 'POST', body }));
      } catch (e) {
        setAnswer(undefined);
        setFailure(failureOf(e));
      } finally {
        setBusy(undefined);
        loadHistory();
        // The server records each request on the timeline (and may tag the case): show it.
        props.onChange();
      }
    },
    [kase.id, loadHistory, props.onChange],
  );

  const explain = props.explain;
  // A request made before this panel mounted (say, on the previous case) is not this panel's to answer.
  const handled = useRef(explain?.seq);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new request (seq) is the trigger, not ask's identity
  useEffect(() => {
    if (!explain || explain.seq === handled.current) return;
    handled.current = explain.seq;
    setTarget(explain.observable);
    section.current?.scrollIntoView({ block: 'nearest' });
    ask('explain', { observable: explain.observable }, 'explain');
  }, [explain?.seq]);

  return (
    <section ref={section} className="ai-panel" data-testid="ai-panel" aria-labelledby="ai-panel-title">
      <h2 id="ai-panel-title">AI assistance</h2>
      <div className="ai-actions">
        <button type="button" disabled={busy !== undefined} onClick={() => ask('summary', {}, 'summary')}>
          Summarise
        </button>
        <span className="ai-explain">
          <select aria-label="Explain which verdict" value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Whole case</option>
            {observables.map((o) => (
              <option key={o.id} value={o.value}>
                {o.type}: {o.value}
              </option>
            ))}
          </select>
          <button type="button" disabled={busy !== undefined} onClick={() => ask('explain', target ? { observable: target } : {}, 'explain')}>
            Explain verdict
          </button>
        </span>
        <button type="button" disabled={busy !== undefined} onClick={() => ask('next-steps', {}, 'next_steps')}>
          Suggest next steps
        </button>
        {busy && (
          <span className="muted" data-testid="ai-busy">
            Asking the model ({KIND_NAMES[busy]?.toLowerCase() ?? busy})…
          </span>
        )}
      </div>
      {failure && <AiFailure failure={failure} />}
      {answer && !shown && (
        <AiResult
          me={me}
          kase={kase}
          kind={answer.kind}
          model={answer.model}
          output={answer.output}
          injection={readInjection(answer.injection)}
          usage={answer.usage}
          withheld={answer.withheld?.tlp_red ?? 0}
          onStarted={props.onChange}
        />
      )}
      {shown && (
        <AiResult
          me={me}
          kase={kase}
          kind={shown.kind}
          model={shown.model}
          output={shown.output}
          injection={readInjection(shown.injection)}
          usage={shown}
          withheld={0}
          caption={`Earlier ${KIND_NAMES[shown.kind]?.toLowerCase() ?? shown.kind} by ${actorName(shown.actor)}, ${ago(shown.created_at)}`}
          onStarted={props.onChange}
        />
      )}
      <AiHistory me={me} interactions={history} shown={shown?.id} onShow={(i) => setShown(i.id === shown?.id ? undefined : i)} />
    </section>
  );
}

export function AiFailure(props: { failure: Failure }) {
  const { code, message } = props.failure;
  const known = AI_ERRORS[code];
  return (
    <div className="ai-error error" role="alert" data-testid="ai-error" data-code={code}>
      {known && <strong>{known} </strong>}
      <span>{message}</span> <span className="mono muted">({code})</span>
    </div>
  );
}

/** The label every piece of model output carries, its cost, and the injection warning when there is one. */
export function AiProvenance(props: { model: string; usage: Partial<AiUsage>; injection: Injection; withheld?: number; caption?: string }) {
  const { usage, injection } = props;
  return (
    <>
      {injection.suspected && <InjectionBanner injection={injection} />}
      <div className="ai-provenance">
        <span className="ai-label" data-testid="ai-label">
          AI-generated, verify before acting
        </span>
        <span className="muted" data-testid="ai-usage">
          {props.model} · {usage.prompt_tokens ?? 0}+{usage.completion_tokens ?? 0} tokens · {duration(usage.latency_ms ?? 0)}
        </span>
        {props.caption && <span className="muted">{props.caption}</span>}
        {props.withheld ? (
          <span className="chip tlp-red" data-testid="ai-withheld">
            {props.withheld} TLP:RED item{props.withheld === 1 ? '' : 's'} withheld from the model
          </span>
        ) : null}
      </div>
    </>
  );
}

export function InjectionBanner(props: { injection: Injection }) {
  return (
    <div className="injection-banner" role="alert" data-testid="ai-injection">
      <strong>Possible prompt injection.</strong> Content on this case looks like instructions aimed at the model. Treat this answer as possibly manipulated:
      nothing was run, and nothing will run unless a person starts it.
      {props.injection.signals.length > 0 && (
        <ul>
          {props.injection.signals.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: signals have no identity beyond their order
            <li key={i} data-testid="ai-injection-signal">
              <span className="where">{s.where}</span>: matched <q>{s.pattern}</q> in <code className="excerpt">{s.excerpt}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function AiResult(props: {
  me: Me;
  kase: CaseItem;
  kind: string;
  model: string;
  output: unknown;
  injection: Injection;
  usage: Partial<AiUsage>;
  withheld: number;
  caption?: string;
  onStarted: () => void;
}) {
  return (
    <div className="ai-answer" data-testid="ai-answer" data-kind={props.kind}>
      <AiProvenance model={props.model} usage={props.usage} injection={props.injection} withheld={props.withheld} caption={props.caption} />
      {props.output === null || props.output === undefined ? (
        <p className="muted">No output was stored for this request.</p>
      ) : props.kind === 'summary' ? (
        <SummaryView output={props.output} />
      ) : props.kind === 'explain' ? (
        <ExplainView output={props.output} />
      ) : props.kind === 'next_steps' ? (
        <StepsView me={props.me} kase={props.kase} output={props.output} onStarted={props.onStarted} />
      ) : (
        <pre className="ai-text">{JSON.stringify(props.output, null, 2)}</pre>
      )}
    </div>
  );
}

function SummaryView(props: { output: unknown }) {
  const s = readSummary(props.output);
  return (
    <div data-testid="ai-summary">
      <h3>Summary</h3>
      <p className="ai-text" data-testid="ai-summary-text">
        {s.summary}
      </p>
      <h3>Hand-off note</h3>
      <p className="ai-text" data-testid="ai-handoff">
        {s.handoff}
      </p>
      <h3>Key facts</h3>
      <TextList items={s.key_facts} testId="ai-key-facts" />
      <h3>Open questions</h3>
      <TextList items={s.open_questions} testId="ai-open-questions" />
    </div>
  );
}

/** Model-written items as plain text, or "None." */
function TextList(props: { items: string[]; testId: string }) {
  return (
    <>
      <ul className="ai-list" data-testid={props.testId}>
        {props.items.map((item, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: model text may repeat; order is the identity
          <li key={i}>{item}</li>
        ))}
      </ul>
      {props.items.length === 0 && <p className="muted">None.</p>}
    </>
  );
}

const EFFECT_CLASS: Record<string, string> = { raises: 'verdict-malicious', lowers: 'verdict-benign', neutral: 'verdict-unknown' };

function ExplainView(props: { output: unknown }) {
  const e = readExplain(props.output);
  return (
    <div data-testid="ai-explain">
      <h3>
        {e.observable ? (
          <>
            Why <span className="mono">{e.observable}</span> is {e.verdict ? <VerdictChip verdict={e.verdict} /> : 'unrated'}
          </>
        ) : (
          'The case’s verdicts, explained'
        )}
      </h3>
      <p className="ai-text" data-testid="ai-explanation">
        {e.explanation}
      </p>
      {e.factors.length > 0 && (
        <table className="ai-factors">
          <tbody>
            {e.factors.map((f, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: model text may repeat; order is the identity
              <tr key={i} data-testid="ai-factor">
                <th>{f.source}</th>
                <td>
                  <span className={`chip ${EFFECT_CLASS[f.effect] ?? ''}`}>{f.effect}</span>
                </td>
                <td className="ai-text">{f.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

function StepsView(props: { me: Me; kase: CaseItem; output: unknown; onStarted: () => void }) {
  const steps = readSteps(props.output);
  // The step's index: readSteps builds new objects on every render.
  const [confirming, setConfirming] = useState<number>();
  const [started, setStarted] = useState<Record<number, Run>>({});
  const [startError, setStartError] = useState<Failure>();
  const mayStart = can(props.me, 'runs:start');
  if (steps.length === 0) return <p className="muted">The model suggested no steps.</p>;
  return (
    <>
      <ol className="ai-steps" data-testid="ai-steps">
        {steps.map((step, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: model text may repeat; order is the identity
          <li key={i} data-testid="ai-step">
            <div className="ai-step-title">{step.title}</div>
            <p className="ai-text">{step.rationale}</p>
            <dl className="ai-step-facts">
              {step.technique && (
                <div>
                  <dt>ATT&amp;CK</dt>
                  <dd className="mono">
                    {TECHNIQUE_ID.test(step.technique) ? (
                      <a href={`https://attack.mitre.org/techniques/${step.technique.replace('.', '/')}/`} target="_blank" rel="noopener noreferrer">
                        {step.technique}
                      </a>
                    ) : (
                      step.technique
                    )}
                  </dd>
                </div>
              )}
              {step.mitigation && (
                <div>
                  <dt>Mitigation</dt>
                  <dd data-testid="ai-mitigation">
                    <span className="mono">{step.mitigation.id}</span> {step.mitigation.name}
                  </dd>
                </div>
              )}
              {step.playbook && (
                <div>
                  <dt>Playbook</dt>
                  <dd>
                    <span className="mono">{step.playbook.id}</span> {step.playbook.title && <span className="muted">{step.playbook.title}</span>}{' '}
                    <span className="mono muted">{JSON.stringify(step.playbook.inputs)}</span>
                  </dd>
                </div>
              )}
            </dl>
            {started[i] ? (
              <p className="notice" data-testid="ai-run-started">
                Run started by you: <Link to={`/runs/${started[i].id}`}>{started[i].playbook_id}</Link> <StatusChip status={started[i].status} />
              </p>
            ) : step.startable && step.playbook ? (
              mayStart && (
                <button type="button" onClick={() => setConfirming(i)} data-testid="ai-start-playbook">
                  Start playbook…
                </button>
              )
            ) : step.playbook ? (
              <p className="muted" data-testid="ai-refused">
                Cannot be started from here: {step.refused_reason ?? 'the server did not mark it startable'}
              </p>
            ) : null}
          </li>
        ))}
      </ol>
      {startError && <AiFailure failure={startError} />}
      {confirming !== undefined && steps[confirming]?.playbook && (
        <StartDialog
          me={props.me}
          kase={props.kase}
          step={steps[confirming]}
          onCancel={() => setConfirming(undefined)}
          onStarted={(run) => {
            const index = confirming;
            setConfirming(undefined);
            setStartError(undefined);
            setStarted((s) => ({ ...s, [index]: run }));
            props.onStarted();
          }}
          onFailed={(f) => {
            setConfirming(undefined);
            setStartError(f);
          }}
        />
      )}
    </>
  );
}

/** A person confirms the exact playbook and inputs; the run then goes through the normal API and policy. */
function StartDialog(props: {
  me: Me;
  kase: CaseItem;
  step: SuggestedStep;
  onCancel: () => void;
  onStarted: (run: Run) => void;
  onFailed: (failure: Failure) => void;
}) {
  const playbook = props.step.playbook;
  const [busy, setBusy] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  // One key per dialog: a retried click (a lost answer, a double submit) gets the same run back, not a second one.
  // (getRandomValues, unlike randomUUID, also exists when the UI is served over plain HTTP off loopback.)
  const idempotencyKey = useRef(Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));
  useEffect(() => {
    // Focus starts on Cancel: starting a run is a deliberate click, never a stray Enter.
    cancel.current?.focus();
  }, []);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') props.onCancel();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props.onCancel]);
  if (!playbook) return null;
  const start = async () => {
    setBusy(true);
    try {
      const { run } = await api<{ run: Run }>(`/api/v1/playbooks/${encodeURIComponent(playbook.id)}/runs`, {
        method: 'POST',
        body: { inputs: playbook.inputs },
        headers: { 'idempotency-key': idempotencyKey.current },
      });
      // Link the run to the case so it shows under "Linked runs"; the run stands without it.
      if (can(props.me, 'cases:write')) await api(`/api/v1/cases/${props.kase.id}/runs`, { method: 'POST', body: { run_id: run.id } }).catch(() => {});
      props.onStarted(run);
    } catch (e) {
      props.onFailed(failureOf(e));
    }
  };
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="ai-start-title" data-testid="ai-start-dialog">
        <h2 id="ai-start-title">Start playbook {playbook.id}?</h2>
        <p>
          Suggested by the model for case #{props.kase.number}: <em>{props.step.title}</em>
        </p>
        <dl className="kv">
          <dt>Playbook</dt>
          <dd>
            <span className="mono" data-testid="ai-start-playbook-id">
              {playbook.id}
            </span>{' '}
            {playbook.title}
          </dd>
          <dt>Inputs</dt>
          <dd>
            <pre className="json" data-testid="ai-start-inputs">
              {JSON.stringify(playbook.inputs, null, 2)}
            </pre>
          </dd>
        </dl>
        <p className="muted">
          The run is started as you, {props.me.name}. Policy still decides every write and destructive step: some may wait for approvers or be refused.
        </p>
        <div className="modal-actions">
          <button type="button" className="approve" disabled={busy} onClick={start}>
            Start run
          </button>
          <button type="button" disabled={busy} onClick={props.onCancel} ref={cancel}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}

const errorText = (error: unknown): string => {
  if (!error) return '';
  if (typeof error === 'string') return error;
  const e = error as { code?: unknown; message?: unknown };
  return [e.code, e.message].filter((x) => typeof x === 'string' && x).join(': ') || JSON.stringify(error);
};

function AiHistory(props: { me: Me; interactions: AiInteraction[]; shown: string | undefined; onShow: (interaction: AiInteraction) => void }) {
  const [raw, setRaw] = useState<{ id: string; detail?: { request?: unknown; response_text?: string | null }; error?: string }>();
  const mayAudit = can(props.me, 'audit:read');
  const toggleRaw = (id: string) => {
    if (raw?.id === id) return setRaw(undefined);
    setRaw({ id });
    api<{ request?: unknown; response_text?: string | null }>(`/api/v1/ai/interactions/${encodeURIComponent(id)}`)
      .then((detail) => setRaw((r) => (r?.id === id ? { id, detail } : r)))
      .catch((e) => setRaw((r) => (r?.id === id ? { id, error: (e as Error).message } : r)));
  };
  if (props.interactions.length === 0) return null;
  return (
    <details className="ai-history" data-testid="ai-history">
      <summary>Previous AI requests ({props.interactions.length})</summary>
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>What</th>
            <th>By</th>
            <th>Model</th>
            <th>Tokens</th>
            <th>Latency</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.interactions.map((i) => (
            <tr key={i.id} data-testid="ai-interaction" data-kind={i.kind}>
              <td title={i.created_at}>{ago(i.created_at)}</td>
              <td>{KIND_NAMES[i.kind] ?? label(String(i.kind))}</td>
              <td>{actorName(i.actor)}</td>
              <td className="mono">{i.model}</td>
              <td>
                {i.prompt_tokens ?? 0}+{i.completion_tokens ?? 0}
              </td>
              <td>{duration(i.latency_ms ?? 0)}</td>
              <td>
                <StatusChip status={i.status} />
                {readInjection(i.injection).suspected && <span className="chip verdict-malicious">injection suspected</span>}
                {i.status !== 'ok' && i.error ? <div className="muted ai-text">{errorText(i.error)}</div> : null}
              </td>
              <td>
                {i.status === 'ok' && i.output != null && (
                  <button type="button" className="link-button" onClick={() => props.onShow(i)}>
                    {props.shown === i.id ? 'Hide' : 'Show'}
                  </button>
                )}
                {mayAudit && (
                  <button type="button" className="link-button" onClick={() => toggleRaw(i.id)} data-testid="ai-raw-toggle">
                    {raw?.id === i.id ? 'Hide exchange' : 'Exchange'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {raw && (
        <div className="ai-raw" data-testid="ai-raw">
          <h3>What was sent (secrets redacted) and what the model answered</h3>
          {raw.error && <p className="error">{raw.error}</p>}
          {!raw.detail && !raw.error && <p className="muted">Loading…</p>}
          {raw.detail && (
            <>
              <Json value={raw.detail.request ?? null} />
              <pre className="json">{raw.detail.response_text ?? '(no answer)'}</pre>
            </>
          )}
        </div>
      )}
    </details>
  );
}
