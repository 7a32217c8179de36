import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** One registry per server instance, so tests that build several apps don't collide. */
export interface ServerMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
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
  return { registry, httpDuration };
}
