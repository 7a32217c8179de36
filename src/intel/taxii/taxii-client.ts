import { RiposteError } from '../../core/index.ts';
import {
  DATE_ADDED_FIRST_HEADER,
  DATE_ADDED_LAST_HEADER,
  TAXII_MEDIA_TYPE,
  type TaxiiApiRoot,
  type TaxiiCollection,
  type TaxiiDiscovery,
  type TaxiiEnvelope,
  type TaxiiErrorMessage,
  type TaxiiManifestRecord,
  type TaxiiStatus,
} from './taxii-media.ts';

/**
 * A TAXII 2.1 client. It makes no connections of its own: app/ hands it the SSRF-guarded HTTP client, so a
 * feed URL cannot reach internal addresses unless an operator allowed them. URLs passed in are absolute
 * (discovery URL, API root URL); collection and object paths are appended as the specification lays them out.
 */
export interface TaxiiHttp {
  request(request: { method?: string; url: string; headers?: Record<string, string>; body?: string }): Promise<{
    status: number;
    headers: Record<string, string>;
    text(): string;
  }>;
}

export type TaxiiAuth = { type: 'basic'; user: string; password: string } | { type: 'bearer'; token: string };

export interface TaxiiObjectFilters {
  /** RFC 3339 timestamp; only objects added after it. */
  addedAfter?: string;
  limit?: number;
  next?: string;
  match?: { id?: readonly string[]; type?: readonly string[]; version?: readonly string[]; spec_version?: readonly string[] };
}

export interface TaxiiPage<T> {
  body: T;
  /** The X-TAXII-Date-Added-First / -Last headers of the response, when the server sent them. */
  dateAddedFirst: string | undefined;
  dateAddedLast: string | undefined;
}

function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Joins an API root URL and a relative TAXII path, keeping the trailing slash TAXII URLs carry. */
function join(base: string, ...segments: string[]): string {
  const root = base.endsWith('/') ? base : `${base}/`;
  return `${root}${segments.map((s) => `${encodeURIComponent(s)}/`).join('')}`;
}

function queryString(filters: TaxiiObjectFilters | undefined): string {
  if (!filters) return '';
  const params: string[] = [];
  const add = (name: string, value: string) => params.push(`${name}=${encodeURIComponent(value)}`);
  if (filters.addedAfter !== undefined) add('added_after', filters.addedAfter);
  if (filters.limit !== undefined) add('limit', String(filters.limit));
  if (filters.next !== undefined) add('next', filters.next);
  for (const [field, values] of Object.entries(filters.match ?? {})) if (values && values.length > 0) add(`match[${field}]`, values.join(','));
  return params.length > 0 ? `?${params.join('&')}` : '';
}

export class TaxiiClient {
  readonly #http: TaxiiHttp;
  readonly #auth: TaxiiAuth | undefined;

  constructor(options: { http: TaxiiHttp; auth?: TaxiiAuth }) {
    this.#http = options.http;
    this.#auth = options.auth;
  }

  discovery(discoveryUrl: string): Promise<TaxiiDiscovery> {
    return this.#get<TaxiiDiscovery>(discoveryUrl).then((p) => p.body);
  }

  apiRoot(apiRootUrl: string): Promise<TaxiiApiRoot> {
    return this.#get<TaxiiApiRoot>(join(apiRootUrl)).then((p) => p.body);
  }

  async collections(apiRootUrl: string): Promise<TaxiiCollection[]> {
    const { body } = await this.#get<{ collections?: TaxiiCollection[] }>(join(apiRootUrl, 'collections'));
    return body.collections ?? [];
  }

  collection(apiRootUrl: string, collectionId: string): Promise<TaxiiCollection> {
    return this.#get<TaxiiCollection>(join(apiRootUrl, 'collections', collectionId)).then((p) => p.body);
  }

  getObjects(apiRootUrl: string, collectionId: string, filters?: TaxiiObjectFilters): Promise<TaxiiPage<TaxiiEnvelope>> {
    return this.#get<TaxiiEnvelope>(join(apiRootUrl, 'collections', collectionId, 'objects') + queryString(filters));
  }

