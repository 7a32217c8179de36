/**
 * server: the Fastify HTTP face of Riposte — health and readiness probes, Prometheus metrics, and
 * (as the modules land) the REST API, webhooks and the static UI. Errors leave as problem+json.
 */
export { type BuildServerOptions, buildServer } from './app.ts';
export { PROBLEM_CONTENT_TYPE, type Problem, problemFor, toRiposteError } from './problem.ts';
export type { ServerServices } from './services.ts';
