/**
 * Palo Alto Networks PAN-OS XML API: blocking by address objects in a tagged dynamic address group.
 * A security rule that denies the dynamic address group matching `config.tag` is set up once by the
 * firewall admin; Riposte then only adds or deletes address objects carrying that tag
 * (`type=config&action=set|delete`), commits (`type=commit` → job id) and polls
 * `type=op&cmd=<show><jobs><id>N</id></jobs></show>` until the job is FIN, so a block is in force when
 * the step completes. The API key comes from `type=keygen` with the integration user's password (kept
 * for the process, refreshed once when the firewall refuses it) and travels in the `X-PAN-KEY` header.
 * PAN-OS has no expiry on objects: the TTL is written into the object's description and Riposte's
 * containment lifecycle runs `unblock_ip` when it passes.
 */
import { z } from 'zod';
import { formatIpAddress, parseCidr, parseDuration, parseIpAddress, RiposteError } from '../../core/index.ts';
import { action, defineIntegration, type IntegrationHttp, runJob } from '../sdk/index.ts';
import { allText, child, escapeXml, parseXml, type XmlElement, XmlParseError, xmlError } from './pan-xml.ts';

const VENDOR = 'PAN-OS';

/** An address or a range no wider than /16 (IPv4) or /32 (IPv6), canonical. */
function blockValue(text: string): string {
  const ip = parseIpAddress(text.trim());
  if (ip) return formatIpAddress(ip);
  const range = parseCidr(text.trim());
  if (!range) throw new RiposteError('input.invalid', `${JSON.stringify(text)} is not an IP address or CIDR range`, { status: 400 });
  if (range.prefix < (range.family === 4 ? 16 : 32)) throw new RiposteError('input.invalid', `${text} is too wide a range to block`, { status: 400 });
  return range.text;
}

