/**
 * AlienVault OTX indicators API (`X-OTX-API-KEY` header): the `general` section of an IP — how many
 * community pulses mention it, and OTX's own validation (whitelists). Pulses are community-contributed and
 * noisy, hence the modest default reliability: ≥ `maliciousPulses` → malicious, ≥ 1 → suspicious.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { type Evaluation, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const General = z.object({
  indicator: z.string(),
  pulse_info: z.object({
    count: z.number(),
    pulses: z.array(z.object({ id: z.string(), name: z.string(), tags: z.array(z.string()).default([]) }).loose()).default([]),
  }),
  validation: z.array(z.object({ source: z.string(), message: z.string().optional(), name: z.string().optional() }).loose()).default([]),
  country_code: z.string().nullable().optional(),
  asn: z.string().nullable().optional(),
});

export default defineIntegration({
  id: 'otx',
  title: 'AlienVault OTX',
  config: z.object({
    baseUrl: z.url().default('https://otx.alienvault.com'),
    maliciousPulses: z.number().int().min(1).default(10),
    reliability: reliabilityConfig(5),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { apiKey: 'OTX API key (X-OTX-API-KEY header)' },
  rateLimit: { perMinute: 600, burst: 20 },
  healthCheck: { action: 'ip_general', input: { ip: '8.8.8.8' } },
  actions: {
    ip_general: action({
      title: 'IP indicator: pulses and validation',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: ReputationOutput.extend({
        pulse_count: z.number(),
        pulses: z.array(z.object({ id: z.string(), name: z.string(), tags: z.array(z.string()) })),
        whitelisted: z.boolean(),
        country: z.string().nullable(),
        asn: z.string().nullable(),
      }),
      cacheTtl: FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal }) {
        const section = isIP(input.ip) === 6 ? 'IPv6' : 'IPv4';
        const body = await http.getJson(`/api/v1/indicators/${section}/${encodeURIComponent(input.ip)}/general`, {
          headers: { 'X-OTX-API-KEY': secrets.apiKey as string },
          signal,
        });
        const parsed = General.safeParse(body);
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'AlienVault OTX answered without pulse_info', { status: 502 });
        const g = parsed.data;
        const whitelisted = g.validation.some((v) => /whitelist/i.test(v.source));
        const count = g.pulse_info.count;
        const evaluation: Evaluation = whitelisted
          ? 'benign'
          : count >= (config.maliciousPulses as number)
            ? 'malicious'
            : count > 0
              ? 'suspicious'
              : 'unknown';
        const pulses = g.pulse_info.pulses.slice(0, 10).map((p) => ({ id: p.id, name: p.name, tags: p.tags }));
        return {
          observable: input.ip,
          found: count > 0 || whitelisted,
          pulse_count: count,
          pulses,
          whitelisted,
          country: g.country_code ?? null,
          asn: g.asn ?? null,
          evidence: {
            source: 'otx',
            evaluation,
            reliability: config.reliability as number,
            summary: whitelisted ? `whitelisted by OTX (${count} pulses)` : `${count} OTX pulses mention it`,
            details: { pulse_count: count, whitelisted, pulse_names: pulses.slice(0, 3).map((p) => p.name) },
          },
        };
      },
    }),
  },
});
