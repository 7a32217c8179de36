import type { FastifyInstance } from 'fastify';
import { describeError, RiposteError } from '../../core/index.ts';
import type { ServerMetrics } from '../metrics.ts';
import { sendProblem } from '../problem.ts';
import type { ServerServices } from '../services.ts';

/** Liveness, readiness and Prometheus metrics: what load balancers and monitoring poll. */
export async function healthRoutes(app: FastifyInstance, options: { services: ServerServices; metrics: ServerMetrics }): Promise<void> {
  const { services, metrics } = options;

  app.get('/healthz', { config: { public: true }, schema: { tags: ['health'], summary: 'Liveness: the process answers' } }, async () => ({
    status: 'ok',
    version: services.version,
  }));

  app.get('/readyz', { config: { public: true }, schema: { tags: ['health'], summary: 'Readiness: the store answers' } }, async (request, reply) => {
    try {
      await services.store.ping();
      return { status: 'ready', store: services.store.backend };
    } catch (error) {
      return sendProblem(
        reply,
        request,
        new RiposteError('store.unreachable', `store is not answering: ${describeError(error)}`, {
          status: 503,
          retryable: true,
          details: { retry_after_seconds: 5 },
        }),
      );
    }
  });

  // Metrics reveal traffic patterns and internals, so they need a token (Prometheus: bearer_token).
  app.get('/metrics', { config: { permission: 'metrics:read' }, schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
