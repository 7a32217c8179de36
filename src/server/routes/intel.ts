import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/index.ts';
import type { AttackTechnique } from '../../intel/index.ts';
import type { IntelApi } from '../services.ts';

/**
 * Intel over REST: a case as a STIX 2.1 bundle (for sharing, or posting to a TAXII collection), and the
 * ATT&CK catalog — search, one technique with its tactics and mitigations, and coverage of cases and
 * playbooks per tactic.
 */
const techniqueView = (t: AttackTechnique) => ({
  id: t.id,
  name: t.name,
  tactics: t.tactics,
  platforms: t.platforms,
  subtechnique: t.subtechnique,
  deprecated: t.deprecated,
  revoked: t.revoked,
  url: t.url,
  ...(t.summary ? { summary: t.summary } : {}),
  ...(t.stix_id ? { stix_id: t.stix_id } : {}),
});

export async function intelRoutes(app: FastifyInstance, options: { intel: IntelApi }): Promise<void> {
  const { intel } = options;
  const catalog = intel.attack;

  app.get(
    '/api/v1/cases/:id/stix',
    {
      config: { permission: 'cases:read' },
      schema: {
        tags: ['cases'],
        summary: 'The case as a STIX 2.1 bundle: observables as SCOs, verdicts as indicators, alerts as sightings, ATT&CK as attack-patterns',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64, description: 'case id or case number' } },
        },
      },
    },
    async (request, reply) => {
      const bundle = await intel.caseBundle((request.params as { id: string }).id);
      return reply.header('content-type', 'application/stix+json;version=2.1').send(Buffer.from(JSON.stringify(bundle)));
    },
  );

  app.get(
    '/api/v1/attack/techniques',
    {
      config: { permission: 'intel:read' },
      schema: {
        tags: ['attack'],
        summary: 'Search ATT&CK techniques by id or words in the name and summary',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { q: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 200, default: 25 } },
        },
      },
    },
    async (request) => {
      const { q, limit } = request.query as { q?: string; limit: number };
      return { items: catalog.search(q ?? '', limit).map((t) => techniqueView(t)) };
    },
  );

  app.get(
    '/api/v1/attack/techniques/:id',
    {
      config: { permission: 'intel:read' },
      schema: {
        tags: ['attack'],
        summary: 'One ATT&CK technique with its tactics, sub-techniques and mitigations',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 32 } } },
      },
    },
    async (request) => {
      const id = (request.params as { id: string }).id;
      const t = catalog.technique(id);
      if (!t) throw notFound('ATT&CK technique', id);
      const prefix = `${t.id}.`;
      return {
        ...techniqueView(t),
        tactics: catalog.tacticsOf(t.id),
        subtechniques: catalog
          .techniques()
          .filter((s) => s.id.startsWith(prefix) && !s.revoked && !s.deprecated)
          .map((s) => ({ id: s.id, name: s.name })),
        ...(t.subtechnique ? { parent: t.id.split('.')[0] } : {}),
        mitigations: catalog.mitigationsOf(t.id).map((m) => ({ id: m.id, name: m.name, url: `https://attack.mitre.org/mitigations/${m.id}` })),
      };
    },
  );

  app.get(
    '/api/v1/attack/coverage',
    {
      config: { permission: 'intel:read' },
      schema: { tags: ['attack'], summary: 'ATT&CK coverage per tactic: techniques on cases, and techniques playbooks detect or respond to' },
    },
    async () => intel.coverage(),
  );
}
