/**
 * GreyNoise Community API (`key` header). GreyNoise tells background noise from targeted activity:
 * RIOT (known business services) → benign, classification malicious → malicious, a benign mass scanner
 * → benign (noise, not an attack on us), not observed (404) → unknown.
 */
import { z } from 'zod';
import { type Evaluation, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Community = z.object({
  ip: z.string(),
  noise: z.boolean(),
  riot: z.boolean(),
  classification: z.string().optional(),
  name: z.string().optional(),
  link: z.string().optional(),
  last_seen: z.string().optional(),
  message: z.string().optional(),
});

export default defineIntegration({
  id: 'greynoise',
  title: 'GreyNoise Community',
  config: z.object({
    baseUrl: z.url().default('https://api.greynoise.io'),
    reliability: reliabilityConfig(8),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { apiKey: 'GreyNoise Community API key (key header)' },
  rateLimit: { perMinute: 50, burst: 10 },
  healthCheck: { action: 'community', input: { ip: '8.8.8.8' } },
  actions: {
    community: action({
      title: 'Noise and RIOT classification of an IP',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: ReputationOutput.extend({
        noise: z.boolean(),
        riot: z.boolean(),
        classification: z.string(),
        name: z.string().nullable(),
        last_seen: z.string().nullable(),
        link: z.string().nullable(),
      }),
      cacheTtl: FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal }) {
        const response = await http.request({
          path: `/v3/community/${encodeURIComponent(input.ip)}`,
          headers: { key: secrets.apiKey as string },
          accept: [404],
          signal,
        });
        // GreyNoise answers 404 for an IP it has not observed: that is an answer ("unknown"), not an error.
        const body = response.status === 404 ? { ip: input.ip, noise: false, riot: false } : response.json();
        const parsed = Community.safeParse(body);
        if (!parsed.success)
          throw new RiposteError('integration.bad_response', `GreyNoise answered HTTP ${response.status} without noise/riot flags`, { status: 502 });
        const g = parsed.data;
        const found = response.status !== 404;
        const classification = found ? (g.classification ?? 'unknown') : 'unknown';
        const evaluation: Evaluation = !found
          ? 'unknown'
          : g.riot
            ? 'benign'
            : classification === 'malicious'
              ? 'malicious'
              : classification === 'benign'
                ? 'benign'
                : g.noise
                  ? 'suspicious'
                  : 'unknown';
        const summary = !found
          ? 'not observed scanning the internet'
          : g.riot
            ? `known business service (RIOT): ${g.name ?? 'unnamed'}`
            : `${g.noise ? 'internet scanner' : 'seen'}, classified ${classification}${g.name && g.name !== 'unknown' ? ` (${g.name})` : ''}`;
        return {
          observable: input.ip,
          found,
          noise: g.noise,
          riot: g.riot,
          classification,
          name: g.name ?? null,
          last_seen: g.last_seen ?? null,
          link: g.link ?? null,
          evidence: {
            source: 'greynoise',
            evaluation,
            reliability: config.reliability as number,
            summary,
            details: { noise: g.noise, riot: g.riot, classification, name: g.name ?? null },
          },
        };
      },
    }),
  },
});
