import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { huntFromRegistryIoc, huntFromSigma, huntFromStixIndicator, huntQueries } from '../src/analyzers/index.ts';
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
} from '../src/lab/index.ts';

/**
 * The KQL Riposte generates for a hunt, run through the Defender simulator's advanced hunting API (OAuth2
 * client-credentials token first) over a 200-endpoint fleet: every hunt form finds exactly the infected
 * machines, a re-query after cleanup finds none, and the API's errors look like Microsoft's.
 */
const fleet = createFleet({ size: 200, seed: 11, infected: 4 });
const issuer = new TokenIssuer();
let identity: VendorSimulator;
let defender: VendorSimulator;

before(async () => {
  identity = await startSimulator(identityPlatformHandler(issuer));
  defender = await startSimulator(defenderHandler(fleet, issuer));
});
after(async () => {
  await identity.close();
  await defender.close();
});

async function token(secret = SIMULATOR_CLIENT_SECRET): Promise<Response> {
  return fetch(`${identity.url}/${SIMULATOR_TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: SIMULATOR_CLIENT_ID,
      client_secret: secret,
      scope: 'https://api.securitycenter.microsoft.com/.default',
    }),
  });
}

async function hunt(query: string, bearer?: string): Promise<Response> {
  return fetch(`${defender.url}/api/advancedqueries/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ Query: query }),
  });
}

const RULE = `title: Run key value pointing to a user-writable folder
logsource:
    category: registry_set
    product: windows
detection:
    selection_key:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains:
            - '\\AppData\\Roaming\\'
            - '\\Temp\\'
    filter:
        Details|endswith: 'OneDrive.exe" /background'
    condition: all of selection_* and not filter
tags:
    - attack.t1547.001
`;

describe('hunting through the Defender advanced hunting simulator', () => {
  test('Sigma, STIX and IOC hunts as KQL return exactly the infected devices; a re-query after cleanup returns none', async () => {
    const tokenResponse = await token();
    assert.equal(tokenResponse.status, 200);
    const grant = (await tokenResponse.json()) as { token_type: string; expires_in: number; access_token: string };
    assert.equal(grant.token_type, 'Bearer');
    assert.equal(grant.expires_in, 3599);

    const hunts = [
      huntFromSigma(RULE),
      huntFromStixIndicator(
        "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run' AND windows-registry-key:values[*].name = 'OneDriveUpdate']",
      ),
      huntFromRegistryIoc({ keyPath: 'HKCU\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', valueName: 'OneDriveUpdate' }),
    ];
    const infected = fleet
      .infected()
      .map((e) => e.fqdn)
      .sort();
    assert.equal(infected.length, 4);
    for (const h of hunts) {
      const kql = huntQueries(h).find((q) => q.target === 'kql');
      assert.ok(kql && 'query' in kql, `${h.source}: KQL`);
      const response = await hunt(kql.query, grant.access_token);
      assert.equal(response.status, 200, await response.clone().text());
      const body = (await response.json()) as { Schema: Array<{ Name: string; Type: string }>; Results: Array<Record<string, unknown>>; Stats: unknown };
      assert.ok(body.Schema.some((c) => c.Name === 'RegistryKey' && c.Type === 'String'));
      assert.deepEqual([...new Set(body.Results.map((r) => String(r.DeviceName)))].sort(), infected, `${h.source} hunt`);
    }

    for (const endpoint of fleet.infected()) for (const implant of [...endpoint.implants]) fleet.deleteValue(endpoint, implant.key, implant.value);
    const kql = huntQueries(hunts[0] as (typeof hunts)[0]).find((q) => q.target === 'kql') as { query: string };
    const after = (await (await hunt(kql.query, grant.access_token)).json()) as { Results: unknown[] };
    assert.deepEqual(after.Results, []);
  });

  test('errors: a wrong client secret (AADSTS7000215), a missing or expired token, an invalid query', async () => {
    const wrong = await token('not-the-secret');
    assert.equal(wrong.status, 401);
    const error = (await wrong.json()) as { error: string; error_codes: number[]; error_description: string };
    assert.equal(error.error, 'invalid_client');
    assert.deepEqual(error.error_codes, [7000215]);
    assert.doesNotMatch(error.error_description, /not-the-secret/);

    assert.equal((await hunt('DeviceRegistryEvents | take 1')).status, 401);
    const grant = (await (await token()).json()) as { access_token: string };
    const bad = await hunt('DeviceRegistryEvents | summarize count() by DeviceName', grant.access_token);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { code: string; message: string } }).error.message, /Query is invalid/);
    issuer.expireAll();
    assert.equal((await hunt('DeviceRegistryEvents | take 1', grant.access_token)).status, 401);
  });
});
