import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/index.ts';

/**
 * Where an approval's messages went: one row per message owed to Slack, Teams, e-mail or the on-call
 * (request, each update, page), with its status, attempts and last error, so an operator sees at once
 * that "Slack: failed (channel_not_found)" and why nobody answered. What channels answered is not
 * returned (only whether they accepted), and nothing here names a token or webhook URL.
 */
export async function approvalDeliveryRoutes(app: FastifyInstance, options: { store: Store }): Promise<void> {
  app.get<{ Params: { id: string } }>(
    '/api/v1/approvals/:id/deliveries',
    {
      config: { permission: 'runs:read' },
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } },
    },
    async (request) => ({
      items: (await options.store.notifications.listBySubject(request.params.id)).map((row) => ({
        id: row.id,
        channel: row.channel,
        topic: row.topic,
        recipient: (row.payload as { recipient?: string } | null)?.recipient ?? null,
        status: row.status,
        attempts: row.attempts,
        last_error: row.lastError,
        next_attempt_at: row.status === 'pending' ? new Date(row.nextAttemptAt).toISOString() : null,
        updated_at: new Date(row.updatedAt).toISOString(),
      })),
    }),
  );
}
