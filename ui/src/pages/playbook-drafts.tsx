import { type FormEvent, Fragment, useCallback, useEffect, useMemo, useState } from 'react';
import { type AiAnswer, type DraftIssue, type PlaybookDraft, readInjection } from '../ai.ts';
import { ApiError, api, can, type Me } from '../api.ts';
import { ago } from '../format.tsx';
import { Link, navigate } from '../router.tsx';
import { AiFailure, AiProvenance, useAiStatus } from './ai-panel.tsx';
import { PlaybookEditor } from './playbook-editor.tsx';

/**
 * Playbooks drafted by the model from a description. A draft is never enabled: it is YAML checked by the
 * same validation as `riposte playbook validate`, shown read-only with its issues at line and column, for a
 * person to review and save into the playbooks folder (and Git) themselves.
 */
const MAX_DESCRIPTION = 4000;

export const DRAFT_NOTE = 'Draft — not enabled; save it into the playbooks folder after review.';

export function PlaybookDraftsPage(props: { me: Me; id?: string; edit?: boolean }) {
  if (props.id && props.edit) return <DraftInEditor me={props.me} id={props.id} />;
  if (props.id) return <DraftView me={props.me} id={props.id} />;
  return <DraftList me={props.me} />;
}

function DraftList(props: { me: Me }) {
  const { me } = props;
  const status = useAiStatus();
  const [drafts, setDrafts] = useState<PlaybookDraft[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<{ drafts: PlaybookDraft[] }>('/api/v1/ai/playbook-drafts')
      .then((r) => setDrafts(Array.isArray(r.drafts) ? r.drafts : []))
      .catch((e) => setError((e as Error).message));
  }, []);
  return (
    <section className="playbook-drafts" data-testid="playbook-drafts">
      <h1>
        <Link to="/playbooks">Playbooks</Link> / AI drafts
      </h1>
      <p className="draft-note">
        Drafts are written by a language model from your description and are <strong>never enabled</strong>. Review the YAML, then save it into the playbooks
        folder (or its Git repository) yourself.
      </p>
      {status?.enabled && can(me, 'ai:draft') ? (
        <DraftForm />
      ) : status && !status.enabled ? (
        <p className="muted">AI assistance is disabled on this server (the `ai` block in the configuration).</p>
      ) : status ? (
        <p className="muted">Drafting needs the `ai:draft` permission (responder or admin).</p>
      ) : null}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Draft</th>
            <th>Validation</th>
            <th>By</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(drafts ?? []).map((d) => (
            <tr key={d.id} data-testid="draft-row">
              <td>
                <Link to={`/playbook-drafts/${encodeURIComponent(d.id)}`}>{d.title || d.id}</Link>
                {d.description && <div className="muted ai-text">{d.description.length > 160 ? `${d.description.slice(0, 160)}…` : d.description}</div>}
              </td>
              <td>
                <ValidityChip valid={d.valid} issues={d.issues?.length} />
              </td>
              <td>{d.created_by}</td>
              <td title={d.created_at}>{ago(d.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {drafts?.length === 0 && <p className="muted">No drafts yet.</p>}
    </section>
  );
}

function ValidityChip(props: { valid: boolean; issues?: number }) {
  return (
    <span className={`chip ${props.valid ? 'verdict-benign' : 'verdict-malicious'}`} data-testid="draft-validity">
      {props.valid ? 'valid' : props.issues === undefined ? 'invalid' : `${props.issues} issue${props.issues === 1 ? '' : 's'}`}
    </span>
  );
}

function DraftForm() {
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ code: string; message: string }>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!description.trim()) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const result = await api<{ draft: PlaybookDraft; answer: AiAnswer }>('/api/v1/ai/playbook-drafts', { method: 'POST', body: { description } });
      // The answer's provenance (model, tokens, injection signals) travels to the draft's page once.
      lastAnswer = { draftId: result.draft.id, answer: result.answer };
      navigate(`/playbook-drafts/${encodeURIComponent(result.draft.id)}`);
    } catch (e) {
      setFailure(e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'error', message: String(e) });
      setBusy(false);
    }
  };
  return (
    <form className="draft-form" onSubmit={submit} aria-label="Draft a playbook">
      <label htmlFor="draft-description">Describe the playbook you want</label>
      <textarea
        id="draft-description"
        data-testid="draft-description"
        value={description}
        maxLength={MAX_DESCRIPTION}
        onChange={(e) => setDescription(e.target.value)}
        placeholder="When an alert names a suspicious domain, look it up in VirusTotal and URLhaus, reach a verdict, and open a ticket if it is malicious."
      />
      <span className="muted">
        {description.length} / {MAX_DESCRIPTION}
      </span>
      <button type="submit" disabled={busy || !description.trim()}>
        {busy ? 'Drafting…' : 'Draft playbook'}
      </button>
      {failure && <AiFailure failure={failure} />}
    </form>
  );
}

