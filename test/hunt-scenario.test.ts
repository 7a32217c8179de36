import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { huntFromRegistryIoc, huntFromSigma } from '../src/analyzers/index.ts';
import { HuntRuns, type HuntRunView } from '../src/app/hunt-runs.ts';
import { openRuntime, type Runtime } from '../src/app/index.ts';
import { type Actor, createLogger, loadConfig } from '../src/core/index.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../src/integrations/sdk/index.ts';
import {
  createFleet,
  crowdStrikeHandler,
  defenderHandler,
  EdrBehaviour,
  type Fleet,
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
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Scenario 3 end to end over 200 simulated endpoints (issue #8's acceptance): a T1547.001 Run-key hunt
 * through the EDR finds exactly the infected endpoints (an offline one once it comes back), puts them on
 * one case with per-host evidence, remediates in waves (canary, 10%, rest) with the critical server's wave
 * waiting until it is approved, and verifies by re-query. A second fleet where the simulator fails 30% of
 * remediation actions halts at the failing wave, rolls back that wave's completed deletions with their
 * inverse (the captured data written back), and says so on the case. All three EDR paths (Defender,
 * Fleet, CrowdStrike RTR), both store backends.
 */
const RULE = `title: Run key value pointing to a user-writable folder
logsource: {category: registry_set, product: windows}
detection:
    selection_key:
        TargetObject|contains: '\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'
    selection_data:
        Details|contains: '\\AppData\\Roaming\\'
    condition: all of selection_*
tags: [attack.t1547.001]
`;
const approver: Actor = { kind: 'user', id: 'u-lead', name: 'lead' };
const guard = { guard: { allow: ['127.0.0.1'] }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, rateLimit: { perSecond: 200, burst: 50 } };

interface World {
  fleet: Fleet;
  behaviour: EdrBehaviour;
  defender: IntegrationInstance;
  fleetdm: IntegrationInstance;
  crowdstrike: IntegrationInstance;
  sims: VendorSimulator[];
}

async function world(seed: number, infected: number): Promise<World> {
  const fleet = createFleet({ size: 200, seed, infected });
  const behaviour = new EdrBehaviour({ offlineTimeoutMs: 2000, seed });
  const issuer = new TokenIssuer();
  const login = await startSimulator(identityPlatformHandler(issuer));
  const api = await startSimulator(defenderHandler(fleet, issuer, behaviour), { latencyMs: 2 });
  const fd = await startSimulator(fleetDmHandler(fleet, behaviour), { latencyMs: 2 });
  const defender = createIntegrationInstance(
    integrationById('defender') as never,
    {
      name: 'mde',
      config: { baseUrl: api.url, loginUrl: login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID, pollIntervalMs: 5, actionTimeoutMs: 3000 },
      secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
    },
    guard,
  );
  const fleetdm = createIntegrationInstance(
    integrationById('fleetdm') as never,
    { name: 'fleet', config: { baseUrl: fd.url, pollIntervalMs: 5, scriptTimeoutMs: 3000 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
    guard,
  );
  const cs = await startSimulator(crowdStrikeHandler(fleet, behaviour), { latencyMs: 2 });
  const crowdstrike = createIntegrationInstance(
    integrationById('crowdstrike') as never,
    { name: 'falcon', config: { baseUrl: cs.url, clientId: SIMULATOR_FALCON_CLIENT_ID }, secrets: { clientSecret: SIMULATOR_FALCON_CLIENT_SECRET } },
    guard,
  );
  return { fleet, behaviour, defender, fleetdm, crowdstrike, sims: [login, api, fd, cs] };
}

/** Waits until the remediation asks for approval on some wave, then approves that wave. */
async function approveWhenAsked(hunts: HuntRuns, huntId: string): Promise<string[]> {
  const approvedWaves: string[] = [];
  for (let i = 0; i < 400; i++) {
    const view = hunts.get(huntId);
    const waiting = view.remediation.waves.find((w) => w.status === 'waiting_approval');
    if (waiting) {
      assert.ok(waiting.hosts.some((h) => h.criticality === 'critical' && h.status === 'waiting_approval'));
      await hunts.approve(huntId, waiting.index, approver);
      approvedWaves.push(waiting.name);
    }
    if (view.remediation.status === 'completed' || view.remediation.status === 'halted') return approvedWaves;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`remediation did not finish: ${JSON.stringify(hunts.get(huntId).remediation, null, 1).slice(0, 3000)}`);
}

for (const backend of testBackends()) {
  describe(`hunt scenario: T1547.001 over 200 endpoints (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-hunt-'));
    let testStore: TestStore;
    let runtime: Runtime;
    const worlds: World[] = [];

    before(async () => {
      testStore = await backend.open();
      await testStore.store.close();
      const config = loadConfig({ env: testStore.env, cwd: dir, overrides: { 'log.level': 'silent', data_dir: join(dir, 'data') } });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: { RIPOSTE_MASTER_KEY: 'ef'.repeat(32) }, announce: () => {} });
    });
    after(async () => {
      for (const w of worlds) for (const sim of w.sims) await sim.close();
      await runtime.close();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    for (const edr of ['defender', 'fleetdm', 'crowdstrike'] as const) {
      test(`${edr}: hunt finds the infected, one case with evidence, waves with the critical server approved, verified by re-query`, async () => {
        const w = await world(42, 8);
        worlds.push(w);
        for (const e of w.fleet.infected()) e.online = true;
        const late = w.fleet.infected().find((e) => e.role !== 'server') as (typeof w.fleet.endpoints)[number];
        // One infected workstation is offline when the hunt starts and comes back a moment later.
        late.online = false;
        setTimeout(() => {
          late.online = true;
        }, 400);
        const critical = w.fleet.infected().find((e) => e.criticality === 'critical' && e.role === 'server');
        assert.ok(critical, 'the fleet has an infected critical server');
        const hunts = new HuntRuns({ cases: runtime.cases, logger: runtime.logger, criticality: async (h) => w.fleet.endpoint(h)?.criticality });
        const instance = w[edr];
        const progress: HuntRunView['progress'][] = [];
        const view = await hunts.run(huntFromSigma(RULE), {
          edr: instance,
          retryIntervalMs: 100,
          // RTR reads each user hive with its own command: the first pass takes longer than Fleet's live queries.
          expiresInMs: edr === 'crowdstrike' ? 6000 : 1500,
          onProgress: (v) => {
            progress.push(v.progress);
            if (process.env.HUNT_DEBUG) console.error(v.progress);
          },
        });
        assert.deepEqual(view.errors, []);
        if (edr !== 'defender') {
          // Hosts that never came back are still pending when the hunt expires.
          assert.equal(view.status, 'expired');
          assert.equal(view.progress.pending, w.fleet.endpoints.filter((e) => !e.online).length);
        } else assert.equal(view.status, 'completed');
        const expected = w.fleet
          .infected()
          .map((e) => e.hostname)
          .sort();
        assert.deepEqual([...new Set(view.sightings.map((s) => s.hostname))].sort(), expected);
        assert.ok(progress.length >= 1);
        if (edr !== 'defender')
          assert.ok(
            progress.some((p) => p.pending > 0),
            'the offline host was pending, then retried',
          );
        assert.ok(view.case_id);
        const kase = await runtime.cases.getCase(view.case_id);
        assert.deepEqual(kase.techniques, ['T1547.001']);
        const evidence = await runtime.cases.listEvidence(view.case_id);
        assert.equal(evidence.length, expected.length);
        const one = await runtime.cases.getEvidence(view.case_id, (evidence[0] as { id: string }).id);
        assert.match(new TextDecoder().decode(one.content), /OneDriveUpdate/);

        const plan = await hunts.plan(view.id);
        assert.deepEqual(
          plan.map((p) => [p.name, p.hosts.length]),
          [
            ['canary', 1],
            ['10%', 1],
            ['rest', expected.length - 2],
          ],
        );
        assert.notEqual(plan[0]?.hosts[0]?.criticality, 'critical', 'the canary is not the critical server');

        const remediation = hunts.remediate(view.id);
        const approved = await approveWhenAsked(hunts, view.id);
        const done = await remediation;
        assert.equal(done.remediation.status, 'completed', done.remediation.message ?? '');
        assert.deepEqual(approved, ['rest']);
        assert.equal(w.fleet.infected().length, 0, 'every implant is gone from the fleet');
        // Re-query: the same hunt finds nothing now.
        const again = await hunts.run(
          huntFromRegistryIoc(
            { keyPath: 'HKEY_USERS\\*\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', valueName: 'OneDriveUpdate' },
            { attack: ['T1547.001'] },
          ),
          { edr: instance, dryRun: true, expiresInMs: 0 },
        );
        assert.equal(again.sightings.length, 0);
        const timeline = await runtime.cases.timeline(view.case_id, { limit: 200 });
        const kinds = timeline.items.map((t) => t.kind);
        for (const k of [
          'hunt.completed',
          'hunt.remediation_planned',
          'hunt.approval_requested',
          'hunt.approval',
          'hunt.wave_done',
          'hunt.remediation_completed',
        ])
          assert.ok(kinds.includes(k), `timeline has ${k}`);
        const audit = await runtime.cases.auditList({ action: 'hunt.remediate_wave', limit: 50 });
        assert.ok(audit.items.length >= 3);
      });

      test(`${edr}: a wave where 30% of actions fail halts, rolls back the wave, and says so on the case`, async () => {
        const w = await world(7, 40);
        worlds.push(w);
        for (const e of w.fleet.infected()) e.online = true;
        const before = new Map(w.fleet.infected().map((e) => [e.hostname, e.implants.length]));
        const hunts = new HuntRuns({ cases: runtime.cases, logger: runtime.logger, criticality: async () => 'medium' });
        const instance = w[edr];
        const view = await hunts.run(huntFromSigma(RULE), { edr: instance, expiresInMs: 2000 });
        assert.equal(new Set(view.sightings.map((s) => s.host_id)).size, 40);
        // Canary and 10% wave succeed; then the simulator starts failing 30% of remediation actions.
        let waves = 0;
        const timer = setInterval(() => {
          const current = hunts.get(view.id).remediation.waves;
          if (waves === 0 && current[1]?.status === 'verified') {
            waves = 1;
            w.behaviour.setFailureRate(0.3, 99);
          }
        }, 5);
        const done = await hunts.remediate(view.id, { twoApproversAbove: 1000 });
        clearInterval(timer);
        assert.equal(done.remediation.status, 'halted');
        const rest = done.remediation.waves[2];
        assert.equal(rest?.status, 'halted');
        assert.ok((rest?.failures ?? 0) > 0);
        assert.ok(w.behaviour.injectedFailures > 0);
        assert.match(done.remediation.message ?? '', /Halted: \d+ of \d+ host\(s\) failed in wave rest .*rolled back \d+ change/);
        // The rest wave's hosts have their values back (rolled back or never deleted); the first waves stay clean.
        const cleaned = [...(done.remediation.waves[0]?.hosts ?? []), ...(done.remediation.waves[1]?.hosts ?? [])].map((h) => h.hostname);
        for (const h of rest?.hosts ?? []) {
          const rolledBackOrFailed = h.status === 'rolled_back' || h.status === 'failed' || h.status === 'rollback_failed';
          assert.ok(rolledBackOrFailed, `${h.hostname} is ${h.status}`);
        }
        for (const host of cleaned) assert.equal(w.fleet.endpoint(host)?.implants.length, 0);
        const restored = (rest?.hosts ?? []).filter((h) => h.status === 'rolled_back');
        assert.ok(restored.length > 0);
        if ((rest?.hosts ?? []).some((h) => h.status === 'rollback_failed')) assert.match(done.remediation.message ?? '', /rollback failed on/);
        for (const h of restored) assert.equal(w.fleet.endpoint(h.hostname)?.implants.length, before.get(h.hostname));
        const timeline = await runtime.cases.timeline(view.case_id as string, { limit: 200 });
        const halted = timeline.items.find((t) => t.kind === 'hunt.remediation_halted');
        assert.ok(halted, 'the halt is on the case');
        assert.match(halted.summary, /rolled back/);
        const audit = await runtime.cases.auditList({ action: 'hunt.rollback', limit: 50 });
        assert.ok(audit.items.length >= 1);
      });
    }
  });
}
