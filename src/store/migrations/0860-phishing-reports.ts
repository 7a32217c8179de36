import type { StoreMigration } from './migration.ts';

/**
 * User-reported phishing: each report as received (raw bytes kept, so a report that could not be analysed
 * is not lost), one analysis per email it carried (the analyser's JSON result), the cluster keys that join
 * identical reports into one case (same URL, attachment hash, or sender + subject), and every reporter of
 * a case.
 */
export const phishingReports: StoreMigration = {
  name: '0860-phishing-reports',
  async up(db, types, backend) {
    const blob = backend === 'postgres' ? 'bytea' : 'blob';
    await db.schema
      .createTable('phishing_reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('reporter', 'text', (c) => c.notNull())
      .addColumn('filename', 'text', (c) => c.notNull())
      .addColumn('size', types.bigint, (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('content', blob, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', types.json)
      .addColumn('external_id', 'text')
      .addColumn('received_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('phishing_reports_received').on('phishing_reports').columns(['received_at']).execute();
    await db.schema.createIndex('phishing_reports_external').on('phishing_reports').columns(['source', 'external_id']).execute();
    await db.schema
      .createTable('phishing_analyses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('report_id', 'text', (c) => c.notNull().references('phishing_reports.id'))
      .addColumn('case_id', 'text', (c) => c.notNull())
      .addColumn('location', 'text', (c) => c.notNull())
      .addColumn('verdict', 'text', (c) => c.notNull())
      .addColumn('score', 'integer', (c) => c.notNull())
      .addColumn('result', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('phishing_analyses_report').on('phishing_analyses').columns(['report_id']).execute();
    await db.schema.createIndex('phishing_analyses_case').on('phishing_analyses').columns(['case_id', 'created_at']).execute();
    await db.schema
      .createTable('phishing_cluster_keys')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('phishing_cluster_keys_case').on('phishing_cluster_keys').columns(['case_id']).execute();
    await db.schema
      .createTable('phishing_reporters')
      .addColumn('case_id', 'text', (c) => c.notNull())
      .addColumn('reporter', 'text', (c) => c.notNull())
      .addColumn('reports', 'integer', (c) => c.notNull())
      .addColumn('first_reported_at', types.bigint, (c) => c.notNull())
      .addColumn('last_reported_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('phishing_reporters_pk', ['case_id', 'reporter'])
      .execute();
  },
};
