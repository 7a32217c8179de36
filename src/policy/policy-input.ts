import { z } from 'zod';

/**
 * What the policy engine is told about one proposed action. The runner builds it just before an action
 * with impact `write` or `destructive` would run; `riposte policy explain --input FILE` and policy test
 * cases read the same shape from YAML or JSON. Field names are snake_case because rule conditions name
 * them (`indicator.confidence`, `target.asset.criticality`) and an author reads both side by side.
 */
export const IMPACTS = ['read', 'write', 'destructive'] as const;
export type Impact = (typeof IMPACTS)[number];

export const CRITICALITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export const VERDICTS = ['malicious', 'suspicious', 'benign', 'unknown'] as const;
export type Verdict = (typeof VERDICTS)[number];

const text = z.string().min(1);

export const AssetRecordSchema = z
  .object({
    /** CMDB identifier of the asset. */
    id: text.optional(),
    name: text.optional(),
    criticality: z.enum(CRITICALITIES),
    owner: text.optional(),
    /** e.g. production, staging, lab. */
    environment: text.optional(),
  })
  .strict();
export type AssetRecord = z.infer<typeof AssetRecordSchema>;

export const PolicyTargetSchema = z
  .object({
    /** Observable type of the target: ipv4, ipv6, domain, url, email, host, user, hash… */
    type: text,
    /** The exact value the action would act on (an address, a host name, an account). */
    value: text,
    /** The target's CMDB record when it is one of ours; absent for outside addresses. */
    asset: AssetRecordSchema.optional(),
  })
  .strict();
export type PolicyTarget = z.infer<typeof PolicyTargetSchema>;

export const PartnerSchema = z
  .object({
    name: text,
    cidrs: z.array(text).default([]),
    domains: z.array(text).default([]),
  })
  .strict();

export const AllowListsSchema = z
  .object({
    /** Addresses and ranges never to act on (IPv4, IPv6, bare addresses count as /32 or /128). */
    cidrs: z.array(text).default([]),
    /** Domains never to act on; their subdomains are covered too. */
    domains: z.array(text).default([]),
    /** Named business partners with their address ranges and domains. */
    partners: z.array(PartnerSchema).default([]),
    /** Warning-list hits (MISP-style "probably known-good": CDNs, public DNS…) for target values. */
    warning_list_hits: z.array(z.object({ value: text, list: text }).strict()).default([]),
  })
  .strict();
export type AllowLists = z.input<typeof AllowListsSchema>;

export const PrincipalSchema = z
  .object({
    id: text,
    kind: z.enum(['user', 'playbook', 'system', 'service']).default('user'),
    roles: z.array(text).default([]),
  })
  .strict();
export type Principal = z.input<typeof PrincipalSchema>;

export const PolicyInputSchema = z
  .object({
    action: z
      .object({
        /** Qualified action id, e.g. firewall.block_ip. */
        id: text,
        impact: z.enum(IMPACTS),
        /** What blast-radius counting groups by; defaults to the action id. */
        kind: text.optional(),
        /** True when the action undoes an earlier containment action (a rollback or an expiry running its inverse). */
        rollback: z.boolean().optional(),
        /** The exact arguments the action would receive. */
        arguments: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    targets: z.array(PolicyTargetSchema).default([]),
    indicator: z
      .object({
        confidence: z.number().min(0).max(100),
        verdict: z.enum(VERDICTS).default('unknown'),
        /** Where the confidence came from (feed, analyst, verdict step): shown in reasons. */
        source: text.optional(),
      })
      .strict()
      .optional(),
    allow_lists: AllowListsSchema.optional(),
    history: z
      .object({
        /** Actions that ran (or were allowed) in the last hour, counted per action kind; this one not included. */
        last_hour: z.record(z.string(), z.number().int().min(0)).default({}),
      })
      .strict()
      .optional(),
    /** Who asks for the action: the run's playbook or the person acting through the API. */
    requester: PrincipalSchema,
    /** Who started the run, when that is someone else. */
    initiator: PrincipalSchema.optional(),
    run: z
      .object({ id: text.optional(), playbook_id: text.optional(), playbook_version: z.number().int().optional(), case_id: text.optional() })
      .strict()
      .optional(),
  })
  .strict();

/** The input as callers write it (defaults may be left out). */
export type PolicyInput = z.input<typeof PolicyInputSchema>;

/** Validates an input read from a file or an API body; errors name the field. */
export function parsePolicyInput(raw: unknown): { input: PolicyInput; issues: Array<{ path: Array<string | number>; message: string }> } {
  const parsed = PolicyInputSchema.safeParse(raw);
  if (parsed.success) return { input: parsed.data, issues: [] };
  return {
    input: raw as PolicyInput,
    issues: parsed.error.issues.map((issue) => ({ path: issue.path.filter((p) => typeof p !== 'symbol') as Array<string | number>, message: issue.message })),
  };
}

const ARGUMENT_TARGET_TYPES: Record<string, string> = {
  ip: 'ip',
  ip_address: 'ip',
  address: 'ip',
  src_ip: 'ip',
  dst_ip: 'ip',
  ips: 'ip',
  domain: 'domain',
  domains: 'domain',
  host: 'host',
  hostname: 'host',
  hosts: 'host',
  url: 'url',
  urls: 'url',
  email: 'email',
  sender: 'email',
  senders: 'email',
  user: 'user',
  username: 'user',
};

/**
 * Targets guessed from an action's arguments by their conventional names (ip, domain, host, url,
 * email, user, and their plurals). The runner should prefer the targets an action declares; this is
 * the fallback so that an action without a declaration is still checked against the allow-lists.
 */
export function targetsFromArguments(args: Record<string, unknown>): PolicyTarget[] {
  const out: PolicyTarget[] = [];
  for (const [key, value] of Object.entries(args)) {
    const kind = ARGUMENT_TARGET_TYPES[key.toLowerCase()];
    if (!kind) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string' || item.trim() === '') continue;
      const type = kind === 'ip' ? (item.includes(':') ? 'ipv6' : 'ipv4') : kind;
      out.push({ type, value: item.trim() });
    }
  }
  return out;
}
