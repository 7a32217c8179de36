import type { FastifyInstance } from 'fastify';
import { PERMISSIONS } from '../../auth/index.ts';
import { invalidInput, parseDuration } from '../../core/index.ts';
import { requireActor } from '../auth.ts';
import type { ServerServices } from '../services.ts';
import { tokenJson, tokenSchema } from './auth-schemas.ts';

/**
 * API tokens. Everyone with tokens:self manages their own; tokens:admin reaches other users' tokens.
 * A token is returned once, at creation; afterwards only its metadata is visible.
 */
export async function tokenRoutes(app: FastifyInstance, options: { services: ServerServices }): Promise<void> {
  const { auth } = options.services;

  app.post(
    '/api/v1/tokens',
    {
      config: { permission: 'tokens:self' },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (shown once)',
        description:
          'Scopes default to all of the owner’s permissions and can never exceed them (nor the caller’s). ' +
          'Creating a token for another user needs tokens:admin. Store the returned `token` now: it cannot be shown again.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, description: 'A label, e.g. splunk-forwarder.' },
            scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...PERMISSIONS] } },
            expires_in: { type: 'string', maxLength: 32, description: 'Lifetime such as 30d or 12h; omit for a token that does not expire.' },
            user: { type: 'string', maxLength: 64, description: 'Owner (default: the caller). Another user needs tokens:admin.' },
          },
        },
        response: {
          201: { ...tokenSchema, required: [...tokenSchema.required, 'token'], properties: { ...tokenSchema.properties, token: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as { name?: string; scopes?: string[]; expires_in?: string; user?: string };
      let expiresInMs: number | undefined;
      if (body.expires_in !== undefined) {
        expiresInMs = parseDuration(body.expires_in);
        if (expiresInMs === undefined || expiresInMs <= 0)
          throw invalidInput('body.expires_in must be a duration such as 30d or 12h', { field: 'body.expires_in' });
      }
      const { token, view } = await auth.createToken({ userName: body.user, name: body.name, scopes: body.scopes, expiresInMs }, requireActor(request));
      return reply.code(201).send({ ...tokenJson(view), token });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { permission: 'tokens:self' },
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens (metadata only)',
        description: 'The caller’s own by default; `user=NAME` or `all=true` need tokens:admin for other users.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { user: { type: 'string', maxLength: 64 }, all: { type: 'boolean', default: false } },
        },
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: tokenSchema } } } },
      },
    },
    async (request) => {
      const query = request.query as { user?: string; all?: boolean };
      const tokens = await auth.listTokens({ userName: query.user, all: query.all }, requireActor(request));
      return { items: tokens.map(tokenJson) };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { permission: 'tokens:self' },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token',
        description: 'One’s own, or anyone’s with tokens:admin. Revocation is immediate and final.',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 200: tokenSchema },
      },
    },
    async (request) => tokenJson(await auth.revokeToken((request.params as { id: string }).id, requireActor(request))),
  );
}
