import { z } from 'zod';
import { EvidenceSchema, RiposteError } from '../../core/index.ts';
import { ipAddress } from './reputation.ts';

/**
 * What a log platform (Splunk, Elastic …) says about an IP inside our own network: how often it was
 * seen, when first and last, and by which hosts. Every SIEM connector answers in this one shape so a
 * playbook (and policy) can use whichever the organisation runs. The evidence is always `unknown`:
 * being contacted is context for the analyst and for blast radius, not a reputation.
 */
export const SightingsInput = z.object({ ip: ipAddress(), lookbackDays: z.number().int().min(1).max(365).optional() });

/** Checks an instance has its platform URL (SIEMs have no public default) and returns it; without one, a clear refusal. */
export function siemBaseUrl(config: Record<string, unknown>, instance: string, product: { id: string; title: string; example: string }): string {
  if (typeof config.baseUrl === 'string') return config.baseUrl;
  throw new RiposteError(
    'integration.not_configured',
    `${instance}: no ${product.title} URL (riposte integrations add ${instance} --product ${product.id} --base-url ${product.example})`,
  );
}

export const SightingsOutput = z.object({
  observable: z.string(),
  found: z.boolean(),
  count: z.number().int().min(0),
  first_seen: z.string().nullable(),
  last_seen: z.string().nullable(),
  hosts: z.array(z.string()),
  /** True when the platform had more than the connector read (`maxEvents`): count is then a lower bound. */
  truncated: z.boolean(),
  lookback_days: z.number(),
  evidence: EvidenceSchema,
});
export type SightingsOutput = z.input<typeof SightingsOutput>;

export function sightingsEvidence(
  source: string,
  reliability: number,
  s: { count: number; hosts: readonly string[]; first_seen: string | null; last_seen: string | null; lookback_days: number; truncated: boolean },
) {
  const summary =
    s.count === 0
      ? `not seen in internal logs in the last ${s.lookback_days} days`
      : `seen ${s.truncated ? 'at least ' : ''}${s.count} times from ${s.hosts.length} internal host${s.hosts.length === 1 ? '' : 's'} (${s.hosts.slice(0, 5).join(', ')}${s.hosts.length > 5 ? ', …' : ''}) between ${s.first_seen} and ${s.last_seen}`;
  return {
    source,
    evaluation: 'unknown' as const,
    reliability,
    summary,
    details: { count: s.count, hosts: s.hosts.slice(0, 50), first_seen: s.first_seen, last_seen: s.last_seen, truncated: s.truncated },
  };
}
