import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/index.ts';
import type { IntegrationInstanceView, IntegrationsApi } from '../services.ts';

/**
 * Integration instances over REST. Secrets go in (write-only) and never come out: responses say which
 * secrets are set. Changes take effect for playbooks at the next start of the runner process.
 */
const instanceSchema = {
  type: 'object',
  required: ['name', 'integration', 'title', 'config', 'secrets', 'actions', 'updated_at'],
  properties: {
    name: { type: 'string' },
    integration: { type: 'string' },
    title: { type: 'string' },
    config: { type: 'object', additionalProperties: true },
    secrets: {
      type: 'array',
      items: { type: 'object', required: ['name', 'set'], properties: { name: { type: 'string' }, description: { type: 'string' }, set: { type: 'boolean' } } },
    },
    actions: { type: 'array', items: { type: 'string' } },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const nameParams = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' } },
} as const;

const view = (instance: IntegrationInstanceView) => ({
  name: instance.name,
  integration: instance.integration,
  title: instance.title,
  config: instance.config,
  secrets: instance.secrets,
  actions: instance.actions,
  updated_at: new Date(instance.updatedAt).toISOString(),
});

export async function integrationRoutes(app: FastifyInstance, options: { integrations: IntegrationsApi }): Promise<void> {
  const { integrations } = options;

  app.get(
    '/api/v1/integrations',
    {
      config: { permission: 'integrations:read' },
      schema: {
        tags: ['integrations'],
        summary: 'List integration instances (secret values are never returned)',
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: instanceSchema } } } },
      },
    },
    async () => ({ items: (await integrations.list()).map(view) }),
  );

  app.put(
    '/api/v1/integrations/:name',
    {
      config: { permission: 'integrations:write' },
      schema: {
        tags: ['integrations'],
        summary: 'Create or update an integration instance',
        description: 'Config is merged into the stored config; secrets named here are sealed and replace the stored ones, others are kept.',
        params: nameParams,
        body: {
          type: 'object',
          required: ['integration'],
          additionalProperties: false,
          properties: {
            integration: { type: 'string', minLength: 1, maxLength: 64, description: 'Product id, e.g. virustotal.' },
            config: { type: 'object', additionalProperties: true },
            secrets: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 8192 }, description: 'Write-only.' },
          },
        },
        response: { 200: instanceSchema },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const body = request.body as { integration: string; config?: Record<string, unknown>; secrets?: Record<string, string> };
      return view(await integrations.add({ name, integration: body.integration, config: body.config, secrets: body.secrets }));
    },
  );

  app.delete(
    '/api/v1/integrations/:name',
    {
      config: { permission: 'integrations:write' },
      schema: {
        tags: ['integrations'],
        summary: 'Delete an integration instance and its sealed secrets',
        params: nameParams,
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      if (!(await integrations.remove(name))) throw notFound('integration instance', name);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/integrations/:name/test',
    {
      config: { permission: 'integrations:read' },
      schema: {
        tags: ['integrations'],
        summary: 'Run the instance’s health check against the vendor',
        params: nameParams,
        response: {
          200: {
            type: 'object',
            required: ['name', 'ok', 'ms'],
            properties: {
              name: { type: 'string' },
              ok: { type: 'boolean' },
              ms: { type: 'integer' },
              action: { type: 'string' },
              error: { type: 'string' },
              code: { type: 'string' },
            },
          },
        },
      },
    },
    async (request) => integrations.test((request.params as { name: string }).name),
  );
}
