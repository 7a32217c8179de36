import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFleet, HKLM_RUN } from './fleet.ts';

/** The simulated fleet: deterministic from its seed, realistic registry contents, a known infected set. */

test('the same seed gives the same fleet; another seed a different one', () => {
  const a = createFleet({ size: 200, seed: 7 });
  const b = createFleet({ size: 200, seed: 7 });
  const c = createFleet({ size: 200, seed: 8 });
  const summary = (f: typeof a) => f.endpoints.map((e) => `${e.id}|${e.hostname}|${e.criticality}|${e.online}|${e.implants.length}`).join('\n');
  assert.equal(summary(a), summary(b));
  assert.notEqual(summary(a), summary(c));
  assert.equal(new Set(a.endpoints.map((e) => e.id)).size, 200);
  assert.equal(new Set(a.endpoints.map((e) => e.hostname)).size, 200);
  assert.equal(new Set(a.endpoints.map((e) => e.ip)).size, 200);
});

test('200 endpoints: workstations and servers, some offline, 1% infected including a critical server', () => {
  const fleet = createFleet({ size: 200, seed: 1 });
  const servers = fleet.endpoints.filter((e) => e.role === 'server');
  assert.ok(servers.length > 5 && servers.length < 50, `${servers.length} servers`);
  assert.ok(fleet.endpoints.some((e) => !e.online));
  const infected = fleet.infected();
  assert.equal(infected.length, 2);
  assert.ok(infected.some((e) => e.role === 'server' && e.criticality === 'critical'));
  for (const e of infected) {
    const rows = fleet.registryRows(e).filter((r) => r.name === 'OneDriveUpdate');
    assert.equal(rows.length, e.users.length, 'one implant per user hive');
    assert.match(rows[0]?.key ?? '', /^HKEY_USERS\\S-1-5-21-[\d-]+\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run$/);
    assert.match(rows[0]?.data ?? '', /\\AppData\\Roaming\\/);
  }
  // Every machine has the ordinary Run values a hunt must not flag.
  for (const e of fleet.endpoints) assert.ok(e.registry.get(HKLM_RUN)?.some((v) => v.name === 'SecurityHealth'));
});

test('deleting the implant cleans the endpoint; writing it back (rollback) re-infects it', () => {
  const fleet = createFleet({ size: 50, seed: 3, infected: 1, infectCriticalServer: false });
  const [victim] = fleet.infected();
  assert.ok(victim);
  const implant = victim.implants[0];
  assert.ok(implant);
  const removed = fleet.deleteValue(victim, implant.key.toLowerCase(), 'onedriveupdate');
  assert.equal(removed?.name, 'OneDriveUpdate');
  assert.equal(fleet.infected().length, 0);
  assert.equal(fleet.deleteValue(victim, implant.key, 'OneDriveUpdate'), undefined, 'a second delete finds nothing');
  fleet.setValue(victim, implant.key, removed);
  assert.deepEqual(fleet.infected(), [victim]);
});

test('registry values read as Sysmon EventID 13 events with abbreviated hives', () => {
  const fleet = createFleet({ size: 10, seed: 2, infected: 1 });
  const [victim] = fleet.infected();
  assert.ok(victim);
  const events = fleet.registryEvents(victim);
  assert.ok(events.some((e) => String(e.TargetObject).startsWith('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\SecurityHealth')));
  assert.ok(events.some((e) => /^HKU\\S-1-5-21-.*\\Run\\OneDriveUpdate$/.test(String(e.TargetObject))));
  assert.ok(events.some((e) => e.Details === 'DWORD (0x00000005)'));
});
