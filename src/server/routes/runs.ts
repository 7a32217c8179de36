import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Guardrails } from '../../app/index.ts';
import { canonicalJson, isRiposteError, notFound, RiposteError } from '../../core/index.ts';
import { type Engine, type IdempotentStart, type PlaybookDirectory, type RunView, runJson } from '../../engine/index.ts';
import { pageOf, pageQueryProperties, readPage } from '../pagination.ts';

/**
 * Playbook runs over HTTP: start a run (optionally holding the response until it finishes), list and
 * inspect runs with their per-step history, cancel and resume them, and decide approvals.
 */
const runId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/** How long an Idempotency-Key answers with its run: a day covers any client's retry schedule. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3_600_000;

/**
 * The `Idempotency-Key` header: a structured-field string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`) per
 * draft-ietf-httpapi-idempotency-key-header; a bare token is accepted too, as most clients send one.
 */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const raw = (Array.isArray(header) ? header.join(',') : header).trim();
  const quoted = /^"((?:[^"\\]|\\[\\"])*)"$/.exec(raw);
  const key = quoted ? (quoted[1] ?? '').replace(/\\([\\"])/g, '$1') : raw;
  if (key.length === 0 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) {
    throw new RiposteError('run.idempotency_key_invalid', 'the Idempotency-Key header must be 1–255 printable ASCII characters (a UUID is a good key)', {
      status: 400,
      details: { field: 'header.idempotency-key' },
    });
  }
  return key;
}

export async function runsRoutes(
  app: FastifyInstance,
  options: { engine: Engine; playbooks: PlaybookDirectory; approvals?: Guardrails | undefined },
): Promise<void> {
  const { engine, playbooks, approvals } = options;

  app.get('/api/v1/playbooks', { config: { permission: 'playbooks:read' } }, async () => ({
    items: playbooks.files().map((f) => ({
      id: f.playbook?.id ?? null,
      version: f.playbook?.version ?? null,
      title: f.playbook?.title ?? null,
      file: f.file,
      valid: f.playbook !== undefined,
      issues: f.issues,
    })),
    next_cursor: null,
  }));

  app.post<{ Params: { id: string }; Body: { inputs?: Record<string, unknown>; dry_run?: boolean }; Querystring: { wait?: number } }>(
    '/api/v1/playbooks/:id/runs',
    {
      config: { permission: 'runs:start' },
      schema: {
        params: runId,
        querystring: { type: 'object', properties: { wait: { type: 'number', minimum: 0, maximum: 300 } }, additionalProperties: false },
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              description: 'Retries with the same key and body get the same run (kept 24 h, per user); another body with the key is a 422',
            },
          },
        },
        body: {
          type: 'object',
          properties: { inputs: { type: 'object' }, dry_run: { type: 'boolean' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const playbook = playbooks.get(request.params.id);
      if (playbook === undefined) throw notFound('playbook', request.params.id);
      const inputs = request.body?.inputs ?? {};
      const options = { mode: request.body?.dry_run ? ('dry_run' as const) : ('live' as const), startedBy: request.actor?.name ?? 'api' };
      const key = idempotencyKeyOf(request.headers['idempotency-key']);
      let idempotency: IdempotentStart | undefined;
      let id: string;
      let replayed = false;
      let replayedStatus: number | null = null;
      if (key === undefined) {
        id = await engine.startRun(playbook, inputs, options);
      } else {
        // Scoped to the person behind the call (a token's owner), so one client's keys never meet another's.
        idempotency = {
          scope: request.actor ? `user:${request.actor.userId}` : 'anonymous',
          key,
          fingerprint: createHash('sha256')
            .update(canonicalJson({ playbook: request.params.id, body: request.body ?? {} }))
            .digest('hex'),
          ttlMs: IDEMPOTENCY_KEY_TTL_MS,
        };
        const started = await engine.startRunIdempotent(playbook, inputs, options, idempotency);
        id = started.runId;
        replayed = started.replayed;
        replayedStatus = started.statusCode;
        // Not in the draft, but what Stripe and others send: tells a client this is the earlier request's run.
        if (replayed) reply.header('idempotent-replayed', 'true');
      }
      const wait = request.query.wait ?? 0;
      const run: RunView = wait > 0 ? await engine.waitForRun(id, wait * 1000, { untilWaiting: true }) : await engine.getRun(id);
      const status = replayedStatus ?? (wait > 0 && ['succeeded', 'failed', 'cancelled'].includes(run.status) ? 200 : 202);
      if (idempotency && !replayed) await engine.recordIdempotentStatus(idempotency, id, status);
      return reply.code(status).send({ run: runJson(await engine.getRun(id, { history: true })) });
    },
  );

  app.get<{ Querystring: { status?: string; playbook?: string; limit?: number; cursor?: string } }>(
    '/api/v1/runs',
    {
      config: { permission: 'runs:read' },
      schema: {
        querystring: {
          type: 'object',
          properties: {
            ...pageQueryProperties(),
            status: { type: 'string', enum: ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] },
            playbook: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      // Newest first; run ids are UUIDv7, so the id is both the sort key and the tie-breaker.
      const page = readPage(request.query, 'id_desc');
      const { status, playbook } = request.query;
      const rows = await engine.listRuns({
        ...(status ? { status: [status] } : {}),
        ...(playbook ? { playbookId: playbook } : {}),
        ...(page.after ? { beforeId: page.after.id } : {}),
        limit: page.limit + 1,
      });
      return pageOf(rows, page, (row) => ({ key: row.id, id: row.id }), runJson);
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/runs/:id', { config: { permission: 'runs:read' }, schema: { params: runId } }, async (request) => ({
    run: runJson(await engine.getRun(request.params.id, { history: true })),
  }));

  app.post<{ Params: { id: string } }>('/api/v1/runs/:id/cancel', { config: { permission: 'runs:cancel' }, schema: { params: runId } }, async (request) => ({
    run: runJson(await engine.cancel(request.params.id, request.actor?.name ?? 'api')),
  }));

  app.post<{ Params: { id: string } }>('/api/v1/runs/:id/resume', { config: { permission: 'runs:start' }, schema: { params: runId } }, async (request) => ({
    run: runJson(await engine.resume(request.params.id, request.actor?.name ?? 'api')),
  }));

  app.post<{ Params: { id: string; step: string }; Body: { decision: 'approve' | 'reject'; comment?: string; arguments_hash?: string } }>(
    '/api/v1/runs/:id/approvals/:step',
    {
      config: { permission: 'approvals:decide' },
      schema: {
        params: {
          type: 'object',
          required: ['id', 'step'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, step: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        body: {
          type: 'object',
          required: ['decision'],
          properties: {
            decision: { type: 'string', enum: ['approve', 'reject'] },
            comment: { type: 'string', maxLength: 2000 },
            arguments_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          },
          additionalProperties: false,
        },
      },
    },
    // The decider is the authenticated caller. A step held by policy is decided through the approvals desk
    // (quorum, separation of duties, signed), so both kinds of approval share this route and one inbox.
    async (request) => {
      const { id, step } = request.params;
      try {
        return {
          run: runJson(
            await engine.decide(id, step, {
              decision: request.body.decision,
              actor: request.actor?.name ?? 'unknown',
              roles: [...(request.actor?.roles ?? [])],
              ...(request.body.comment ? { comment: request.body.comment } : {}),
            }),
          ),
        };
      } catch (error) {
        const policyApproval = isRiposteError(error) && error.code === 'engine.policy_approval' ? String(error.details?.approval_id) : undefined;
        if (!policyApproval || !approvals || !request.actor) throw error;
        const current = await approvals.get(policyApproval);
        const result = await approvals.decide(
          policyApproval,
          { id: request.actor.name, roles: [...request.actor.roles], name: request.actor.name },
          {
            decision: request.body.decision,
            arguments_hash: request.body.arguments_hash ?? current.request?.arguments_hash ?? '',
            ...(request.body.comment ? { comment: request.body.comment } : {}),
          },
        );
        return {
          run: runJson(await engine.getRun(id, { history: true })),
          approval: { id: policyApproval, status: result.request.status, released: result.released },
        };
      }
    },
  );
}

/**
 * External events for `wait: {event: NAME}` steps: a ticketing system, a chat bot or a script tells
 * waiting runs that something happened. Every run waiting on that name at this moment wakes up with the
 * payload; an event nobody waits for is not kept.
 */
export async function eventRoutes(app: FastifyInstance, options: { engine: Engine }): Promise<void> {
  const { engine } = options;
  app.post<{ Body: { name: string; payload?: unknown } }>(
    '/api/v1/events',
    {
      config: { permission: 'runs:start' },
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' },
            payload: {},
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => ({ name: request.body.name, woken_runs: await engine.emitEvent(request.body.name, request.body.payload ?? null) }),
  );
}
