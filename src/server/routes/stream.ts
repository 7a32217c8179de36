import type { FastifyInstance } from 'fastify';
import { AUTHENTICATED, forbidden, hasPermission } from '../../auth/index.ts';
import { RiposteError } from '../../core/index.ts';
import { LIVE_TOPICS, type LiveEvent, type LiveEvents, type LiveTopic } from '../live.ts';

/**
 * `GET /api/v1/stream?topics=runs,cases,approvals`: server-sent events telling the UI that something it
 * shows changed. Any signed-in caller may open it, but each topic needs the permission that reads it
 * (asking for a topic you cannot read is a 403; without `topics`, you get the ones your roles allow).
 * Events carry ids and statuses only; pages refetch through the REST routes, which check again.
 * A stream lasts at most `maxAgeMs` so that a revoked session stops hearing events: the browser's
 * EventSource reconnects, authenticating afresh.
 */
const TOPIC_PERMISSION: Record<LiveTopic, string> = { runs: 'runs:read', cases: 'cases:read', approvals: 'runs:read' };

export async function streamRoutes(
  app: FastifyInstance,
  options: { live: LiveEvents; maxAgeMs?: number; heartbeatMs?: number; maxPerUser?: number },
): Promise<void> {
  const { live } = options;
  const maxAgeMs = options.maxAgeMs ?? 120_000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  // One tab holds one stream; a cap per user keeps a runaway script from holding sockets without bound.
  const maxPerUser = options.maxPerUser ?? 20;
  const open = new Map<string, number>();

  app.get<{ Querystring: { topics?: string } }>(
    '/api/v1/stream',
    {
      config: { permission: AUTHENTICATED },
      schema: {
        querystring: { type: 'object', properties: { topics: { type: 'string', maxLength: 200 } }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const actor = request.actor;
      if (!actor) throw new RiposteError('auth.unauthenticated', 'sign in first', { status: 401 });
      const asked = request.query.topics
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      let topics: LiveTopic[];
      if (asked && asked.length > 0) {
        const unknown = asked.filter((t) => !(LIVE_TOPICS as readonly string[]).includes(t));
        if (unknown.length > 0)
          throw new RiposteError('input.invalid', `unknown topic ${unknown.join(', ')}; topics are ${LIVE_TOPICS.join(', ')}`, {
            status: 400,
            details: { field: 'query.topics' },
          });
        topics = [...new Set(asked as LiveTopic[])];
        for (const topic of topics) if (!hasPermission(actor, TOPIC_PERMISSION[topic])) throw forbidden(TOPIC_PERMISSION[topic], actor);
      } else {
        topics = LIVE_TOPICS.filter((t) => hasPermission(actor, TOPIC_PERMISSION[t]));
      }
      const wanted = new Set<LiveTopic>(topics);
      const holder = actor.userId;
      if ((open.get(holder) ?? 0) >= maxPerUser)
        throw new RiposteError('server.too_many_streams', `${maxPerUser} live streams are already open for this user; close a tab or another client`, {
          status: 429,
          retryable: true,
          details: { retry_after_seconds: 30 },
        });
      open.set(holder, (open.get(holder) ?? 0) + 1);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
        // Proxies such as nginx would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 3000\nevent: ready\ndata: ${JSON.stringify({ topics })}\n\n`);
      const send = (event: LiveEvent) => {
        if (!wanted.has(event.topic) || raw.writableEnded) return;
        raw.write(`event: ${event.topic}\ndata: ${JSON.stringify(event)}\n\n`);
      };
      const off = live.subscribe(send);
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), heartbeatMs);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        const left = (open.get(holder) ?? 1) - 1;
        if (left > 0) open.set(holder, left);
        else open.delete(holder);
        off();
        clearInterval(heartbeat);
        clearTimeout(expiry);
        if (!raw.writableEnded) raw.end();
      };
      const expiry = setTimeout(finish, maxAgeMs);
      heartbeat.unref();
      expiry.unref();
      request.raw.on('close', finish);
      raw.on('close', finish);
    },
  );
}
