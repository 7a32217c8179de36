/**
 * ServiceNow CMDB through the Table API (Basic auth): who owns an IP or host and how critical it is.
 * `GET /api/now/table/{table}?sysparm_query=ip_address=<ip>` (or `name=<host>`), reading every page the
 * `Link: <…>;rel="next"` header points at. Answers in the same shape as the asset-file `cmdb` connector,
 * so policy reads `criticality` and `owner` whichever the organisation uses.
 *
 * ServiceNow's business criticality (`busines_criticality`, sic) maps to Riposte's scale:
 * 1 - most critical → critical, 2 - somewhat critical → high, 3 - less critical → medium,
 * 4 - not critical → low; empty or unrecognised → medium (as the file connector's default). When several
 * CIs share the address (a cluster and its VIP), the most critical one answers: the response tier must not
 * under-protect the most important system behind that address.
 */
import { z } from 'zod';
import { isIpAddress, RiposteError } from '../../core/index.ts';
import { action, collectPages, defineIntegration } from '../sdk/index.ts';

const CRITICALITY = ['low', 'medium', 'high', 'critical'] as const;
type Criticality = (typeof CRITICALITY)[number];

export function mapBusinessCriticality(value: unknown): Criticality {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  const digit = /^([1-4])\b/.exec(text)?.[1];
  if (digit === '1' || text === 'most critical') return 'critical';
  if (digit === '2' || text === 'somewhat critical') return 'high';
  if (digit === '3' || text === 'less critical') return 'medium';
  if (digit === '4' || text === 'not critical') return 'low';
  return 'medium';
}

const Asset = z.object({
  name: z.string(),
  ip: z.string().nullable(),
  hostname: z.string().nullable(),
  owner: z.string().nullable(),
  criticality: z.enum(CRITICALITY),
  environment: z.string().nullable(),
});

const Page = z.object({ result: z.array(z.record(z.string(), z.unknown())) });

const Config = z.object({
  /** https://<instance>.service-now.com */
  baseUrl: z.url().optional(),
  username: z.string().min(1).optional(),
  /** cmdb_ci_server, cmdb_ci_computer, or cmdb_ci for every class. */
  table: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'must be a table name')
    .default('cmdb_ci_server'),
  ownerField: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/)
    .default('owned_by'),
  /** ServiceNow's own field name carries the typo; a custom field (`u_criticality`) can replace it. */
  criticalityField: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/)
    .default('busines_criticality'),
  /** `used_for` (Production, Staging …) on most CI classes; some instances use `environment`. */
  environmentField: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/)
    .default('used_for'),
  pageSize: z.number().int().min(1).max(10_000).default(100),
  maxRecords: z.number().int().min(1).default(1000),
  timeoutMs: z.number().int().positive().optional(),
});

const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** The `rel="next"` target of an RFC 8288 Link header. */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]+)>\s*;(.*)$/.exec(part);
    if (match && /\brel="?next"?/i.test(match[2] as string)) return match[1];
  }
  return undefined;
}

export default defineIntegration({
  id: 'servicenow_cmdb',
  title: 'ServiceNow CMDB',
  description: 'Owner, business criticality and environment of an IP or host from the ServiceNow CMDB',
  config: Config,
  secrets: { password: 'password of the ServiceNow integration user (Basic auth; the user is config `username`)' },
  rateLimit: { perMinute: 300, burst: 20 },
  healthCheck: { action: 'lookup', input: { value: '127.0.0.1' } },
  actions: {
    lookup: action({
      title: 'Owner and criticality of an IP or host',
      impact: 'read',
      input: z.object({ value: z.string().trim().min(1).max(255) }),
      output: z.object({
        value: z.string(),
        found: z.boolean(),
        asset: Asset.nullable(),
        criticality: z.enum(CRITICALITY).nullable(),
        owner: z.string().nullable(),
        /** Every CI that matched (the asset above is the most critical of them). */
        matches: z.array(Asset),
      }),
      cacheTtl: 15 * 60_000,
      async run({ input, http, secrets, config, signal, instance }) {
        if (typeof config.baseUrl !== 'string' || typeof config.username !== 'string')
          throw new RiposteError(
            'integration.not_configured',
            `${instance}: set baseUrl and username (riposte integrations add ${instance} --product servicenow_cmdb --base-url https://acme.service-now.com --set username=riposte)`,
          );
        const ip = isIpAddress(input.value);
        // Encoded queries use ^ and = as syntax: only a validated address or host name goes in.
        if (!ip && !HOSTNAME.test(input.value))
          throw new RiposteError('input.invalid', `${instance}.lookup: value must be an IP address or a host name`, { status: 400 });
        const ownerField = config.ownerField as string;
        const environmentField = config.environmentField as string;
        const criticalityField = config.criticalityField as string;
        const pageSize = config.pageSize as number;
        const maxRecords = config.maxRecords as number;
        const headers = { authorization: `Basic ${Buffer.from(`${config.username}:${secrets.password as string}`).toString('base64')}` };
        const first = `/api/now/table/${config.table as string}?${new URLSearchParams({
          sysparm_query: ip ? `ip_address=${input.value}` : `name=${input.value.toLowerCase()}`,
          sysparm_fields: ['sys_id', 'name', 'ip_address', 'host_name', 'fqdn', ownerField, criticalityField, environmentField].join(','),
          sysparm_display_value: 'true',
          sysparm_exclude_reference_link: 'true',
          sysparm_limit: String(pageSize),
          sysparm_offset: '0',
        }).toString()}`;
        const records = await collectPages<Record<string, unknown>, string>({
          first,
          maxItems: maxRecords,
          maxPages: Math.ceil(maxRecords / pageSize) + 1,
          fetch: async (cursor) => {
            const response = await http.request({ path: cursor, headers, signal });
            const parsed = Page.safeParse(response.json());
            if (!parsed.success)
              throw new RiposteError('integration.bad_response', `ServiceNow (${instance}) answered the Table API without a result array`, { status: 502 });
            return { items: parsed.data.result, next: nextLink(response.headers.link) };
          },
        });
        const text = (record: Record<string, unknown>, key: string) => {
          const value = record[key];
          const shown = value !== null && typeof value === 'object' ? (value as { display_value?: unknown }).display_value : value;
          return typeof shown === 'string' && shown.trim() !== '' ? shown.trim() : null;
        };
        const matches = records.map((record) => {
          const hostname = text(record, 'host_name') ?? text(record, 'fqdn');
          return {
            name: text(record, 'name') ?? hostname ?? text(record, 'sys_id') ?? 'unnamed CI',
            ip: text(record, 'ip_address'),
            hostname: hostname?.toLowerCase() ?? null,
            owner: text(record, ownerField),
            criticality: mapBusinessCriticality(text(record, criticalityField)),
            environment: text(record, environmentField),
          };
        });
        const rank = (c: Criticality) => CRITICALITY.indexOf(c);
        const asset = [...matches].sort((a, b) => rank(b.criticality) - rank(a.criticality) || (a.name < b.name ? -1 : 1))[0];
        return {
          value: input.value,
          found: asset !== undefined,
          asset: asset ?? null,
          criticality: asset?.criticality ?? null,
          owner: asset?.owner ?? null,
          matches,
        };
      },
    }),
  },
});
