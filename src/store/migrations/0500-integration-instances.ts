import type { StoreMigration } from './migration.ts';

/** Configured integration instances: config as JSON, secrets sealed (envelope-encrypted) by integrations/sdk. */
export const integrationInstances: StoreMigration = {
  name: '0500-integration-instances',
  async up(db, types) {
    await db.schema
      .createTable('integration_instances')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('integration', 'text', (c) => c.notNull())
      .addColumn('config', types.json, (c) => c.notNull())
      .addColumn('secrets', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
  },
};
