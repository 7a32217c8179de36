import type { FastifyInstance } from 'fastify';
import type { Containment } from '../../app/index.ts';
import { RiposteError } from '../../core/index.ts';
import { CONTAINED_ACTION_STATUSES } from '../../store/index.ts';
import { pageOf, pageQueryProperties, readPage } from '../pagination.ts';

/**
 * The containment lifecycle over HTTP: which blocks and isolations are in effect (and until when), and
 * undoing one through its inverse. A rollback runs the inverse as a playbook run, so it passes policy:
 * 200 when it finished within `?wait=` seconds, 202 while it runs or waits for approvers (the body names
 * the approval), and the step's error (e.g. policy.denied) when it failed.
 */
const actionId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 300 } } } as const;

export async function actionRoutes(app: FastifyInstance, options: { containment: Containment }): Promise<void> {
  const { containment } = options;

  app.get<{ Querystring: { status?: (typeof CONTAINED_ACTION_STATUSES)[number]; case?: string; run?: string; limit?: number; cursor?: string } }>(
    '/api/v1/actions',
    {
      config: { permission: 'actions:read' },
      schema: {
        querystring: {
          type: 'object',
          properties: {
            ...pageQueryProperties(),
            status: { type: 'string', enum: [...CONTAINED_ACTION_STATUSES] },
            case: { type: 'string', minLength: 1, maxLength: 100 },
            run: { type: 'string', minLength: 1, maxLength: 100 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const page = readPage(request.query, 'id_desc');
      const { status, case: caseId, run } = request.query;
      const rows = await containment.list({
        ...(status ? { status } : {}),
        ...(caseId ? { caseId } : {}),
        ...(run ? { runId: run } : {}),
        ...(page.after ? { beforeId: page.after.id } : {}),
        limit: page.limit + 1,
      });
      return pageOf(rows, page, (row) => ({ key: row.id, id: row.id }));
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/actions/:id', { config: { permission: 'actions:read' }, schema: { params: actionId } }, async (request) => ({
    action: await containment.get(request.params.id),
  }));

  app.post<{ Params: { id: string }; Body: { reason: string }; Querystring: { wait?: number } }>(
    '/api/v1/actions/:id/rollback',
    {
      config: { permission: 'actions:rollback' },
      schema: {
        params: actionId,
        querystring: { type: 'object', properties: { wait: { type: 'number', minimum: 0, maximum: 60 } }, additionalProperties: false },
        body: {
          type: 'object',
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 3, maxLength: 500 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const actor = request.actor;
      if (!actor) throw new RiposteError('auth.unauthenticated', 'sign in first', { status: 401 });
      const result = await containment.rollback(request.params.id, {
        actor: actor.name,
        reason: request.body.reason,
        waitMs: (request.query.wait ?? 5) * 1000,
      });
      const done = ['rolled_back', 'expired', 'rollback_failed'].includes(result.action.status);
      return reply.code(done ? 200 : 202).send(result);
    },
  );
}
