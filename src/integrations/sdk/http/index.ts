/**
 * integrations/sdk/http: the outbound HTTP client every integration and `core.http_request` use, with
 * the SSRF guard (address checks after DNS resolution, pinned connections, hop-by-hop redirect checks)
 * and size and time caps. It imports only core.
 */
export { AllowList, embeddedIpv4, isBlockedAddress } from './address-guard.ts';
export {
  createGuardedHttpClient,
  type GuardedHttpClient,
  type GuardedHttpOptions,
  type HttpRequest,
  type HttpResponse,
  retryAfterMs,
} from './guarded-http-client.ts';
