import { RiposteError } from '../../core/index.ts';
import { createIntegrationHttp, type IntegrationHttpOptions } from './integration-http.ts';

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for vendors behind an identity provider (Microsoft Entra ID
 * for Defender, Okta, …). The token endpoint usually lives on another origin than the API, so it gets its
 * own guarded client (same SSRF guard, timeouts and retries as the instance); the client secret is sent only
 * there. A token is cached until shortly before it expires, refreshed on demand (after a 401), and shared by
 * concurrent callers, so a burst of actions asks for one token.
 */
export interface OAuth2ClientCredentials {
  kind: 'oauth2_client_credentials';
  /** The token endpoint for this instance's config (e.g. `${loginUrl}/${tenantId}/oauth2/v2.0/token`). */
  tokenUrl(config: Readonly<Record<string, unknown>>): string;
  /** Form fields naming what the token is for (`scope`, or `resource` for v1 endpoints). */
  audience(config: Readonly<Record<string, unknown>>): Record<string, string>;
  /** Where the client id lives: a config key. */
  clientIdConfig: string;
  /** Where the client secret lives: a secret name. */
  clientSecret: string;
}

export interface AccessTokenSource {
  /** A valid bearer token; `refresh` discards the cached one first (after the API answered 401). */
  token(options?: { refresh?: boolean; signal?: AbortSignal }): Promise<string>;
}

/** Tokens are renewed this long before the provider says they expire. */
const EXPIRY_MARGIN_MS = 60_000;

export function createAccessTokenSource(
  auth: OAuth2ClientCredentials,
  settings: { config: Readonly<Record<string, unknown>>; secrets: Readonly<Record<string, string>> },
  http: Omit<IntegrationHttpOptions, 'baseUrl'>,
  now: () => number = Date.now,
): AccessTokenSource {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const tokenUrl = auth.tokenUrl(settings.config);
  let origin: string;
  try {
    origin = new URL(tokenUrl).origin;
  } catch {
    throw new RiposteError('input.invalid', `${http.instance}: token URL ${JSON.stringify(tokenUrl)} is not a URL`, { status: 400 });
  }
  const client = createIntegrationHttp({ ...http, vendor: `${http.vendor} sign-in`, baseUrl: origin });

  const fetchToken = async (signal?: AbortSignal): Promise<string> => {
    const clientId = settings.config[auth.clientIdConfig];
    const secret = settings.secrets[auth.clientSecret];
    if (typeof clientId !== 'string' || clientId === '')
      throw new RiposteError('input.invalid', `${http.instance}: config ${auth.clientIdConfig} is required`, { status: 400 });
    if (!secret) throw new RiposteError('integration.secret_missing', `${http.instance}: secret "${auth.clientSecret}" is not set`);
    const response = await client.request({
      method: 'POST',
      path: tokenUrl,
      form: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, ...auth.audience(settings.config) },
      ...(signal ? { signal } : {}),
    });
    const body = response.json<{ access_token?: unknown; expires_in?: unknown; token_type?: unknown }>();
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new RiposteError('integration.bad_response', `${http.vendor} sign-in answered without an access_token`, { status: 502 });
    }
    const lifetimeS = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    cached = { token: body.access_token, expiresAt: now() + Math.max(0, (Number.isFinite(lifetimeS) ? lifetimeS : 3600) * 1000 - EXPIRY_MARGIN_MS) };
    return body.access_token;
  };

  return {
    async token(options = {}) {
      if (options.refresh) cached = undefined;
      if (cached && cached.expiresAt > now()) return cached.token;
      pending ??= fetchToken(options.signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
