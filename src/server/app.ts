import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController, type RouteOptions } from 'fastify';
import { newId, RiposteError } from '../core/index.ts';
import { installAuth } from './auth.ts';
import { createServerMetrics } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { sendProblem, toRiposteError } from './problem.ts';
import { registerRoutes } from './routes/index.ts';
import type { ServerServices } from './services.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Routes reachable without authentication. Only health probes, login, signed webhooks and the API
     * documentation may set it; the route-inventory test (test/route-inventory.test.ts) enforces that list.
     */
    public?: boolean;
    /**
     * The permission a caller needs (see the catalog in docs/security.md); every non-public route has one.
     * `authenticated` means any signed-in caller. The server refuses to start with a route that has neither.
     */
    permission?: string;
  }
}

export interface BuildServerOptions extends ServerServices {
  /** Sees every route as it is registered (the route-inventory test walks them). */
  onRoute?: (route: RouteOptions) => void;
}

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
    // Only named proxies may speak for the client: otherwise anyone could dodge sign-in limits with a header.
    ...(config.server.trust_proxy === undefined || config.server.trust_proxy === false ? {} : { trustProxy: config.server.trust_proxy }),
  });

  // The API speaks JSON: Fastify's built-in text/plain parser would hand routes a string they then reject
  // as a bad payload (400). Without it, a text/plain body is a clear 415. Routes that take other media
  // types (webhooks, Slack forms, TAXII) register their own parsers in their scope.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
  });
  // While draining, responses to in-flight requests tell the client to drop the connection; otherwise
  // their keep-alive sockets would hold shutdown open for Fastify's 72 s keep-alive timeout.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
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

  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  installAuth(app, { auth: options.auth, config });
  await registerOpenApi(app, { config, version: options.version });
  await registerRoutes(app, options, metrics);

  return app;
}
