import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { CasesService } from '../../cases/index.ts';
import { invalidInput } from '../../core/index.ts';
import type { ServerServices } from '../services.ts';

function parseSince(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalidInput('since must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z', { field: 'since' });
  return ms;
}

/** The audit chain: browse, verify, and export as JSON Lines for a SIEM or an auditor. */
export async function auditRoutes(app: FastifyInstance, options: { services: ServerServices & { cases: CasesService } }): Promise<void> {
  const { cases } = options.services;

  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, description: 'records after this seq (before it with order=desc)' },
            since: { type: 'string', maxLength: 40 },
            action: { type: 'string', maxLength: 100 },
            target: { type: 'string', maxLength: 200 },
            order: { type: 'string', enum: ['asc', 'desc'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as { after?: number; since?: string; action?: string; target?: string; order?: 'asc' | 'desc'; limit?: number };
      return cases.auditList({ ...q, since: parseSince(q.since) });
    },
  );

  app.get('/api/v1/audit/verify', { config: { permission: 'audit:read' }, schema: {} }, async () => cases.verifyAudit());

  app.get(
    '/api/v1/audit/export',
    {
      config: { permission: 'audit:export' },
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', maxLength: 40 } } } },
    },
    async (request, reply) => {
      const since = parseSince((request.query as { since?: string }).since);
      const lines = async function* () {
        for await (const record of cases.exportAudit({ since })) yield `${JSON.stringify(record)}\n`;
      };
      return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines()));
    },
  );
}
