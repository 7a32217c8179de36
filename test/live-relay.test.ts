import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRuntime, type RunningWorker, type Runtime, startWorker } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import type { LiveEvent } from '../src/server/index.ts';
import type { Store } from '../src/store/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Live updates across processes: on PostgreSQL an analyst's browser is connected to one API process while
 * `riposte worker` processes execute the runs. What a worker does must reach that process's stream, and
 * nothing but well-formed live events may (a broadcast is only a notification; anything with the database
 * could send one).
 */
const GATED = `
id: gated-relay
version: 1
title: Gated
inputs: { note: { type: string } }
steps:
  - { id: prepare, action: core.transform, with: { value: "{{ inputs.note }}" } }
  - { id: ask, approval: { prompt: "ok?" } }
  - { id: done, action: core.transform, with: { value: "{{ inputs.note }}" } }
`;

function collect(subscribe: (listener: (event: LiveEvent) => void) => () => void) {
  const events: LiveEvent[] = [];
  const waiters = new Set<() => void>();
  const off = subscribe((event) => {
    events.push(event);
    for (const wake of waiters) wake();
  });
  const until = (match: (event: LiveEvent) => boolean, what: string) =>
    new Promise<LiveEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what}; heard ${JSON.stringify(events)}`)), 20_000);
      const check = () => {
        const found = events.find(match);
        if (found) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        }
      };
      waiters.add(check);
      check();
    });
  return { events, until, off };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const backend of testBackends()) {
  describe(`store broadcast (${backend.backend})`, () => {
    test(
      backend.backend === 'postgres'
        ? 'reaches every listener on the same schema, not another schema, and refuses oversized payloads'
        : 'is a no-op on the single-process SQLite store',
      async () => {
        const first = await backend.open();
        const other = await backend.open();
        const second: Store = await first.reopen({ migrate: false });
        try {
          const heard: string[] = [];
          const elsewhere: string[] = [];
          const stop = await second.listenForBroadcasts((payload) => heard.push(payload));
          const stopOther = await other.store.listenForBroadcasts((payload) => elsewhere.push(payload));
          await first.store.broadcast('{"hello":"world\\nwith a newline"}');
          if (backend.backend === 'postgres') {
            await waitFor(() => heard.length === 1, 'the broadcast on the same schema');
            assert.deepEqual(heard, ['{"hello":"world\\nwith a newline"}']);
            await assert.rejects(first.store.broadcast('x'.repeat(8000)), /at most 7000 bytes/);
          } else {
            await new Promise((resolve) => setTimeout(resolve, 50));
            assert.deepEqual(heard, []);
          }
          assert.deepEqual(elsewhere, [], 'another schema (another Riposte) hears nothing');
          await stop();
          await stopOther();
        } finally {
          await second.close();
          await other.dispose();
          await first.dispose();
        }
      },
    );
  });
}

const pg = testBackends().find((b) => b.backend === 'postgres');

describe('live updates from a worker reach the API process (postgres)', { skip: !pg && 'needs RIPOSTE_TEST_PG_URL' }, () => {
  let testStore: TestStore;
  let runtime: Runtime;
  let worker: RunningWorker;
  const dir = mkdtempSync(join(tmpdir(), 'riposte-relay-'));

  before(async () => {
    if (!pg) return;
    writeFileSync(join(dir, 'gated.yml'), GATED);
    testStore = await pg.open();
    await testStore.store.close();
    // The API process runs no playbooks: every step below is the worker's.
    const config = loadConfig({
      env: testStore.env,
      cwd: tmpdir(),
      overrides: { 'log.level': 'silent', 'engine.playbooks_dir': dir, 'engine.runner': false },
    });
    runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
    worker = await startWorker(config, { pollMs: 50, logger: createLogger({ level: 'silent' }), id: 'relay-worker' });
  });
  after(async () => {
    await worker?.close();
    await runtime?.close();
    await testStore?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('a run the worker executes is told to the API process: steps, the wait for approval, the end', async () => {
    const heard = collect((listener) => runtime.live.subscribe(listener));
    const playbook = runtime.playbooks.get('gated-relay');
    assert.ok(playbook);
    const runId = await runtime.engine.startRun(playbook, { note: 'relay me' }, { mode: 'live', startedBy: 'test' });
    await heard.until((e) => e.topic === 'runs' && e.run_id === runId && e.type === 'step.status' && e.step === 'prepare', 'the worker’s first step');
    await heard.until((e) => e.topic === 'runs' && e.run_id === runId && e.type === 'run.status' && e.status === 'waiting', 'the run parked');
    await heard.until((e) => e.topic === 'approvals' && e.run_id === runId, 'the approvals inbox told');
    // Nothing of the run's inputs travels (the stream names ids and statuses only).
    assert.ok(!JSON.stringify(heard.events).includes('relay me'));

    await runtime.engine.decide(runId, 'ask', { decision: 'approve', actor: 'someone', comment: 'fine' });
    await heard.until((e) => e.topic === 'runs' && e.run_id === runId && e.type === 'run.status' && e.status === 'succeeded', 'the run’s end');
    heard.off();
  });

  test('a broadcast that is not a well-formed live event never reaches a browser', async () => {
    const heard = collect((listener) => runtime.live.subscribe(listener));
    const send = (payload: unknown) => worker.store.broadcast(typeof payload === 'string' ? payload : JSON.stringify(payload));
    await send('not json');
    await send({ o: 'elsewhere', e: [{ topic: 'runs', type: 'run.status', run_id: 'r1', inputs: { secret: 'x' } }] });
    await send({ o: 'elsewhere', e: [{ topic: 'secrets', type: 'x' }] });
    await send({ o: 'elsewhere', e: [{ topic: 'cases', type: 'case.updated', case_id: { $gt: '' } }] });
    await send({ o: 'elsewhere', e: 'cases' });
    await send({ o: 'elsewhere', e: [{ topic: 'cases', type: 'case.updated', case_id: 'c-well-formed' }] });
    const good = await heard.until((e) => e.case_id === 'c-well-formed', 'the well-formed event');
    assert.deepEqual(good, { topic: 'cases', type: 'case.updated', case_id: 'c-well-formed' });
    assert.equal(heard.events.length, 1, `only the well-formed event: ${JSON.stringify(heard.events)}`);
    heard.off();
  });
});
