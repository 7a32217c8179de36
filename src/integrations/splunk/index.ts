/**
 * Splunk Enterprise / Cloud REST API (management port, default 8089): internal sightings of an IP through a
 * search job — `POST /services/search/jobs` (form-encoded `search`, `output_mode=json`) returns a `sid`,
 * `GET /services/search/jobs/{sid}` is polled with the SDK's job helper until `dispatchState` is DONE or
 * FAILED, then `GET /services/search/jobs/{sid}/results` is read page by page (`count`/`offset`).
 * Auth: `Authorization: Bearer <token>` (a Splunk authentication token), or Basic when `username` is set
 * (the secret is then that user's password).
 *
 * The search is a template: `{ip}` and `{days}` are replaced; the IP is validated first, so it cannot
 * inject SPL. It must produce rows with `host`, `count`, `first_seen`, `last_seen` (epoch seconds), which
 * the default does with `stats … by host`.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import {
  action,
  collectPages,
  defineIntegration,
  reliabilityConfig,
  runJob,
  SightingsInput,
  SightingsOutput,
  siemBaseUrl,
  sightingsEvidence,
} from '../sdk/index.ts';

export const DEFAULT_SPLUNK_SEARCH =
  'search index=* (src_ip="{ip}" OR dest_ip="{ip}" OR src="{ip}" OR dest="{ip}") earliest=-{days}d | stats count min(_time) as first_seen max(_time) as last_seen by host';

const JobStatus = z.object({
  entry: z
    .array(
      z.object({
        content: z
          .object({
            dispatchState: z.string(),
            doneProgress: z.number().optional(),
            messages: z.array(z.object({ type: z.string(), text: z.string() }).loose()).optional(),
          })
          .loose(),
      }),
    )
    .min(1),
});
const Results = z.object({ results: z.array(z.record(z.string(), z.unknown())) });
const Row = z.object({ host: z.string(), count: z.coerce.number(), first_seen: z.coerce.number(), last_seen: z.coerce.number() });

const Config = z.object({
  baseUrl: z.url().optional(),
  search: z.string().min(1).default(DEFAULT_SPLUNK_SEARCH),
  lookbackDays: z.number().int().min(1).max(365).default(7),
  /** Basic auth user; without it the secret is sent as a Bearer token. */
  username: z.string().min(1).optional(),
  pageSize: z.number().int().min(1).max(50_000).default(1000),
  maxRows: z.number().int().min(1).default(10_000),
  /** How long a search may run before the step fails retryable. */
  maxWaitMs: z.number().int().positive().default(120_000),
  pollIntervalMs: z.number().int().positive().default(500),
  reliability: reliabilityConfig(9),
  timeoutMs: z.number().int().positive().optional(),
});

export default defineIntegration({
  id: 'splunk',
  title: 'Splunk',
  description: 'Splunk search jobs: internal sightings of an IP',
  config: Config,
  secrets: { token: 'Splunk authentication token (Bearer), or the password of `username` for Basic auth' },
  rateLimit: { perMinute: 120, burst: 10 },
  healthCheck: { action: 'sightings', input: { ip: '8.8.8.8', lookbackDays: 1 } },
  actions: {
    sightings: action({
      title: 'Internal sightings of an IP (count, first/last seen, hosts)',
      impact: 'read',
      input: SightingsInput,
      output: SightingsOutput,
      cacheTtl: 5 * 60_000,
      async run({ input, http, secrets, config, signal, instance }) {
        siemBaseUrl(config, instance, { id: 'splunk', title: 'Splunk', example: 'https://splunk.example:8089' });
        const token = secrets.token as string;
        const authorization =
          typeof config.username === 'string' ? `Basic ${Buffer.from(`${config.username}:${token}`).toString('base64')}` : `Bearer ${token}`;
        const headers = { authorization };
        const days = input.lookbackDays ?? (config.lookbackDays as number);
        const search = (config.search as string).replaceAll('{ip}', input.ip).replaceAll('{days}', String(days));
        const { jobId } = await runJob<true>({
          vendor: `Splunk (${instance})`,
          signal,
          deadlineMs: config.maxWaitMs as number,
          initialIntervalMs: config.pollIntervalMs as number,
          submit: async () => {
            const body = (
              await http.request({ method: 'POST', path: '/services/search/jobs', form: { search, output_mode: 'json', exec_mode: 'normal' }, headers, signal })
            ).json<{ sid?: unknown }>();
            if (typeof body?.sid !== 'string' || body.sid === '')
              throw new RiposteError('integration.bad_response', `Splunk (${instance}) created a search job without a sid`, { status: 502 });
            return body.sid;
          },
          check: async (sid) => {
            const parsed = JobStatus.safeParse(
              await http.getJson(`/services/search/jobs/${encodeURIComponent(sid)}`, { query: { output_mode: 'json' }, headers, signal }),
            );
            if (!parsed.success)
              throw new RiposteError('integration.bad_response', `Splunk (${instance}) answered the job status without entry[0].content.dispatchState`, {
                status: 502,
              });
            const content = parsed.data.entry[0]?.content;
            if (content?.dispatchState === 'DONE') return { done: true, result: true };
            if (content?.dispatchState === 'FAILED') return { failed: true, reason: content.messages?.map((m) => m.text).join('; ') || 'dispatchState FAILED' };
            // A job cancelled by a user or by Splunk (USER_CANCEL, INTERNAL_CANCEL, BAD_INPUT_CANCEL, QUIT) never finishes.
            if (content && /CANCEL|QUIT/.test(content.dispatchState))
              return { failed: true, reason: `the search job was cancelled (dispatchState ${content.dispatchState})` };
            return { done: false, ...(content?.doneProgress === undefined ? {} : { progress: content.doneProgress }) };
          },
        });
        const pageSize = config.pageSize as number;
        const maxRows = config.maxRows as number;
        const rows = await collectPages<Record<string, unknown>, number>({
          first: 0,
          maxItems: maxRows,
          maxPages: Math.ceil(maxRows / pageSize) + 1,
          fetch: async (offset) => {
            const parsed = Results.safeParse(
              await http.getJson(`/services/search/jobs/${encodeURIComponent(jobId)}/results`, {
                query: { output_mode: 'json', count: pageSize, offset },
                headers,
                signal,
              }),
            );
            if (!parsed.success)
              throw new RiposteError('integration.bad_response', `Splunk (${instance}) answered results without a results array`, { status: 502 });
            const items = parsed.data.results;
            return { items, next: items.length < pageSize ? undefined : offset + items.length };
          },
        });
        let count = 0;
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        const hosts = new Set<string>();
        for (const raw of rows) {
          const row = Row.safeParse(raw);
          if (!row.success)
            throw new RiposteError(
              'integration.bad_response',
              `Splunk (${instance}): search rows need host, count, first_seen and last_seen (check the search template)`,
              {
                status: 502,
              },
            );
          count += row.data.count;
          first = Math.min(first, row.data.first_seen);
          last = Math.max(last, row.data.last_seen);
          hosts.add(row.data.host);
        }
        const summary = {
          count,
          hosts: [...hosts].sort(),
          first_seen: count > 0 ? new Date(first * 1000).toISOString() : null,
          last_seen: count > 0 ? new Date(last * 1000).toISOString() : null,
          lookback_days: days,
          truncated: rows.length >= maxRows,
        };
        return { observable: input.ip, found: count > 0, ...summary, evidence: sightingsEvidence(instance, config.reliability as number, summary) };
      },
    }),
  },
});
