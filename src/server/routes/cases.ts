import type { FastifyInstance } from 'fastify';
import type { CasesService } from '../../cases/index.ts';
import { CASE_PHASES, CASE_STATUSES, PAP_LEVELS, RESOLUTIONS, SEVERITIES, TASK_STATUSES, TLP_LEVELS } from '../../cases/index.ts';
import { invalidInput } from '../../core/index.ts';
import { actorOf } from '../actor.ts';
import type { ServerServices } from '../services.ts';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, description: 'case id or case number' } },
} as const;
const list = (text: string | undefined) =>
  text
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;

const caseFields = {
  title: { type: 'string', minLength: 1, maxLength: 500 },
  description: str(100_000),
  severity: { type: 'string', enum: [...SEVERITIES] },
  status: { type: 'string', enum: [...CASE_STATUSES] },
  phase: { type: 'string', enum: [...CASE_PHASES] },
  tlp: { type: 'string', enum: [...TLP_LEVELS] },
  pap: { type: 'string', enum: [...PAP_LEVELS] },
  assignee: { type: ['string', 'null'], maxLength: 200 },
  tags: { type: 'array', maxItems: 50, items: str(64) },
  techniques: { type: 'array', maxItems: 100, items: str(16) },
} as const;

const observableItem = {
  type: 'object',
  required: ['type', 'value'],
  additionalProperties: false,
  properties: { type: str(32), value: str(4096) },
} as const;

