import type { FastifyInstance } from 'fastify';
import type { EdlApi } from '../services.ts';

/**
 * The External Dynamic Lists Riposte serves: `GET /edl/<list>` is plain text, one entry per line (an
 * address or range, a URL without scheme, a domain or a sender, per the list's type), expired entries left
 * out — the format PAN-OS, FortiGate, Check Point, proxies and mail gateways poll. Firewalls can only
 * send HTTP Basic credentials, so this route also accepts the user name with one of that user's API tokens as
 * the Basic password (as TAXII does); scripts may send the token as a Bearer token. Give the firewall a token scoped to `edl:read` only.
 */
export async function edlRoutes(app: FastifyInstance, options: { edl: EdlApi }): Promise<void> {
  const { edl } = options;
  app.get(
    '/edl/:list',
    {
      config: { permission: 'edl:read', basicAuth: true },
      schema: {
        tags: ['edl'],
        summary: 'An External Dynamic List for firewalls to poll (plain text, one entry per line)',
        params: {
          type: 'object',
          required: ['list'],
          additionalProperties: false,
          properties: { list: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } },
        },
        response: { 200: { type: 'string', description: 'One entry per line: IP/CIDR, URL (no scheme), domain or sender, per the list type' } },
      },
    },
    async (request, reply) => {
      const { list } = request.params as { list: string };
      const body = await edl.render(list);
      // Firewalls poll every few minutes; never let a proxy serve a stale block list.
      return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send(body);
    },
  );
}
