/**
 * ipinfo (`Authorization: Bearer`): geolocation, ASN/organisation and privacy flags. Context for the case;
 * a Tor exit is suspicious, a bogon is benign-by-definition (not routable), anything else unknown.
 */
import { z } from 'zod';
import { type Evaluation, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Info = z.object({
  ip: z.string(),
  bogon: z.boolean().optional(),
  hostname: z.string().optional(),
  city: z.string().optional(),
  region: z.string().optional(),
  country: z.string().optional(),
  org: z.string().optional(),
  anycast: z.boolean().optional(),
  privacy: z.object({ vpn: z.boolean(), proxy: z.boolean(), tor: z.boolean(), relay: z.boolean().optional(), hosting: z.boolean() }).loose().optional(),
});

export default defineIntegration({
  id: 'ipinfo',
  title: 'ipinfo',
  config: z.object({ baseUrl: z.url().default('https://ipinfo.io'), reliability: reliabilityConfig(2), timeoutMs: z.number().int().positive().optional() }),
  secrets: { token: 'ipinfo access token (Bearer)' },
  rateLimit: { perMinute: 1000, burst: 50 },
  healthCheck: { action: 'ip_details', input: { ip: '8.8.8.8' } },
  actions: {
    ip_details: action({
      title: 'Geolocation, ASN and privacy flags',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: ReputationOutput.extend({
        hostname: z.string().nullable(),
        city: z.string().nullable(),
        country: z.string().nullable(),
        org: z.string().nullable(),
        bogon: z.boolean(),
        anycast: z.boolean(),
        privacy: z.object({ vpn: z.boolean(), proxy: z.boolean(), tor: z.boolean(), hosting: z.boolean() }).nullable(),
      }),
      cacheTtl: 6 * FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal }) {
        const parsed = Info.safeParse(
          await http.getJson(`/${encodeURIComponent(input.ip)}`, { headers: { authorization: `Bearer ${secrets.token as string}` }, signal }),
        );
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'ipinfo answered without an ip field', { status: 502 });
        const i = parsed.data;
        const privacy = i.privacy ? { vpn: i.privacy.vpn, proxy: i.privacy.proxy, tor: i.privacy.tor, hosting: i.privacy.hosting } : null;
        const evaluation: Evaluation = i.bogon ? 'benign' : privacy?.tor ? 'suspicious' : 'unknown';
        const flags = privacy
          ? Object.entries(privacy)
              .filter(([, on]) => on)
              .map(([flag]) => flag)
          : [];
        return {
          observable: input.ip,
          found: true,
          hostname: i.hostname ?? null,
          city: i.city ?? null,
          country: i.country ?? null,
          org: i.org ?? null,
          bogon: i.bogon ?? false,
          anycast: i.anycast ?? false,
          privacy,
          evidence: {
            source: 'ipinfo',
            evaluation,
            reliability: config.reliability as number,
            summary: i.bogon
              ? 'bogon (not publicly routable)'
              : `${i.org ?? 'unknown org'}, ${i.city ?? '?'} ${i.country ?? ''}${flags.length ? `; ${flags.join(', ')}` : ''}`.trim(),
            details: { org: i.org ?? null, country: i.country ?? null, flags },
          },
        };
      },
    }),
  },
});
