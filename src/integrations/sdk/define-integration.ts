import type { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import type { IntegrationHttp } from './integration-http.ts';
import type { SmtpSender, SmtpSettings } from './mail/index.ts';
import type { AccessTokenSource, OAuth2ClientCredentials } from './oauth2-client-credentials.ts';
import type { RateLimit } from './token-bucket.ts';

/**
 * How a product is described to Riposte: its config (zod, validated per instance), the secrets it needs
 * (name → what to paste there), its rate limit, and its actions. An action declares its impact, its input
 * and output schemas, optionally an inverse and a cache TTL, and a `run` that receives the instance's
 * HTTP client, the resolved secrets and config, the step's idempotency key and an abort signal.
 * Nothing here knows the engine: `app/` adapts each instance's actions into engine actions.
 */
export type Impact = 'read' | 'write' | 'destructive';

export interface ActionRunContext<I> {
  input: I;
  http: IntegrationHttp;
  secrets: Readonly<Record<string, string>>;
  config: Readonly<Record<string, unknown>>;
  /** Same for every attempt of the same step: send it to vendors that honour one. */
  idempotencyKey: string;
  signal: AbortSignal;
  /** The instance's name (`virustotal`, `misp-eu` …). */
  instance: string;
  /** An SMTP sender behind the same address guard as `http` (mail integrations). */
  smtp(settings: SmtpSettings): SmtpSender;
  /** A bearer token, for integrations declaring `auth` (OAuth 2.0 client credentials). */
  accessToken?: AccessTokenSource['token'];
}

export interface IntegrationAction<I = unknown, O = unknown> {
  title: string;
  description?: string;
  impact: Impact;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
  /** Name of this integration's action that undoes this one (block_ip ↔ unblock_ip). */
  inverse?: string;
  /** The inverse's arguments for one call (default: the same arguments), e.g. from an id in the output. */
  inverseInput?(input: I, output: O): Record<string, unknown>;
  /** How long the effect lasts unless the call passes `ttl`/`expires_in` (a duration such as 24h). */
  defaultTtl?: string | number;
  /** Read actions only: how long an answer is reused for the same instance and input (ms). */
  cacheTtl?: number;
  run(context: ActionRunContext<I>): Promise<O>;
}

export function action<IS extends z.ZodType, OS extends z.ZodType>(spec: {
  title: string;
  description?: string;
  impact: Impact;
  input: IS;
  output: OS;
  inverse?: string;
  inverseInput?(input: z.output<IS>, output: z.output<OS>): Record<string, unknown>;
  defaultTtl?: string | number;
  cacheTtl?: number;
  run(context: ActionRunContext<z.output<IS>>): Promise<z.input<OS>>;
}): IntegrationAction<z.output<IS>, z.output<OS>> {
  if (spec.cacheTtl !== undefined && spec.impact !== 'read')
    throw new RiposteError('integration.invalid_action', `"${spec.title}": only read actions may be cached`);
  return spec as unknown as IntegrationAction<z.output<IS>, z.output<OS>>;
}

export interface IntegrationDefinition {
  id: string;
  title: string;
  description?: string;
  /** Must include `baseUrl` (a default pointing at the vendor's public API). */
  config: z.ZodType<Record<string, unknown>>;
  secrets: Readonly<Record<string, string>>;
  /** Secrets an instance may leave unset (a keyless local model server); the others are required. */
  optionalSecrets?: readonly string[];
  rateLimit?: RateLimit;
  /** Name of the read action `integrations test` calls with `healthCheck.input` (a cheap known lookup). */
  healthCheck?: { action: string; input: unknown };
  /** Sign-in the vendor requires before its API (tokens are fetched and cached by the instance). */
  auth?: OAuth2ClientCredentials;
  actions: Readonly<Record<string, IntegrationAction>>;
}

const NAME = /^[a-z][a-z0-9_]*$/;

export function defineIntegration<D extends IntegrationDefinition>(definition: D): D {
  if (!NAME.test(definition.id)) throw new RiposteError('integration.invalid', `integration id ${JSON.stringify(definition.id)} must be snake_case`);
  for (const name of Object.keys(definition.actions)) {
    if (!NAME.test(name)) throw new RiposteError('integration.invalid', `${definition.id}: action name ${JSON.stringify(name)} must be snake_case`);
    const inverse = definition.actions[name]?.inverse;
    if (inverse !== undefined && !(inverse in definition.actions))
      throw new RiposteError('integration.invalid', `${definition.id}.${name}: inverse ${JSON.stringify(inverse)} is not one of its actions`);
  }
  if (definition.healthCheck && !(definition.healthCheck.action in definition.actions))
    throw new RiposteError('integration.invalid', `${definition.id}: healthCheck action ${definition.healthCheck.action} does not exist`);
  return definition;
}
