import type { FastifyRequest } from 'fastify';
import { type Actor, SYSTEM_ACTOR } from '../core/index.ts';

/**
 * Who is calling. The authentication layer sets `request.actor` (a user, an API token or a webhook
 * source); until it has, or on routes it does not cover, the caller counts as the system itself.
 */
export function actorOf(request: FastifyRequest): Actor {
  const actor = (request as FastifyRequest & { actor?: Actor }).actor;
  return actor ?? SYSTEM_ACTOR;
}
