import type { StoreMigration } from './migration.ts';

/**
 * Messages owed to people outside Riposte (approval requests and their updates in Slack, Teams and
 * e-mail; on-call pages). A row is written when the approval changes, in the same transaction, and a
 * deliverer sends it later with retries: a crash between "approval saved" and "message sent" leaves the
 * row behind instead of losing the message. Ids are deterministic, so writing the same one twice is a no-op.
 */
export const notificationOutbox: StoreMigration = {
  name: '0610-notification-outbox',
  async up(db, types) {
    await db.schema
      .createTable('notification_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('payload', types.json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', types.bigint, (c) => c.notNull())
      .addColumn('lease_until', types.bigint)
      .addColumn('last_error', 'text')
      .addColumn('result', types.json)
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .addColumn('updated_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('notification_outbox_due').on('notification_outbox').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('notification_outbox_subject').on('notification_outbox').columns(['subject', 'created_at']).execute();
  },
};
