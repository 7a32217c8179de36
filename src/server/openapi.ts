import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { Config } from '../core/index.ts';
import { sessionCookieNames } from './auth.ts';

/**
 * The API describes itself: an OpenAPI 3.1 document generated from the route schemas at
 * /api/openapi.json, and Swagger UI at /api/docs (served from the package, no CDN). Both are public —
 * they are documentation, and every operation in them still needs its permission. Each operation
 * lists its security (bearer token or session cookie) and the permission it needs, as the
 * `x-riposte-permission` extension and in its description.
 */
export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PREFIX = '/api/docs';

const TAGS = [
  { name: 'auth', description: 'Sign-in, sign-out and the caller’s identity' },
  { name: 'users', description: 'User administration (users:admin)' },
  { name: 'tokens', description: 'API tokens for scripts and integrations' },
  { name: 'health', description: 'Probes and metrics' },
];

/** Must be registered before any route, so every route is seen. */
export async function registerOpenApi(app: FastifyInstance, options: { config: Config; version: string }): Promise<void> {
  const cookies = sessionCookieNames(options.config);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Riposte API',
        version: options.version,
        description:
          'REST API of Riposte, an open-source SOAR. Authenticate with `Authorization: Bearer rpt_…` (API tokens, for scripts) ' +
          'or the session cookie set by `POST /api/v1/auth/login` (the UI; state-changing requests then also need `x-csrf-token`). ' +
          'Errors are RFC 9457 problem+json with a stable `code`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      ...(options.config.server.public_url ? { servers: [{ url: options.config.server.public_url }] } : {}),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'rpt_<43 base62 characters>', description: 'API token (riposte tokens create)' },
          session: { type: 'apiKey', in: 'cookie', name: cookies.session, description: 'UI session cookie; unsafe methods also need x-csrf-token' },
        },
      },
      tags: TAGS,
    },
    transform: ({ schema, url, route }) => {
      const config = (route.config ?? {}) as { public?: boolean; permission?: string };
      const described: FastifySchema & Record<string, unknown> = { ...(schema ?? {}) };
      if (config.public === true) {
        described.security = [];
      } else if (config.permission !== undefined) {
        described.security = [{ bearer: [] }, { session: [] }];
        described['x-riposte-permission'] = config.permission;
        const needs = config.permission === 'authenticated' ? 'any signed-in caller' : `permission \`${config.permission}\``;
        const text = typeof described.description === 'string' ? `${described.description}\n\n` : '';
        described.description = `${text}Requires ${needs}.`;
      }
      return { schema: described, url };
    },
  });

  app.get(OPENAPI_PATH, { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(async (docs) => {
    // Swagger UI's own routes (page, assets) are documentation like the spec: mark them public here
    // so the route inventory sees a declaration rather than an exception.
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true };
    });
    await docs.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true, uiConfig: { deepLinking: true, displayOperationId: false } });
  });
}
