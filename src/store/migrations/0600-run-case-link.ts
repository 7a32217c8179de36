import type { StoreMigration } from './migration.ts';

/**
 * The case a run works for, on the run row itself: written in the same insert that creates the run, so
 * a guardrail decision taken by the run's very first step already lands on the case timeline (the
 * case_runs link is written by cases/ afterwards and used to race it).
 */
export const runCaseLink: StoreMigration = {
  name: '0600-run-case-link',
  async up(db) {
    await db.schema.alterTable('engine_runs').addColumn('case_id', 'text').execute();
    await db.schema.createIndex('engine_runs_case').on('engine_runs').column('case_id').execute();
  },
};
