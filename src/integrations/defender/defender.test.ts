import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../../core/index.ts';
import {
  createFleet,
  defenderHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
  type VendorSimulator,
} from '../../lab/index.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../sdk/index.ts';
import defender from './index.ts';

/**
 * The Defender connector against its simulators: an OAuth2 client-credentials token from the simulated
 * login.microsoftonline.com, then advanced hunting with it; the token is cached, refreshed after a 401,
 * and the client secret goes only to the token endpoint.
 */
const fleet = createFleet({ size: 60, seed: 5, infected: 3 });
const issuer = new TokenIssuer();
let login: VendorSimulator;
let api: VendorSimulator;

before(async () => {
  login = await startSimulator(identityPlatformHandler(issuer));
  api = await startSimulator(defenderHandler(fleet, issuer));
});
after(async () => {
  await login.close();
  await api.close();
});

function instance(secret = SIMULATOR_CLIENT_SECRET): IntegrationInstance {
  return createIntegrationInstance(
    defender,
    {
      name: 'mde',
      config: { baseUrl: api.url, loginUrl: login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID },
      secrets: { clientSecret: secret },
    },
    { guard: { allow: ['127.0.0.1'] }, timeoutMs: 2000, retry: { attempts: 2, baseDelayMs: 5 } },
  );
}

const QUERY = 'DeviceRegistryEvents | where RegistryValueName =~ "OneDriveUpdate" | project DeviceName, RegistryKey, RegistryValueData';

describe('defender connector', () => {
  test('signs in once, runs advanced hunting and returns schema and rows', async () => {
    const mde = instance();
    const tokensBefore = issuer.issued;
    const out = (await mde.run('advanced_hunting', { query: QUERY }, { idempotencyKey: 'k1' })) as {
      schema: Array<{ name: string; type: string }>;
      results: Array<Record<string, unknown>>;
      row_count: number;
    };
    assert.deepEqual(
      out.schema.map((c) => c.name),
      ['DeviceName', 'RegistryKey', 'RegistryValueData'],
    );
    assert.deepEqual(
      [...new Set(out.results.map((r) => r.DeviceName))].sort(),
      fleet
        .infected()
        .map((e) => e.fqdn)
        .sort(),
    );
    assert.equal(out.row_count, out.results.length);
    await mde.run('advanced_hunting', { query: 'DeviceInfo | take 1' }, { idempotencyKey: 'k2' });
    assert.equal(issuer.issued - tokensBefore, 1, 'the token is reused');

    const tokenRequest = login.requests.at(-1);
    assert.equal(tokenRequest?.path, `/${SIMULATOR_TENANT_ID}/oauth2/v2.0/token`);
    assert.match(tokenRequest?.body ?? '', /grant_type=client_credentials/);
    assert.ok(
      api.requests.every((r) => !JSON.stringify(r).includes(SIMULATOR_CLIENT_SECRET)),
      'the secret never reaches the API',
    );
    assert.match(String(api.requests.at(-1)?.headers.authorization), /^Bearer /);
  });

  test('a token that stopped working is replaced once; a wrong secret is integration.unauthorized without the secret', async () => {
    const mde = instance();
    await mde.run('advanced_hunting', { query: 'DeviceInfo | take 1' }, { idempotencyKey: 'k3' });
    issuer.expireAll();
    const tokensBefore = issuer.issued;
    await mde.run('advanced_hunting', { query: 'DeviceInfo | take 1' }, { idempotencyKey: 'k4' });
    assert.equal(issuer.issued - tokensBefore, 1);

    await assert.rejects(instance('wrong-secret-value').run('advanced_hunting', { query: QUERY }, { idempotencyKey: 'k5' }), (error: unknown) => {
      assert.ok(error instanceof RiposteError);
      assert.equal(error.code, 'integration.unauthorized');
      assert.match(error.message, /sign-in/);
      assert.doesNotMatch(error.message, /wrong-secret-value/);
      return true;
    });
  });

  test('an invalid query is a clear error naming the problem', async () => {
    await assert.rejects(
      instance().run('advanced_hunting', { query: 'DeviceRegistryEvents | summarize count()' }, { idempotencyKey: 'k6' }),
      (error: unknown) => {
        assert.ok(error instanceof RiposteError);
        assert.match(error.message, /Query is invalid: operator 'summarize'/);
        return true;
      },
    );
  });
});
