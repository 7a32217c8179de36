import type { FastifyInstance } from 'fastify';
import type { CasesService } from '../../cases/index.ts';
import { OBSERVABLE_TYPES } from '../../core/index.ts';
import type { ServerServices } from '../services.ts';

/** The store-wide observable registry: lookup by id or by (type, value), search by type/value/prefix. */
export async function observableRoutes(app: FastifyInstance, options: { services: ServerServices & { cases: CasesService } }): Promise<void> {
  const { cases } = options.services;

  app.get(
    '/api/v1/observables',
    {
      config: { permission: 'observables:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: [...OBSERVABLE_TYPES] },
            value: { type: 'string', maxLength: 4096, description: 'exact value (normalised first when type is given)' },
            prefix: { type: 'string', minLength: 1, maxLength: 4096 },
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 200 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as { type?: string; value?: string; prefix?: string; cursor?: string; limit?: number };
      if (q.type && q.value) {
        // The common lookup "what do we know about this IP?" answers with the one observable and its cases.
        try {
          return { items: [await cases.findObservable(q.type, q.value)], next_cursor: null };
        } catch (error) {
          if ((error as { code?: string }).code === 'not_found') return { items: [], next_cursor: null };
          throw error;
        }
      }
      return cases.searchObservables(q);
    },
  );

  app.get(
    '/api/v1/observables/:id',
    {
      config: { permission: 'observables:read' },
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } },
    },
    async (request) => cases.getObservable((request.params as { id: string }).id),
  );
}
