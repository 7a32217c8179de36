import { RiposteError } from '../../core/index.ts';

/**
 * TAXII 2.1 media types and the shapes both our server and our client speak (OASIS TAXII 2.1, §3.1 and §3.6).
 * Header names and value formats are the specification's, byte for byte.
 */
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';
export const DATE_ADDED_FIRST_HEADER = 'X-TAXII-Date-Added-First';
export const DATE_ADDED_LAST_HEADER = 'X-TAXII-Date-Added-Last';

export interface TaxiiDiscovery {
  title: string;
  description?: string;
  contact?: string;
  default?: string;
  api_roots?: string[];
}

export interface TaxiiApiRoot {
  title: string;
  description?: string;
  versions: string[];
  max_content_length: number;
}

export interface TaxiiCollection {
  id: string;
  title: string;
  description?: string;
  alias?: string;
  can_read: boolean;
  can_write: boolean;
  media_types?: string[];
}

export interface TaxiiEnvelope {
  more?: boolean;
  next?: string;
  objects?: Array<Record<string, unknown>>;
}

export interface TaxiiManifestRecord {
  id: string;
  date_added: string;
  version: string;
  media_type?: string;
}

export interface TaxiiStatusDetail {
  id: string;
  version: string;
  message?: string;
}

export interface TaxiiStatus {
  id: string;
  status: 'complete' | 'pending';
  request_timestamp?: string;
  total_count: number;
  success_count: number;
  successes?: TaxiiStatusDetail[];
  failure_count: number;
  failures?: TaxiiStatusDetail[];
  pending_count: number;
  pendings?: TaxiiStatusDetail[];
}

/** The TAXII error message resource (§3.6.1); `http_status` is a string there. */
export interface TaxiiErrorMessage {
  title: string;
  description?: string;
  error_id?: string;
  error_code?: string;
  http_status?: string;
  external_details?: string;
  details?: Record<string, unknown>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

export function taxiiErrorMessage(error: RiposteError, errorId?: string): TaxiiErrorMessage {
  const message: TaxiiErrorMessage = {
    title: TITLES[error.status] ?? 'Error',
    description: error.message,
    error_code: error.code,
    http_status: String(error.status),
  };
  if (errorId !== undefined) message.error_id = errorId;
  if (error.details) message.details = error.details;
  return message;
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseMediaRange(text: string): MediaRange {
  const [type = '', ...params] = text.split(';');
  const map = new Map<string, string>();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0)
      map.set(
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
  }
  return { type: type.trim().toLowerCase(), params: map };
}

/**
 * Whether an Accept header admits `application/taxii+json;version=2.1` (§1.6.8: a media type without a
 * version means the latest the server speaks). An absent header admits anything.
 */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  for (const part of accept.split(',')) {
    const range = parseMediaRange(part);
    if (range.params.get('q') === '0') continue;
    if (range.type === '*/*' || range.type === 'application/*') return true;
    if (range.type === 'application/taxii+json') {
      const version = range.params.get('version');
      if (version === undefined || version === '2.1') return true;
    }
  }
  return false;
}

/** Whether a request's Content-Type is the TAXII 2.1 media type (no version = the latest, 2.1). */
export function isTaxiiContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const range = parseMediaRange(contentType);
  if (range.type !== 'application/taxii+json') return false;
  const version = range.params.get('version');
  return version === undefined || version === '2.1';
}

export function notAcceptable(accept: string | undefined): RiposteError {
  return new RiposteError('taxii.not_acceptable', `the Accept header ${JSON.stringify(accept)} does not admit ${TAXII_MEDIA_TYPE}`, { status: 406 });
}

export function unsupportedMediaType(contentType: string | undefined): RiposteError {
  return new RiposteError(
    'taxii.unsupported_media_type',
    `send the envelope with Content-Type: ${TAXII_MEDIA_TYPE} (got ${JSON.stringify(contentType ?? null)})`,
    {
      status: 415,
    },
  );
}
