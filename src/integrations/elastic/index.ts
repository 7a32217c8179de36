/**
 * Elasticsearch `_search` (`Authorization: ApiKey <encoded key>`): internal sightings of an IP in log
 * indices — every event in the look-back window whose source or destination IP field is the address,
 * read oldest first with `search_after` pagination (sorted by timestamp, then a unique tiebreaker field).
 * Field names default to ECS (`source.ip`, `destination.ip`, `host.name`, `@timestamp`, `event.id`).
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration, reliabilityConfig, SightingsInput, SightingsOutput, siemBaseUrl, sightingsEvidence } from '../sdk/index.ts';

const Page = z.object({
  hits: z.object({
    total: z.union([z.number(), z.object({ value: z.number(), relation: z.string().optional() })]).optional(),
    hits: z.array(z.object({ _source: z.record(z.string(), z.unknown()).optional(), sort: z.array(z.unknown()).optional() }).loose()),
  }),
});

const Config = z.object({
  baseUrl: z.url().optional(),
  /** Index, alias, data stream or pattern (comma-separated). */
  index: z
    .string()
    .regex(/^[^\s/?#]+$/, 'must be an index name or pattern without spaces or slashes')
    .default('logs-*'),
  lookbackDays: z.number().int().min(1).max(365).default(7),
  ipFields: z.array(z.string().min(1)).min(1).default(['source.ip', 'destination.ip']),
  hostField: z.string().min(1).default('host.name'),
  timestampField: z.string().min(1).default('@timestamp'),
  /** A unique keyword field for a stable sort (search_after needs one). */
  tiebreakerField: z.string().min(1).default('event.id'),
  pageSize: z.number().int().min(1).max(10_000).default(1000),
  maxEvents: z.number().int().min(1).default(10_000),
  reliability: reliabilityConfig(9),
  timeoutMs: z.number().int().positive().optional(),
});

/** `a.b.c` in a _source document, whether stored nested or with dotted keys. */
function field(source: Record<string, unknown> | undefined, path: string): unknown {
  if (!source) return undefined;
  if (path in source) return source[path];
  let node: unknown = source;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export default defineIntegration({
  id: 'elastic',
  title: 'Elasticsearch',
  description: 'Elasticsearch log search: internal sightings of an IP',
  config: Config,
  secrets: { apiKey: 'Elasticsearch API key, encoded form (sent as Authorization: ApiKey …)' },
  rateLimit: { perMinute: 600, burst: 20 },
  healthCheck: { action: 'sightings', input: { ip: '8.8.8.8', lookbackDays: 1 } },
  actions: {
    sightings: action({
      title: 'Internal sightings of an IP (count, first/last seen, hosts)',
      impact: 'read',
      input: SightingsInput,
      output: SightingsOutput,
      cacheTtl: 5 * 60_000,
      async run({ input, http, secrets, config, signal, instance }) {
        siemBaseUrl(config, instance, { id: 'elastic', title: 'Elasticsearch', example: 'https://es.example:9200' });
        const days = input.lookbackDays ?? (config.lookbackDays as number);
        const ts = config.timestampField as string;
        const tiebreaker = config.tiebreakerField as string;
        const hostField = config.hostField as string;
        const pageSize = config.pageSize as number;
        const maxEvents = config.maxEvents as number;
        const query = {
          bool: {
            filter: [
              { range: { [ts]: { gte: `now-${days}d` } } },
              { bool: { should: (config.ipFields as string[]).map((f) => ({ term: { [f]: input.ip } })), minimum_should_match: 1 } },
            ],
          },
        };
        let searchAfter: unknown[] | undefined;
        let read = 0;
        let total: number | undefined;
        let first: string | null = null;
        let last: string | null = null;
        const hosts = new Set<string>();
        for (let page = 0; read < maxEvents; page++) {
          const size = Math.min(pageSize, maxEvents - read);
          const parsed = Page.safeParse(
            (
              await http.request({
                method: 'POST',
                path: `/${encodeURIComponent(config.index as string)
                  .replaceAll('%2C', ',')
                  .replaceAll('%2A', '*')}/_search`,
                headers: { authorization: `ApiKey ${secrets.apiKey as string}` },
                json: {
                  size,
                  query,
                  sort: [{ [ts]: 'asc' }, { [tiebreaker]: 'asc' }],
                  _source: [ts, hostField],
                  track_total_hits: page === 0,
                  ...(searchAfter ? { search_after: searchAfter } : {}),
                },
                signal,
              })
            ).json(),
          );
          if (!parsed.success)
            throw new RiposteError('integration.bad_response', `Elasticsearch (${instance}) answered _search without hits.hits`, { status: 502 });
          const { hits } = parsed.data;
          if (page === 0 && hits.total !== undefined) total = typeof hits.total === 'number' ? hits.total : hits.total.value;
          for (const hit of hits.hits) {
            const at = field(hit._source, ts);
            if (typeof at === 'string') {
              if (first === null || at < first) first = at;
              if (last === null || at > last) last = at;
            }
            const host = field(hit._source, hostField);
            if (typeof host === 'string') hosts.add(host);
          }
          read += hits.hits.length;
          const tail = hits.hits.at(-1);
          if (hits.hits.length < size || !tail?.sort) break;
          searchAfter = tail.sort;
        }
        const count = Math.max(read, total ?? 0);
        const summary = {
          count,
          hosts: [...hosts].sort(),
          first_seen: first,
          last_seen: last,
          lookback_days: days,
          truncated: read < count,
        };
        return { observable: input.ip, found: count > 0, ...summary, evidence: sightingsEvidence(instance, config.reliability as number, summary) };
      },
    }),
  },
});
