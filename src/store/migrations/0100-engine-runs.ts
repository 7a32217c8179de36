import type { StoreMigration } from './migration.ts';

/**
 * Durable playbook runs. A run row carries its pinned playbook definition and the claim columns
 * (wake_at: runnable from then on, null while waiting on the outside world; lease_owner and
 * lease_expires_at: who is executing it and until when — an expired lease is taken over). The journal is
 * append-only with a global autoincrement id, so its order needs no per-run counter. Waits are the open
 * approvals, timers and event subscriptions, queryable by the API.
 */
export const engineRuns: StoreMigration = {
  name: '0100-engine-runs',
  async up(db, types, backend) {
    await db.schema
      .createTable('engine_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('playbook_id', 'text', (c) => c.notNull())
      .addColumn('playbook_version', 'integer', (c) => c.notNull())
      .addColumn('definition', types.json, (c) => c.notNull())
      .addColumn('inputs', types.json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('mode', 'text', (c) => c.notNull().defaultTo('live'))
      .addColumn('output', types.json)
      .addColumn('error', types.json)
      .addColumn('parent_run_id', 'text')
      .addColumn('parent_step_key', 'text')
      .addColumn('started_by', 'text')
      .addColumn('wake_at', types.bigint)
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', types.bigint)
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .addColumn('finished_at', types.bigint)
      .execute();
    await db.schema.createIndex('engine_runs_wake').on('engine_runs').column('wake_at').execute();
    await db.schema.createIndex('engine_runs_status').on('engine_runs').columns(['status', 'id']).execute();
    await db.schema.createIndex('engine_runs_parent').on('engine_runs').column('parent_run_id').execute();
    await db.schema.createIndex('engine_runs_lease').on('engine_runs').column('lease_owner').execute();

    let journal = db.schema.createTable('engine_journal');
    journal =
      backend === 'postgres'
        ? journal.addColumn('id', 'bigserial', (c) => c.primaryKey())
        : journal.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
    await journal
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('step_key', 'text')
      .addColumn('data', types.json, (c) => c.notNull())
      .addColumn('at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('engine_journal_run').on('engine_journal').columns(['run_id', 'id']).execute();

    await db.schema
      .createTable('engine_waits')
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('step_key', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('event_name', 'text')
      .addColumn('wake_at', types.bigint)
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('request', types.json, (c) => c.notNull())
      .addColumn('resolution', types.json)
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('resolved_at', types.bigint)
      .addPrimaryKeyConstraint('engine_waits_pk', ['run_id', 'step_key'])
      .execute();
    await db.schema.createIndex('engine_waits_open').on('engine_waits').columns(['status', 'kind', 'event_name']).execute();
  },
};
