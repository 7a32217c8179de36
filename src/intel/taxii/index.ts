/**
 * intel/taxii: TAXII 2.1 — the server's logic (discovery, API roots, collections with per-collection access,
 * objects with filters and pagination, status, versions, manifest), the client (outbound through an
 * SSRF-guarded HTTP client handed in by app/), and scheduled feeds that pull into the indicator store.
 */
export * from './taxii-media.ts';
export { DEFAULT_API_ROOT, type TaxiiCaller, type TaxiiQuery, type TaxiiResult, TaxiiService, type TaxiiServiceOptions } from './taxii-service.ts';
