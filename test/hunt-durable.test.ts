import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCasesService, type HuntRunView, HuntService } from '../src/app/index.ts';
import type { CasesService } from '../src/cases/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { integrationById } from '../src/integrations/catalog.ts';
import { textFromAdf } from '../src/integrations/jira/index.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../src/integrations/sdk/index.ts';
import {
  createFleet,
  EdrBehaviour,
  fleetDmHandler,
  jiraHandler,
  SIMULATOR_API_KEY,
  SIMULATOR_FLEET_API_TOKEN,
  startSimulator,
  type VendorSimulator,
} from '../src/lab/index.ts';
import type { Store } from '../src/store/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Hunt runs in the store, across processes (each HuntService here stands for one `riposte serve`): a run
 * started by one is listed and shown, sightings and waves included, by a service that did not start it; a
 * remediation waiting for approval is handed back when its process stops, and of two processes looking
 * for runs to continue exactly one takes it; the other can still approve the wave, and the one driving it
 * finishes the remediation. With a Jira instance configured, every wave has one change ticket naming its
 * hosts and the change, with the verification result added, and the restart opens none twice.
 */
const logger = createLogger({ level: 'silent' });

for (const backend of testBackends()) {
  describe(`durable hunt runs (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-hunt-durable-'));
    const fleet = createFleet({ size: 60, seed: 5, infected: 4 });
    for (const e of fleet.endpoints) e.online = true;
    const critical = fleet.infected().find((e) => e.criticality === 'critical');
    let sim: VendorSimulator;
    let t: TestStore;
    let instance: IntegrationInstance;
    let tickets: IntegrationInstance;
    const jira = jiraHandler();
    let jiraSim: VendorSimulator;
    const stores: Store[] = [];
    let casesService: CasesService;

    /** One "process": its own store connection, cases service and hunt service. */
    async function process$(): Promise<HuntService> {
      const store = stores.length === 0 ? t.store : await t.reopen();
      stores.push(store);
      const config = loadConfig({ env: t.env, cwd: dir, overrides: { 'log.level': 'silent' } });
      const cases = buildCasesService(store, config, logger);
      casesService = cases;
      return new HuntService({
        cases,
        logger,
        store,
        instances: async () => [instance, tickets],
        criticality: async (hostname) => fleet.endpoint(hostname)?.criticality,
        runs: { leaseMs: 400, approvalPollMs: 30 },
      });
    }

    before(async () => {
      sim = await startSimulator(fleetDmHandler(fleet, new EdrBehaviour()));
      instance = createIntegrationInstance(
        integrationById('fleetdm') as never,
        { name: 'fleet', config: { baseUrl: sim.url, pollIntervalMs: 5 }, secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN } },
        { guard: { allow: ['127.0.0.1'] } },
      );
      jiraSim = await startSimulator(jira);
      tickets = createIntegrationInstance(
        integrationById('jira') as never,
        { name: 'changes', config: { baseUrl: jiraSim.url, email: 'soc@example.com', project: 'CHG' }, secrets: { apiToken: SIMULATOR_API_KEY } },
        { guard: { allow: ['127.0.0.1'] } },
      );
      t = await backend.open();
    });
    after(async () => {
      for (const store of stores.slice(1)) await store.close();
      await t.dispose();
      await sim.close();
      await jiraSim.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('listed and shown elsewhere; one of two processes continues a waiting remediation; the approval from the other finishes it', async () => {
      assert.ok(critical, 'an infected critical server');
      const first = await process$();
      const actor = { kind: 'user' as const, id: 'alice', name: 'alice' };
      const hunt = await first.run(
        { ioc: { key_path: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', value_name: 'OneDriveUpdate' }, edr: 'fleet' },
        actor,
      );
      assert.equal(hunt.progress.hosts_hit, 4);
      await first.remediate(hunt.id, actor);
      const waitingWave = async (service: HuntService): Promise<HuntRunView | undefined> => {
        const view = await service.runs.load(hunt.id);
        return view.remediation.waves.some((w) => w.status === 'waiting_approval') ? view : undefined;
      };
      let waiting: HuntRunView | undefined;
      for (let i = 0; i < 400 && !waiting; i++) {
        waiting = await waitingWave(first);
        if (!waiting) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(waiting, 'the critical wave waits');
      // The process stops (a restart): its lease is handed back, the run stays waiting in the store.
      await first.runs.stop();

      const [second, third] = [await process$(), await process$()];
      const elsewhere = await second.runs.load(hunt.id);
      assert.deepEqual(elsewhere.sightings, hunt.sightings, 'sightings are kept');
      assert.deepEqual(
        elsewhere.remediation.waves.map((w) => [w.name, w.status]),
        waiting.remediation.waves.map((w) => [w.name, w.status]),
      );
      assert.deepEqual(
        (await third.runs.listAll()).map((h) => h.id),
        [hunt.id],
      );
      const [a, b] = await Promise.all([second.runs.resumeOrphans(), third.runs.resumeOrphans()]);
      assert.equal(a.length + b.length, 1, 'exactly one process drives the run');
      const [driver, other] = a.length === 1 ? [second, third] : [third, second];
      await assert.rejects(other.remediate(hunt.id, actor), /remediation is waiting_approval/);
      const wave = (await other.runs.load(hunt.id)).remediation.waves.find(
        (w) => w.status === 'waiting_approval',
      ) as HuntRunView['remediation']['waves'][number];
      await other.runs.approve(hunt.id, wave.index, { kind: 'user', id: 'bob', name: 'bob' });
      let done: HuntRunView | undefined;
      for (let i = 0; i < 400; i++) {
        done = await other.runs.load(hunt.id);
        if (done.remediation.status === 'completed' || done.remediation.status === 'halted') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(done?.remediation.status, 'completed', done?.remediation.message ?? '');
      assert.equal(done?.resumes, 1);
      assert.deepEqual(fleet.infected(), []);
      assert.equal(driver.runs.get(hunt.id).remediation.status, 'completed');

      // One change ticket per wave, none twice across the restart: hosts, change, and the verification result.
      const waves = done?.remediation.waves ?? [];
      assert.equal(jira.issues.size, waves.length);
      for (const wave of waves) {
        const issue = jira.issues.get(wave.ticket?.key ?? '');
        assert.ok(issue, `wave ${wave.name} has its ticket`);
        assert.equal(wave.ticket?.instance, 'changes');
        const description = textFromAdf(issue.fields.description);
        for (const h of wave.hosts) assert.ok(description.includes(h.hostname), `${h.hostname} named on ${issue.key}`);
        assert.match(description, /delete the registry value\(s\) .*OneDriveUpdate/);
        assert.equal(issue.comments.length, 1, `one result on ${issue.key}`);
        assert.match(
          textFromAdf(issue.comments[0]?.body),
          new RegExp(`${wave.hosts.length} of ${wave.hosts.length} host\\(s\\) remediated and verified by re-query`),
        );
      }
      const timeline = await casesService.timeline(done?.case_id as string, { limit: 200 });
      assert.equal(timeline.items.filter((e) => e.kind === 'hunt.wave_ticket').length, waves.length, 'each ticket is linked on the case');
      await second.runs.stop();
      await third.runs.stop();
    });
  });
}
