import { RiposteError } from '../../core/index.ts';
import { createGuardedHttpClient, type GuardedHttpClient, type GuardedHttpOptions, type HttpResponse, retryAfterMs } from './http/index.ts';
import { abortableSleep, type TokenBucket } from './token-bucket.ts';

/**
 * The HTTP client an integration instance hands its actions: the SSRF-guarded client plus what every
 * vendor API needs — the instance's base URL, a per-request timeout, retries with exponential backoff and
 * full jitter that honour Retry-After on 429/503, the instance's shared token bucket, and vendor errors
 * turned into stable RiposteError codes that name the vendor and the HTTP status:
 *
 * - `integration.unauthorized` (401/403, not retryable: a wrong key stays wrong)
 * - `integration.not_found` (404; connectors usually turn it into "unknown" instead)
 * - `integration.rate_limited` (429 after the retries, retryable, `retry_after_ms` in details)
 * - `integration.unavailable` (5xx after the retries, retryable)
 * - `integration.timeout` (no answer within `timeoutMs`, retryable)
 * - `integration.network` (connection refused/reset after the retries, retryable)
 * - `integration.bad_response` (a body that is not the JSON promised, or another unexpected status)
 */
export interface RetryPolicy {
  /** Tries in all, including the first (default 3). */
  attempts: number;
  /** First backoff (default 250 ms); doubled each retry, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for here: the step fails retryable and the engine retries later. */
  maxRetryAfterMs: number;
}

export interface IntegrationHttpOptions {
  vendor: string;
  /** Instance name, for messages. */
  instance: string;
  baseUrl: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  bucket?: TokenBucket;
  guard?: GuardedHttpOptions;
  /** Replaceable for tests (deterministic jitter). */
  random?: () => number;
  client?: GuardedHttpClient;
  userAgent?: string;
}

export interface VendorRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  /** Path relative to the instance's base URL, or an absolute URL on the same origin (pagination links). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  body?: string;
  /** Statuses returned to the caller instead of thrown (e.g. [404] when "not found" means "unknown"). */
  accept?: readonly number[];
  signal?: AbortSignal;
}

export interface VendorResponse {
  status: number;
  headers: Record<string, string>;
  url: string;
  text(): string;
  /** Parsed JSON; throws `integration.bad_response` when the body is not JSON. */
  json<T = unknown>(): T;
}

export interface IntegrationHttp {
  request(request: VendorRequest): Promise<VendorResponse>;
  /** `request` then `.json()`: the common case. */
  getJson<T = unknown>(path: string, options?: Omit<VendorRequest, 'path' | 'method'>): Promise<T>;
  readonly baseUrl: string;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 30_000 };

