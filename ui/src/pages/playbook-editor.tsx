import { Background, ReactFlow } from '@xyflow/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, api, can, type Me, type Run } from '../api.ts';
import { Link, navigate } from '../router.tsx';
import { type Graph, layout } from './run-view.tsx';

/**
 * A playbook's YAML with validation as you type: the server checks the text against the registered
 * actions and the other playbooks and answers each issue with its line and column, shown beside the line
 * and in a list; the graph preview draws what the text would run (the run view's layout). Nothing is
 * saved from here — playbooks live in the playbooks folder (and Git); the dry run starts the loaded version.
 */
interface Issue {
  code: string;
  path: string;
  message: string;
  hint?: string;
  line: number | null;
  column: number | null;
}
interface Validation {
  valid: boolean;
  playbook: { id: string; version: number; title: string | null } | null;
  issues: Issue[];
  graph: { nodes: Graph['nodes']; edges: Graph['edges'] };
}

const NO_STEPS = new Map();

/** `draft`: YAML that is not a loaded playbook (an AI draft) — validated here, never run or saved. */
export function PlaybookEditor(props: { me: Me; id: string; draft?: { yaml: string; title: string } }) {
  const { me, id, draft } = props;
  const draftYaml = draft?.yaml;
  const [source, setSource] = useState<{ yaml: string; file: string; version: number | null }>();
  const [text, setText] = useState('');
  const [result, setResult] = useState<Validation>();
  const [error, setError] = useState<string>();
  const [sample, setSample] = useState('{}');
  const [runError, setRunError] = useState<string>();
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (draftYaml !== undefined) {
      setSource({ yaml: draftYaml, file: 'AI draft (not saved, not enabled)', version: null });
      setText(draftYaml);
      return;
    }
    api<{ yaml: string; file: string; version: number | null }>(`/api/v1/playbooks/${encodeURIComponent(id)}/source`)
      .then((r) => {
        setSource(r);
        setText(r.yaml);
      })
      .catch((e) => setError((e as Error).message));
  }, [id, draftYaml]);

  // Validate after a short pause in typing; only the newest answer counts.
  useEffect(() => {
    if (!source) return;
    let current = true;
    const timer = setTimeout(() => {
      api<Validation>('/api/v1/playbooks/validate', { method: 'POST', body: { yaml: text } })
        .then((r) => {
          if (current) setResult(r);
        })
        .catch((e) => {
          if (current) setError((e as Error).message);
        });
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [text, source]);

  const issuesByLine = useMemo(() => {
    const map = new Map<number, Issue[]>();
    for (const issue of result?.issues ?? []) {
      const line = issue.line ?? 1;
      map.set(line, [...(map.get(line) ?? []), issue]);
    }
    return map;
  }, [result]);
  const lines = text.split('\n');
  const graph: Graph | undefined = result
    ? { playbook: { id: result.playbook?.id ?? id, version: result.playbook?.version ?? 0, title: result.playbook?.title ?? null }, ...result.graph }
    : undefined;
  const flow = useMemo(() => (graph ? layout(graph, NO_STEPS, undefined) : { nodes: [], edges: [] }), [graph]);

  const goTo = (issue: Issue) => {
    const el = area.current;
    if (!el || issue.line === null) return;
    let offset = 0;
    for (let i = 0; i < issue.line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1;
    offset += Math.max(0, (issue.column ?? 1) - 1);
    el.focus();
    el.setSelectionRange(offset, offset);
  };

  const dryRun = async () => {
    setRunError(undefined);
    let inputs: unknown;
    try {
      inputs = JSON.parse(sample);
    } catch (e) {
      setRunError(`Sample input is not JSON: ${(e as Error).message}`);
      return;
    }
    try {
      const started = await api<{ run: Run }>(`/api/v1/playbooks/${encodeURIComponent(id)}/runs`, { method: 'POST', body: { inputs, dry_run: true } });
      navigate(`/runs/${started.run.id}`);
    } catch (e) {
      setRunError(e instanceof ApiError ? e.message : String(e));
    }
  };

  if (error && !source)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!source) return <p className="loading">Loading playbook…</p>;
  return (
    <article className="playbook-editor" data-testid="playbook-editor">
      <div className="toolbar">
        {draft ? (
          <h1>
            <Link to="/playbooks">Playbooks</Link> / <Link to={`/playbook-drafts/${encodeURIComponent(id)}`}>AI draft</Link> / {draft.title}
          </h1>
        ) : (
          <h1>
            <Link to="/playbooks">Playbooks</Link> / {id} <small>v{source.version ?? '?'}</small>
          </h1>
        )}
        <span className="muted mono">{source.file}</span>
        <span className={`chip ${result?.valid ? 'verdict-benign' : 'verdict-malicious'}`} data-testid="validation-state">
          {result ? (result.valid ? 'valid' : `${result.issues.length} issue${result.issues.length === 1 ? '' : 's'}`) : 'checking…'}
        </span>
        {text !== source.yaml && (
          <button type="button" className="link" onClick={() => setText(source.yaml)}>
            Revert edits
          </button>
        )}
      </div>
      <p className="muted">Edits are checked here and not saved: change the file in the playbooks folder (or its Git repository), then reload the server.</p>
      <div className="editor-body">
        <div className="yaml-editor">
          <div className="gutter" ref={gutter} aria-hidden="true">
            {lines.map((_, i) => {
              const issues = issuesByLine.get(i + 1);
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: line numbers are the identity here
                <div key={i} className={issues ? 'gutter-line has-issue' : 'gutter-line'} title={issues?.map((x) => x.message).join('\n')}>
                  {i + 1}
                </div>
              );
            })}
          </div>
          <textarea
            ref={area}
            aria-label="Playbook YAML"
            data-testid="yaml"
            spellCheck={false}
            value={text}
            wrap="off"
            onChange={(e) => setText(e.target.value)}
            onScroll={(e) => {
              if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
            }}
          />
        </div>
        <div className="graph preview" data-testid="playbook-graph">
          <ReactFlow nodes={flow.nodes} edges={flow.edges} fitView nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
            <Background />
          </ReactFlow>
        </div>
      </div>
      {result && result.issues.length > 0 && (
        <ul className="issues" data-testid="issues">
          {result.issues.map((issue) => (
            <li key={`${issue.line}:${issue.column}:${issue.code}:${issue.path}`} className="error" data-testid="issue">
              <button type="button" className="link mono" onClick={() => goTo(issue)}>
                {issue.line ?? '?'}:{issue.column ?? '?'}
              </button>{' '}
              {issue.message}
              {issue.hint && <span className="muted"> — {issue.hint}</span>}
            </li>
          ))}
        </ul>
      )}
      {can(me, 'runs:start') && !draft && (
        <section className="dry-run">
          <h2>Dry run</h2>
          <p className="muted">Runs the loaded version with this input; write and destructive actions are simulated, never performed.</p>
          <textarea aria-label="Sample input (JSON)" data-testid="sample-input" value={sample} onChange={(e) => setSample(e.target.value)} rows={4} />
          <button type="button" onClick={dryRun}>
            Dry run
          </button>
          {runError && (
            <p className="error" role="alert">
              {runError}
            </p>
          )}
        </section>
      )}
    </article>
  );
}