let lastAnswer: { draftId: string; answer: AiAnswer } | undefined;

function useDraft(id: string): { draft?: PlaybookDraft; error?: string } {
  const [draft, setDraft] = useState<PlaybookDraft>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<{ draft: PlaybookDraft }>(`/api/v1/ai/playbook-drafts/${encodeURIComponent(id)}`)
      .then((r) => setDraft(r.draft))
      .catch((e) => setError(e instanceof ApiError && e.status === 404 ? `Draft ${id} does not exist.` : (e as Error).message));
  }, [id]);
  return { draft, error };
}

function DraftView(props: { me: Me; id: string }) {
  const { draft, error } = useDraft(props.id);
  const answer = lastAnswer?.draftId === props.id ? lastAnswer.answer : undefined;
  const yaml = draft?.yaml ?? '';
  const issues = draft?.issues ?? [];
  const byLine = useMemo(() => {
    const map = new Map<number, DraftIssue[]>();
    for (const issue of issues) if (issue.line !== null) map.set(issue.line, [...(map.get(issue.line) ?? []), issue]);
    return map;
  }, [issues]);
  const copy = useCallback(() => {
    navigator.clipboard?.writeText(yaml).catch(() => {});
  }, [yaml]);
  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!draft) return <p className="loading">Loading draft…</p>;
  const lines = yaml.split('\n');
  return (
    <article className="playbook-draft" data-testid="playbook-draft">
      <div className="toolbar">
        <h1>
          <Link to="/playbooks">Playbooks</Link> / <Link to="/playbook-drafts">AI drafts</Link> / <span data-testid="draft-title">{draft.title}</span>
        </h1>
        <ValidityChip valid={draft.valid} issues={issues.length} />
      </div>
      <p className="draft-note" data-testid="draft-note">
        <strong>{DRAFT_NOTE}</strong>
      </p>
      {answer && <AiProvenance model={answer.model} usage={answer.usage} injection={readInjection(answer.injection)} withheld={answer.withheld?.tlp_red} />}
      {!answer && (
        <div className="ai-provenance">
          <span className="ai-label" data-testid="ai-label">
            AI-generated, verify before acting
          </span>
          <span className="muted">
            drafted for {draft.created_by}, {ago(draft.created_at)}
          </span>
        </div>
      )}
      <h3>Description</h3>
      <p className="ai-text" data-testid="draft-description-text">
        {draft.description}
      </p>
      {issues.length > 0 && (
        <ul className="issues" data-testid="draft-issues">
          {issues.map((issue, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: issues may repeat; order is the identity
            <li key={i} className="error" data-testid="draft-issue">
              <span className="mono">
                {issue.line ?? '?'}:{issue.column ?? '?'}
              </span>{' '}
              {issue.message}
            </li>
          ))}
        </ul>
      )}
      <div className="toolbar">
        <h3>YAML</h3>
        <button type="button" onClick={copy}>
          Copy YAML
        </button>
        {can(props.me, 'playbooks:read') && (
          <button type="button" onClick={() => navigate(`/playbook-drafts/${encodeURIComponent(draft.id)}/edit`)} data-testid="open-in-editor">
            Open in editor
          </button>
        )}
      </div>
      <div className="draft-yaml" data-testid="draft-yaml">
        {lines.map((line, i) => {
          const here = byLine.get(i + 1);
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: line numbers are the identity here
            <Fragment key={i}>
              <span className={here ? 'line-no has-issue' : 'line-no'} title={here?.map((x) => `${x.line}:${x.column ?? '?'} ${x.message}`).join('\n')}>
                {i + 1}
              </span>
              <span className="line-text">{line || ' '}</span>
            </Fragment>
          );
        })}
      </div>
    </article>
  );
}

/** The draft's YAML in the playbook editor's validation view (checked as you type, never saved). */
function DraftInEditor(props: { me: Me; id: string }) {
  const { draft, error } = useDraft(props.id);
  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!draft) return <p className="loading">Loading draft…</p>;
  return <PlaybookEditor me={props.me} id={draft.id} draft={{ yaml: draft.yaml ?? '', title: draft.title }} />;
}