export function createIntegrationHttp(options: IntegrationHttpOptions): IntegrationHttp {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 15_000;
  const client = options.client ?? createGuardedHttpClient({ ...options.guard, timeoutMs: options.guard?.timeoutMs ?? Math.max(timeoutMs, 1000) * 4 });
  const random = options.random ?? Math.random;
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const who = options.vendor === options.instance ? options.vendor : `${options.vendor} (${options.instance})`;

  function urlFor(request: VendorRequest): URL {
    const url = /^https?:\/\//.test(request.path) ? new URL(request.path) : new URL(request.path.replace(/^\//, ''), base);
    if (url.origin !== base.origin)
      throw new RiposteError('integration.bad_request', `${who}: refusing to send credentials to ${url.origin}, which is not the instance's base URL`);
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  function backoff(attempt: number): number {
    const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + random() * (cap / 2));
  }

  function vendorMessage(response: HttpResponse): string {
    const text = response.text().slice(0, 2000);
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      // VirusTotal/Elastic/ServiceNow `error`, AbuseIPDB `errors`, Splunk `messages`, MISP/OTX/GreyNoise `message`/`detail`.
      const error = body.error ?? body.errors ?? body.messages ?? body.message ?? body.detail;
      const first = Array.isArray(error) ? error[0] : error;
      if (typeof first === 'string') return first.slice(0, 200);
      if (first && typeof first === 'object') {
        const o = first as Record<string, unknown>;
        const m = o.message ?? o.reason ?? o.text ?? o.detail ?? o.title ?? o.code;
        if (typeof m === 'string') return m.slice(0, 200);
      }
    } catch {
      // Not JSON: fall back to the text.
    }
    return text.replace(/\s+/g, ' ').trim().slice(0, 200);
  }

  function wrap(response: HttpResponse): VendorResponse {
    return {
      status: response.status,
      headers: response.headers,
      url: response.url,
      text: () => response.text(),
      json<T>(): T {
        try {
          return response.json() as T;
        } catch (error) {
          throw new RiposteError('integration.bad_response', `${who} answered ${response.status} with a body that is not JSON`, {
            status: 502,
            cause: error,
            details: { vendor: options.vendor, instance: options.instance, http_status: response.status },
          });
        }
      },
    };
  }

  async function request(request: VendorRequest): Promise<VendorResponse> {
    const url = urlFor(request);
    const method = request.method ?? 'GET';
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent ?? 'Riposte-SOAR', ...request.headers };
    let body = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] ??= 'application/json';
    } else if (request.form !== undefined) {
      body = new URLSearchParams(request.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    const details = { vendor: options.vendor, instance: options.instance, method, path: url.pathname };
    let lastError: RiposteError | undefined;
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      await options.bucket?.take(request.signal);
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
      let response: HttpResponse;
      try {
        response = await client.request({ method, url: url.toString(), headers, body, signal });
      } catch (error) {
        request.signal?.throwIfAborted();
        if (error instanceof RiposteError && error.code === 'http.timeout') {
          // A vendor that did not answer in time is not asked again at once: the step's retry decides.
          throw new RiposteError('integration.timeout', `${who} did not answer ${method} ${url.pathname} within ${timeoutMs} ms`, {
            status: 504,
            retryable: true,
            cause: error,
            details,
          });
        }
        if (error instanceof RiposteError && (error.code === 'http.network' || error.code === 'http.dns_failed')) {
          lastError = new RiposteError('integration.network', `${who}: ${error.message}`, { status: 502, retryable: true, cause: error, details });
          if (attempt < retry.attempts) await abortableSleep(backoff(attempt), request.signal);
          continue;
        }
        throw error;
      }
      const status = response.status;
      if ((status >= 200 && status < 300) || request.accept?.includes(status)) return wrap(response);
      const withStatus = { ...details, http_status: status };
      if (status === 401 || status === 403) {
        throw new RiposteError('integration.unauthorized', `${who} refused the credentials (HTTP ${status}): ${vendorMessage(response)}`, {
          status: 502,
          details: withStatus,
        });
      }
      if (status === 404) {
        throw new RiposteError('integration.not_found', `${who} has no ${url.pathname} (HTTP 404): ${vendorMessage(response)}`, {
          status: 404,
          details: withStatus,
        });
      }
      if (status === 429 || status >= 500) {
        const wait = retryAfterMs(response.headers, Date.now());
        const code = status === 429 ? 'integration.rate_limited' : 'integration.unavailable';
        const what = status === 429 ? 'is rate limiting us' : 'is failing';
        lastError = new RiposteError(code, `${who} ${what} (HTTP ${status}): ${vendorMessage(response)}`, {
          status: status === 429 ? 429 : 502,
          retryable: true,
          details: { ...withStatus, ...(wait === undefined ? {} : { retry_after_ms: wait }) },
        });
        if (attempt >= retry.attempts) break;
        if (wait !== undefined && wait > retry.maxRetryAfterMs) break;
        await abortableSleep(wait ?? backoff(attempt), request.signal);
        continue;
      }
      throw new RiposteError('integration.bad_response', `${who} answered ${method} ${url.pathname} with HTTP ${status}: ${vendorMessage(response)}`, {
        status: 502,
        details: withStatus,
      });
    }
    throw lastError as RiposteError;
  }

  return {
    baseUrl: base.toString(),
    request,
    async getJson<T>(path: string, rest: Omit<VendorRequest, 'path' | 'method'> = {}): Promise<T> {
      return (await request({ ...rest, path })).json<T>();
    },
  };
}
