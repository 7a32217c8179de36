import type { StoreMigration } from './migration.ts';

/**
 * Hunt runs survive restarts: each run's view (progress, sightings, waves and per-host state) as one JSON
 * document with a lease, so exactly one process drives it and another takes over when that lease lapses;
 * and the run's step ledger — one row per remediation or rollback command sent to a host (marked before it
 * is sent, so a restart knows which commands may be in flight) and one per wave approval (written by any
 * process without touching the driver's document).
 */
export const huntRuns: StoreMigration = {
  name: '0930-hunt-runs',
  async up(db, types) {
    await db.schema
      .createTable('hunt_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('remediation_status', 'text', (c) => c.notNull())
      .addColumn('view', types.json, (c) => c.notNull())
      .addColumn('options', types.json, (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', types.bigint)
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('hunt_runs_created').on('hunt_runs').columns(['created_at']).execute();
    await db.schema.createIndex('hunt_runs_active').on('hunt_runs').columns(['remediation_status', 'status']).execute();
    await db.schema
      .createTable('hunt_steps')
      .addColumn('hunt_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('wave', 'integer', (c) => c.notNull())
      .addColumn('host_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('data', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('hunt_steps_pk', ['hunt_id', 'key'])
      .execute();
  },
};
