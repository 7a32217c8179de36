import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { huntFromSigma, huntQueries } from '../src/analyzers/index.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../src/integrations/sdk/index.ts';
import {
  createFleet,
  crowdStrikeHandler,
  defenderHandler,
  EdrBehaviour,
  falconAid,
  fleetDmHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_FALCON_CLIENT_ID,
  SIMULATOR_FALCON_CLIENT_SECRET,
  SIMULATOR_FLEET_API_TOKEN,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
  type VendorSimulator,
} from '../src/lab/index.ts';

/**
 * The three EDR connectors against their simulators, all over ONE fleet: a value deleted through one vendor
 * is gone for the others' queries; the inverse writes the captured data back; an offline machine's command
 * stays pending and then times out; the failure rate fails remediation actions; Falcon's rate-limit
 * headers and 429s are honoured.
 */
const fleet = createFleet({ size: 60, seed: 5, infected: 6 });
const behaviour = new EdrBehaviour({ offlineTimeoutMs: 300 });
const issuer = new TokenIssuer();
const sims: VendorSimulator[] = [];
let mde: IntegrationInstance;
let falcon: IntegrationInstance;
let fleetdm: IntegrationInstance;
const guard = { guard: { allow: ['127.0.0.1'] }, retry: { baseDelayMs: 5, maxDelayMs: 20 } };

