import { randomUUID } from 'node:crypto';
import { type Clock, RiposteError, systemClock } from '../../core/index.ts';
import type { IntelCollectionRecord, IntelObjectRecord, IntelVersionMatch, Store } from '../../store/index.ts';
import { formatMicros, type IndicatorStore, stixTimestampMicros, storedObjectOf } from '../indicators/index.ts';
import { validateStix } from '../stix/index.ts';
import {
  DATE_ADDED_FIRST_HEADER,
  DATE_ADDED_LAST_HEADER,
  STIX_MEDIA_TYPE,
  TAXII_MEDIA_TYPE,
  type TaxiiApiRoot,
  type TaxiiCollection,
  type TaxiiDiscovery,
  type TaxiiEnvelope,
  type TaxiiManifestRecord,
  type TaxiiStatus,
  type TaxiiStatusDetail,
} from './taxii-media.ts';

/**
 * The TAXII 2.1 server's logic, free of HTTP: discovery, API roots, collections with per-collection access,
 * objects (GET with the §3.4 filters and pagination, POST returning a status resource), single objects,
 * versions, manifest, status. The Fastify plugin in server/ maps requests onto these methods.
 *
 * Pagination: results are in date-added order and `date_added` is unique per database (see the intel
 * repository), so `next` is just the last date added, and a client paging by `added_after` with the
 * `X-TAXII-Date-Added-Last` header sees exactly the same objects as one following `next`.
 */
export interface TaxiiCaller {
  /** Owner of status resources created by this caller. */
  userId: string;
  /** The caller's role names and permissions: a collection's access lists name either. */
  grants: ReadonlySet<string>;
}

export interface TaxiiServiceOptions {
  store: Store;
  /** When given, indicators added over TAXII go live in the index at once. */
  indicators?: IndicatorStore;
  clock?: Clock;
  title?: string;
  description?: string;
  contact?: string;
  /** Largest request body accepted by POST objects (bytes); announced in the API root. */
  maxContentLength: number;
  /** Page size when the client asks for none, and the most the server returns per page. */
  defaultPageSize?: number;
  maxPageSize?: number;
}

export interface TaxiiResult<T> {
  body: T;
  headers: Record<string, string>;
}

export type TaxiiQuery = Record<string, string | string[] | undefined>;

export const DEFAULT_API_ROOT = 'default';

const notFoundError = (what: string) => new RiposteError('taxii.not_found', `${what} was not found, or you do not have access to it`, { status: 404 });
const badFilter = (name: string, message: string) =>
  new RiposteError('taxii.invalid_filter', `URL parameter ${name}: ${message}`, { status: 400, details: { field: name } });

function single(query: TaxiiQuery, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    if (value.length > 1) throw badFilter(name, 'may be given only once');
    return value[0];
  }
  return value;
}

/** match[...] values: a comma-separated list; repeating the parameter adds to it. */
function list(query: TaxiiQuery, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (parts.some((p) => p === '')) throw badFilter(name, 'has an empty value');
  return parts;
}

function timestampFilter(name: string, text: string): number {
  const us = stixTimestampMicros(text);
  if (us === undefined) throw badFilter(name, `${JSON.stringify(text)} is not an RFC 3339 timestamp in UTC (e.g. 2026-01-01T00:00:00.000Z)`);
  return us;
}

interface ParsedFilters {
  addedAfterUs: number | undefined;
  limit: number;
  ids: string[] | undefined;
  types: string[] | undefined;
  versions: IntelVersionMatch[] | undefined;
  specVersions: string[] | undefined;
}

const NEXT_PREFIX = 'da.';

export class TaxiiService {
  readonly #store: Store;
  readonly #indicators: IndicatorStore | undefined;
  readonly #clock: Clock;
  readonly #options: TaxiiServiceOptions;
  readonly #defaultPageSize: number;
  readonly #maxPageSize: number;

  constructor(options: TaxiiServiceOptions) {
    this.#store = options.store;
    this.#indicators = options.indicators;
    this.#clock = options.clock ?? systemClock;
    this.#options = options;
    this.#defaultPageSize = options.defaultPageSize ?? 100;
    this.#maxPageSize = options.maxPageSize ?? 1000;
  }

  get maxContentLength(): number {
    return this.#options.maxContentLength;
  }

