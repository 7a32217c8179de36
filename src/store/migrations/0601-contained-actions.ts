import type { StoreMigration } from './migration.ts';

/**
 * The containment lifecycle: every action with an inverse that succeeded (a block, an isolation), with
 * the exact arguments, how to undo it, and until when it should stay. Status changes are conditional
 * updates (`where status = …`), so several workers sweeping expired rows never start the same inverse twice.
 */
export const containedActions: StoreMigration = {
  name: '0601-contained-actions',
  async up(db, types) {
    await db.schema
      .createTable('contained_actions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('step_key', 'text', (c) => c.notNull())
      .addColumn('case_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('arguments', types.json, (c) => c.notNull())
      .addColumn('inverse_action', 'text', (c) => c.notNull())
      .addColumn('inverse_arguments', types.json, (c) => c.notNull())
      .addColumn('expires_at', types.bigint)
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('performed_by', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('rollback_run_id', 'text')
      .addColumn('rollback_by', 'text')
      .addColumn('rollback_reason', 'text')
      .addColumn('rollback_error', types.json)
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('contained_actions_due').on('contained_actions').columns(['status', 'expires_at']).execute();
    await db.schema.createIndex('contained_actions_case').on('contained_actions').columns(['case_id', 'id']).execute();
    await db.schema.createIndex('contained_actions_run').on('contained_actions').column('run_id').execute();
    await db.schema.createIndex('contained_actions_rollback_run').on('contained_actions').column('rollback_run_id').execute();
  },
};
