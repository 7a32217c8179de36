/**
 * Microsoft Defender for Endpoint: advanced hunting (`POST /api/advancedqueries/run` with `{"Query"}`),
 * signed in with an Entra ID app registration (OAuth 2.0 client credentials against
 * login.microsoftonline.com, scope https://api.securitycenter.microsoft.com/.default). The API allows 45
 * calls a minute per tenant and returns at most 100,000 rows; a 401 after a token expired early is retried
 * once with a fresh token. Machine actions (isolate, live response, investigation package) come later.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration } from '../sdk/index.ts';

const HuntingResponse = z
  .object({
    Schema: z.array(z.object({ Name: z.string(), Type: z.string() }).loose()).default([]),
    Results: z.array(z.record(z.string(), z.unknown())),
    Stats: z.object({ ExecutionTime: z.number().optional() }).loose().optional(),
  })
  .loose();

export default defineIntegration({
  id: 'defender',
  title: 'Microsoft Defender for Endpoint',
  config: z.object({
    baseUrl: z.url().default('https://api.security.microsoft.com'),
    loginUrl: z.url().default('https://login.microsoftonline.com'),
    // Empty until configured, so the unconfigured default instance still exists (its calls fail clearly).
    tenantId: z.string().default(''),
    clientId: z.string().default(''),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { clientSecret: 'client secret of the Entra ID app registration (application permission AdvancedQuery.Read.All)' },
  rateLimit: { perMinute: 45, burst: 5 },
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl: (config) => `${String(config.loginUrl).replace(/\/$/, '')}/${encodeURIComponent(String(config.tenantId))}/oauth2/v2.0/token`,
    audience: () => ({ scope: 'https://api.securitycenter.microsoft.com/.default' }),
    clientIdConfig: 'clientId',
    clientSecret: 'clientSecret',
  },
  healthCheck: { action: 'advanced_hunting', input: { query: 'DeviceInfo | take 1' } },
  actions: {
    advanced_hunting: action({
      title: 'Advanced hunting query (KQL)',
      description: 'Runs a KQL query over the last 30 days of device telemetry; returns the schema and the rows (at most 100,000).',
      impact: 'read',
      input: z.object({ query: z.string().min(1).max(100_000) }),
      output: z.object({
        schema: z.array(z.object({ name: z.string(), type: z.string() })),
        results: z.array(z.record(z.string(), z.unknown())),
        row_count: z.number(),
        execution_time_s: z.number().nullable(),
      }),
      async run({ input, http, accessToken, signal, config, instance }) {
        if (!accessToken) throw new RiposteError('integration.invalid', 'Defender: the instance has no sign-in configured');
        if (config.tenantId === '')
          throw new RiposteError('integration.not_configured', `${instance}: config tenantId is required (the Entra ID tenant of the app registration)`);
        const send = async (refresh: boolean) =>
          http.request({
            method: 'POST',
            path: '/api/advancedqueries/run',
            json: { Query: input.query },
            headers: { authorization: `Bearer ${await accessToken({ refresh, signal })}` },
            signal,
          });
        let response: Awaited<ReturnType<typeof send>>;
        try {
          response = await send(false);
        } catch (error) {
          // A token revoked or expired before its stated lifetime: one fresh sign-in, then give up.
          if (!(error instanceof RiposteError) || error.code !== 'integration.unauthorized') throw error;
          response = await send(true);
        }
        const parsed = HuntingResponse.safeParse(response.json());
        if (!parsed.success) throw new RiposteError('integration.bad_response', 'Defender answered advanced hunting without Results', { status: 502 });
        return {
          schema: parsed.data.Schema.map((c) => ({ name: c.Name, type: c.Type })),
          results: parsed.data.Results,
          row_count: parsed.data.Results.length,
          execution_time_s: parsed.data.Stats?.ExecutionTime ?? null,
        };
      },
    }),
  },
});