/** Cases and everything on them: list/search, CRUD, assignment, closing, tasks, comments, evidence, timeline, runs, metrics. */
export async function caseRoutes(app: FastifyInstance, options: { services: ServerServices & { cases: CasesService } }): Promise<void> {
  const { cases } = options.services;

  app.get(
    '/api/v1/cases',
    {
      config: { permission: 'cases:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { ...str(200), description: 'comma-separated statuses' },
            severity: { ...str(200), description: 'comma-separated severities' },
            phase: { ...str(200), description: 'comma-separated NIST phases' },
            assignee: str(200),
            tag: str(64),
            technique: str(16),
            q: { ...str(500), description: 'full-text search over title and description' },
            cursor: str(200),
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined> & { limit?: number };
      return cases.listCases({
        status: list(q.status),
        severity: list(q.severity),
        phase: list(q.phase),
        assignee: q.assignee,
        tag: q.tag,
        technique: q.technique,
        q: q.q,
        cursor: q.cursor,
        limit: q.limit,
      });
    },
  );

  app.post(
    '/api/v1/cases',
    {
      config: { permission: 'cases:write' },
      schema: {
        body: {
          type: 'object',
          required: ['title'],
          additionalProperties: false,
          properties: { ...caseFields, observables: { type: 'array', maxItems: 1000, items: observableItem } },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await cases.createCase(request.body as Parameters<typeof cases.createCase>[0], actorOf(request))),
  );

  app.get(
    '/api/v1/cases/metrics',
    {
      config: { permission: 'metrics:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { since: { type: 'string', format: 'date-time' }, until: { type: 'string', format: 'date-time' } },
        },
      },
    },
    async (request) => {
      const q = request.query as { since?: string; until?: string };
      return cases.metrics({ since: q.since ? Date.parse(q.since) : undefined, until: q.until ? Date.parse(q.until) : undefined });
    },
  );

  app.get('/api/v1/cases/:id', { config: { permission: 'cases:read' }, schema: { params: idParams } }, async (request) =>
    cases.getCase((request.params as { id: string }).id),
  );

  app.patch(
    '/api/v1/cases/:id',
    {
      config: { permission: 'cases:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: { ...caseFields, resolution: { type: ['string', 'null'], enum: [...RESOLUTIONS, null] } },
        },
      },
    },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      if (body.status === 'closed') throw invalidInput('close a case with POST /api/v1/cases/{id}/close (it needs a resolution)', { field: 'status' });
      return cases.updateCase((request.params as { id: string }).id, body, actorOf(request));
    },
  );

  app.post(
    '/api/v1/cases/:id/assign',
    {
      config: { permission: 'cases:assign' },
      schema: {
        params: idParams,
        body: { type: 'object', required: ['assignee'], additionalProperties: false, properties: { assignee: { type: ['string', 'null'], maxLength: 200 } } },
      },
    },
    async (request) => cases.assignCase((request.params as { id: string }).id, (request.body as { assignee: string | null }).assignee, actorOf(request)),
  );

  app.post(
    '/api/v1/cases/:id/close',
    {
      config: { permission: 'cases:close' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['resolution'],
          additionalProperties: false,
          properties: { resolution: { type: 'string', enum: [...RESOLUTIONS] }, summary: str(100_000) },
        },
      },
    },
    async (request) => cases.closeCase((request.params as { id: string }).id, request.body as { resolution: string; summary?: string }, actorOf(request)),
  );

  app.get('/api/v1/cases/:id/alerts', { config: { permission: 'alerts:read' }, schema: { params: idParams, querystring: pageQuery } }, async (request) => {
    const q = request.query as { after?: string; limit?: number };
    return { items: await cases.alertsOf((request.params as { id: string }).id, q) };
  });

  app.get('/api/v1/cases/:id/observables', { config: { permission: 'observables:read' }, schema: { params: idParams } }, async (request) => ({
    items: await cases.observablesOf((request.params as { id: string }).id),
  }));

  app.post(
    '/api/v1/cases/:id/observables',
    {
      config: { permission: 'observables:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['observables'],
          additionalProperties: false,
          properties: { observables: { type: 'array', minItems: 1, maxItems: 1000, items: observableItem } },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send({
        items: await cases.addCaseObservables(
          (request.params as { id: string }).id,
          (request.body as { observables: Array<{ type: string; value: string }> }).observables,
          actorOf(request),
        ),
      }),
  );

  app.get('/api/v1/cases/:id/tasks', { config: { permission: 'cases:read' }, schema: { params: idParams } }, async (request) => ({
    items: await cases.listTasks((request.params as { id: string }).id),
  }));

  app.post(
    '/api/v1/cases/:id/tasks',
    {
      config: { permission: 'tasks:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['title'],
          additionalProperties: false,
          properties: {
            title: { type: 'string', minLength: 1, maxLength: 500 },
            description: str(20_000),
            assignee: { type: ['string', 'null'], maxLength: 200 },
          },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await cases.addTask((request.params as { id: string }).id, request.body as { title: string }, actorOf(request))),
  );

  app.patch(
    '/api/v1/cases/:id/tasks/:taskId',
    {
      config: { permission: 'tasks:write' },
      schema: {
        params: { type: 'object', required: ['id', 'taskId'], properties: { id: str(64), taskId: str(64) } },
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: {
            title: { type: 'string', minLength: 1, maxLength: 500 },
            description: str(20_000),
            status: { type: 'string', enum: [...TASK_STATUSES] },
            assignee: { type: ['string', 'null'], maxLength: 200 },
          },
        },
      },
    },
    async (request) => {
      const { id, taskId } = request.params as { id: string; taskId: string };
      return cases.updateTask(id, taskId, request.body as Record<string, string>, actorOf(request));
    },
  );

  app.get('/api/v1/cases/:id/comments', { config: { permission: 'cases:read' }, schema: { params: idParams, querystring: pageQuery } }, async (request) => ({
    items: await cases.listComments((request.params as { id: string }).id, request.query as { after?: string; limit?: number }),
  }));

  app.post(
    '/api/v1/cases/:id/comments',
    {
      config: { permission: 'comments:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['body'],
          additionalProperties: false,
          properties: { body: { type: 'string', minLength: 1, maxLength: 100_000, description: 'Markdown' } },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await cases.addComment((request.params as { id: string }).id, request.body as { body: string }, actorOf(request))),
  );

  app.get('/api/v1/cases/:id/evidence', { config: { permission: 'cases:read' }, schema: { params: idParams } }, async (request) => ({
    items: await cases.listEvidence((request.params as { id: string }).id),
  }));

  app.get(
    '/api/v1/cases/:id/evidence/:evidenceId',
    {
      config: { permission: 'cases:read' },
      schema: { params: { type: 'object', required: ['id', 'evidenceId'], properties: { id: str(64), evidenceId: str(64) } } },
    },
    async (request, reply) => {
      const { id, evidenceId } = request.params as { id: string; evidenceId: string };
      const { evidence, content } = await cases.getEvidence(id, evidenceId);
      return reply
        .type(evidence.content_type)
        .header('content-disposition', `attachment; filename="${evidence.name.replace(/["\\\r\n]/g, '_')}"`)
        .header('x-content-sha256', evidence.sha256)
        .send(Buffer.from(content));
    },
  );

  // Evidence is uploaded as the raw request body (any content type), up to cases.evidence_max_bytes.
  await app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: cases.evidenceMaxBytes }, (_request, body, done) => done(null, body));
    upload.post(
      '/api/v1/cases/:id/evidence',
      {
        config: { permission: 'evidence:write' },
        bodyLimit: cases.evidenceMaxBytes,
        schema: {
          params: idParams,
          querystring: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, description: str(5000) },
          },
          body: { description: 'the file, as the raw request body; Content-Type is kept' },
        },
      },
      async (request, reply) => {
        const q = request.query as { name: string; description?: string };
        const body = request.body;
        if (!Buffer.isBuffer(body)) throw invalidInput('send the evidence file as the request body');
        const contentType = String(request.headers['content-type'] ?? 'application/octet-stream').split(';')[0] as string;
        return reply
          .code(201)
          .send(
            await cases.addEvidence(
              (request.params as { id: string }).id,
              { name: q.name, description: q.description, contentType, content: body },
              actorOf(request),
            ),
          );
      },
    );
  });

  app.get('/api/v1/cases/:id/timeline', { config: { permission: 'cases:read' }, schema: { params: idParams, querystring: pageQuery } }, async (request) =>
    cases.timeline((request.params as { id: string }).id, request.query as { after?: string; limit?: number }),
  );

  app.post(
    '/api/v1/cases/:id/timeline',
    {
      config: { permission: 'cases:write' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['kind', 'summary'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', pattern: '^[a-z][a-z0-9_.]{0,99}$' },
            summary: { type: 'string', minLength: 1, maxLength: 2000 },
            details: { type: 'object' },
            minutes_saved: { type: 'number', minimum: 0 },
          },
        },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await cases.appendTimeline((request.params as { id: string }).id, request.body as { kind: string; summary: string }, actorOf(request))),
  );

  app.get('/api/v1/cases/:id/runs', { config: { permission: 'cases:read' }, schema: { params: idParams } }, async (request) => ({
    items: await cases.runsOf((request.params as { id: string }).id),
  }));

  app.post(
    '/api/v1/cases/:id/runs',
    {
      config: { permission: 'cases:write' },
      schema: {
        params: idParams,
        body: { type: 'object', required: ['run_id'], additionalProperties: false, properties: { run_id: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (request, reply) => {
      await cases.linkRun((request.params as { id: string }).id, (request.body as { run_id: string }).run_id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get('/api/v1/cases/:id/metrics', { config: { permission: 'cases:read' }, schema: { params: idParams } }, async (request) =>
    cases.caseMetrics((request.params as { id: string }).id),
  );
}

const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: { type: 'string', maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
} as const;
