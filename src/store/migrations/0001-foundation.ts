import type { StoreMigration } from './migration.ts';

export const foundation: StoreMigration = {
  name: '0001-foundation',
  async up(db, types) {
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', types.json, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
  },
};
