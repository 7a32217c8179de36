import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { newId, RiposteError } from '../core/index.ts';
import { createServerMetrics } from './metrics.ts';
import { sendProblem, toRiposteError } from './problem.ts';
import { registerRoutes } from './routes/index.ts';
import type { ServerServices } from './services.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Routes reachable without authentication. Only health probes, login and signed webhooks may set
     * it; the route-inventory test enforces that list.
     */
    public?: boolean;
    /** The permission a caller needs (see the catalog in docs/security.md); every non-public route has one. */
    permission?: string;
  }
}

export type BuildServerOptions = ServerServices;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP app without listening, so tests drive it with `inject` or a real port alike. */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  const metrics = createServerMetrics();
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.server.body_limit,
    // Honour a caller's request id (a SIEM or proxy correlating its logs with ours) when it is sane.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
    },
    // Our onResponse hook writes one line per request with the route template; Fastify's own are off.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    request.log[level]({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toRiposteError(error);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    return sendProblem(reply, request, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new RiposteError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`, { status: 404 })),
  );

  await registerRoutes(app, options, metrics);

  return app;
}
