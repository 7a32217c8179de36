import type { StoreMigration } from './migration.ts';

/** Approval requests (policy/ owns the document) and single-use keys for approval links and Slack requests. */
export const approvals: StoreMigration = {
  name: '0400-approvals',
  async up(db, types) {
    await db.schema
      .createTable('approvals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text')
      .addColumn('case_id', 'text')
      .addColumn('action_id', 'text', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('expires_at', types.bigint, (c) => c.notNull())
      .addColumn('review_required', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('document', types.json, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('approvals_status_expires_at').on('approvals').columns(['status', 'expires_at']).execute();
    await db.schema.createIndex('approvals_run_id').on('approvals').column('run_id').execute();

    await db.schema
      .createTable('approval_once_keys')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', types.bigint, (c) => c.notNull())
      .addColumn('claimed_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('approval_once_keys_expires_at').on('approval_once_keys').column('expires_at').execute();
  },
};
