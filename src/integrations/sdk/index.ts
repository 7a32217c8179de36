/**
 * integrations/sdk: everything a vendor connector is built on. `defineIntegration` and `action` describe
 * a product and its actions; an integration instance (several per product) owns the per-instance HTTP
 * client (SSRF guard, timeouts, retries honouring Retry-After, a shared token bucket, vendor errors as
 * stable codes), the response cache, and output scrubbing; pagination and job-polling helpers cover the
 * usual API shapes; the secret box seals secrets at rest. It imports only core, and knows nothing of the
 * engine: `app/` adapts instances' actions into engine actions.
 */
export { type ActionRunContext, action, defineIntegration, type Impact, type IntegrationAction, type IntegrationDefinition } from './define-integration.ts';
export * from './http/index.ts';
export {
  createIntegrationHttp,
  type IntegrationHttp,
  type IntegrationHttpOptions,
  type RetryPolicy,
  type VendorRequest,
  type VendorResponse,
} from './integration-http.ts';
export {
  type CallContext,
  createIntegrationInstance,
  INSTANCE_NAME,
  type InstanceOptions,
  type InstanceSettings,
  type IntegrationInstance,
  scrub,
} from './integration-instance.ts';
export { type JobState, type PollOptions, runJob } from './job-polling.ts';
export * from './mail/index.ts';
export { type AccessTokenSource, createAccessTokenSource, type OAuth2ClientCredentials } from './oauth2-client-credentials.ts';
export { collectPages, type PageFetcher, paginate } from './pagination.ts';
export { FIFTEEN_MINUTES, ipAddress, ReputationOutput, reliabilityConfig } from './reputation.ts';
export { ResponseCache } from './response-cache.ts';
export { loadMasterKey, MasterKey, openSecret, rewrapSecret, type SealedSecret, sealSecret } from './secret-box.ts';
export { SightingsInput, SightingsOutput, siemBaseUrl, sightingsEvidence } from './sightings.ts';
export { abortableSleep, type RateLimit, TokenBucket } from './token-bucket.ts';
