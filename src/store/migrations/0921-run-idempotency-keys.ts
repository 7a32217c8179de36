import type { StoreMigration } from './migration.ts';

/**
 * `Idempotency-Key` on run starts (draft-ietf-httpapi-idempotency-key-header): one row per actor and key,
 * holding the fingerprint of the request that first used it and the run it started, kept 24 hours. The
 * primary key is what makes twenty concurrent retries start one run: the row is inserted in the same
 * transaction as the run, and only one insert wins.
 */
export const runIdempotencyKeys: StoreMigration = {
  name: '0921-run-idempotency-keys',
  async up(db, types) {
    await db.schema
      .createTable('run_idempotency_keys')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('expires_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('run_idempotency_keys_pk', ['actor', 'key'])
      .execute();
    await db.schema.createIndex('run_idempotency_keys_expiry').on('run_idempotency_keys').columns(['expires_at']).execute();
  },
};
