/**
 * Any OpenAI-compatible Chat Completions endpoint (OpenAI, Azure-style gateways, vLLM, Ollama, llama.cpp
 * server): `POST {baseUrl}/chat/completions` with `Authorization: Bearer <key>` (left out for keyless
 * local servers), structured output through `response_format: {type: "json_schema"}`, `temperature: 0`
 * for repeatable answers, and `GET {baseUrl}/models` as the health check.
 *
 * The request is built field by field from a strict input: no `tools`, `functions` or `tool_choice` can
 * ever be sent, so the model has nothing to call — it can only answer text that Riposte then validates.
 * 429/5xx are retried by the SDK (Retry-After, or OpenAI's `x-ratelimit-reset-*`); OpenAI error bodies
 * `{error: {message, type, code}}` become the message of the RiposteError.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration, type VendorResponse } from '../sdk/index.ts';

const Message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(2_000_000) }).strict();

const ChatInput = z
  .object({
    messages: z.array(Message).min(1).max(50),
    /** The JSON Schema the answer must follow (`response_format.json_schema.schema`). */
    schema: z.record(z.string(), z.unknown()),
    schema_name: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/)
      .default('answer'),
    max_tokens: z.number().int().min(1).max(200_000).optional(),
  })
  .strict();

const Usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });

const ChatOutput = z.object({
  model: z.string(),
  content: z.string().nullable(),
  /** The model declined (OpenAI's `message.refusal`). */
  refusal: z.string().nullable(),
  finish_reason: z.string().nullable(),
  usage: Usage,
  latency_ms: z.number(),
});
export type LlmChatOutput = z.output<typeof ChatOutput>;

const Completion = z
  .object({
    model: z.string().optional(),
    choices: z
      .array(
        z
          .object({
            message: z.object({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }).loose(),
            finish_reason: z.string().nullable().optional(),
          })
          .loose(),
      )
      .min(1),
    usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number().optional() }).loose().optional(),
  })
  .loose();

const ModelList = z.object({ data: z.array(z.object({ id: z.string() }).loose()) }).loose();

/** `{error: {message, type, code}}` (OpenAI) or `{error: "…"}` (some local servers) → one readable line. */
function describeErrorBody(response: VendorResponse): { message: string; type: string | null; code: string | null } {
  try {
    const body = JSON.parse(response.text()) as { error?: unknown; message?: unknown };
    const error = body.error;
    if (error && typeof error === 'object') {
      const e = error as { message?: unknown; type?: unknown; code?: unknown };
      return {
        message: typeof e.message === 'string' ? e.message.slice(0, 300) : `HTTP ${response.status}`,
        type: typeof e.type === 'string' ? e.type : null,
        code: typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : null,
      };
    }
    if (typeof error === 'string') return { message: error.slice(0, 300), type: null, code: null };
    if (typeof body.message === 'string') return { message: body.message.slice(0, 300), type: null, code: null };
  } catch {
    // Not JSON: the text itself.
  }
  return { message: response.text().replace(/\s+/g, ' ').trim().slice(0, 300) || `HTTP ${response.status}`, type: null, code: null };
}

function rejected(instance: string, what: string, response: VendorResponse): RiposteError {
  const { message, type, code } = describeErrorBody(response);
  const kind = [type, code].filter(Boolean).join('/');
  return new RiposteError(
    'llm.request_rejected',
    `LLM endpoint (${instance}) rejected ${what} (HTTP ${response.status}${kind ? ` ${kind}` : ''}): ${message}`,
    {
      status: 502,
      details: { instance, http_status: response.status, type, code },
    },
  );
}

function bearer(secrets: Readonly<Record<string, string>>): Record<string, string> {
  return secrets.apiKey ? { authorization: `Bearer ${secrets.apiKey}` } : {};
}

export default defineIntegration({
  id: 'llm',
  title: 'LLM (OpenAI-compatible)',
  description: 'Chat Completions with structured output for AI assistance (summaries, explanations, suggestions, drafts); never given tools',
  config: z.object({
    baseUrl: z.url().default('https://api.openai.com/v1'),
    model: z.string().min(1).default('gpt-4o-mini'),
    maxOutputTokens: z.number().int().min(1).max(200_000).default(1500),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { apiKey: 'API key sent as Authorization: Bearer (leave unset for a keyless local model server)' },
  optionalSecrets: ['apiKey'],
  rateLimit: { perMinute: 60, burst: 5 },
  healthCheck: { action: 'models', input: {} },
  actions: {
    chat: action({
      title: 'Structured chat completion (JSON Schema answer, no tools)',
      impact: 'read',
      input: ChatInput,
      output: ChatOutput,
      async run({ input, http, secrets, config, signal, instance }) {
        const started = performance.now();
        const response = await http.request({
          method: 'POST',
          path: 'chat/completions',
          headers: bearer(secrets),
          json: {
            model: config.model as string,
            messages: input.messages,
            max_tokens: input.max_tokens ?? (config.maxOutputTokens as number),
            temperature: 0,
            response_format: { type: 'json_schema', json_schema: { name: input.schema_name, strict: true, schema: input.schema } },
          },
          accept: [400, 404, 413, 422],
          signal,
        });
        if (response.status >= 400) throw rejected(instance, 'the completion request', response);
        const parsed = Completion.safeParse(response.json());
        if (!parsed.success)
          throw new RiposteError(
            'integration.bad_response',
            `LLM endpoint (${instance}) answered without choices[0].message: not a Chat Completions response`,
            {
              status: 502,
              details: { instance },
            },
          );
        const choice = parsed.data.choices[0] as z.output<typeof Completion>['choices'][number];
        const usage = parsed.data.usage;
        return {
          model: parsed.data.model ?? (config.model as string),
          content: choice.message.content ?? null,
          refusal: choice.message.refusal ?? null,
          finish_reason: choice.finish_reason ?? null,
          usage: {
            prompt_tokens: usage?.prompt_tokens ?? 0,
            completion_tokens: usage?.completion_tokens ?? 0,
            total_tokens: usage?.total_tokens ?? (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0),
          },
          latency_ms: Math.round(performance.now() - started),
        };
      },
    }),
    models: action({
      title: 'Models the endpoint serves',
      impact: 'read',
      input: z.object({}).strict(),
      output: z.object({ models: z.array(z.string()) }),
      async run({ http, secrets, signal, instance }) {
        const response = await http.request({ path: 'models', headers: bearer(secrets), accept: [400, 404], signal });
        if (response.status >= 400) throw rejected(instance, 'GET /models', response);
        const parsed = ModelList.safeParse(response.json());
        if (!parsed.success)
          throw new RiposteError('integration.bad_response', `LLM endpoint (${instance}) answered GET /models without a data list`, {
            status: 502,
            details: { instance },
          });
        return { models: parsed.data.data.map((m) => m.id) };
      },
    }),
  },
});
