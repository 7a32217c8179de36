import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type HuntRunView, openRuntime, type Runtime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { createFleet, EdrBehaviour, fleetDmHandler, SIMULATOR_FLEET_API_TOKEN, startSimulator, type VendorSimulator } from '../src/lab/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Hunt runs survive SIGKILL. A hunt through Fleet finds the infected hosts of a 200-endpoint fleet and
 * its staged remediation starts in a child process; the wave holding the critical server waits for
 * approval. The child is killed while that wave waits; a second process takes the run over and the wave
 * still waits; it is approved from this (third) process, and the second child is killed in the middle of
 * the wave, at the moment the simulator receives a deletion (so that command's answer never reaches the
 * run). A third child finishes the hunt. Every infected host gets exactly one deletion, every implant is
 * gone, and the run, its sightings and waves are there for the API and `riposte hunt list/show`.
 */
const root = new URL('..', import.meta.url).pathname;
const MASTER_KEY = 'c0'.repeat(32);

const spawned: ChildProcess[] = [];

function spawnChild(env: Record<string, string>): { child: ChildProcess; ready: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [new URL('./hunt-crash-child.ts', import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', process.env.HUNT_DEBUG ? 'inherit' : 'ignore'],
  });
  let out = '';
  const ready = new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve(out);
    });
    child.on('exit', () => resolve(out));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  spawned.push(child);
  return { child, ready, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const backend of testBackends()) {
  describe(`hunt runs survive SIGKILL (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-hunt-crash-'));
    const fleet = createFleet({ size: 200, seed: 11, infected: 30 });
    for (const e of fleet.endpoints) e.online = true;
    const critical = fleet.infected().find((e) => e.criticality === 'critical') as (typeof fleet.endpoints)[number];
    /** Deletion scripts received, by host and registry key. */
    const deletions = new Map<string, number>();
    let killOnDeletion: { after: number; child: ChildProcess } | undefined;
    let sim: VendorSimulator;
    let testStore: TestStore;
    let runtime: Runtime;
    let env: Record<string, string>;

    before(async () => {
      const handler = fleetDmHandler(fleet, new EdrBehaviour());
      sim = await startSimulator(
        {
          ...handler,
          handle(request) {
            if (request.path === '/api/v1/fleet/scripts/run' && /Remove-ItemProperty/.test(request.body)) {
              const body = JSON.parse(request.body) as { host_id: number; script_contents: string };
              const command = `${body.host_id} ${/-Path\s+'([^']*)'/.exec(body.script_contents)?.[1]}`;
              deletions.set(command, (deletions.get(command) ?? 0) + 1);
              const total = [...deletions.values()].reduce((a, b) => a + b, 0);
              // Killed as the command arrives: it runs on the host, but the run never hears the answer.
              if (killOnDeletion && total >= killOnDeletion.after) {
                killOnDeletion.child.kill('SIGKILL');
                killOnDeletion = undefined;
              }
            }
            return handler.handle(request);
          },
        },
        { latencyMs: 15 },
      );
      assert.ok(critical, 'the fleet has an infected critical host');
      writeFileSync(join(dir, 'assets.csv'), `name,hostname,owner,criticality,environment\nDC,${critical.hostname},IT,critical,prod\n`);
      testStore = await backend.open();
      await testStore.store.close();
      env = { ...testStore.env, RIPOSTE_MASTER_KEY: MASTER_KEY, RIPOSTE_ADMIN_PASSWORD: 'correct-horse-battery-staple-1', HUNT_CHILD_DIR: dir };
      const config = loadConfig({ env, cwd: dir, overrides: { 'log.level': 'silent', 'integrations.http_allow': ['127.0.0.1'] } });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env, announce: () => {} });
      await runtime.integrations.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await runtime.integrations.add({
        name: 'fleet',
        integration: 'fleetdm',
        config: { baseUrl: sim.url, pollIntervalMs: 10 },
        secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN },
      });
    });
    after(async () => {
      for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await runtime.close();
      await sim.close();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const stored = async (id: string) => runtime.hunts.runs.load(id);
    const criticalWave = (view: HuntRunView) => view.remediation.waves.find((w) => w.hosts.some((h) => h.hostname === critical.hostname));

    test('killed while a critical wave waits and again mid-wave: nothing lost, no host remediated twice, the hunt finishes', { timeout: 180_000 }, async () => {
      const infected = fleet.infected().map((e) => e.hostname);
      assert.equal(infected.length, 30);

      // 1. Hunt and remediation start; the wave with the critical server waits for an approver.
      const first = spawnChild({ ...env, HUNT_CHILD_START: '1' });
      const started = await first.ready;
      const huntId = /hunt (\S+)/.exec(started)?.[1];
      assert.ok(huntId, `the child started a hunt: ${started}`);
      const waiting = await until('the critical wave to wait', async () => {
        const view = await stored(huntId);
        return criticalWave(view)?.status === 'waiting_approval' ? view : undefined;
      });
      const wave = criticalWave(waiting) as HuntRunView['remediation']['waves'][number];
      assert.equal(wave.name, 'rest');
      assert.ok(wave.hosts.length >= 20);
      const before = [...deletions.values()].reduce((a, b) => a + b, 0);
      const sightingsDone = waiting.remediation.waves
        .filter((w) => w.status === 'verified')
        .reduce((n, w) => n + w.hosts.reduce((m, h) => m + h.sightings.length, 0), 0);
      assert.equal(before, sightingsDone, 'one deletion per value found on the waves done');
      first.child.kill('SIGKILL');
      await first.exited;

      // 2. Another process takes the run over; the wave still waits. Approved here, it runs; killed mid-wave.
      const second = spawnChild(env);
      await second.ready;
      await until('the second process to drive the run', async () => ((await stored(huntId)).resumes >= 1 ? true : undefined));
      assert.equal(criticalWave(await stored(huntId))?.status, 'waiting_approval', 'the approval is still awaited after the restart');
      assert.equal(
        [...deletions.values()].reduce((a, b) => a + b, 0),
        before,
        'nothing was sent while the wave waits',
      );
      killOnDeletion = { after: before + 10, child: second.child };
      // A wave this size needs two different approvers.
      assert.equal(wave.approvals_required, 2);
      await runtime.hunts.runs.approve(huntId, wave.index, { kind: 'user', id: 'dana', name: 'dana' });
      await runtime.hunts.runs.approve(huntId, wave.index, { kind: 'user', id: 'dana', name: 'dana' });
      assert.equal(criticalWave(await stored(huntId))?.status, 'waiting_approval', 'the same approver twice is one approval');
      await runtime.hunts.runs.approve(huntId, wave.index, { kind: 'user', id: 'erin', name: 'erin' });
      if (process.env.HUNT_DEBUG) console.error('approved', JSON.stringify((await stored(huntId)).remediation.waves.map((w) => [w.status, w.approved_by])));
      await second.exited;
      const mid = await stored(huntId);
      assert.equal(mid.remediation.status, 'running');
      assert.equal(criticalWave(mid)?.status, 'running', 'killed in the middle of the wave');
      assert.ok(fleet.infected().length > 0, 'the wave had hosts left');

      // 3. A third process finishes it: the command that was in flight is re-checked, not sent again.
      const third = spawnChild(env);
      try {
        await third.ready;
        const done = await until('the remediation to complete', async () => {
          const view = await stored(huntId);
          return view.remediation.status === 'completed' || view.remediation.status === 'halted' ? view : undefined;
        });
        assert.equal(done.remediation.status, 'completed', done.remediation.message ?? '');
        assert.equal(done.resumes, 2);
        assert.deepEqual(fleet.infected(), [], 'every implant is gone');
        assert.deepEqual(
          [...deletions.entries()].filter(([, n]) => n !== 1),
          [],
          'each value found got exactly one deletion',
        );
        assert.equal(deletions.size, done.sightings.length);
        assert.deepEqual(
          done.remediation.waves.flatMap((w) => w.hosts.filter((h) => h.status !== 'verified').map((h) => `${h.hostname} ${h.status}`)),
          [],
        );
        assert.equal(done.progress.hosts_hit, 30);
        assert.deepEqual(criticalWave(done)?.approved_by, ['dana', 'erin']);
        const listed = await runtime.hunts.runs.listAll();
        assert.deepEqual(
          listed.map((h) => h.id),
          [huntId],
        );
        const timeline = await runtime.cases.timeline(done.case_id as string, { limit: 200 });
        const kinds = timeline.items.map((t) => t.kind);
        for (const kind of ['hunt.completed', 'hunt.approval_requested', 'hunt.approval', 'hunt.resumed', 'hunt.wave_resumed', 'hunt.remediation_completed'])
          assert.ok(kinds.includes(kind), `timeline has ${kind}`);
        assert.equal(kinds.filter((k) => k === 'hunt.completed').length, 1, 'one case, opened once');
        const resumedWave = timeline.items.find((t) => t.kind === 'hunt.wave_resumed');
        assert.ok((((resumedWave?.details ?? {}) as { in_flight?: string[] }).in_flight ?? []).length >= 1, 'a deletion was in flight when the process died');
      } finally {
        third.child.kill('SIGKILL');
        await third.exited;
      }

      // 4. The CLI, a new process, shows the hunt with its waves.
      const shown = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [join(root, 'riposte'), 'hunt', 'show', huntId, '--json'],
          { cwd: dir, env: { ...process.env, ...env } },
          (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
      assert.equal(shown.code, 0, shown.stderr);
      const hunt = (JSON.parse(shown.stdout) as { hunt: HuntRunView }).hunt;
      assert.equal(hunt.remediation.status, 'completed');
      assert.equal(hunt.remediation.waves.length, 3);
    });
  });
}