const IpOrRange = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    try {
      blockValue(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .transform(blockValue);

/** PAN-OS object names: letters, digits, `.`, `_`, `-`, at most 63 characters. */
export function addressObjectName(prefix: string, value: string): string {
  return `${prefix}${value.replace(/[:/]/g, '_')}`.slice(0, 63);
}

const keys = new Map<string, string>();

interface PanContext {
  http: IntegrationHttp;
  config: Readonly<Record<string, unknown>>;
  secrets: Readonly<Record<string, string>>;
  signal: AbortSignal;
  instance: string;
}

function readResponse(text: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    throw xmlError(VENDOR, error instanceof XmlParseError ? error.message : String(error), error);
  }
  if (root.name !== 'response') throw xmlError(VENDOR, `root element is <${root.name}>, not <response>`);
  if (root.attributes.status !== 'success') {
    const code = root.attributes.code ?? '';
    const message = allText(child(root, 'result/msg') ?? child(root, 'msg') ?? root) || 'no message';
    const refused = code === '403' || /invalid credential|invalid key/i.test(message);
    throw new RiposteError(
      refused ? 'integration.unauthorized' : 'integration.rejected',
      `${VENDOR} refused the request (code ${code || '?'}): ${message.slice(0, 300)}`,
      {
        status: 502,
        details: { vendor: 'palo_alto', pan_code: code },
      },
    );
  }
  return root;
}

async function keygen(ctx: PanContext): Promise<string> {
  const user = ctx.config.username;
  if (typeof user !== 'string' || user === '')
    throw new RiposteError('integration.not_configured', 'palo_alto: set the API user (--set username=riposte-api)', { details: { field: 'username' } });
  // POST so the password is in the body, never in a URL that proxies and firewall logs keep.
  const response = await ctx.http.request({
    method: 'POST',
    path: '/api/',
    form: { type: 'keygen', user, password: ctx.secrets.password as string },
    headers: { accept: 'application/xml' },
    signal: ctx.signal,
  });
  const key = child(readResponse(response.text()), 'result/key')?.text;
  if (!key) throw xmlError(VENDOR, 'keygen answered without result/key');
  return key;
}

/** One XML API call with the instance's key; a refused key is regenerated once. */
async function call(ctx: PanContext, form: Record<string, string>): Promise<XmlElement> {
  const cacheKey = `${ctx.instance}|${ctx.http.baseUrl}|${String(ctx.config.username)}`;
  for (let attempt = 1; ; attempt++) {
    let key = keys.get(cacheKey);
    if (!key) {
      key = await keygen(ctx);
      keys.set(cacheKey, key);
    }
    try {
      const response = await ctx.http.request({
        method: 'POST',
        path: '/api/',
        form,
        headers: { 'x-pan-key': key, accept: 'application/xml' },
        signal: ctx.signal,
      });
      return readResponse(response.text());
    } catch (error) {
      if (attempt === 1 && error instanceof RiposteError && error.code === 'integration.unauthorized') {
        keys.delete(cacheKey);
        continue;
      }
      throw error;
    }
  }
}

function vsysXpath(config: Readonly<Record<string, unknown>>): string {
  return `/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='${config.vsys as string}']`;
}

/** Commits the candidate config and waits for the commit job to finish; null when there was nothing to commit. */
async function commitAndWait(ctx: PanContext): Promise<{ jobId: string | null; polls: number }> {
  let nothing = false;
  try {
    const { jobId, polls } = await runJob<true>({
      vendor: VENDOR,
      signal: ctx.signal,
      deadlineMs: ctx.config.commitDeadlineMs as number,
      initialIntervalMs: ctx.config.pollIntervalMs as number,
      maxIntervalMs: 5_000,
      submit: async () => {
        const root = await call(ctx, { type: 'commit', cmd: '<commit><description>Riposte containment</description></commit>' });
        const job = child(root, 'result/job')?.text;
        if (job) return job;
        if (/no changes to commit/i.test(allText(root))) {
          nothing = true;
          return '';
        }
        throw xmlError(VENDOR, 'commit answered without result/job');
      },
      check: async (jobId) => {
        if (nothing) return { done: true, result: true };
        const root = await call(ctx, { type: 'op', cmd: `<show><jobs><id>${jobId}</id></jobs></show>` });
        const job = child(root, 'result/job');
        const status = child(job, 'status')?.text;
        const result = child(job, 'result')?.text;
        if (!status) throw xmlError(VENDOR, `show jobs ${jobId} answered without result/job/status`);
        if (status !== 'FIN') return { done: false, progress: Number(child(job, 'progress')?.text ?? 0) };
        if (result === 'OK') return { done: true, result: true };
        return { failed: true, reason: allText(child(job, 'details')) || `result ${result ?? 'unknown'}` };
      },
    });
    return { jobId: nothing ? null : jobId, polls };
  } catch (error) {
    if (error instanceof RiposteError && error.code === 'integration.job_failed')
      throw new RiposteError('integration.rejected', `${VENDOR} commit failed: ${error.message}`, { status: 502, cause: error, details: error.details });
    throw error;
  }
}

const Output = z.object({
  ip: z.string(),
  address: z.string(),
  tag: z.string(),
  job_id: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export default defineIntegration({
  id: 'palo_alto',
  title: 'Palo Alto Networks PAN-OS',
  description: 'Block addresses through tagged address objects matched by a dynamic address group (XML API).',
  config: z.object({
    baseUrl: z.url().default('https://firewall.example.com'),
    username: z.string().min(1).optional(),
    vsys: z
      .string()
      .regex(/^vsys\d{1,3}$/)
      .default('vsys1'),
    /** The tag the dynamic address group in the blocking rule matches. */
    tag: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,63}$/)
      .default('riposte-block'),
    addressPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,20}$/)
      .default('riposte-'),
    commitDeadlineMs: z.number().int().positive().default(300_000),
    pollIntervalMs: z.number().int().positive().default(1_000),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { password: 'Password of the API user in config.username (used for type=keygen)' },
  rateLimit: { perMinute: 60, burst: 5 },
  actions: {
    block_ip: action({
      title: 'Block an IP: tagged address object, commit, wait for the job',
      impact: 'destructive',
      inverse: 'unblock_ip',
      input: z
        .object({
          ip: IpOrRange,
          ttl: z
            .union([z.string(), z.number()])
            .refine((v) => (parseDuration(v) ?? 0) > 0, 'must be a duration such as 24h')
            .default('24h'),
          reason: z.string().max(200).optional(),
          confidence: z.number().min(0).max(100).optional(),
          verdict: z.string().optional(),
          indicator_source: z.string().optional(),
          /** CMDB record of the affected asset, read by the policy (critical → approval). */
          asset: z.record(z.string(), z.unknown()).nullable().optional(),
        })
        .strict(),
      output: Output,
      async run({ input, http, config, secrets, signal, instance }) {
        const ctx = { http, config, secrets, signal, instance };
        const tag = config.tag as string;
        const name = addressObjectName(config.addressPrefix as string, input.ip);
        const expires = new Date(Date.now() + (parseDuration(input.ttl) as number)).toISOString();
        const base = vsysXpath(config);
        // The tag object must exist before an address can carry it; setting it again is harmless.
        await call(ctx, { type: 'config', action: 'set', xpath: `${base}/tag/entry[@name='${tag}']`, element: '<comments>Riposte blocks</comments>' });
        const description = escapeXml(`Riposte block until ${expires}${input.reason ? `: ${input.reason}` : ''}`.slice(0, 1023));
        await call(ctx, {
          type: 'config',
          action: 'set',
          xpath: `${base}/address/entry[@name='${name}']`,
          element: `<ip-netmask>${input.ip}</ip-netmask><tag><member>${tag}</member></tag><description>${description}</description>`,
        });
        const { jobId } = await commitAndWait(ctx);
        return { ip: input.ip, address: name, tag, job_id: jobId, expires_at: expires };
      },
    }),
    unblock_ip: action({
      title: 'Unblock an IP: delete its address object, commit, wait for the job',
      impact: 'write',
      // Not strict: a rollback may pass the block's own arguments (ttl, confidence …), ignored here.
      input: z.object({ ip: IpOrRange, reason: z.string().max(200).optional() }),
      output: Output.extend({ removed: z.boolean() }),
      async run({ input, http, config, secrets, signal, instance }) {
        const ctx = { http, config, secrets, signal, instance };
        const name = addressObjectName(config.addressPrefix as string, input.ip);
        const root = await call(ctx, { type: 'config', action: 'delete', xpath: `${vsysXpath(config)}/address/entry[@name='${name}']` });
        // Code 7: the object was not there (already unblocked): nothing to commit.
        const removed = root.attributes.code !== '7';
        const { jobId } = removed ? await commitAndWait(ctx) : { jobId: null };
        return { ip: input.ip, address: name, tag: config.tag as string, job_id: jobId, expires_at: null, removed };
      },
    }),
  },
});
