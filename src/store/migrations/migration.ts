import type { Kysely } from 'kysely';
import type { Backend, BackendTypes } from '../backend.ts';

/**
 * A forward-only schema change. It runs once per database, inside a transaction, on either backend:
 * use `types` for the column types that differ and `backend` for the rare SQL that does.
 * Never edit a migration that has shipped; add a new one.
 */
export interface StoreMigration {
  /** Sorts in apply order: "NNNN-what-it-does". */
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then, not today's types
  up(db: Kysely<any>, types: BackendTypes, backend: Backend): Promise<void>;
}
