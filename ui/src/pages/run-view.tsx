import dagre from '@dagrejs/dagre';
import { Background, type Edge, type Node, ReactFlow } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { type ApprovalItem, api, can, type Me, type Run, type StepRecord } from '../api.ts';
import { ago, duration, Json, StatusChip } from '../format.tsx';
import { liveLabel, useLive } from '../live.ts';
import { Link, navigate } from '../router.tsx';

/**
 * A run drawn as its playbook: nodes laid out top to bottom by dagre, each coloured by its step's status and
 * refreshed every second while the run is live. Selecting a node shows the step's inputs, outputs and error
 * (secret-looking keys masked) and, for a step held by policy, the decision and its approval.
 */
export interface GraphNode {
  key: string;
  kind: string;
  title: string | null;
  action: string | null;
  parent: string | null;
}
export interface Graph {
  playbook: { id: string; version: number; title: string | null };
  nodes: GraphNode[];
  edges: Array<{ from: string; to: string; label: string | null }>;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];
const NODE_WIDTH = 200;
const NODE_HEIGHT = 54;

export function layout(graph: Graph, steps: Map<string, StepRecord>, selected: string | undefined): { nodes: Node[]; edges: Edge[] } {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 42 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.key, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of graph.edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const nodes: Node[] = graph.nodes.map((n) => {
    const p = g.node(n.key);
    const step = steps.get(n.key);
    const status = step?.status ?? 'pending';
    return {
      id: n.key,
      position: { x: (p?.x ?? 0) - NODE_WIDTH / 2, y: (p?.y ?? 0) - NODE_HEIGHT / 2 },
      data: {
        label: (
          <div data-testid={`node-${n.key}`} data-status={status}>
            <strong>{n.title ?? n.key}</strong>
            <div className="node-sub">{n.action ?? n.kind}</div>
          </div>
        ),
      },
      className: `step-node step-${status}${selected === n.key ? ' selected' : ''}`,
      style: { width: NODE_WIDTH },
      draggable: false,
      connectable: false,
    };
  });
  const edges: Edge[] = graph.edges.map((e, i) => ({
    id: `e${i}`,
    source: e.from,
    target: e.to,
    ...(e.label ? { label: e.label } : {}),
    animated: steps.get(e.to)?.status === 'running',
  }));
  return { nodes, edges };
}