before(async () => {
  const login = await startSimulator(identityPlatformHandler(issuer));
  const api = await startSimulator(defenderHandler(fleet, issuer, behaviour));
  const cs = await startSimulator(crowdStrikeHandler(fleet, behaviour, { perMinute: 40 }));
  const fd = await startSimulator(fleetDmHandler(fleet, behaviour));
  sims.push(login, api, cs, fd);
  mde = createIntegrationInstance(
    integrationById('defender') as never,
    {
      name: 'mde',
      config: {
        baseUrl: api.url,
        loginUrl: login.url,
        tenantId: SIMULATOR_TENANT_ID,
        clientId: SIMULATOR_CLIENT_ID,
        pollIntervalMs: 10,
        actionTimeoutMs: 5000,
      },
      secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
    },
    guard,
  );
  falcon = createIntegrationInstance(
    integrationById('crowdstrike') as never,
    { name: 'falcon', config: { baseUrl: cs.url, clientId: SIMULATOR_FALCON_CLIENT_ID }, secrets: { clientSecret: SIMULATOR_FALCON_CLIENT_SECRET } },
    guard,
  );
  fleetdm = createIntegrationInstance(
    integrationById('fleetdm') as never,
    { name: 'fleet', config: { baseUrl: fd.url, pollIntervalMs: 10, scriptTimeoutMs: 5000 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
    guard,
  );
});
after(async () => {
  for (const sim of sims) await sim.close();
});

const RULE = `title: Run key value in AppData
logsource: {category: registry_set, product: windows}
detection:
    selection_key:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains: '\\AppData\\Roaming\\'
    condition: all of selection_*
tags: [attack.t1547.001]
`;
let key = 0;
const ctx = () => ({ idempotencyKey: `k${key++}` });

test('Defender: delete a Run value by live response, verify by advanced hunting, restore with the inverse input', async () => {
  const victim = fleet.infected().find((e) => e.online) as (typeof fleet.endpoints)[number];
  const implant = victim.implants[0] as { key: string; value: string };
  const value = victim.registry.get(implant.key)?.find((v) => v.name === implant.value);
  const input = { machine_id: victim.id, key: implant.key, value_name: implant.value, data: value?.data ?? '' };
  const out = (await mde.run('delete_registry_value', input, ctx())) as { status: string; type: string };
  assert.equal(out.status, 'Succeeded');
  assert.equal(out.type, 'LiveResponse');
  const kql = (huntQueries(huntFromSigma(RULE)).find((q) => q.target === 'kql') as { query: string }).query;
  const rows = (await mde.run('advanced_hunting', { query: kql }, ctx())) as { results: Array<Record<string, unknown>> };
  const defenderKey = implant.key.replace(/^HKEY_USERS\\/, 'HKEY_CURRENT_USER\\');
  assert.ok(rows.results.some((r) => r.DeviceId === victim.id));
  assert.ok(!rows.results.some((r) => r.DeviceId === victim.id && r.RegistryKey === defenderKey && r.RegistryValueName === implant.value));
  const action = mde.action('delete_registry_value');
  assert.equal(action.inverse, 'restore_registry_value');
  const inverse = action.inverseInput?.(action.input.parse(input), out) as Record<string, unknown>;
  await mde.run('restore_registry_value', inverse, ctx());
  assert.equal(victim.registry.get(implant.key)?.find((v) => v.name === implant.value)?.data, value?.data);
});

test('Defender: isolate ↔ unisolate; an offline machine times out; a failing action is an error', async () => {
  const online = fleet.endpoints.find((e) => e.online && !e.isolated) as (typeof fleet.endpoints)[number];
  await mde.run('isolate', { machine_id: online.id, comment: 'hunt' }, ctx());
  assert.equal(online.isolated, true);
  await mde.run('unisolate', { machine_id: online.id, comment: 'clean' }, ctx());
  assert.equal(online.isolated, false);
  const offline = fleet.endpoints.find((e) => !e.online) as (typeof fleet.endpoints)[number];
  await assert.rejects(mde.run('isolate', { machine_id: offline.id, comment: 'hunt' }, ctx()), /TimeOut/);
  assert.equal(offline.isolated, false);
  behaviour.setFailureRate(1);
  try {
    await assert.rejects(mde.run('isolate', { machine_id: online.id, comment: 'hunt' }, ctx()), /Failed/);
  } finally {
    behaviour.setFailureRate(0);
  }
  const machines = (await mde.run('list_machines', { page_size: 25 }, ctx())) as { machines: unknown[] };
  assert.equal(machines.machines.length, fleet.endpoints.length);
});

test('CrowdStrike: reg query across a batch, reg delete with inverse, containment; offline hosts stay queued', async () => {
  const victim = fleet.infected().find((e) => e.online && e.implants.length > 0) as (typeof fleet.endpoints)[number];
  const offline = fleet.endpoints.find((e) => !e.online) as (typeof fleet.endpoints)[number];
  const hives = (await falcon.run('reg_query', { host_ids: [falconAid(victim), falconAid(offline)], key: 'HKU' }, ctx())) as {
    hosts: Array<{ aid: string; complete: boolean; offline_queued: boolean; subkeys: string[] }>;
  };
  assert.deepEqual(hives.hosts[0]?.subkeys.length, victim.users.length);
  assert.equal(hives.hosts[1]?.complete, false);
  assert.equal(hives.hosts[1]?.offline_queued, true);
  const implant = victim.implants[0] as { key: string; value: string };
  const run = (await falcon.run('reg_query', { host_ids: [falconAid(victim)], key: implant.key }, ctx())) as {
    hosts: Array<{ values: Array<{ name: string; data: string }> }>;
  };
  const found = run.hosts[0]?.values.find((v) => v.name === implant.value);
  assert.ok(found);
  await falcon.run('delete_registry_value', { host_id: falconAid(victim), key: implant.key, value_name: implant.value, data: found.data }, ctx());
  assert.ok(!victim.registry.get(implant.key)?.some((v) => v.name === implant.value));
  await falcon.run('restore_registry_value', { host_id: falconAid(victim), key: implant.key, value_name: implant.value, data: found.data }, ctx());
  assert.equal(victim.registry.get(implant.key)?.find((v) => v.name === implant.value)?.data, found.data);
  await falcon.run('contain', { host_ids: [falconAid(victim)] }, ctx());
  assert.equal(victim.isolated, true);
  await falcon.run('lift_containment', { host_ids: [falconAid(victim)] }, ctx());
  assert.equal(victim.isolated, false);
});

test('CrowdStrike: past the per-minute quota the simulator answers 429 with X-RateLimit headers', async () => {
  const sim = sims[2] as VendorSimulator;
  let limited: Response | undefined;
  for (let i = 0; i < 60 && !limited; i++) {
    const r = await fetch(`${sim.url}/devices/entities/devices-actions/v2?action_name=contain`, { method: 'POST', headers: { authorization: 'Bearer x' } });
    assert.ok(r.headers.get('x-ratelimit-limit'));
    if (r.status === 429) limited = r;
  }
  assert.ok(limited, 'a 429 within 60 requests of a 40-a-minute quota');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.ok(limited.headers.get('x-ratelimit-retryafter'));
});

test('Fleet: the hunt osquery SQL finds the infected online hosts; a script deletes a value; offline scripts time out', async () => {
  const sql = (huntQueries(huntFromSigma(RULE)).find((q) => q.target === 'osquery') as { query: string }).query;
  const hosts = (await fleetdm.run('list_hosts', { per_page: 25 }, ctx())) as { hosts: Array<{ id: number; status: string }> };
  assert.equal(hosts.hosts.length, fleet.endpoints.length);
  const out = (await fleetdm.run('live_query', { query: sql, host_ids: hosts.hosts.map((h) => h.id) }, ctx())) as {
    results: Array<{ host_id: number; rows: Array<Record<string, string>> }>;
    missing: number[];
  };
  const hits = out.results.filter((r) => r.rows.length > 0).map((r) => fleet.endpoints[r.host_id - 1]?.hostname);
  const expected = fleet
    .infected()
    .filter((e) => e.online)
    .map((e) => e.hostname);
  assert.deepEqual(hits.sort(), expected.sort());
  assert.equal(out.missing.length, fleet.endpoints.filter((e) => !e.online).length);
  const hit = out.results.find((r) => r.rows.length > 0) as { host_id: number; rows: Array<Record<string, string>> };
  const row = hit.rows[0] as Record<string, string>;
  await fleetdm.run('delete_registry_value', { host_id: hit.host_id, key: row.key, value_name: row.name, data: row.data }, ctx());
  assert.equal(
    fleet.endpoints[hit.host_id - 1]?.registry.get(row.key as string)?.some((v) => v.name === row.name),
    false,
  );
  const offlineId = fleet.endpoints.findIndex((e) => !e.online) + 1;
  await assert.rejects(
    fleetdm.run('run_script', { host_id: offlineId, script: "Remove-ItemProperty -Path 'Registry::HKEY_LOCAL_MACHINE\\X' -Name 'y'" }, ctx()),
    /timed out/,
  );
});
