import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApprovalView, Guardrails } from '../../app/index.ts';
import { RiposteError } from '../../core/index.ts';
import { type Engine, waitJson } from '../../engine/index.ts';

/**
 * One inbox for every approval: approval steps of playbooks and approvals policy asked for before an
 * action (M-of-N, separation of duties, signed decisions). Policy approvals are decided here, by the
 * API, by one-time signed links (e-mail, Teams) and by Slack buttons; the last two are public routes
 * that authenticate the request themselves (the link's MAC, Slack's request signature).
 */
const approvalId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

function principal(request: { actor?: { name: string; roles?: readonly string[] } | undefined }) {
  const actor = request.actor;
  if (!actor) throw new RiposteError('auth.unauthenticated', 'sign in first', { status: 401 });
  return { id: actor.name, roles: [...(actor.roles ?? [])], name: actor.name };
}

function decisionJson(result: Awaited<ReturnType<Guardrails['decide']>>) {
  return {
    approval: {
      id: result.request.id,
      status: result.request.status,
      resolution: result.request.resolution ?? null,
      review_required: result.request.review_required,
    },
    released: result.released,
    rejected: result.rejected,
    decision: result.decision,
  };
}

export async function approvalRoutes(app: FastifyInstance, options: { engine?: Engine; approvals?: Guardrails }): Promise<void> {
  const { engine, approvals } = options;

  app.get('/api/v1/approvals', { config: { permission: 'runs:read' } }, async () => {
    if (approvals) return { items: await approvals.inbox(), next_cursor: null };
    const waits = engine ? await engine.listApprovals() : [];
    return { items: waits.map(waitJson), next_cursor: null };
  });

  if (!approvals) return;

  app.get<{ Params: { id: string } }>('/api/v1/approvals/:id', { config: { permission: 'runs:read' }, schema: { params: approvalId } }, async (request) => ({
    approval: (await approvals.get(request.params.id)) satisfies ApprovalView,
  }));

  app.post<{ Params: { id: string }; Body: { decision: 'approve' | 'reject'; arguments_hash: string; comment?: string } }>(
    '/api/v1/approvals/:id/decide',
    {
      config: { permission: 'approvals:decide' },
      schema: {
        params: approvalId,
        body: {
          type: 'object',
          required: ['decision', 'arguments_hash'],
          properties: { decision: { type: 'string', enum: ['approve', 'reject'] }, arguments_hash: hash, comment: { type: 'string', maxLength: 2000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) =>
      decisionJson(
        await approvals.decide(request.params.id, principal(request), {
          decision: request.body.decision,
          arguments_hash: request.body.arguments_hash,
          ...(request.body.comment ? { comment: request.body.comment } : {}),
        }),
      ),
  );

  app.post<{ Params: { id: string }; Body: { arguments: Record<string, unknown>; arguments_hash: string; comment?: string } }>(
    '/api/v1/approvals/:id/edit',
    {
      config: { permission: 'approvals:decide' },
      schema: {
        params: approvalId,
        body: {
          type: 'object',
          required: ['arguments', 'arguments_hash'],
          properties: { arguments: { type: 'object' }, arguments_hash: hash, comment: { type: 'string', maxLength: 2000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const result = await approvals.edit(request.params.id, principal(request), {
        arguments: request.body.arguments,
        arguments_hash: request.body.arguments_hash,
        ...(request.body.comment ? { comment: request.body.comment } : {}),
      });
      return {
        approval: await approvals.get(result.request.id),
        policy: { decision: result.policy.decision, rule: result.policy.rule, reasons: result.policy.reasons },
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/v1/approvals/:id/break-glass',
    {
      config: { permission: 'approvals:decide' },
      schema: {
        params: approvalId,
        body: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', maxLength: 2000 } }, additionalProperties: false },
      },
    },
    async (request) => decisionJson(await approvals.breakGlass(request.params.id, principal(request), request.body.reason)),
  );

  // The token travels in the query string: it is longer than a path parameter may be.
  const linkQuery = {
    type: 'object',
    required: ['token'],
    properties: { token: { type: 'string', minLength: 1, maxLength: 2000 } },
    additionalProperties: false,
  } as const;

  // The link's MAC, expiry and single use are its authentication: no session is needed to follow it.
  app.get<{ Querystring: { token: string } }>(
    '/api/v1/approval-links',
    { config: { public: true }, schema: { querystring: linkQuery } },
    async (request, reply) => {
      const { claims, request: approval } = await approvals.previewLink(request.query.token);
      return sendHtml(reply, 200, confirmationPage(claims, approval, request.query.token));
    },
  );

  app.register(async (forms) => {
    // Slack signs the exact bytes it sent, and the link page posts an empty form: keep form bodies as text.
    forms.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    forms.post<{ Querystring: { token: string } }>(
      '/api/v1/approval-links',
      { config: { public: true }, schema: { querystring: linkQuery } },
      async (request) => decisionJson(await approvals.useLink(request.query.token)),
    );
    forms.post('/api/v1/webhooks/slack/interactions', { config: { public: true } }, async (request) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      return approvals.slackInteraction(raw, request.headers);
    });
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function sendHtml(reply: FastifyReply, status: number, html: string) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    .header('referrer-policy', 'no-referrer')
    .send(html);
}

function confirmationPage(
  claims: { approver: string; decision: string; expires_at: number },
  approval: Awaited<ReturnType<Guardrails['previewLink']>>['request'],
  token: string,
): string {
  const verb = claims.decision === 'approve' ? 'Approve' : 'Reject';
  const reasons = approval.policy.reasons.map((r) => `<li>${escapeHtml(r.text)}</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${verb} ${escapeHtml(approval.action.id)}</title></head><body>
<h1>${verb} ${escapeHtml(approval.action.id)}?</h1>
<p>As <strong>${escapeHtml(claims.approver)}</strong>; this link works once, until ${escapeHtml(new Date(claims.expires_at).toISOString())}.</p>
<p>Status: ${escapeHtml(approval.status)}; ${approval.required} approver(s) needed.</p>
<h2>Arguments</h2><pre>${escapeHtml(JSON.stringify(approval.arguments, null, 2))}</pre>
<h2>Why policy asks</h2><ul>${reasons}</ul>
<form method="post" action="/api/v1/approval-links?token=${encodeURIComponent(token)}"><button type="submit">${verb}</button></form>
</body></html>`;
}
