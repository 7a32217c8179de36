import type { StoreMigration } from './migration.ts';

/** Guarded actions performed, by kind and time: policy's blast-radius count, shared by every worker. */
export const guardedActionHistory: StoreMigration = {
  name: '0401-guarded-action-history',
  async up(db, types) {
    await db.schema
      .createTable('guarded_actions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('at', types.bigint, (c) => c.notNull())
      .addColumn('run_id', 'text')
      .execute();
    await db.schema.createIndex('guarded_actions_at_kind').on('guarded_actions').columns(['at', 'kind']).execute();
  },
};