  async apiRootNames(): Promise<string[]> {
    const names = new Set([DEFAULT_API_ROOT]);
    for (const c of await this.#store.intel.listCollections()) names.add(c.apiRoot);
    return [...names].sort();
  }

  /** §4.1: `baseUrl` is the discovery URL as the client reached it (ends with "/"). */
  async discovery(baseUrl: string): Promise<TaxiiDiscovery> {
    const roots = await this.apiRootNames();
    const discovery: TaxiiDiscovery = { title: this.#options.title ?? 'Riposte TAXII 2.1 server' };
    if (this.#options.description) discovery.description = this.#options.description;
    if (this.#options.contact) discovery.contact = this.#options.contact;
    discovery.default = `${baseUrl}${DEFAULT_API_ROOT}/`;
    discovery.api_roots = roots.map((r) => `${baseUrl}${encodeURIComponent(r)}/`);
    return discovery;
  }

  async apiRoot(root: string): Promise<TaxiiApiRoot> {
    if (!(await this.apiRootNames()).includes(root)) throw notFoundError(`API root ${JSON.stringify(root)}`);
    return {
      title: root === DEFAULT_API_ROOT ? 'Riposte default API root' : `Riposte API root ${root}`,
      description: 'STIX 2.1 intelligence shared by this Riposte instance',
      versions: [TAXII_MEDIA_TYPE],
      max_content_length: this.#options.maxContentLength,
    };
  }

  async collections(root: string, caller: TaxiiCaller): Promise<{ collections?: TaxiiCollection[] }> {
    await this.apiRoot(root);
    const visible = (await this.#store.intel.listCollections(root)).map((c) => collectionView(c, caller)).filter((c) => c.can_read || c.can_write);
    return visible.length > 0 ? { collections: visible } : {};
  }

  async collection(root: string, id: string, caller: TaxiiCaller): Promise<TaxiiCollection> {
    return collectionView(await this.#visibleCollection(root, id, caller), caller);
  }

  async getObjects(root: string, collectionId: string, query: TaxiiQuery, caller: TaxiiCaller): Promise<TaxiiResult<TaxiiEnvelope>> {
    const collection = await this.#readable(root, collectionId, caller);
    const filters = this.#filters(query, { ids: true, types: true });
    const page = await this.#store.intel.queryObjects({ collection: collection.id, ...queryOf(filters) });
    return this.#envelope(page, (o) => o.raw);
  }

  async getObject(root: string, collectionId: string, objectId: string, query: TaxiiQuery, caller: TaxiiCaller): Promise<TaxiiResult<TaxiiEnvelope>> {
    const collection = await this.#readable(root, collectionId, caller);
    await this.#requireObject(collection.id, objectId);
    const filters = this.#filters(query, { ids: false, types: false });
    const page = await this.#store.intel.queryObjects({ collection: collection.id, ...queryOf(filters), ids: [objectId] });
    return this.#envelope(page, (o) => o.raw);
  }

  async manifest(
    root: string,
    collectionId: string,
    query: TaxiiQuery,
    caller: TaxiiCaller,
  ): Promise<TaxiiResult<{ more?: boolean; objects?: TaxiiManifestRecord[] }>> {
    const collection = await this.#readable(root, collectionId, caller);
    const filters = this.#filters(query, { ids: true, types: true });
    const page = await this.#store.intel.queryObjects({ collection: collection.id, ...queryOf(filters) });
    const result = this.#envelope(page, (o) => ({
      id: o.id,
      date_added: formatMicros(o.dateAddedUs),
      version: o.version,
      media_type: `application/stix+json;version=${o.specVersion}`,
    }));
    return result as TaxiiResult<{ more?: boolean; objects?: TaxiiManifestRecord[] }>;
  }

  async versions(
    root: string,
    collectionId: string,
    objectId: string,
    query: TaxiiQuery,
    caller: TaxiiCaller,
  ): Promise<TaxiiResult<{ more?: boolean; versions?: string[] }>> {
    const collection = await this.#readable(root, collectionId, caller);
    await this.#requireObject(collection.id, objectId);
    const filters = this.#filters(query, { ids: false, types: false, versions: false });
    const page = await this.#store.intel.queryObjects({ collection: collection.id, ...queryOf(filters), ids: [objectId], versions: ['all'] });
    const { body, headers } = this.#envelope(page, (o) => o.version);
    const out: { more?: boolean; versions?: string[] } = {};
    if (body.more !== undefined) out.more = body.more;
    if (body.objects) out.versions = body.objects as unknown as string[];
    return { body: out, headers };
  }

  async deleteObject(root: string, collectionId: string, objectId: string, query: TaxiiQuery, caller: TaxiiCaller): Promise<number> {
    const collection = await this.#visibleCollection(root, collectionId, caller);
    if (!grants(caller, collection.writeAccess) || !grants(caller, collection.readAccess))
      throw new RiposteError('taxii.forbidden', `you may not delete objects from collection ${collection.id}`, { status: 403 });
    await this.#requireObject(collection.id, objectId);
    const filters = this.#filters(query, { ids: false, types: false, addedAfter: false, paging: false });
    const deleted = await this.#store.intel.deleteObject(collection.id, objectId, {
      ...(filters.versions ? { versions: filters.versions } : {}),
      ...(filters.specVersions ? { specVersions: filters.specVersions } : {}),
    });
    if (deleted === 0) throw notFoundError(`a version of ${objectId} matching the filters`);
    return deleted;
  }

  /**
   * §5.5: stores the envelope's objects and returns a status resource. Every object is validated on its own:
   * invalid ones are listed as failures and the valid ones are still added (a version already held counts
   * as a success, as adding is idempotent).
   */
  async addObjects(root: string, collectionId: string, envelope: unknown, caller: TaxiiCaller): Promise<TaxiiStatus> {
    const collection = await this.#visibleCollection(root, collectionId, caller);
    if (!grants(caller, collection.writeAccess))
      throw new RiposteError('taxii.forbidden', `you may not add objects to collection ${collection.id}`, { status: 403 });
    if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope) || !Array.isArray((envelope as TaxiiEnvelope).objects))
      throw new RiposteError('taxii.invalid_envelope', 'the request body must be a TAXII envelope: {"objects": [ STIX objects ]}', { status: 422 });
    const objects = (envelope as { objects: unknown[] }).objects;
    const requestTimestamp = formatMicros(this.#clock.now() * 1000);
    const failures: TaxiiStatusDetail[] = [];
    const accepted: Array<Record<string, unknown>> = [];
    for (const [i, object] of objects.entries()) {
      const o = (object && typeof object === 'object' ? object : {}) as Record<string, unknown>;
      const id = typeof o.id === 'string' ? o.id : `objects[${i}]`;
      const version = typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : '';
      const validation = validateStix(object);
      if (!validation.valid) {
        const first = validation.errors[0];
        failures.push({ id, version, message: first ? `${first.path} ${first.message}` : 'invalid STIX object' });
      } else if (o.type === 'bundle') {
        failures.push({ id, version, message: 'bundles cannot be added to a collection; post their objects in the envelope' });
      } else accepted.push(o);
    }
    let successes: TaxiiStatusDetail[] = [];
    if (accepted.length > 0) {
      if (this.#indicators) {
        const result = await this.#indicators.ingest(collection.id, accepted);
        successes = result.outcomes.map((o) => ({ id: o.id, version: o.version, ...(o.outcome === 'duplicate' ? { message: 'already held' } : {}) }));
      } else {
        const now = this.#clock.now() * 1000;
        const outcomes = await this.#store.intel.addObjects(
          collection.id,
          accepted.map((o) => storedObjectOf(o, now)),
        );
        successes = outcomes.map((o) => ({ id: o.id, version: o.version, ...(o.outcome === 'duplicate' ? { message: 'already held' } : {}) }));
      }
    }
    const status: TaxiiStatus = {
      id: randomUUID(),
      status: 'complete',
      request_timestamp: requestTimestamp,
      total_count: objects.length,
      success_count: successes.length,
      successes,
      failure_count: failures.length,
      failures,
      pending_count: 0,
      pendings: [],
    };
    await this.#store.intel.putStatus({ id: status.id, apiRoot: root, owner: caller.userId, body: status as unknown as Record<string, unknown> });
    return status;
  }

  async status(root: string, statusId: string, caller: TaxiiCaller): Promise<TaxiiStatus> {
    await this.apiRoot(root);
    const record = await this.#store.intel.getStatus(statusId);
    // Only the requester (or an admin) may see a status: its details name what they added.
    if (!record || record.apiRoot !== root || (record.owner !== caller.userId && !caller.grants.has('admin'))) throw notFoundError(`status ${statusId}`);
    return record.body as unknown as TaxiiStatus;
  }

  async #visibleCollection(root: string, id: string, caller: TaxiiCaller): Promise<IntelCollectionRecord> {
    await this.apiRoot(root);
    const collection = await this.#store.intel.getCollection(id);
    if (!collection || collection.apiRoot !== root || (!grants(caller, collection.readAccess) && !grants(caller, collection.writeAccess)))
      throw notFoundError(`collection ${JSON.stringify(id)}`);
    return collection;
  }

  async #readable(root: string, id: string, caller: TaxiiCaller): Promise<IntelCollectionRecord> {
    const collection = await this.#visibleCollection(root, id, caller);
    if (!grants(caller, collection.readAccess)) throw new RiposteError('taxii.forbidden', `you may not read collection ${collection.id}`, { status: 403 });
    return collection;
  }

  async #requireObject(collection: string, objectId: string): Promise<void> {
    // Without a spec_version filter the newest spec version of any held object matches, so one row proves it exists.
    const held = await this.#store.intel.queryObjects({ collection, ids: [objectId], versions: ['all'], limit: 1 });
    if (held.objects.length === 0) throw notFoundError(`object ${JSON.stringify(objectId)}`);
  }

  #filters(query: TaxiiQuery, allowed: { ids: boolean; types: boolean; versions?: boolean; addedAfter?: boolean; paging?: boolean }): ParsedFilters {
    const addedAfterText = allowed.addedAfter === false ? undefined : single(query, 'added_after');
    let addedAfterUs = addedAfterText === undefined ? undefined : timestampFilter('added_after', addedAfterText);
    const next = allowed.paging === false ? undefined : single(query, 'next');
    if (next !== undefined) {
      const token = next.startsWith(NEXT_PREFIX) ? Number(next.slice(NEXT_PREFIX.length)) : Number.NaN;
      if (!Number.isSafeInteger(token) || token < 0) throw badFilter('next', 'is not a value this server handed out');
      addedAfterUs = Math.max(addedAfterUs ?? 0, token);
    }
    const limitText = allowed.paging === false ? undefined : single(query, 'limit');
    let limit = this.#defaultPageSize;
    if (limitText !== undefined) {
      if (!/^[0-9]+$/.test(limitText) || Number(limitText) < 1) throw badFilter('limit', 'must be a positive integer');
      limit = Math.min(Number(limitText), this.#maxPageSize);
    }
    const versions =
      allowed.versions === false
        ? undefined
        : list(query, 'match[version]')?.map(
            (v): IntelVersionMatch => (v === 'first' || v === 'last' || v === 'all' ? v : timestampFilter('match[version]', v)),
          );
    const specVersions = list(query, 'match[spec_version]');
    for (const s of specVersions ?? [])
      if (!/^[0-9]+\.[0-9]+$/.test(s)) throw badFilter('match[spec_version]', `${JSON.stringify(s)} is not a STIX version such as 2.1`);
    return {
      addedAfterUs,
      limit,
      ids: allowed.ids ? list(query, 'match[id]') : undefined,
      types: allowed.types ? list(query, 'match[type]') : undefined,
      versions,
      specVersions,
    };
  }

  #envelope<T>(page: { objects: IntelObjectRecord[]; more: boolean }, view: (o: IntelObjectRecord) => T): TaxiiResult<TaxiiEnvelope> {
    const headers: Record<string, string> = {};
    // §3.7: a successful request that matches nothing answers with an empty envelope.
    if (page.objects.length === 0) return { body: {}, headers };
    const first = page.objects[0] as IntelObjectRecord;
    const last = page.objects[page.objects.length - 1] as IntelObjectRecord;
    headers[DATE_ADDED_FIRST_HEADER] = formatMicros(first.dateAddedUs);
    headers[DATE_ADDED_LAST_HEADER] = formatMicros(last.dateAddedUs);
    const body: TaxiiEnvelope = { more: page.more };
    if (page.more) body.next = `${NEXT_PREFIX}${last.dateAddedUs}`;
    body.objects = page.objects.map(view) as unknown as Array<Record<string, unknown>>;
    return { body, headers };
  }
}

function queryOf(filters: ParsedFilters) {
  return {
    limit: filters.limit,
    ...(filters.addedAfterUs === undefined ? {} : { addedAfterUs: filters.addedAfterUs }),
    ...(filters.ids ? { ids: filters.ids } : {}),
    ...(filters.types ? { types: filters.types } : {}),
    ...(filters.versions ? { versions: filters.versions } : {}),
    ...(filters.specVersions ? { specVersions: filters.specVersions } : {}),
  };
}

function grants(caller: TaxiiCaller, access: readonly string[]): boolean {
  return access.some((a) => caller.grants.has(a));
}

function collectionView(c: IntelCollectionRecord, caller: TaxiiCaller): TaxiiCollection {
  return {
    id: c.id,
    title: c.title,
    ...(c.description ? { description: c.description } : {}),
    ...(c.alias ? { alias: c.alias } : {}),
    can_read: grants(caller, c.readAccess),
    can_write: grants(caller, c.writeAccess),
    media_types: [STIX_MEDIA_TYPE],
  };
}
