import { sql } from 'kysely';
import type { StoreMigration } from './migration.ts';

/**
 * Cases, alerts, observables, their timeline and the audit chain. Full-text search over cases is the one
 * place the backends differ: a generated tsvector with a GIN index on PostgreSQL, an FTS5 external-content
 * table kept in step by triggers on SQLite.
 */
export const cases: StoreMigration = {
  name: '0200-cases',
  async up(db, types, backend) {
    const blob = backend === 'postgres' ? 'bytea' : 'blob';
    await db.schema
      .createTable('counters')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', types.bigint, (c) => c.notNull())
      .execute();
    await db.insertInto('counters').values({ name: 'case_number', value: 0 }).execute();

    await db.schema
      .createTable('cases')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', types.bigint, (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('tlp', 'text', (c) => c.notNull())
      .addColumn('pap', 'text', (c) => c.notNull())
      .addColumn('assignee', 'text')
      .addColumn('tags', types.json, (c) => c.notNull())
      .addColumn('techniques', types.json, (c) => c.notNull())
      .addColumn('source', 'text')
      .addColumn('resolution', 'text')
      .addColumn('alert_count', types.bigint, (c) => c.notNull())
      .addColumn('minutes_saved', 'double precision', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .addColumn('acknowledged_at', types.bigint)
      .addColumn('contained_at', types.bigint)
      .addColumn('resolved_at', types.bigint)
      .addColumn('closed_at', types.bigint)
      .addColumn('acknowledge_due_at', types.bigint)
      .addColumn('contain_due_at', types.bigint)
      .addColumn('resolve_due_at', types.bigint)
      .execute();
    for (const column of ['status', 'severity', 'phase', 'assignee']) {
      await db.schema.createIndex(`cases_${column}_id`).on('cases').columns([column, 'id']).execute();
    }
    await db.schema.createIndex('cases_created_at').on('cases').column('created_at').execute();
    if (backend === 'postgres') {
      await sql`alter table cases add column search tsvector generated always as (to_tsvector('simple', title || ' ' || description)) stored`.execute(db);
      await sql`create index cases_search on cases using gin (search)`.execute(db);
    } else {
      await sql`create virtual table cases_fts using fts5(title, description, content='cases', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
        db,
      );
      await sql`create trigger cases_fts_insert after insert on cases begin
        insert into cases_fts(rowid, title, description) values (new.rowid, new.title, new.description); end`.execute(db);
      await sql`create trigger cases_fts_delete after delete on cases begin
        insert into cases_fts(cases_fts, rowid, title, description) values ('delete', old.rowid, old.title, old.description); end`.execute(db);
      await sql`create trigger cases_fts_update after update of title, description on cases begin
        insert into cases_fts(cases_fts, rowid, title, description) values ('delete', old.rowid, old.title, old.description);
        insert into cases_fts(rowid, title, description) values (new.rowid, new.title, new.description); end`.execute(db);
    }

    for (const [table, column] of [
      ['case_tags', 'tag'],
      ['case_techniques', 'technique'],
    ] as const) {
      await db.schema
        .createTable(table)
        .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
        .addColumn(column, 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['case_id', column])
        .execute();
      await db.schema.createIndex(`${table}_by_${column}`).on(table).columns([column, 'case_id']).execute();
    }

    await db.schema
      .createTable('case_runs')
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('linked_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('case_runs_pk', ['case_id', 'run_id'])
      .execute();
    await db.schema.createIndex('case_runs_by_run').on('case_runs').column('run_id').execute();

    await db.schema
      .createTable('observables')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', types.bigint, (c) => c.notNull())
      .addColumn('last_seen_at', types.bigint, (c) => c.notNull())
      .addColumn('sightings', types.bigint, (c) => c.notNull())
      .addColumn('verdict', 'text')
      .addColumn('confidence', 'double precision')
      .addColumn('enrichment', types.json, (c) => c.notNull())
      .addColumn('enriched_at', types.bigint)
      .addUniqueConstraint('observables_type_value', ['type', 'value'])
      .execute();
    await db.schema.createIndex('observables_value').on('observables').column('value').execute();

    await db.schema
      .createTable('case_observables')
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('observable_id', 'text', (c) => c.notNull().references('observables.id'))
      .addColumn('first_seen_at', types.bigint, (c) => c.notNull())
      .addColumn('last_seen_at', types.bigint, (c) => c.notNull())
      .addColumn('sightings', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('case_observables_pk', ['case_id', 'observable_id'])
      .execute();
    await db.schema.createIndex('case_observables_by_observable').on('case_observables').columns(['observable_id', 'case_id']).execute();

    await db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('product', 'text', (c) => c.notNull())
      .addColumn('rule_name', 'text', (c) => c.notNull())
      .addColumn('rule_uid', 'text')
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('dedup_key', 'text', (c) => c.notNull())
      .addColumn('time', types.bigint, (c) => c.notNull())
      .addColumn('received_at', types.bigint, (c) => c.notNull())
      .addColumn('last_seen_at', types.bigint, (c) => c.notNull())
      .addColumn('count', types.bigint, (c) => c.notNull())
      .addColumn('document', types.json, (c) => c.notNull())
      .addUniqueConstraint('alerts_source_dedup', ['source', 'dedup_key'])
      .execute();
    await db.schema.createIndex('alerts_case').on('alerts').columns(['case_id', 'id']).execute();

    await db.schema
      .createTable('correlation_keys')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('last_seen_at', types.bigint, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('expires_at', types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('webhook_deliveries_pk', ['source', 'delivery_id'])
      .execute();
    await db.schema.createIndex('webhook_deliveries_expiry').on('webhook_deliveries').column('expires_at').execute();

    await db.schema
      .createTable('case_tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('assignee', 'text')
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .addColumn('completed_at', types.bigint)
      .execute();
    await db.schema.createIndex('case_tasks_case').on('case_tasks').columns(['case_id', 'id']).execute();

    await db.schema
      .createTable('case_comments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('author', types.json, (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('case_comments_case').on('case_comments').columns(['case_id', 'id']).execute();

    await db.schema
      .createTable('case_evidence')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('size', types.bigint, (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('uploaded_by', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('content', blob, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('case_evidence_case').on('case_evidence').columns(['case_id', 'id']).execute();

    await db.schema
      .createTable('case_timeline')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
      .addColumn('at', types.bigint, (c) => c.notNull())
      .addColumn('actor', types.json, (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('details', types.json, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('case_timeline_case').on('case_timeline').columns(['case_id', 'id']).execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('seq', types.bigint, (c) => c.primaryKey())
      .addColumn('at', types.bigint, (c) => c.notNull())
      .addColumn('actor', types.json, (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('details', types.json, (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  },
};