  /**
   * Every page of a GET objects query. Follows `next` while `more` is true; a server that says `more` without
   * a `next` is paged by `added_after` = the last page's X-TAXII-Date-Added-Last, as §3.4 allows.
   */
  async *objectPages(apiRootUrl: string, collectionId: string, filters: TaxiiObjectFilters = {}): AsyncGenerator<TaxiiPage<TaxiiEnvelope>> {
    let current: TaxiiObjectFilters = { ...filters };
    for (let guard = 0; guard < 1_000_000; guard++) {
      const page = await this.getObjects(apiRootUrl, collectionId, current);
      yield page;
      if (page.body.more !== true || (page.body.objects ?? []).length === 0) return;
      if (page.body.next !== undefined && page.body.next !== '') current = { ...filters, next: page.body.next };
      else if (page.dateAddedLast !== undefined) current = { ...filters, addedAfter: page.dateAddedLast };
      else
        throw new RiposteError('taxii.pagination', 'the server said more objects are available but gave neither next nor X-TAXII-Date-Added-Last', {
          status: 502,
        });
    }
  }

  getObject(apiRootUrl: string, collectionId: string, objectId: string, filters?: TaxiiObjectFilters): Promise<TaxiiPage<TaxiiEnvelope>> {
    return this.#get<TaxiiEnvelope>(join(apiRootUrl, 'collections', collectionId, 'objects', objectId) + queryString(filters));
  }

  async deleteObject(apiRootUrl: string, collectionId: string, objectId: string, filters?: TaxiiObjectFilters): Promise<void> {
    await this.#send('DELETE', join(apiRootUrl, 'collections', collectionId, 'objects', objectId) + queryString(filters));
  }

  versions(
    apiRootUrl: string,
    collectionId: string,
    objectId: string,
    filters?: TaxiiObjectFilters,
  ): Promise<TaxiiPage<{ more?: boolean; versions?: string[] }>> {
    return this.#get(join(apiRootUrl, 'collections', collectionId, 'objects', objectId, 'versions') + queryString(filters));
  }

  manifest(apiRootUrl: string, collectionId: string, filters?: TaxiiObjectFilters): Promise<TaxiiPage<{ more?: boolean; objects?: TaxiiManifestRecord[] }>> {
    return this.#get(join(apiRootUrl, 'collections', collectionId, 'manifest') + queryString(filters));
  }

  async addObjects(apiRootUrl: string, collectionId: string, objects: ReadonlyArray<Record<string, unknown>>): Promise<TaxiiStatus> {
    const { body } = await this.#send<TaxiiStatus>('POST', join(apiRootUrl, 'collections', collectionId, 'objects'), JSON.stringify({ objects }));
    return body;
  }

  status(apiRootUrl: string, statusId: string): Promise<TaxiiStatus> {
    return this.#get<TaxiiStatus>(join(apiRootUrl, 'status', statusId)).then((p) => p.body);
  }

  #get<T>(url: string): Promise<TaxiiPage<T>> {
    return this.#send<T>('GET', url);
  }

  async #send<T>(method: string, url: string, body?: string): Promise<TaxiiPage<T>> {
    const headers: Record<string, string> = { accept: TAXII_MEDIA_TYPE };
    if (body !== undefined) headers['content-type'] = TAXII_MEDIA_TYPE;
    if (this.#auth?.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${this.#auth.user}:${this.#auth.password}`).toString('base64')}`;
    else if (this.#auth?.type === 'bearer') headers.authorization = `Bearer ${this.#auth.token}`;
    const response = await this.#http.request({ method, url, headers, ...(body === undefined ? {} : { body }) });
    const text = response.text();
    if (response.status < 200 || response.status >= 300) {
      let detail = '';
      try {
        const error = JSON.parse(text) as TaxiiErrorMessage;
        detail = [error.title, error.description].filter(Boolean).join(': ');
      } catch {
        detail = text.slice(0, 200);
      }
      const retryable = response.status === 429 || response.status >= 500;
      throw new RiposteError('taxii.request_failed', `TAXII ${method} ${new URL(url).pathname} answered ${response.status}${detail ? ` (${detail})` : ''}`, {
        status: response.status === 401 || response.status === 403 || response.status === 404 ? response.status : 502,
        retryable,
        details: { http_status: response.status },
      });
    }
    let parsed: unknown = {};
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RiposteError('taxii.bad_response', `TAXII ${method} ${new URL(url).pathname} answered with a body that is not JSON`, { status: 502 });
      }
    }
    return {
      body: parsed as T,
      dateAddedFirst: header(response.headers, DATE_ADDED_FIRST_HEADER),
      dateAddedLast: header(response.headers, DATE_ADDED_LAST_HEADER),
    };
  }
}
