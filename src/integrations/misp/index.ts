/**
 * MISP (`Authorization: <auth key>`, `Accept: application/json`): attribute search across the server's
 * events, and sightings back. One instance per server (`misp_eu`, `misp_isac` …): the evidence's source is
 * the instance name, so two servers count as two sources in the verdict.
 *
 * Evaluation, per matching attribute, the strongest wins:
 * - a tag in `benignTags` (MISP's false-positive taxonomy by default) → benign, unless another attribute is worse;
 * - `to_ids` (the producer says "use it for detection") with threat level High or Medium → malicious;
 * - `to_ids` with Low/Undefined threat level, or a tag in `maliciousTags` without `to_ids` → suspicious;
 * - known but not for detection (`to_ids` false) → suspicious, no attribute at all → unknown.
 */
import { z } from 'zod';
import { type Evaluation, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, FIFTEEN_MINUTES, ReputationOutput, reliabilityConfig } from '../sdk/index.ts';

const Attribute = z
  .object({
    id: z.string(),
    event_id: z.string(),
    type: z.string(),
    category: z.string().optional(),
    to_ids: z.boolean(),
    value: z.string(),
    timestamp: z.string().optional(),
    Event: z
      .object({ id: z.string(), info: z.string(), threat_level_id: z.string().optional(), Orgc: z.object({ name: z.string() }).loose().optional() })
      .loose()
      .optional(),
    Tag: z.array(z.object({ name: z.string() }).loose()).default([]),
  })
  .loose();
const SearchResponse = z.object({ response: z.object({ Attribute: z.array(Attribute).default([]) }) });

const THREAT_LEVELS: Record<string, string> = { '1': 'high', '2': 'medium', '3': 'low', '4': 'undefined' };
const RANK: Record<Evaluation, number> = { unknown: 0, benign: 1, suspicious: 2, malicious: 3 };
const SIGHTING_TYPES = { sighting: '0', false_positive: '1', expiration: '2' } as const;

const Config = z.object({
  baseUrl: z.url().optional(),
  reliability: reliabilityConfig(7),
  timeoutMs: z.number().int().positive().optional(),
  /** Most attributes returned per search. */
  limit: z.number().int().min(1).max(1000).default(50),
  maliciousTags: z.array(z.string()).default([]),
  benignTags: z.array(z.string()).default(['false-positive:risk="high"', 'false-positive:risk="medium"']),
  /** `source` recorded on sightings we add. */
  sightingSource: z.string().min(1).default('riposte'),
});

function baseOf(config: Readonly<Record<string, unknown>>, instance: string): void {
  if (typeof config.baseUrl !== 'string')
    throw new RiposteError(
      'integration.not_configured',
      `${instance}: no MISP server URL (riposte integrations add ${instance} --product misp --base-url https://misp.example)`,
    );
}

const headers = (apiKey: string) => ({ authorization: apiKey, accept: 'application/json' });

