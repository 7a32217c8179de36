import type { StoreMigration } from './migration.ts';

/**
 * AI assistance: every exchange with the model (the secret-redacted prompt and raw answer, tokens, latency,
 * injection signals) so budgets are counted from what was really spent and reviewers can see what the model
 * was told; and the playbooks it drafted, kept apart from the playbooks folder until a human adopts one.
 */
export const aiInteractions: StoreMigration = {
  name: '0900-ai-interactions',
  async up(db, types) {
    await db.schema
      .createTable('ai_interactions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('actor', types.json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
      .addColumn('completion_tokens', 'integer', (c) => c.notNull())
      .addColumn('latency_ms', 'integer', (c) => c.notNull())
      .addColumn('injection', types.json, (c) => c.notNull())
      .addColumn('withheld', types.json, (c) => c.notNull())
      .addColumn('output', types.json)
      .addColumn('request', types.json, (c) => c.notNull())
      .addColumn('response_text', 'text')
      .addColumn('error', types.json)
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ai_interactions_case').on('ai_interactions').columns(['case_id', 'created_at']).execute();
    await db.schema.createIndex('ai_interactions_created').on('ai_interactions').columns(['created_at']).execute();
    await db.schema
      .createTable('playbook_drafts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('yaml', 'text', (c) => c.notNull())
      .addColumn('valid', 'integer', (c) => c.notNull())
      .addColumn('issues', types.json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('interaction_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('playbook_drafts_created').on('playbook_drafts').columns(['created_at']).execute();
  },
};
