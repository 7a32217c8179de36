/**
 * intel/taxii: TAXII 2.1 — the server's logic (discovery, API roots, collections with per-collection access,
 * objects with filters and pagination, status, versions, manifest), the client (outbound through an
 * SSRF-guarded HTTP client handed in by app/), and scheduled feeds that pull into the indicator store.
 */

export { type TaxiiAuth, TaxiiClient, type TaxiiHttp, type TaxiiObjectFilters, type TaxiiPage } from './taxii-client.ts';
export {
  type FeedPullResult,
  feedCollection,
  feedStateKey,
  type TaxiiFeedConfig,
  type TaxiiFeedState,
  TaxiiFeeds,
  type TaxiiFeedsOptions,
} from './taxii-feeds.ts';
export * from './taxii-media.ts';
export { DEFAULT_API_ROOT, type TaxiiCaller, type TaxiiQuery, type TaxiiResult, TaxiiService, type TaxiiServiceOptions } from './taxii-service.ts';
