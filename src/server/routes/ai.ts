import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AiService } from '../../app/index.ts';
import { actorOf } from '../actor.ts';
import type { ServerMetrics } from '../metrics.ts';

/**
 * AI assistance (docs/ai.md). The model only suggests: these routes return answers and store them on the
 * case; none of them starts a run. A suggested playbook is started through `POST /api/v1/playbooks/:id/runs`
 * (runs:start, policy, approvals) like any other. Errors: ai.disabled (409), ai.tlp_red_refused (403),
 * ai.budget_exceeded (429), ai.endpoint_failed and ai.bad_model_output (502).
 */
const caseParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, description: 'case id or case number' } },
} as const;
const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;
/** A POST sent without a body (no content type) means `{}`: the body schema still refuses anything else. */
const bodyDefaultsToEmpty = async (request: FastifyRequest) => {
  request.body ??= {};
};

const injection = {
  type: 'object',
  properties: {
    suspected: { type: 'boolean' },
    signals: {
      type: 'array',
      items: { type: 'object', properties: { where: { type: 'string' }, pattern: { type: 'string' }, excerpt: { type: 'string' } } },
    },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

function answerSchema(output: Record<string, unknown>) {
  return {
    type: 'object',
    properties: {
      interaction_id: { type: 'string' },
      kind: { type: 'string', enum: ['summary', 'explain', 'next_steps', 'playbook_draft'] },
      model: { type: 'string' },
      output,
      injection,
      withheld: { type: 'object', properties: { tlp_red: { type: 'integer' } } },
      usage: {
        type: 'object',
        properties: { prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' }, latency_ms: { type: 'integer' } },
      },
    },
  } as const;
}

const summaryOutput = {
  type: 'object',
  properties: { summary: { type: 'string' }, handoff: { type: 'string' }, key_facts: stringList, open_questions: stringList },
};
const explainOutput = {
  type: 'object',
  properties: {
    observable: nullableString,
    verdict: nullableString,
    explanation: { type: 'string' },
    factors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { source: { type: 'string' }, effect: { type: 'string', enum: ['raises', 'lowers', 'neutral'] }, detail: { type: 'string' } },
      },
    },
  },
};
const nextStepsOutput = {
  type: 'object',
  properties: {
    steps: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          title: { type: 'string' },
          rationale: { type: 'string' },
          technique: nullableString,
          mitigation: { type: ['object', 'null'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
          playbook: {
            type: ['object', 'null'],
            properties: { id: { type: 'string' }, title: { type: 'string' }, inputs: { type: 'object', additionalProperties: { type: 'string' } } },
          },
          startable: { type: 'boolean' },
          refused_reason: nullableString,
        },
      },
    },
  },
};
const draftOutput = {
  type: 'object',
  properties: { title: { type: 'string' }, yaml: { type: 'string' }, valid: { type: 'boolean' }, notes: stringList },
};
const draftSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    yaml: { type: 'string' },
    valid: { type: 'boolean' },
    issues: {
      type: 'array',
      items: { type: 'object', properties: { message: { type: 'string' }, line: { type: ['integer', 'null'] }, column: { type: ['integer', 'null'] } } },
    },
    status: { type: 'string', enum: ['draft'] },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    interaction_id: { type: 'string' },
  },
} as const;
const interactionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    case_id: nullableString,
    kind: { type: 'string' },
    model: { type: 'string' },
    actor: { type: 'object', additionalProperties: true },
    created_at: { type: 'string' },
    status: { type: 'string', enum: ['ok', 'error', 'refused'] },
    prompt_tokens: { type: 'integer' },
    completion_tokens: { type: 'integer' },
    latency_ms: { type: 'integer' },
    injection,
    withheld: { type: 'object', additionalProperties: true },
    output: {},
    error: {},
    request: {},
    response_text: nullableString,
  },
} as const;

