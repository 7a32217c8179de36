import type { StoreMigration } from './migration.ts';

/**
 * External Dynamic List entries Riposte serves to firewalls (`GET /edl/:list`): one row per list and
 * value, with an optional expiry after which the entry is no longer served, and who/what added it.
 */
export const edlEntries: StoreMigration = {
  name: '0630-edl-entries',
  async up(db, types) {
    await db.schema
      .createTable('edl_entries')
      .addColumn('list', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('expires_at', types.bigint)
      .addColumn('case_id', 'text')
      .addColumn('run_id', 'text')
      .addColumn('added_by', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('added_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('edl_entries_pk', ['list', 'value'])
      .execute();
    await db.schema.createIndex('edl_entries_expiry').on('edl_entries').columns(['list', 'expires_at']).execute();
  },
};
