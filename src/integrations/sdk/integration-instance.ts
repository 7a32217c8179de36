import { type Clock, RiposteError, systemClock } from '../../core/index.ts';
import type { IntegrationAction, IntegrationDefinition } from './define-integration.ts';
import type { GuardedHttpOptions } from './http/index.ts';
import { createIntegrationHttp, type IntegrationHttp, type RetryPolicy } from './integration-http.ts';
import { createSmtpSender, type SmtpSettings } from './mail/index.ts';
import { type AccessTokenSource, createAccessTokenSource } from './oauth2-client-credentials.ts';
import { ResponseCache } from './response-cache.ts';
import { type RateLimit, TokenBucket } from './token-bucket.ts';

/**
 * One configured instance of an integration (two MISP servers are two instances). It owns the state every
 * run shares: the HTTP client, the token bucket and the response cache. `run` validates input, serves
 * cached reads, calls the action, validates the output against the action's schema (a vendor that changed
 * its shape is a clear `integration.bad_response`, not a crash three steps later) and scrubs the
 * instance's secret values out of whatever comes back.
 */
export interface InstanceSettings {
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

export interface InstanceOptions {
  guard?: GuardedHttpOptions;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  cache?: ResponseCache;
  clock?: Clock;
  random?: () => number;
  /** Replaces the integration's declared rate limit (a tenant with a raised quota; simulators in tests and benchmarks). */
  rateLimit?: RateLimit;
}

export interface CallContext {
  idempotencyKey: string;
  signal?: AbortSignal;
}

export interface IntegrationInstance {
  readonly name: string;
  readonly integration: IntegrationDefinition;
  readonly config: Readonly<Record<string, unknown>>;
  readonly http: IntegrationHttp;
  readonly cache: ResponseCache;
  actionNames(): string[];
  action(name: string): IntegrationAction;
  run(actionName: string, input: unknown, context: CallContext): Promise<unknown>;
  /** Calls the integration's health-check action; resolves with how long it took. */
  test(signal?: AbortSignal): Promise<{ ok: true; ms: number; action: string } | { ok: false; ms: number; error: string; code: string }>;
}

export const INSTANCE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function createIntegrationInstance(integration: IntegrationDefinition, settings: InstanceSettings, options: InstanceOptions = {}): IntegrationInstance {
  if (!INSTANCE_NAME.test(settings.name))
    throw new RiposteError('input.invalid', `instance name ${JSON.stringify(settings.name)} must be snake_case (it becomes the action prefix)`, {
      status: 400,
    });
  const parsed = integration.config.safeParse(settings.config);
  if (!parsed.success)
    throw new RiposteError(
      'input.invalid',
      `${settings.name}: invalid config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      {
        status: 400,
      },
    );
  const config = parsed.data;
  const missing = Object.keys(integration.secrets).filter((name) => !settings.secrets[name] && !integration.optionalSecrets?.includes(name));
  const clock = options.clock ?? systemClock;
  // Products that are not HTTP APIs (an asset file) have no baseUrl; their client is never used, and the
  // SSRF guard would refuse this placeholder anyway.
  const baseUrl = typeof config.baseUrl === 'string' ? config.baseUrl : 'http://localhost.invalid/';
  const http = createIntegrationHttp({
    vendor: integration.title,
    instance: settings.name,
    baseUrl,
    bucket: (options.rateLimit ?? integration.rateLimit) ? new TokenBucket(options.rateLimit ?? (integration.rateLimit as RateLimit)) : undefined,
    ...(options.guard ? { guard: options.guard } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(typeof config.timeoutMs === 'number' ? { timeoutMs: config.timeoutMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  const cache = options.cache ?? new ResponseCache({ now: () => clock.now() });
  const smtp = (smtpSettings: SmtpSettings) => createSmtpSender(smtpSettings, { allow: options.guard?.allow ?? [] });
  let tokens: AccessTokenSource | undefined;
  const accessToken = integration.auth
    ? (tokenOptions?: { refresh?: boolean; signal?: AbortSignal }) => {
        tokens ??= createAccessTokenSource(
          integration.auth as NonNullable<IntegrationDefinition['auth']>,
          { config, secrets: settings.secrets },
          {
            vendor: integration.title,
            instance: settings.name,
            ...(options.guard ? { guard: options.guard } : {}),
            ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
            ...(options.retry ? { retry: options.retry } : {}),
            ...(options.random ? { random: options.random } : {}),
          },
          () => clock.now(),
        );
        return tokens.token(tokenOptions);
      }
    : undefined;
  const secretValues = Object.values(settings.secrets).filter((value) => value.length >= 4);
  const secrets = Object.freeze({ ...settings.secrets });

  function actionNamed(name: string): IntegrationAction {
    const found = Object.hasOwn(integration.actions, name) ? integration.actions[name] : undefined;
    if (!found) throw new RiposteError('integration.unknown_action', `${integration.id} has no action ${JSON.stringify(name)}`, { status: 404 });
    return found;
  }

  async function call(name: string, rawInput: unknown, context: CallContext): Promise<unknown> {
    const definition = actionNamed(name);
    if (missing.length > 0)
      throw new RiposteError('integration.secret_missing', `${settings.name}: secret ${missing.map((m) => JSON.stringify(m)).join(', ')} is not set`, {
        details: { instance: settings.name, missing },
      });
    const input = definition.input.safeParse(rawInput);
    if (!input.success)
      throw new RiposteError(
        'input.invalid',
        `${settings.name}.${name}: ${input.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
        {
          status: 400,
        },
      );
    const execute = async () => {
      const output = await definition.run({
        input: input.data as never,
        http,
        secrets,
        config,
        idempotencyKey: context.idempotencyKey,
        signal: context.signal ?? new AbortController().signal,
        instance: settings.name,
        smtp,
        ...(accessToken ? { accessToken } : {}),
      });
      const checked = definition.output.safeParse(output);
      if (!checked.success)
        throw new RiposteError(
          'integration.bad_response',
          `${integration.title} (${settings.name}) answered ${name} in an unexpected shape: ${checked.error.issues
            .slice(0, 3)
            .map((i) => `${i.path.join('.') || 'output'}: ${i.message}`)
            .join('; ')}`,
          { status: 502, details: { vendor: integration.title, instance: settings.name } },
        );
      return scrub(checked.data, secretValues);
    };
    if (definition.impact === 'read' && definition.cacheTtl !== undefined && definition.cacheTtl > 0)
      return cache.getOrLoad(ResponseCache.key(settings.name, name, input.data), definition.cacheTtl, execute);
    return execute();
  }

  return {
    name: settings.name,
    integration,
    config,
    http,
    cache,
    actionNames: () => Object.keys(integration.actions).sort(),
    action: actionNamed,
    run: (name, input, context) =>
      call(name, input, context).catch((error: unknown) => {
        throw scrubError(error, secretValues);
      }),
    async test(signal) {
      const started = performance.now();
      const check = integration.healthCheck ?? { action: Object.keys(integration.actions)[0] as string, input: {} };
      try {
        // Not through the cache: a health check must reach the vendor.
        const definition = actionNamed(check.action);
        if (missing.length > 0) throw new RiposteError('integration.secret_missing', `secret ${missing.join(', ')} is not set`);
        await definition.run({
          input: definition.input.parse(check.input) as never,
          http,
          secrets,
          config,
          idempotencyKey: `health-${settings.name}`,
          signal: signal ?? new AbortController().signal,
          instance: settings.name,
          smtp,
        });
        return { ok: true, ms: Math.round(performance.now() - started), action: check.action };
      } catch (error) {
        const scrubbed = scrubError(error, secretValues);
        return {
          ok: false,
          ms: Math.round(performance.now() - started),
          error: scrubbed instanceof Error ? scrubbed.message : String(scrubbed),
          code: scrubbed instanceof RiposteError ? scrubbed.code : 'integration.failed',
        };
      }
    },
  };
}

/** Replaces every occurrence of a secret value inside strings (a vendor that echoes the key back). */
export function scrub<T>(value: T, secretValues: readonly string[]): T {
  if (secretValues.length === 0) return value;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return secretValues.reduce((text, secret) => text.split(secret).join('[secret]'), node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(value) as T;
}

function scrubError(error: unknown, secretValues: readonly string[]): unknown {
  if (!(error instanceof RiposteError) || secretValues.length === 0) return error;
  const message = scrub(error.message, secretValues);
  if (message === error.message) return error;
  return new RiposteError(error.code, message, { status: error.status, retryable: error.retryable, details: scrub(error.details, secretValues) });
}
