/**
 * server: the Fastify HTTP face of Riposte — health and readiness probes, Prometheus metrics, and
 * (as the modules land) the REST API, webhooks and the static UI. Errors leave as problem+json.
 */
export { type BuildServerOptions, buildServer } from './app.ts';
export { LIVE_TOPICS, type LiveEvent, type LiveEvents, LiveHub, type LiveTopic } from './live.ts';
export { PROBLEM_CONTENT_TYPE, type Problem, problemFor, toRiposteError } from './problem.ts';
export type { ServerServices } from './services.ts';
