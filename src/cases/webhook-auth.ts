import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { RiposteError } from '../core/index.ts';

/**
 * How SIEM webhooks prove who they are. Either a per-source token (header, or `?token=` for senders such
 * as Splunk's built-in webhook action that cannot set headers), or an HMAC-SHA256 signature over
 * `timestamp + "." + raw body` with a timestamp within ±skew and a delivery id that is refused if seen
 * again. Two secrets may be configured at once so a rotation never drops alerts. Comparisons are
 * constant-time.
 */
export const WEBHOOK_HEADERS = {
  token: 'x-riposte-token',
  timestamp: 'x-riposte-timestamp',
  signature: 'x-riposte-signature',
  delivery: 'x-riposte-delivery',
} as const;

export interface WebhookCredentials {
  tokens: readonly string[];
  hmacSecrets: readonly string[];
}

export interface WebhookVerification {
  method: 'token' | 'hmac';
  /** Present when the request can be told apart from a replay; the caller records it durably. */
  delivery?: { id: string; expiresAt: number };
}

function fail(code: string, message: string): RiposteError {
  return new RiposteError(code, message, { status: 401 });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal-length digests make the comparison constant-time whatever the inputs' lengths. */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function signWebhook(secret: string, timestamp: number | string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export function verifyWebhook(input: {
  source: string;
  headers: Record<string, string | string[] | undefined>;
  queryToken?: string | undefined;
  rawBody: string;
  now: number;
  skewMs: number;
  credentials: WebhookCredentials;
}): WebhookVerification {
  const header = (name: string) => {
    const value = input.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const { tokens, hmacSecrets } = input.credentials;
  if (tokens.length === 0 && hmacSecrets.length === 0) {
    throw fail(
      'webhook.not_configured',
      `webhook source ${input.source} has no token or HMAC secret configured (webhooks.${input.source}.tokens / webhooks.${input.source}.hmac_secrets)`,
    );
  }
  const deliveryHeader = header(WEBHOOK_HEADERS.delivery)?.trim();
  if (deliveryHeader !== undefined && !/^[\x21-\x7e]{1,200}$/.test(deliveryHeader)) {
    throw new RiposteError('input.invalid', `${WEBHOOK_HEADERS.delivery} must be 1-200 printable ASCII characters`, { status: 400 });
  }
  const signature = header(WEBHOOK_HEADERS.signature)?.trim();
  if (signature !== undefined) {
    if (hmacSecrets.length === 0)
      throw fail('webhook.bad_signature', `webhook source ${input.source} has no HMAC secret configured; send ${WEBHOOK_HEADERS.token} instead`);
    const timestampText = header(WEBHOOK_HEADERS.timestamp)?.trim();
    if (!timestampText)
      throw fail('webhook.bad_signature', `signed requests need ${WEBHOOK_HEADERS.timestamp} (Unix seconds) next to ${WEBHOOK_HEADERS.signature}`);
    if (!/^\d{1,12}$/.test(timestampText))
      throw fail('webhook.bad_signature', `${WEBHOOK_HEADERS.timestamp} must be Unix time in whole seconds; got ${JSON.stringify(timestampText.slice(0, 40))}`);
    const timestampMs = Number(timestampText) * 1000;
    const offset = Math.round((timestampMs - input.now) / 1000);
    if (Math.abs(timestampMs - input.now) > input.skewMs) {
      throw fail(
        'webhook.expired',
        `${WEBHOOK_HEADERS.timestamp} is ${Math.abs(offset)} s ${offset < 0 ? 'in the past' : 'in the future'}; allowed skew is ±${Math.round(input.skewMs / 1000)} s (check the sender's clock)`,
      );
    }
    const given = signature.replace(/^(sha256|v1)=/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(given)) throw fail('webhook.bad_signature', `${WEBHOOK_HEADERS.signature} must be sha256=<64 hex digits>`);
    const matches = hmacSecrets.some((secret) => safeEqual(createHmac('sha256', secret).update(`${timestampText}.${input.rawBody}`).digest('hex'), given));
    if (!matches)
      throw fail('webhook.bad_signature', `${WEBHOOK_HEADERS.signature} does not match HMAC-SHA256(secret, timestamp + "." + body) for any configured secret`);
    // Without a delivery id, the signature itself identifies the request: the same bytes again are a replay.
    return { method: 'hmac', delivery: { id: deliveryHeader ?? `sig:${given}`, expiresAt: Math.max(timestampMs, input.now) + input.skewMs } };
  }
  const token = header(WEBHOOK_HEADERS.token)?.trim() ?? input.queryToken;
  if (token === undefined || token === '') {
    throw fail(
      'webhook.unauthenticated',
      `webhook requests must carry ${WEBHOOK_HEADERS.token} (or ?token=) or an HMAC signature in ${WEBHOOK_HEADERS.signature} with ${WEBHOOK_HEADERS.timestamp}`,
    );
  }
  // Check every token so the time taken does not reveal which one matched.
  let matched = false;
  for (const candidate of tokens) matched = safeEqual(candidate, token) || matched;
  if (!matched) throw fail('webhook.bad_token', `${WEBHOOK_HEADERS.token} is not a valid token for webhook source ${input.source}`);
  return deliveryHeader ? { method: 'token', delivery: { id: deliveryHeader, expiresAt: input.now + input.skewMs } } : { method: 'token' };
}
