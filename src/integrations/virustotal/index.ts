/**
 * VirusTotal API v3: reputation of IP addresses, domains, URLs and files (`x-apikey` header).
 * Evaluation from `last_analysis_stats`: ≥ `maliciousThreshold` engines → malicious, any malicious or
 * ≥ 2 suspicious → suspicious, none → unknown (silence from AV engines is not proof of innocence).
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { type ActionRunContext, action, defineIntegration, FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Stats = z.object({ malicious: z.number(), suspicious: z.number(), harmless: z.number(), undetected: z.number() }).loose();
const ObjectResponse = z.object({
  data: z.object({
    id: z.string(),
    type: z.string(),
    attributes: z.object({ last_analysis_stats: Stats.optional(), reputation: z.number().optional() }).loose(),
  }),
});

const Output = ReputationOutput.extend({
  stats: z.object({ malicious: z.number(), suspicious: z.number(), harmless: z.number(), undetected: z.number() }),
  reputation: z.number(),
  attributes: z.record(z.string(), z.unknown()),
  link: z.string(),
});

const Config = z.object({
  baseUrl: z.url().default('https://www.virustotal.com'),
  maliciousThreshold: z.number().int().min(1).default(3),
  reliability: reliabilityConfig(8),
  timeoutMs: z.number().int().positive().optional(),
});

const GUI: Record<string, string> = { ip_addresses: 'ip-address', domains: 'domain', urls: 'url', files: 'file' };

async function lookup(context: ActionRunContext<unknown>, collection: string, id: string, observable: string): Promise<z.input<typeof Output>> {
  const response = await context.http.request({
    path: `/api/v3/${collection}/${encodeURIComponent(id)}`,
    headers: { 'x-apikey': context.secrets.apiKey as string },
    accept: [404],
    signal: context.signal,
  });
  const link = `https://www.virustotal.com/gui/${GUI[collection]}/${encodeURIComponent(id)}`;
  const reliability = context.config.reliability as number;
  if (response.status === 404) {
    return {
      observable,
      found: false,
      stats: { malicious: 0, suspicious: 0, harmless: 0, undetected: 0 },
      reputation: 0,
      attributes: {},
      link,
      evidence: { source: 'virustotal', evaluation: 'unknown', reliability, summary: 'not known to VirusTotal', details: {} },
    };
  }
  const parsed = ObjectResponse.safeParse(response.json());
  if (!parsed.success) throw new RiposteError('integration.bad_response', `VirusTotal answered ${collection} without data.attributes`, { status: 502 });
  const attributes = parsed.data.data.attributes;
  const stats = { malicious: 0, suspicious: 0, harmless: 0, undetected: 0, ...(attributes.last_analysis_stats ?? {}) };
  const total = stats.malicious + stats.suspicious + stats.harmless + stats.undetected;
  const threshold = context.config.maliciousThreshold as number;
  const evaluation = stats.malicious >= threshold ? 'malicious' : stats.malicious > 0 || stats.suspicious >= 2 ? 'suspicious' : 'unknown';
  const { last_analysis_results: _results, ...kept } = attributes as Record<string, unknown>;
  return {
    observable,
    found: true,
    stats: { malicious: stats.malicious, suspicious: stats.suspicious, harmless: stats.harmless, undetected: stats.undetected },
    reputation: attributes.reputation ?? 0,
    attributes: kept,
    link,
    evidence: {
      source: 'virustotal',
      evaluation,
      reliability,
      summary: `${stats.malicious}/${total} engines flag it malicious, ${stats.suspicious} suspicious`,
      details: { malicious: stats.malicious, suspicious: stats.suspicious, engines: total, reputation: attributes.reputation ?? 0, link },
    },
  };
}

export default defineIntegration({
  id: 'virustotal',
  title: 'VirusTotal',
  description: 'VirusTotal API v3 reputation lookups',
  config: Config,
  secrets: { apiKey: 'VirusTotal API key (x-apikey)' },
  rateLimit: { perMinute: 240, burst: 20 },
  healthCheck: { action: 'ip_report', input: { ip: '8.8.8.8' } },
  actions: {
    ip_report: action({
      title: 'IP address report',
      impact: 'read',
      input: z.object({ ip: ipAddress() }),
      output: Output,
      cacheTtl: FIFTEEN_MINUTES,
      run: (context) => lookup(context, 'ip_addresses', context.input.ip, context.input.ip),
    }),
    domain_report: action({
      title: 'Domain report',
      impact: 'read',
      input: z.object({
        domain: z
          .string()
          .trim()
          .toLowerCase()
          .regex(/^[a-z0-9.-]+\.[a-z0-9-]+$/, 'must be a domain name'),
      }),
      output: Output,
      cacheTtl: FIFTEEN_MINUTES,
      run: (context) => lookup(context, 'domains', context.input.domain, context.input.domain),
    }),
    url_report: action({
      title: 'URL report',
      impact: 'read',
      input: z.object({ url: z.url() }),
      output: Output,
      cacheTtl: FIFTEEN_MINUTES,
      // VirusTotal's URL identifier is the unpadded base64url of the URL.
      run: (context) => lookup(context, 'urls', Buffer.from(context.input.url).toString('base64url'), context.input.url),
    }),
    file_report: action({
      title: 'File report (MD5, SHA-1 or SHA-256)',
      impact: 'read',
      input: z.object({
        hash: z
          .string()
          .trim()
          .toLowerCase()
          .regex(/^([a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64})$/, 'must be an MD5, SHA-1 or SHA-256 hex digest'),
      }),
      output: Output,
      cacheTtl: FIFTEEN_MINUTES,
      run: (context) => lookup(context, 'files', context.input.hash, context.input.hash),
    }),
  },
});
