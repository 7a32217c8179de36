import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';

/**
 * The shape of a run's pinned playbook as a graph, for the UI's run view: one node per step (with its
 * kind, title and action) and the edges the interpreter follows: sequence, parallel fan-out and fan-in,
 * if/switch branches. Derived from the definition the run started with, so a playbook edited since then
 * does not redraw an old run. Expressions and `with` arguments are not returned: the run's step history
 * (GET /api/v1/runs/{id}) carries the evaluated inputs, already scrubbed of secrets.
 */
export interface GraphNode {
  key: string;
  kind: string;
  title: string | null;
  action: string | null;
  /** The container step this node sits in (parallel, if, switch, foreach), or null at the top level. */
  parent: string | null;
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string | null;
}

const KINDS = ['action', 'parallel', 'foreach', 'switch', 'set', 'approval', 'wait', 'call', 'succeed', 'fail'] as const;

type RawStep = Record<string, unknown> & { id?: unknown };

function kindOf(step: RawStep): string {
  if ('then' in step) return 'if';
  for (const kind of KINDS) if (kind in step) return kind;
  return 'unknown';
}

const stepsIn = (value: unknown): RawStep[] => (Array.isArray(value) ? value.filter((s): s is RawStep => typeof s === 'object' && s !== null) : []);

export function playbookGraph(definition: unknown): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const root = stepsIn((definition as { steps?: unknown } | null)?.steps);

  /** Lays out a list of steps in sequence; returns the entry key and the exit keys (several after a branch). */
  function sequence(steps: RawStep[], parent: string | null, from: string[], label: string | null): string[] {
    let exits = from;
    let first = true;
    for (const step of steps) {
      const key = typeof step.id === 'string' ? step.id : `step-${nodes.length}`;
      const kind = kindOf(step);
      nodes.push({
        key,
        kind,
        title: typeof step.title === 'string' ? step.title : null,
        action: typeof step.action === 'string' ? step.action : null,
        parent,
      });
      for (const exit of exits) edges.push({ from: exit, to: key, label: first ? label : null });
      first = false;
      exits = [key];
      if (kind === 'parallel') {
        const branches = stepsIn(step.parallel);
        exits = branches.flatMap((branch) => sequence([branch], key, [key], null));
      } else if (kind === 'if') {
        const thenExits = sequence(stepsIn(step.then), key, [key], 'then');
        const elseSteps = stepsIn(step.else);
        exits = [...thenExits, ...(elseSteps.length ? sequence(elseSteps, key, [key], 'else') : [key])];
      } else if (kind === 'switch') {
        const cases = (step.cases ?? {}) as Record<string, unknown>;
        exits = Object.entries(cases).flatMap(([name, list]) => sequence(stepsIn(list), key, [key], name));
        const fallback = stepsIn(step.default);
        exits.push(...(fallback.length ? sequence(fallback, key, [key], 'default') : [key]));
      } else if (kind === 'foreach') {
        exits = sequence(stepsIn((step.foreach as { do?: unknown } | undefined)?.do), key, [key], 'each');
      }
    }
    return exits;
  }

  sequence(root, null, [], null);
  return { nodes, edges };
}

export async function runGraphRoutes(app: FastifyInstance, options: { store: Store }): Promise<void> {
  const { store } = options;
  app.get<{ Params: { id: string } }>(
    '/api/v1/runs/:id/graph',
    {
      config: { permission: 'runs:read' },
      schema: {
        tags: ['runs'],
        summary: 'The run’s pinned playbook as nodes and edges (for drawing it)',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
      },
    },
    async (request) => {
      const row = await store.engine.getRun(request.params.id);
      if (!row) throw notFound('run', request.params.id);
      const definition = row.definition as { id?: unknown; version?: unknown; title?: unknown } | undefined;
      return {
        run_id: row.id,
        playbook: { id: definition?.id ?? row.playbookId, version: definition?.version ?? row.playbookVersion, title: definition?.title ?? null },
        ...playbookGraph(definition),
      };
    },
  );
}
