import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** One registry per server instance, so tests that build several apps don't collide. */
export interface ServerMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** AI assistance: tokens spent by feature and direction (prompt/completion), and model round-trip time. */
  aiTokens: Counter<'kind' | 'direction'>;
  aiDuration: Histogram<'kind' | 'status'>;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'riposte' });
  collectDefaultMetrics({ register: registry, prefix: 'riposte_' });
  const httpDuration = new Histogram({
    name: 'riposte_http_request_duration_seconds',
    help: 'HTTP request latency by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const aiTokens = new Counter({
    name: 'riposte_ai_tokens_total',
    help: 'Tokens sent to and received from the AI endpoint, by feature and direction',
    labelNames: ['kind', 'direction'] as const,
    registers: [registry],
  });
  const aiDuration = new Histogram({
    name: 'riposte_ai_request_duration_seconds',
    help: 'Time spent waiting for the AI endpoint per interaction (repair rounds included), by feature and outcome',
    labelNames: ['kind', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  return { registry, httpDuration, aiTokens, aiDuration };
}