export function RunPage(props: { me: Me; id: string; onChange: () => void }) {
  const { me, id } = props;
  const [run, setRun] = useState<Run>();
  const [graph, setGraph] = useState<Graph>();
  const [approvals, setApprovals] = useState<ApprovalItem[]>([]);
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const load = useCallback(async () => {
    try {
      const [r, inbox] = await Promise.all([
        api<{ run: Run }>(`/api/v1/runs/${id}`),
        api<{ items: ApprovalItem[] }>('/api/v1/approvals').catch(() => ({ items: [] })),
      ]);
      setRun(r.run);
      setApprovals(inbox.items.filter((a) => a.run_id === id));
      setError(undefined);
      return r.run;
    } catch (e) {
      setError((e as Error).message);
      return undefined;
    }
  }, [id]);
  useEffect(() => {
    api<Graph>(`/api/v1/runs/${id}/graph`)
      .then(setGraph)
      .catch((e) => setError((e as Error).message));
  }, [id]);
  // Live: the stream says when this run moved and the page refetches it. Polling stays as the fallback,
  // every second without the stream and every 10 seconds with it (a run on another worker is not streamed).
  const live = useLive((event) => {
    if (event.run_id === id && (event.topic === 'runs' || event.topic === 'approvals')) void load();
  });
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const r = await load();
      const done = r !== undefined && FINISHED.includes(r.status);
      if (!stopped && !done) timer = setTimeout(tick, live ? 10_000 : 1000);
    };
    tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [load, live]);

  const steps = useMemo(() => new Map((run?.steps ?? []).map((s) => [s.key, s])), [run]);
  const flow = useMemo(() => (graph ? layout(graph, steps, selected) : { nodes: [], edges: [] }), [graph, steps, selected]);
  if (error && !run)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!run) return <p className="loading">Loading run…</p>;

  const act = async (what: 'cancel' | 'resume' | 'rerun') => {
    try {
      if (what === 'rerun') {
        const started = await api<{ run: Run }>(`/api/v1/playbooks/${run.playbook_id}/runs`, { method: 'POST', body: { inputs: run.inputs } });
        navigate(`/runs/${started.run.id}`);
        return;
      }
      await api(`/api/v1/runs/${run.id}/${what}`, { method: 'POST' });
      setNotice(what === 'cancel' ? 'Cancel requested.' : 'Resumed.');
      await load();
      props.onChange();
    } catch (e) {
      setNotice((e as Error).message);
    }
  };
  const finished = FINISHED.includes(run.status);
  const total = Date.parse(run.finished_at ?? new Date().toISOString()) - Date.parse(run.created_at);
  const step = selected ? steps.get(selected) : undefined;
  const orderedSteps = [...steps.values()].sort((a, b) => Date.parse(a.at ?? '') - Date.parse(b.at ?? ''));
  const previousAt = (key: string) => {
    const index = orderedSteps.findIndex((s) => s.key === key);
    return index > 0 ? orderedSteps[index - 1]?.at : run.created_at;
  };
  const stepApproval = approvals.find((a) => a.step === selected);

  return (
    <article className="run" data-testid="run-view">
      <header className="run-header">
        <div>
          <span className="muted">Run {run.id}</span>
          <h1>
            {graph?.playbook.title ?? run.playbook_id} <small>v{run.playbook_version}</small>
          </h1>
          <div>
            <span data-testid="run-status" data-status={run.status}>
              <StatusChip status={run.status} />
            </span>{' '}
            <span className={`live-badge${live ? ' live-on' : ''}`} data-testid="live-status" data-live={live ? 'on' : 'off'}>
              {liveLabel(live)}
            </span>{' '}
            <span className="muted">
              started by {run.started_by ?? '—'} {ago(run.created_at)} · {finished ? 'took' : 'running for'} {duration(total)}
              {run.mode === 'dry_run' ? ' · dry run' : ''}
            </span>
          </div>
        </div>
        <div className="run-actions">
          {can(me, 'runs:cancel') && !finished && (
            <button type="button" onClick={() => act('cancel')}>
              Cancel
            </button>
          )}
          {can(me, 'runs:start') && (run.status === 'failed' || run.status === 'cancelled') && (
            <button type="button" onClick={() => act('resume')}>
              Resume
            </button>
          )}
          {can(me, 'runs:start') && finished && (
            <button type="button" onClick={() => act('rerun')}>
              Re-run with the same inputs
            </button>
          )}
        </div>
      </header>
      {notice && <p className="notice">{notice}</p>}
      {approvals.length > 0 && (
        <p className="waiting" data-testid="run-waiting">
          Waiting for approval: {approvals.map((a) => `${a.action ?? a.step} (${a.approvals?.length ?? 0} of ${a.required ?? 1})`).join(', ')} —{' '}
          <Link to="/approvals">open the inbox</Link>
        </p>
      )}
      <div className="run-body">
        <div className="graph" data-testid="run-graph">
          <ReactFlow
            nodes={flow.nodes}
            edges={flow.edges}
            fitView
            nodesDraggable={false}
            nodesConnectable={false}
            onNodeClick={(_, node) => setSelected(node.id)}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
          </ReactFlow>
        </div>
        <aside className="step-panel" data-testid="step-panel">
          {!selected && <p className="muted">Select a step to see its inputs, outputs and policy decision.</p>}
          {selected && (
            <>
              <h2>{selected}</h2>
              {step ? (
                <>
                  <p>
                    <StatusChip status={step.status} /> <span className="muted">attempts {step.attempts}</span>{' '}
                    {step.at && (
                      <span className="muted">
                        · at {new Date(step.at).toLocaleTimeString()} ·{' '}
                        {duration(Math.max(0, Date.parse(step.at) - Date.parse(previousAt(step.key) ?? step.at)))} after the previous step
                      </span>
                    )}
                  </p>
                  {stepApproval && (
                    <div className="policy">
                      <strong>Held for approval</strong> {stepApproval.approvals?.length ?? 0} of {stepApproval.required ?? 1}
                    </div>
                  )}
                  <h3>Input</h3>
                  <Json value={step.input} />
                  <h3>Output</h3>
                  <Json value={step.output} />
                  {step.error !== null && step.error !== undefined && (
                    <>
                      <h3>Error</h3>
                      <Json value={step.error} />
                    </>
                  )}
                </>
              ) : (
                <p className="muted">Not reached (yet).</p>
              )}
            </>
          )}
          <h3>Run inputs</h3>
          <Json value={run.inputs} />
          {run.output !== null && (
            <>
              <h3>Run output</h3>
              <Json value={run.output} />
            </>
          )}
          {run.error !== null && (
            <>
              <h3>Run error</h3>
              <Json value={run.error} />
            </>
          )}
        </aside>
      </div>
    </article>
  );
}
