import type { FastifyInstance } from 'fastify';
import type { HuntRequest, HuntService } from '../../app/index.ts';
import { requireActor } from '../auth.ts';

/**
 * Hunt runs over HTTP: start one (202; it runs in the background), watch its progress and sightings, see
 * the remediation plan (which hosts in which waves: the dry-run), start the staged remediation, and approve
 * a wave that waits (a critical server, or a wave needing two approvers). The case the hunt opened holds
 * the evidence and every step.
 */
const huntId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const remediationBody = {
  type: 'object',
  properties: {
    failure_threshold: { type: 'number', minimum: 0, maximum: 1 },
    two_approvers_above: { type: 'integer', minimum: 1 },
    second_wave_share: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  },
  additionalProperties: false,
} as const;
type RemediationBody = { failure_threshold?: number; two_approvers_above?: number; second_wave_share?: number };
const remediationOptions = (b: RemediationBody = {}) => ({
  ...(b.failure_threshold !== undefined ? { failureThreshold: b.failure_threshold } : {}),
  ...(b.two_approvers_above !== undefined ? { twoApproversAbove: b.two_approvers_above } : {}),
  ...(b.second_wave_share !== undefined ? { secondWaveShare: b.second_wave_share } : {}),
});

export async function huntRoutes(app: FastifyInstance, options: { hunts: HuntService }): Promise<void> {
  const { hunts } = options;

  app.get('/api/v1/hunts', { config: { permission: 'hunts:read' } }, async () => ({
    items: (await hunts.runs.listAll()).map(({ sightings: _s, ...rest }) => rest),
  }));

  app.get<{ Params: { id: string } }>('/api/v1/hunts/:id', { config: { permission: 'hunts:read' }, schema: { params: huntId } }, async (request) => ({
    hunt: await hunts.runs.load(request.params.id),
  }));

  app.post<{ Body: HuntRequest }>(
    '/api/v1/hunts',
    {
      config: { permission: 'hunts:run' },
      schema: {
        body: {
          type: 'object',
          properties: {
            sigma: { type: 'string', minLength: 1, maxLength: 200_000 },
            stix: {},
            ioc: {
              type: 'object',
              required: ['key_path'],
              properties: {
                key_path: { type: 'string', minLength: 1, maxLength: 1024 },
                value_name: { type: 'string', maxLength: 256 },
                data: { type: 'string', maxLength: 16_384 },
              },
              additionalProperties: false,
            },
            attack: { type: 'array', items: { type: 'string', maxLength: 20 }, maxItems: 50 },
            title: { type: 'string', maxLength: 300 },
            edr: { type: 'string', minLength: 1, maxLength: 64 },
            dry_run: { type: 'boolean' },
            expires_in_ms: { type: 'integer', minimum: 0, maximum: 7 * 24 * 3600 * 1000 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const hunt = await hunts.start(request.body, requireActor(request));
      return reply.code(202).send({ hunt });
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/hunts/:id/plan', { config: { permission: 'hunts:read' }, schema: { params: huntId } }, async (request) => ({
    waves: await hunts.plan(request.params.id),
  }));

  app.post<{ Params: { id: string }; Body: RemediationBody }>(
    '/api/v1/hunts/:id/remediate',
    { config: { permission: 'hunts:run' }, schema: { params: huntId, body: remediationBody } },
    async (request, reply) =>
      reply.code(202).send({ hunt: await hunts.remediate(request.params.id, requireActor(request), remediationOptions(request.body ?? {})) }),
  );

  app.post<{ Params: { id: string; wave: number } }>(
    '/api/v1/hunts/:id/waves/:wave/approve',
    {
      config: { permission: 'approvals:decide' },
      schema: {
        params: {
          type: 'object',
          required: ['id', 'wave'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 100 }, wave: { type: 'integer', minimum: 0, maximum: 100 } },
        },
      },
    },
    async (request) => ({ wave: await hunts.runs.approve(request.params.id, request.params.wave, requireActor(request)) }),
  );
}
