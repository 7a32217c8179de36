import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics.ts';
import type { ServerServices } from '../services.ts';
import { healthRoutes } from './health.ts';
import { runsRoutes } from './runs.ts';

/** Every route plugin, registered in one place so the route inventory sees them all. */
export async function registerRoutes(app: FastifyInstance, services: ServerServices, metrics: ServerMetrics): Promise<void> {
  await app.register(healthRoutes, { services, metrics });
  await app.register(runsRoutes, { services });
}
