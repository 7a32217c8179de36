import type { FastifyInstance } from 'fastify';
import { MAX_PASSWORD_LENGTH, ROLES } from '../../auth/index.ts';
import { requireActor } from '../auth.ts';
import { pageOf, pageQueryProperties, pageResponseSchema, readPage } from '../pagination.ts';
import type { ServerServices } from '../services.ts';
import { userJson, userSchema } from './auth-schemas.ts';

const nameParam = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64, description: 'User name' } },
} as const;
const roles = { type: 'array', minItems: 1, maxItems: ROLES.length, items: { type: 'string', enum: [...ROLES] } } as const;

/** User administration: everything here needs users:admin. */
export async function userRoutes(app: FastifyInstance, options: { services: ServerServices }): Promise<void> {
  const { auth } = options.services;

  app.get(
    '/api/v1/users',
    {
      config: { permission: 'users:admin' },
      schema: {
        tags: ['users'],
        summary: 'List users by name',
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQueryProperties() } },
        response: { 200: pageResponseSchema(userSchema) },
      },
    },
    async (request) => {
      const page = readPage(request.query, 'name');
      const users = await auth.listUsers({ afterName: page.after === undefined ? undefined : String(page.after.key), limit: page.limit + 1 });
      return pageOf(users, page, (u) => ({ key: u.name, id: u.id }), userJson);
    },
  );

  app.post(
    '/api/v1/users',
    {
      config: { permission: 'users:admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        description: 'Without a password the account can only use API tokens (service accounts for SIEMs and scripts).',
        body: {
          type: 'object',
          required: ['name', 'roles'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 64 }, roles, password: { type: 'string', maxLength: MAX_PASSWORD_LENGTH } },
        },
        response: { 201: userSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; roles: string[]; password?: string };
      const user = await auth.createUser(body, requireActor(request));
      return reply.code(201).send(userJson(user));
    },
  );

  app.get(
    '/api/v1/users/:name',
    {
      config: { permission: 'users:admin' },
      schema: { tags: ['users'], summary: 'One user', params: nameParam, response: { 200: userSchema } },
    },
    async (request) => userJson(await auth.getUser((request.params as { name: string }).name)),
  );

  app.patch(
    '/api/v1/users/:name',
    {
      config: { permission: 'users:admin' },
      schema: {
        tags: ['users'],
        summary: 'Change roles, disable or enable, reset the password or lift a lockout',
        description:
          'Disabling ends the user’s sessions and stops their API tokens; a new password ends their sessions. ' +
          'The last enabled admin can be neither disabled nor demoted (409 auth.last_admin).',
        params: nameParam,
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: {
            roles,
            disabled: { type: 'boolean' },
            password: { type: ['string', 'null'], maxLength: MAX_PASSWORD_LENGTH, description: 'null removes the password (token-only account).' },
            unlock: { type: 'boolean', description: 'true lifts a lockout and clears the failure count.' },
          },
        },
        response: { 200: userSchema },
      },
    },
    async (request) => {
      const body = request.body as { roles?: string[]; disabled?: boolean; password?: string | null; unlock?: boolean };
      return userJson(await auth.updateUser((request.params as { name: string }).name, body, requireActor(request)));
    },
  );
}
