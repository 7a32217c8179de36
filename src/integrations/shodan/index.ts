/**
 * Shodan host information (`?key=`). Context more than reputation: open ports, services, known CVEs and
 * Shodan's tags. Only tags Shodan uses for bad infrastructure (malware, c2, compromised) make it suspicious;
 * otherwise the evaluation is unknown and the details enrich the case.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Host = z.object({
  ip_str: z.string(),
  ports: z.array(z.number()).default([]),
  hostnames: z.array(z.string()).default([]),
  org: z.string().nullable().optional(),
  asn: z.string().nullable().optional(),
  country_code: z.string().nullable().optional(),
  tags: z.array(z.string()).default([]),
  vulns: z.array(z.string()).default([]),
  last_update: z.string().nullable().optional(),
});

const BAD_TAGS = new Set(['malware', 'c2', 'compromised', 'botnet', 'tor']);

export default defineIntegration({
  id: 'shodan',
  title: 'Shodan',
  config: z.object({ baseUrl: z.url().default('https://api.shodan.io'), reliability: reliabilityConfig(3), timeoutMs: z.number().int().positive().optional() }),
  secrets: { apiKey: 'Shodan API key (key query parameter)' },
  rateLimit: { perSecond: 1, burst: 5 },
  healthCheck: { action: 'host', input: { ip: '8.8.8.8' } },
  actions: {
    host: action({
      title: 'Host information (ports, services, CVEs)',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: ReputationOutput.extend({
        ports: z.array(z.number()),
        hostnames: z.array(z.string()),
        org: z.string().nullable(),
        asn: z.string().nullable(),
        country: z.string().nullable(),
        tags: z.array(z.string()),
        vulns: z.array(z.string()),
        last_update: z.string().nullable(),
      }),
      cacheTtl: FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal }) {
        const response = await http.request({
          path: `/shodan/host/${encodeURIComponent(input.ip)}`,
          query: { key: secrets.apiKey as string, minify: true },
          accept: [404],
          signal,
        });
        const reliability = config.reliability as number;
        if (response.status === 404) {
          return {
            observable: input.ip,
            found: false,
            ports: [],
            hostnames: [],
            org: null,
            asn: null,
            country: null,
            tags: [],
            vulns: [],
            last_update: null,
            evidence: { source: 'shodan', evaluation: 'unknown' as const, reliability, summary: 'no Shodan data for this IP', details: {} },
          };
        }
        const parsed = Host.safeParse(response.json());
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'Shodan answered host without ip_str', { status: 502 });
        const h = parsed.data;
        const bad = h.tags.filter((tag) => BAD_TAGS.has(tag));
        return {
          observable: input.ip,
          found: true,
          ports: h.ports,
          hostnames: h.hostnames,
          org: h.org ?? null,
          asn: h.asn ?? null,
          country: h.country_code ?? null,
          tags: h.tags,
          vulns: h.vulns,
          last_update: h.last_update ?? null,
          evidence: {
            source: 'shodan',
            evaluation: bad.length > 0 ? ('suspicious' as const) : ('unknown' as const),
            reliability,
            summary: `ports ${h.ports.join(', ') || 'none'}${h.vulns.length ? `; ${h.vulns.length} known CVEs` : ''}${h.tags.length ? `; tags ${h.tags.join(', ')}` : ''}`,
            details: { ports: h.ports, vulns: h.vulns, tags: h.tags, org: h.org ?? null },
          },
        };
      },
    }),
  },
});
