import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { integrationActions } from '../src/app/integration-actions.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { createIntegrationInstance, type InstanceOptions, type IntegrationInstance, retryAfterMs } from '../src/integrations/sdk/index.ts';
import { type LlmSimulator, SIMULATOR_LLM_API_KEY, startLlmSimulator } from '../src/lab/index.ts';

/**
 * The `llm` integration against the OpenAI-compatible lab simulator over real HTTP: the request it sends
 * (and never sends: tools, functions), structured output, usage, keyless servers, and every failure an
 * operator meets — wrong key, rate limits, 5xx, timeouts, malformed bodies, an unknown model, the SSRF guard.
 */
const llm = integrationById('llm');
if (!llm) throw new Error('llm integration not registered');

const SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
const chatInput = {
  messages: [
    { role: 'system', content: '[riposte-task: ping]' },
    { role: 'user', content: 'ping' },
  ],
  schema: SCHEMA,
  schema_name: 'ping',
};

function instanceFor(sim: LlmSimulator, options: { key?: string | null; model?: string; extra?: InstanceOptions } = {}): IntegrationInstance {
  const key = options.key === undefined ? SIMULATOR_LLM_API_KEY : options.key;
  return createIntegrationInstance(
    llm as NonNullable<typeof llm>,
    { name: 'llm', config: { baseUrl: sim.url, model: options.model ?? sim.model, maxOutputTokens: 200 }, secrets: key === null ? {} : { apiKey: key } },
    { guard: { allow: ['127.0.0.1'] }, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 }, random: () => 0.5, ...options.extra },
  );
}

const chat = (instance: IntegrationInstance) =>
  instance.run('chat', chatInput, { idempotencyKey: 'k' }) as Promise<{
    content: string;
    finish_reason: string;
    model: string;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  }>;

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { code: string; details?: Record<string, unknown> };
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('llm integration against the simulator', () => {
  let sim: LlmSimulator;
  before(async () => {
    sim = await startLlmSimulator();
  });
  after(async () => {
    await sim.close();
  });

  test('sends a Chat Completions request with json_schema, temperature 0, the Bearer key, and never tools', async () => {
    const answer = await chat(instanceFor(sim));
    assert.deepEqual(JSON.parse(answer.content), { ok: true });
    assert.equal(answer.finish_reason, 'stop');
    assert.equal(answer.model, sim.model);
    assert.ok(answer.usage.prompt_tokens > 0 && answer.usage.completion_tokens > 0);
    assert.equal(answer.usage.total_tokens, answer.usage.prompt_tokens + answer.usage.completion_tokens);
    const request = sim.requests.at(-1);
    assert.equal(request?.path, '/v1/chat/completions');
    assert.equal(request?.headers.authorization, `Bearer ${SIMULATOR_LLM_API_KEY}`);
    const body = JSON.parse(request?.body ?? '{}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['max_tokens', 'messages', 'model', 'response_format', 'temperature']);
    assert.equal(body.temperature, 0);
    assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'ping', strict: true, schema: SCHEMA } });
    for (const forbidden of ['tools', 'functions', 'tool_choice', 'function_call']) assert.equal(forbidden in body, false);
  });

  test('the input is strict: a caller cannot smuggle tools into the request', async () => {
    await rejects(
      instanceFor(sim).run('chat', { ...chatInput, tools: [{ type: 'function', function: { name: 'release_host' } }] }, { idempotencyKey: 'k' }),
      'input.invalid',
    );
  });

  test('the health check lists models', async () => {
    const result = await instanceFor(sim).test();
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(await instanceFor(sim).run('models', {}, { idempotencyKey: 'k' }), { models: [sim.model] });
  });

  test("a wrong key is integration.unauthorized with OpenAI's message, and the key never appears in it", async () => {
    const e = await rejects(chat(instanceFor(sim, { key: 'sk-wrong-key-0000000000000000' })), 'integration.unauthorized', /Incorrect API key/);
    assert.doesNotMatch(e.message, /sk-wrong-key/);
  });

  test('an unknown model is llm.request_rejected naming model_not_found', async () => {
    await rejects(chat(instanceFor(sim, { model: 'gpt-nope' })), 'llm.request_rejected', /HTTP 404 invalid_request_error\/model_not_found.*gpt-nope/);
  });

  test('429 with Retry-After is waited for and retried; 5xx too; persistent 5xx is integration.unavailable', async () => {
    const before = sim.requests.length;
    sim.failNext({ kind: 'status', status: 429, retryAfterSeconds: 0 });
    await chat(instanceFor(sim));
    assert.equal(sim.requests.length - before, 2);
    sim.failNext({ kind: 'status', status: 500 });
    await chat(instanceFor(sim));
    sim.failNext({ kind: 'status', status: 503 }, 3);
    await rejects(chat(instanceFor(sim)), 'integration.unavailable', /server had an error/);
  });

  test('a hung endpoint is integration.timeout; a malformed body is integration.bad_response', async () => {
    sim.failNext({ kind: 'hang' });
    await rejects(chat(instanceFor(sim, { extra: { timeoutMs: 300 } })), 'integration.timeout');
    sim.failNext({ kind: 'malformed' });
    await rejects(chat(instanceFor(sim)), 'integration.bad_response', /not JSON/);
  });

  test('without the loopback allowance the SSRF guard refuses the endpoint', async () => {
    const guarded = createIntegrationInstance(llm as NonNullable<typeof llm>, {
      name: 'llm',
      config: { baseUrl: sim.url, model: sim.model },
      secrets: { apiKey: SIMULATOR_LLM_API_KEY },
    });
    await rejects(chat(guarded), 'http.blocked_address');
  });

  test('a configured llm instance never becomes a playbook action', () => {
    assert.deepEqual(integrationActions([instanceFor(sim)]), []);
  });

  test('OpenAI rate-limit headers say how long to wait when Retry-After is absent', () => {
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, 0), 360_000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '20ms' }, 0), 20);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-tokens': '1m30.5s' }, 0), 90_500);
    assert.equal(retryAfterMs({ 'retry-after-ms': '250' }, 0), 250);
    assert.equal(retryAfterMs({ 'retry-after': '2', 'x-ratelimit-reset-requests': '9s' }, 0), 2000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': 'soon' }, 0), undefined);
  });
});

describe('llm integration: keyless servers and requests-per-minute limits', () => {
  let keyless: LlmSimulator;
  let limited: LlmSimulator;
  before(async () => {
    keyless = await startLlmSimulator({ apiKey: null });
    limited = await startLlmSimulator({ requestsPerMinute: 2 });
  });
  after(async () => {
    await keyless.close();
    await limited.close();
  });

  test('a keyless local server gets no Authorization header and the instance needs no secret', async () => {
    const answer = await chat(instanceFor(keyless, { key: null }));
    assert.deepEqual(JSON.parse(answer.content), { ok: true });
    assert.equal(keyless.requests.at(-1)?.headers.authorization, undefined);
  });

  test('past the requests per minute the simulator answers 429 with Retry-After, surfaced with retry_after_ms', async () => {
    const instance = instanceFor(limited, { extra: { retry: { attempts: 1 } } });
    await chat(instance);
    await chat(instance);
    const e = await rejects(chat(instance), 'integration.rate_limited', /Rate limit reached/);
    assert.ok(typeof e.details?.retry_after_ms === 'number' && (e.details.retry_after_ms as number) > 0);
  });
});
