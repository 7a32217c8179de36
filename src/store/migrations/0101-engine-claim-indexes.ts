import { sql } from 'kysely';
import type { StoreMigration } from './migration.ts';

/**
 * Claiming stays fast as history grows: a finished run (and a run waiting on the outside world) has no
 * wake time, so partial indexes over `wake_at is not null` hold only the runs that can become runnable —
 * a few thousand rows whether history holds a thousand runs or ten million. The per-playbook index serves
 * the fair-share claim (the oldest due runs of each playbook in turn).
 */
export const engineClaimIndexes: StoreMigration = {
  name: '0101-engine-claim-indexes',
  async up(db) {
    await db.schema.dropIndex('engine_runs_wake').execute();
    await db.schema.createIndex('engine_runs_due').on('engine_runs').column('wake_at').where(sql.ref('wake_at'), 'is not', null).execute();
    await db.schema
      .createIndex('engine_runs_due_by_playbook')
      .on('engine_runs')
      .columns(['playbook_id', 'wake_at'])
      .where(sql.ref('wake_at'), 'is not', null)
      .execute();
  },
};
