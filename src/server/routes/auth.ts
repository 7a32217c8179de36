import type { FastifyInstance, FastifyReply } from 'fastify';
import { AUTHENTICATED } from '../../auth/index.ts';
import { requireActor, type SessionCookieNames, serializeCookie, sessionCookieNames } from '../auth.ts';
import type { ServerServices } from '../services.ts';
import { actorJson, actorSchema } from './auth-schemas.ts';

/** Sign-in, sign-out, "who am I" and changing one's own password. */
export async function authRoutes(app: FastifyInstance, options: { services: ServerServices }): Promise<void> {
  const { auth, config } = options.services;
  const cookies = sessionCookieNames(config);

  app.post(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a user name and password',
        description:
          'Starts a UI session: sets the HttpOnly session cookie and a script-readable CSRF cookie, and returns the CSRF token, ' +
          'which must accompany every state-changing request as `x-csrf-token`. Limited per user name and client address; ' +
          'repeated failures lock the account for a while. Scripts should use API tokens instead.',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['user', 'csrf_token', 'expires_at'],
            properties: { user: actorSchema, csrf_token: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { username: string; password: string };
      const result = await auth.login({
        name: body.username,
        password: body.password,
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
      });
      const maxAgeSeconds = auth.policy.sessionMaxAgeMs / 1000;
      reply.header('set-cookie', [
        serializeCookie(cookies.session, result.sessionSecret, { httpOnly: true, secure: cookies.secure, maxAgeSeconds }),
        serializeCookie(cookies.csrf, result.csrfToken, { httpOnly: false, secure: cookies.secure, maxAgeSeconds }),
      ]);
      return { user: actorJson(result.actor), csrf_token: result.csrfToken, expires_at: new Date(result.expiresAt).toISOString() };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { permission: AUTHENTICATED },
      schema: {
        tags: ['auth'],
        summary: 'Sign out of this UI session',
        description: 'Ends the session and clears its cookies. For an API token it does nothing: revoke the token instead.',
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      if (actor.kind === 'user' && actor.sessionId !== undefined) await auth.logout(actor.sessionId);
      clearCookies(reply, cookies);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { permission: AUTHENTICATED },
      schema: { tags: ['auth'], summary: 'Who am I: the caller, its roles and effective permissions', response: { 200: actorSchema } },
    },
    async (request) => actorJson(requireActor(request)),
  );

  app.post(
    '/api/v1/auth/password',
    {
      config: { permission: AUTHENTICATED },
      schema: {
        tags: ['auth'],
        summary: 'Change one’s own password',
        description: 'Needs the current password. Ends all of the user’s UI sessions, this one included.',
        body: {
          type: 'object',
          required: ['current_password', 'new_password'],
          additionalProperties: false,
          properties: { current_password: { type: 'string', maxLength: 1024 }, new_password: { type: 'string', maxLength: 1024 } },
        },
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const body = request.body as { current_password: string; new_password: string };
      await auth.changeOwnPassword(requireActor(request), body.current_password, body.new_password);
      clearCookies(reply, cookies);
      return reply.code(204).send();
    },
  );
}

function clearCookies(reply: FastifyReply, cookies: SessionCookieNames): void {
  reply.header('set-cookie', [
    serializeCookie(cookies.session, '', { httpOnly: true, secure: cookies.secure, maxAgeSeconds: 0 }),
    serializeCookie(cookies.csrf, '', { httpOnly: false, secure: cookies.secure, maxAgeSeconds: 0 }),
  ]);
}
