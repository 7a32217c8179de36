import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { RiposteError } from '../../../core/index.ts';
import { AllowList, isBlockedAddress } from './address-guard.ts';

/**
 * Outbound HTTP for integrations and `core.http_request`, with the SSRF guard built in:
 * - the host is resolved here and every resolved address is checked (private, loopback, link-local,
 *   CGNAT, multicast, metadata and IPv4-mapped/embedded IPv6 forms are refused unless allow-listed);
 * - the connection is pinned to the checked address, so a second DNS answer (rebinding) cannot swap in
 *   an internal one between check and connect;
 * - redirects are followed by hand and every hop is checked again;
 * - responses are capped in size and requests in time.
 *
 * Connections are kept alive and reused per client (one client per integration instance) and per origin,
 * so a vendor called twenty times a second is not paid a TCP (and TLS) handshake each time. Reuse does not
 * weaken the guard: the check runs in the socket's `lookup`, which Node calls exactly when the agent opens
 * a new connection — every new socket resolves, checks every address and is pinned to a checked one — and
 * an idle socket is only handed to a request for the same host and port it was checked for. IP literals
 * skip `lookup` in Node, so they are checked before every request (no DNS involved, so it is free).
 */
export interface GuardedHttpOptions {
  /** CIDRs, addresses or host names (`*.corp.example`) that may be reached even though private. */
  allow?: readonly string[];
  /** Largest response body accepted (default 10 MiB). */
  maxResponseBytes?: number;
  /** Whole-request deadline including redirects (default 30 s). */
  timeoutMs?: number;
  maxRedirects?: number;
  /** Name resolution, replaceable in tests. */
  resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>;
  /** Reuse connections per origin (default true); false opens a fresh connection per request. */
  keepAlive?: boolean;
  /** Most connections open at once per origin (default 32); further requests queue for a free one. */
  maxSocketsPerOrigin?: number;
  /** An idle kept-alive connection is closed after this long (default 4 s, below common server timeouts of 5 s). */
  idleTimeoutMs?: number;
}

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
  text(): string;
  json(): unknown;
}

export interface GuardedHttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Closes the idle kept-alive connections (in-flight requests finish). */
  close(): void;
}

