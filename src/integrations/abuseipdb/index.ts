/**
 * AbuseIPDB API v2 `check` (`Key` header). Evaluation from `abuseConfidenceScore`: ≥ 75 malicious, ≥ 25
 * suspicious; a whitelisted address is benign; otherwise unknown.
 */
import { z } from 'zod';
import { type Evaluation, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Check = z.object({
  data: z
    .object({
      ipAddress: z.string(),
      abuseConfidenceScore: z.number(),
      isWhitelisted: z.boolean().nullable().optional(),
      totalReports: z.number().default(0),
      numDistinctUsers: z.number().default(0),
      countryCode: z.string().nullable().optional(),
      usageType: z.string().nullable().optional(),
      isp: z.string().nullable().optional(),
      isTor: z.boolean().optional(),
      lastReportedAt: z.string().nullable().optional(),
    })
    .loose(),
});

export default defineIntegration({
  id: 'abuseipdb',
  title: 'AbuseIPDB',
  config: z.object({
    baseUrl: z.url().default('https://api.abuseipdb.com'),
    maxAgeInDays: z.number().int().min(1).max(365).default(90),
    reliability: reliabilityConfig(7),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { apiKey: 'AbuseIPDB API v2 key (Key header)' },
  rateLimit: { perMinute: 60, burst: 10 },
  healthCheck: { action: 'check', input: { ip: '8.8.8.8' } },
  actions: {
    check: action({
      title: 'IP reputation (abuse confidence score)',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: ReputationOutput.extend({
        score: z.number(),
        total_reports: z.number(),
        distinct_reporters: z.number(),
        country: z.string().nullable(),
        usage_type: z.string().nullable(),
        isp: z.string().nullable(),
        is_tor: z.boolean(),
        last_reported_at: z.string().nullable(),
      }),
      cacheTtl: FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal }) {
        const body = await http.getJson('/api/v2/check', {
          query: { ipAddress: input.ip, maxAgeInDays: config.maxAgeInDays as number },
          headers: { Key: secrets.apiKey as string },
          signal,
        });
        const parsed = Check.safeParse(body);
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'AbuseIPDB answered check without data.abuseConfidenceScore', { status: 502 });
        const d = parsed.data.data;
        const evaluation: Evaluation = d.isWhitelisted
          ? 'benign'
          : d.abuseConfidenceScore >= 75
            ? 'malicious'
            : d.abuseConfidenceScore >= 25
              ? 'suspicious'
              : 'unknown';
        return {
          observable: input.ip,
          found: d.totalReports > 0,
          score: d.abuseConfidenceScore,
          total_reports: d.totalReports,
          distinct_reporters: d.numDistinctUsers,
          country: d.countryCode ?? null,
          usage_type: d.usageType ?? null,
          isp: d.isp ?? null,
          is_tor: d.isTor ?? false,
          last_reported_at: d.lastReportedAt ?? null,
          evidence: {
            source: 'abuseipdb',
            evaluation,
            reliability: config.reliability as number,
            summary: `abuse confidence ${d.abuseConfidenceScore}% from ${d.totalReports} reports by ${d.numDistinctUsers} users${d.isWhitelisted ? ' (whitelisted)' : ''}`,
            details: { score: d.abuseConfidenceScore, reports: d.totalReports, whitelisted: d.isWhitelisted ?? false, usage_type: d.usageType ?? null },
          },
        };
      },
    }),
  },
});
