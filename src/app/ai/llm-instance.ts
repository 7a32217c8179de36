import { type Config, isRiposteError, RiposteError } from '../../core/index.ts';
import { integrationById } from '../../integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../../integrations/sdk/index.ts';
import { jsonSchemaFor, PingAnswer, parseAnswer } from './answer-schemas.ts';
import { buildMessages } from './prompts.ts';

/**
 * The `ai` config block as a live `llm` integration instance, in memory only (never stored, never an engine
 * action: playbooks cannot call the model). Its key comes from RIPOSTE_SECRET_<api_key_secret>, like the
 * IMAP passwords; its HTTP goes through the same SSRF guard and `integrations.http_allow` as any vendor.
 */
export function buildLlmInstance(config: Config, env: NodeJS.ProcessEnv = process.env): IntegrationInstance | undefined {
  const ai = config.ai;
  if (!ai.enabled) return undefined;
  const integration = integrationById('llm');
  if (!integration) throw new RiposteError('config.invalid', 'the llm integration is not registered');
  const secrets: Record<string, string> = {};
  if (ai.api_key_secret) {
    const variable = `RIPOSTE_SECRET_${ai.api_key_secret.toUpperCase()}`;
    const key = env[variable];
    if (!key) throw new RiposteError('config.invalid', `ai.api_key_secret names ${ai.api_key_secret}, but ${variable} is not set`);
    secrets.apiKey = key;
  }
  return createIntegrationInstance(
    integration,
    { name: 'llm', config: { baseUrl: ai.base_url, model: ai.model, maxOutputTokens: ai.max_output_tokens }, secrets },
    {
      guard: { allow: config.integrations.http_allow },
      timeoutMs: ai.timeout,
      rateLimit: { perMinute: ai.rate_limit_per_minute, burst: Math.min(10, ai.rate_limit_per_minute) },
    },
  );
}

export interface LlmTestResult {
  ok: boolean;
  endpoint: string;
  model: string;
  /** Whether GET /models lists the configured model (some servers list nothing: a warning, not a failure). */
  model_listed: boolean | null;
  latency_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  error?: string;
  code?: string;
}

/** `riposte llm test`: reachable, key accepted, model listed, and one tiny structured completion. */
export async function testLlmEndpoint(instance: IntegrationInstance, config: Config): Promise<LlmTestResult> {
  const base: LlmTestResult = {
    ok: false,
    endpoint: new URL(config.ai.base_url).origin,
    model: config.ai.model,
    model_listed: null,
    latency_ms: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
  };
  const fail = (error: unknown): LlmTestResult => ({
    ...base,
    error: isRiposteError(error) || error instanceof Error ? error.message : String(error),
    code: isRiposteError(error) ? error.code : 'llm.failed',
  });
  try {
    const listed = (await instance.run('models', {}, { idempotencyKey: 'llm-test-models' })) as { models: string[] };
    base.model_listed = listed.models.length === 0 ? null : listed.models.includes(config.ai.model);
  } catch (error) {
    return fail(error);
  }
  try {
    const started = performance.now();
    const result = (await instance.run(
      'chat',
      { messages: buildMessages({ kind: 'ping', blocks: [] }), schema: jsonSchemaFor(PingAnswer), schema_name: 'ping', max_tokens: 20 },
      { idempotencyKey: 'llm-test-chat' },
    )) as { model: string; content: string | null; usage: { prompt_tokens: number; completion_tokens: number } };
    base.latency_ms = Math.round(performance.now() - started);
    base.prompt_tokens = result.usage.prompt_tokens;
    base.completion_tokens = result.usage.completion_tokens;
    base.model = result.model;
    const parsed = parseAnswer(PingAnswer, result.content);
    if (!parsed.ok) return { ...base, error: `the model answered, but not the requested JSON: ${parsed.error}`, code: 'ai.bad_model_output' };
    return { ...base, ok: true };
  } catch (error) {
    return fail(error);
  }
}