export default defineIntegration({
  id: 'misp',
  title: 'MISP',
  description: 'MISP threat sharing: attribute search and sightings; one instance per server',
  config: Config,
  secrets: { apiKey: 'MISP auth key (Authorization header)' },
  rateLimit: { perMinute: 600, burst: 20 },
  healthCheck: { action: 'search', input: { value: '8.8.8.8' } },
  actions: {
    search: action({
      title: 'Attributes matching a value (IP, domain, hash, URL …)',
      impact: 'read',
      input: z.object({ value: z.string().trim().min(1).max(2048), type: z.string().trim().min(1).optional() }),
      output: ReputationOutput.extend({
        attributes: z.array(
          z.object({
            id: z.string(),
            event_id: z.string(),
            event_info: z.string().nullable(),
            org: z.string().nullable(),
            type: z.string(),
            to_ids: z.boolean(),
            threat_level: z.string().nullable(),
            tags: z.array(z.string()),
            timestamp: z.string().nullable(),
          }),
        ),
      }),
      cacheTtl: FIFTEEN_MINUTES,
      async run({ input, http, secrets, config, signal, instance }) {
        baseOf(config, instance);
        const response = await http.request({
          method: 'POST',
          path: '/attributes/restSearch',
          json: {
            returnFormat: 'json',
            value: input.value,
            ...(input.type ? { type: input.type } : {}),
            includeContext: true,
            includeEventTags: true,
            limit: config.limit as number,
          },
          headers: headers(secrets.apiKey as string),
          signal,
        });
        const parsed = SearchResponse.safeParse(response.json());
        if (!parsed.success)
          throw new RiposteError('integration.bad_response', `MISP (${instance}) answered restSearch without response.Attribute`, { status: 502 });
        const benignTags = new Set(config.benignTags as string[]);
        const maliciousTags = new Set(config.maliciousTags as string[]);
        let evaluation: Evaluation = 'unknown';
        // MISP matches `value` with SQL LIKE (a `%` in a URL is a wildcard) and composite attributes by
        // either half: keep only attributes that are the value, or a composite with it as one part.
        const wanted = input.value.toLowerCase();
        const exact = parsed.data.response.Attribute.filter((a) => a.value.toLowerCase() === wanted || a.value.toLowerCase().split('|').includes(wanted));
        const attributes = exact.map((a) => {
          const tags = a.Tag.map((t) => t.name);
          const level = a.Event?.threat_level_id ?? null;
          const own: Evaluation = tags.some((t) => benignTags.has(t))
            ? 'benign'
            : a.to_ids && (level === '1' || level === '2')
              ? 'malicious'
              : tags.some((t) => maliciousTags.has(t)) && a.to_ids
                ? 'malicious'
                : 'suspicious';
          if (RANK[own] > RANK[evaluation]) evaluation = own;
          return {
            id: a.id,
            event_id: a.event_id,
            event_info: a.Event?.info ?? null,
            org: a.Event?.Orgc?.name ?? null,
            type: a.type,
            to_ids: a.to_ids,
            threat_level: level === null ? null : (THREAT_LEVELS[level] ?? level),
            tags,
            timestamp: a.timestamp && /^\d+$/.test(a.timestamp) ? new Date(Number(a.timestamp) * 1000).toISOString() : null,
          };
        });
        const events = [...new Set(attributes.map((a) => a.event_info ?? a.event_id))];
        const summary =
          attributes.length === 0
            ? 'no MISP attribute matches'
            : `${attributes.length} attribute${attributes.length === 1 ? '' : 's'} in ${events.length} event${events.length === 1 ? '' : 's'} (${events.slice(0, 3).join('; ')})${attributes.some((a) => a.to_ids) ? ', flagged for detection (to_ids)' : ''}`;
        // The newest report's time: verdict scoring decays evidence by its age.
        const latest = attributes
          .map((a) => a.timestamp)
          .filter((t): t is string => t !== null)
          .sort()
          .at(-1);
        return {
          observable: input.value,
          found: attributes.length > 0,
          attributes,
          evidence: {
            source: instance,
            evaluation,
            reliability: config.reliability as number,
            summary,
            details: {
              attributes: attributes.length,
              events: events.slice(0, 10),
              to_ids: attributes.some((a) => a.to_ids),
            },
            ...(latest ? { observed_at: latest } : {}),
          },
        };
      },
    }),
    add_sighting: action({
      title: 'Record a sighting (or a false positive) of a value',
      description: 'Tells the MISP community the value was seen here; false_positive marks it as wrongly flagged.',
      impact: 'write',
      input: z.object({
        value: z.string().trim().min(1).max(2048),
        type: z.enum(['sighting', 'false_positive', 'expiration']).default('sighting'),
        source: z.string().trim().min(1).max(255).optional(),
      }),
      output: z.object({ value: z.string(), recorded: z.boolean(), sighting_id: z.string().nullable(), attribute_id: z.string().nullable(), type: z.string() }),
      async run({ input, http, secrets, config, signal, instance }) {
        baseOf(config, instance);
        const response = await http.request({
          method: 'POST',
          path: '/sightings/add',
          json: { value: input.value, type: SIGHTING_TYPES[input.type], source: input.source ?? (config.sightingSource as string) },
          headers: headers(secrets.apiKey as string),
          // MISP answers 403 "No valid attributes found" for a value it does not hold: not a credential problem.
          accept: [403],
          signal,
        });
        const body = response.json<Record<string, unknown>>();
        if (response.status === 403) {
          const message = String(body.message ?? body.name ?? '');
          if (/no valid attributes/i.test(message)) return { value: input.value, recorded: false, sighting_id: null, attribute_id: null, type: input.type };
          throw new RiposteError('integration.unauthorized', `MISP (${instance}) refused the credentials (HTTP 403): ${message.slice(0, 200)}`, {
            status: 502,
            details: { vendor: 'MISP', instance, http_status: 403 },
          });
        }
        const sighting = (body.Sighting ?? body) as Record<string, unknown>;
        if (typeof sighting.id !== 'string')
          throw new RiposteError('integration.bad_response', `MISP (${instance}) answered sightings/add without Sighting.id`, { status: 502 });
        return {
          value: input.value,
          recorded: true,
          sighting_id: sighting.id,
          attribute_id: typeof sighting.attribute_id === 'string' ? sighting.attribute_id : null,
          type: input.type,
        };
      },
    }),
  },
});
