import { z } from 'zod';
import { type Clock, RiposteError, systemClock } from '../core/index.ts';
import { defineAction } from '../engine/index.ts';
import { createGuardedHttpClient, type GuardedHttpOptions, retryAfterMs } from '../integrations/sdk/http/index.ts';

/**
 * `core.http_request`: a playbook's generic outbound HTTP call, through the SSRF-guarded client. It sends
 * the step's idempotency key as `Idempotency-Key`, so a retried or resumed step is recognisable to
 * services that honour it. 429 and 5xx are retryable (with the service's Retry-After); other non-2xx fail.
 */
const Input = z
  .object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    url: z.string().min(1),
    headers: z.record(z.string(), z.string()).optional(),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    json: z.unknown().optional(),
    body: z.string().optional(),
    /** Statuses that count as success (default: any 2xx). */
    expect_status: z.array(z.number().int()).optional(),
  })
  .strict();

export function httpRequestAction(options: GuardedHttpOptions & { clock?: Clock } = {}) {
  const client = createGuardedHttpClient(options);
  const clock = options.clock ?? systemClock;
  return defineAction({
    id: 'core.http_request',
    title: 'HTTP request (SSRF-guarded)',
    impact: 'write',
    // GET and HEAD only read: dry-runs execute them, and policy does not ask about them.
    impactFor: (input) => (input.method === 'GET' || input.method === 'HEAD' ? 'read' : 'write'),
    input: Input,
    describeEffect: (input) => `${input.method} ${input.url}`,
    async run(input, context) {
      const url = new URL(input.url);
      for (const [key, value] of Object.entries(input.query ?? {})) url.searchParams.set(key, String(value));
      const headers: Record<string, string> = { 'idempotency-key': context.idempotencyKey, ...(input.headers ?? {}) };
      let body = input.body;
      if (input.json !== undefined) {
        body = JSON.stringify(input.json);
        headers['content-type'] ??= 'application/json';
      }
      const response = await client.request({ method: input.method, url: url.toString(), headers, body, signal: context.signal });
      const ok = input.expect_status ? input.expect_status.includes(response.status) : response.status >= 200 && response.status < 300;
      if (!ok) {
        const retryable = response.status === 429 || response.status >= 500;
        const wait = retryAfterMs(response.headers, clock.now());
        throw new RiposteError('http.status', `${input.method} ${url.host} answered ${response.status}`, {
          retryable,
          details: { status: response.status, ...(wait === undefined ? {} : { retry_after_ms: wait }) },
        });
      }
      const type = response.headers['content-type'] ?? '';
      let parsed: unknown = response.text();
      if (/json/.test(type)) {
        try {
          parsed = response.json();
        } catch {
          // Keep the text: a service that lies about its content type should not fail the step.
        }
      }
      return { status: response.status, headers: response.headers, body: parsed, url: response.url };
    },
  });
}