type Address = { address: string; family: number };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function createGuardedHttpClient(options: GuardedHttpOptions = {}): GuardedHttpClient {
  const allow = new AllowList(options.allow ?? []);
  const maxBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
  const maxRedirects = options.maxRedirects ?? 5;
  const resolve = options.resolve ?? ((host: string) => dnsLookup(host, { all: true, verbatim: true }));

  function refuse(host: string, address: string, literal: boolean): RiposteError {
    return new RiposteError(
      'http.blocked_address',
      `refusing to connect to ${host}${literal ? '' : ` (${address})`}: private, loopback, link-local, multicast or metadata address; allow-list it if it is intended`,
      { status: 400, details: { host, address } },
    );
  }

  /** Resolves a host name and checks every answer: an attacker's DNS can mix one public and one internal address. */
  async function checkedAddresses(host: string): Promise<Address[]> {
    let addresses: Address[];
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new RiposteError('http.dns_failed', `cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
        retryable: true,
        cause: error,
      });
    }
    if (addresses.length === 0) throw new RiposteError('http.dns_failed', `cannot resolve ${host}: no addresses`, { retryable: true });
    const hostAllowed = allow.allowsHost(host);
    for (const { address } of addresses) if (isBlockedAddress(address) && !hostAllowed && !allow.allowsAddress(address)) throw refuse(host, address, false);
    return addresses;
  }

  // Node calls this only when it opens a new connection (never for a reused one, never for an IP literal):
  // the socket connects to the first checked address and nothing else, so a second DNS answer cannot
  // swap in an internal one between the check and the connect.
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    checkedAddresses(hostname.replace(/^\[|\]$/g, '')).then(
      (addresses) => {
        const pinned = addresses[0] as Address;
        if ((lookupOptions as { all?: boolean }).all) (callback as (e: null, a: Address[]) => void)(null, [pinned]);
        else callback(null, pinned.address, pinned.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  const keepAlive = options.keepAlive ?? true;
  const agentOptions = {
    keepAlive,
    maxSockets: options.maxSocketsPerOrigin ?? 32,
    maxFreeSockets: 8,
    timeout: options.idleTimeoutMs ?? 4_000,
    scheduling: 'lifo' as const,
  };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

  function checkLiteral(url: URL): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isBlockedAddress(host) && !allow.allowsHost(host) && !allow.allowsAddress(host)) throw refuse(host, host, true);
  }

  function once(url: URL, request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const transport = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
    return new Promise((resolvePromise, reject) => {
      const req = transport.request(url, { method: request.method ?? 'GET', headers: request.headers, lookup, signal, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new RiposteError('http.response_too_large', `response from ${url.host} is larger than ${maxBytes} bytes`, { details: { limit: maxBytes } }));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(res.headers)) if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
          resolvePromise({
            status: res.statusCode ?? 0,
            headers,
            body,
            url: url.toString(),
            text: () => body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
        res.on('error', reject);
      });
      req.on('error', (error) => {
        // The guard's own refusal (from lookup) and DNS failures pass through unchanged.
        if (error instanceof RiposteError) reject(error);
        else if (signal.aborted)
          reject(new RiposteError('http.timeout', `request to ${url.host} timed out or was cancelled`, { retryable: true, cause: error }));
        else
          reject(
            new RiposteError('http.network', `request to ${url.host} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`, {
              retryable: true,
              cause: error,
            }),
          );
      });
      if (request.body !== undefined) req.write(request.body);
      req.end();
    });
  }

  return {
    async request(request) {
      const deadline = AbortSignal.timeout(options.timeoutMs ?? 30_000);
      const signal = request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        throw new RiposteError('http.invalid_url', `${JSON.stringify(request.url)} is not an absolute URL`, { status: 400 });
      }
      let current: HttpRequest = request;
      for (let hop = 0; ; hop++) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw new RiposteError('http.invalid_url', `only http and https URLs are allowed, got ${url.protocol}`, { status: 400 });
        if (url.username || url.password) throw new RiposteError('http.invalid_url', 'credentials in URLs are not allowed; use headers', { status: 400 });
        checkLiteral(url);
        const response = await once(url, current, signal);
        const location = response.headers.location;
        if (!REDIRECTS.has(response.status) || location === undefined) return response;
        if (hop >= maxRedirects) throw new RiposteError('http.too_many_redirects', `more than ${maxRedirects} redirects from ${request.url}`);
        const next = new URL(location, url);
        const headers = { ...(current.headers ?? {}) };
        // Credentials stay with the origin they were meant for.
        if (next.origin !== url.origin) for (const key of Object.keys(headers)) if (/^(authorization|cookie|x-api-key)$/i.test(key)) delete headers[key];
        const keepsBody = response.status === 307 || response.status === 308;
        current = keepsBody ? { ...current, headers } : { method: 'GET', url: next.toString(), headers, signal: current.signal };
        url = next;
      }
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/**
 * Retry-After (seconds or HTTP date) in milliseconds, if present and sane. Without it, OpenAI-style
 * `retry-after-ms` and `x-ratelimit-reset-requests`/`-tokens` ("1s", "6m0s", "20ms": the longer of the
 * two, since either limit may be the one hit) say the same thing.
 */
export function retryAfterMs(headers: Record<string, string>, now: number): number | undefined {
  const value = headers['retry-after'];
  if (value === undefined) return rateLimitResetMs(headers);
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const RESET_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const RESET_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function rateLimitResetMs(headers: Record<string, string>): number | undefined {
  const explicit = headers['retry-after-ms'];
  if (explicit !== undefined && /^\d+(\.\d+)?$/.test(explicit.trim())) return Math.ceil(Number(explicit.trim()));
  let longest: number | undefined;
  for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const text = headers[name]?.trim();
    if (!text || !/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) continue;
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(RESET_PART)) ms += Number(amount) * (RESET_UNIT_MS[unit as string] ?? 0);
    longest = Math.max(longest ?? 0, Math.ceil(ms));
  }
  return longest;
}