export async function aiRoutes(app: FastifyInstance, options: { ai: AiService; metrics: ServerMetrics }): Promise<void> {
  const { ai, metrics } = options;
  const unsubscribe = ai.subscribe((event) => {
    metrics.aiTokens.inc({ kind: event.kind, direction: 'prompt' }, event.promptTokens);
    metrics.aiTokens.inc({ kind: event.kind, direction: 'completion' }, event.completionTokens);
    metrics.aiDuration.observe({ kind: event.kind, status: event.status }, event.latencyMs / 1000);
  });
  app.addHook('onClose', async () => {
    unsubscribe();
  });

  app.get(
    '/api/v1/ai/status',
    {
      config: { permission: 'cases:read' },
      schema: {
        tags: ['ai'],
        summary: 'Whether AI assistance is enabled, its model and endpoint origin, usage today and the budgets',
        response: {
          200: {
            type: 'object',
            properties: {
              enabled: { type: 'boolean' },
              model: nullableString,
              endpoint: nullableString,
              allow_tlp_red: { type: 'boolean' },
              usage_today: {
                type: 'object',
                properties: { requests: { type: 'integer' }, prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' } },
              },
              budget: { type: 'object', properties: { case_tokens: { type: 'integer' }, daily_tokens: { type: 'integer' } } },
            },
          },
        },
      },
    },
    async () => ai.status(),
  );

  app.post(
    '/api/v1/cases/:id/ai/summary',
    {
      config: { permission: 'ai:use' },
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['ai'],
        summary: 'AI summary and hand-off note of a case (stored on the case; starts nothing)',
        params: caseParams,
        body: emptyBody,
        response: { 200: answerSchema(summaryOutput) },
      },
    },
    async (request) => ai.summary((request.params as { id: string }).id, actorOf(request)),
  );

  app.post(
    '/api/v1/cases/:id/ai/explain',
    {
      config: { permission: 'ai:use' },
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['ai'],
        summary: "AI explanation of an observable's stored verdict (the verdict itself is Riposte's, not the model's)",
        params: caseParams,
        body: { type: 'object', additionalProperties: false, properties: { observable: { type: 'string', minLength: 1, maxLength: 4096 } } },
        response: { 200: answerSchema(explainOutput) },
      },
    },
    async (request) => {
      const body = (request.body ?? {}) as { observable?: string };
      return ai.explain((request.params as { id: string }).id, actorOf(request), body.observable);
    },
  );

  app.post(
    '/api/v1/cases/:id/ai/next-steps',
    {
      config: { permission: 'ai:use' },
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['ai'],
        summary: 'AI next steps chosen from the menu of ATT&CK mitigations and loaded playbooks; never starts a run',
        params: caseParams,
        body: emptyBody,
        response: { 200: answerSchema(nextStepsOutput) },
      },
    },
    async (request) => ai.nextSteps((request.params as { id: string }).id, actorOf(request)),
  );

  app.get(
    '/api/v1/cases/:id/ai/interactions',
    {
      config: { permission: 'cases:read' },
      schema: {
        tags: ['ai'],
        summary: "A case's AI interactions, newest first",
        params: caseParams,
        response: { 200: { type: 'object', properties: { interactions: { type: 'array', items: interactionSchema } } } },
      },
    },
    async (request) => ai.interactionsOf((request.params as { id: string }).id),
  );

  app.get(
    '/api/v1/ai/interactions/:id',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['ai'],
        summary: 'One AI interaction with the secret-redacted messages sent and the raw answer',
        params: idParams,
        response: { 200: interactionSchema },
      },
    },
    async (request) => ai.interaction((request.params as { id: string }).id),
  );

  app.post(
    '/api/v1/ai/playbook-drafts',
    {
      config: { permission: 'ai:draft' },
      schema: {
        tags: ['ai'],
        summary: 'Draft a playbook from a description; validated like `riposte playbook validate`, saved as a draft, never enabled',
        body: {
          type: 'object',
          required: ['description'],
          additionalProperties: false,
          properties: { description: { type: 'string', minLength: 1, maxLength: 4000 } },
        },
        response: { 201: { type: 'object', properties: { draft: draftSchema, answer: answerSchema(draftOutput) } } },
      },
    },
    async (request, reply) => {
      const { description } = request.body as { description: string };
      return reply.code(201).send(await ai.draftPlaybook(description, actorOf(request)));
    },
  );

  app.get(
    '/api/v1/ai/playbook-drafts',
    {
      config: { permission: 'playbooks:read' },
      schema: {
        tags: ['ai'],
        summary: 'Playbook drafts, newest first (without their YAML)',
        response: { 200: { type: 'object', properties: { drafts: { type: 'array', items: draftSchema } } } },
      },
    },
    async () => ai.drafts(),
  );

  app.get(
    '/api/v1/ai/playbook-drafts/:id',
    {
      config: { permission: 'playbooks:read' },
      schema: {
        tags: ['ai'],
        summary: 'One playbook draft with its YAML and validation issues',
        params: idParams,
        response: { 200: { type: 'object', properties: { draft: draftSchema } } },
      },
    },
    async (request) => ai.draft((request.params as { id: string }).id),
  );
}
