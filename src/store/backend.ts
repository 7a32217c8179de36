/** Which engine is behind a Store; repositories branch on it only where SQL differs. */
export type Backend = 'sqlite' | 'postgres';

export interface BackendTypes {
  /** Column type for JSON documents. */
  json: 'jsonb' | 'text';
  /** Column type for epoch-millisecond timestamps and other 64-bit integers. */
  bigint: 'bigint' | 'integer';
}

export function typesFor(backend: Backend): BackendTypes {
  return backend === 'postgres' ? { json: 'jsonb', bigint: 'bigint' } : { json: 'text', bigint: 'integer' };
}

export function encodeJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Both backends hand JSON columns back as text (the PostgreSQL pool is told not to parse jsonb). */
export function decodeJson<T = unknown>(value: unknown): T {
  if (typeof value !== 'string') throw new TypeError(`expected JSON text from the store, got ${typeof value}`);
  return JSON.parse(value) as T;
}
