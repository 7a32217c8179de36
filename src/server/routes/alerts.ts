import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CasesService } from '../../cases/index.ts';
import { ALERT_SOURCES, type AlertSource, adaptPayload, type IngestResult, MAX_ALERTS_PER_REQUEST, verifyWebhook, WEBHOOK_HEADERS } from '../../cases/index.ts';
import { type Actor, RiposteError } from '../../core/index.ts';
import { actorOf } from '../actor.ts';
import type { ServerServices } from '../services.ts';

const alertSchema = {
  type: 'object',
  description: 'A generic alert (see docs/cases.md); vendor payloads go to /api/v1/webhooks/{source}',
  required: ['title'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500 },
    severity: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0, maximum: 6 }] },
    time: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    description: { type: 'string' },
    rule: { anyOf: [{ type: 'string' }, { type: 'object', properties: { name: { type: 'string' }, uid: { type: 'string' } } }] },
    product: { type: 'string' },
    id: { type: 'string' },
    dedup_key: { type: 'string' },
    url: { type: 'string' },
    observables: { type: 'array', items: { type: 'object', required: ['type', 'value'], properties: { type: { type: 'string' }, value: { type: 'string' } } } },
    techniques: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    data: {},
  },
} as const;

function reply201(reply: FastifyReply, results: IngestResult[]) {
  const created = results.some((r) => r.outcome !== 'repeat');
  return reply.code(created ? 201 : 200).send({ results });
}

/**
 * Alert intake: `POST /api/v1/alerts` for authenticated callers (API tokens) and
 * `POST /api/v1/webhooks/{source}` for SIEMs, which authenticate with a per-source token or an HMAC
 * signature over the raw body (checked here, before the body is even parsed).
 */
export async function alertRoutes(app: FastifyInstance, options: { services: ServerServices & { cases: CasesService } }): Promise<void> {
  const { services } = options;
  const { cases } = services;

  app.post(
    '/api/v1/alerts',
    {
      config: { permission: 'alerts:ingest' },
      schema: { body: { anyOf: [alertSchema, { type: 'array', minItems: 1, maxItems: MAX_ALERTS_PER_REQUEST, items: alertSchema }] } },
    },
    async (request, reply) => {
      const alerts = adaptPayload('generic', request.body, Date.now());
      return reply201(reply, await cases.ingest(alerts, { actor: actorOf(request) }));
    },
  );

  app.get(
    '/api/v1/alerts/:id',
    { config: { permission: 'alerts:read' }, schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (request) => cases.getAlert((request.params as { id: string }).id),
  );

  // Webhooks need the exact bytes for the signature: in this scope JSON arrives as text and is parsed
  // only after the sender has been authenticated.
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    hooks.post(
      '/api/v1/webhooks/:source',
      {
        config: { public: true },
        schema: {
          params: { type: 'object', required: ['source'], properties: { source: { type: 'string', enum: [...ALERT_SOURCES] } } },
          querystring: { type: 'object', properties: { token: { type: 'string', maxLength: 512 } } },
          headers: {
            type: 'object',
            properties: {
              [WEBHOOK_HEADERS.token]: { type: 'string' },
              [WEBHOOK_HEADERS.signature]: { type: 'string' },
              [WEBHOOK_HEADERS.timestamp]: { type: 'string' },
              [WEBHOOK_HEADERS.delivery]: { type: 'string' },
            },
          },
          body: { description: 'the vendor payload as JSON (Splunk webhook alert action, Elastic webhook connector, Sentinel incident, or a generic alert)' },
        },
      },
      async (request: FastifyRequest, reply) => {
        const source = (request.params as { source: AlertSource }).source;
        const rawBody = typeof request.body === 'string' ? request.body : '';
        const now = Date.now();
        const verified = verifyWebhook({
          source,
          headers: request.headers,
          queryToken: (request.query as { token?: string }).token,
          rawBody,
          now,
          skewMs: services.config.webhooks.max_skew,
          credentials: services.webhookCredentials ? await services.webhookCredentials(source) : { tokens: [], hmacSecrets: [] },
        });
        if (verified.delivery && (await cases.deliverySeen(source, verified.delivery.id))) {
          throw new RiposteError(
            'webhook.replayed',
            `delivery ${JSON.stringify(verified.delivery.id.slice(0, 80))} was already received; replays are refused`,
            {
              status: 409,
            },
          );
        }
        let payload: unknown;
        try {
          payload = JSON.parse(rawBody);
        } catch (error) {
          throw new RiposteError('input.malformed_json', `request body is not valid JSON: ${(error as Error).message}`, { status: 400 });
        }
        const alerts = adaptPayload(source, payload, now);
        const actor: Actor = { kind: 'source', id: `webhook:${source}`, name: source };
        const delivery = verified.delivery ? { source, id: verified.delivery.id, expiresAt: verified.delivery.expiresAt } : undefined;
        return reply201(reply, await cases.ingest(alerts, { actor, delivery }));
      },
    );
  });
}
