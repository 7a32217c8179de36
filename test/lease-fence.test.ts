import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { builtinActions, defineAction, Engine, type Playbook, parsePlaybookYaml } from '../src/engine/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * The lease fence inside one process, on both backends: a runner whose lease was taken over while its
 * step was executing (here: another owner claims the run after the lease expired) must not commit that
 * step's result, and must let go of the run; the new holder's result is the only one in the journal.
 */
for (const backend of testBackends()) {
  describe(`lease fence (${backend.backend})`, () => {
    let t: TestStore;
    before(async () => {
      t = await backend.open();
    });
    after(async () => {
      await t.dispose();
    });

    test('a runner that lost its lease mid-step commits nothing for that run', { timeout: 30_000 }, async () => {
      let release: (() => void) | undefined;
      let markStarted: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        markStarted = resolve;
      });
      const held = defineAction({
        id: 'test.held',
        title: 'Waits until released',
        impact: 'write',
        input: z.object({}),
        run: () =>
          new Promise<{ by: string }>((done) => {
            release = () => done({ by: 'stale' });
            markStarted();
          }),
      });
      const actions = builtinActions().register(held);
      const runner = new Engine({ store: t.store, actions, runner: { owner: 'stale-runner', pollMs: 20, leaseMs: 60_000 } });
      const { playbook, issues } = parsePlaybookYaml('id: fenced\nversion: 1\ntitle: Fenced\nsteps:\n  - { id: held, action: test.held, with: {} }\n', {
        actions,
      });
      assert.deepEqual(issues, []);
      const runId = await runner.startRun(playbook as Playbook, {});
      await runner.start();
      try {
        await started;
        // Another worker takes the run over as if the lease had expired (we were cut off that long).
        const taken = await t.store.engine.claimRunnable('new-owner', Date.now() + 120_000, 60_000, 10);
        assert.deepEqual(
          taken.map((r) => r.id),
          [runId],
        );
        release?.();
        for (let i = 0; i < 200 && runner.runner.stats().staleResultsRefused === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(runner.runner.stats().staleResultsRefused, 1, 'the commit fence refused the stale result');
        assert.equal(runner.runner.activeRuns, 0, 'the runner let go of the run');
        const journal = await t.store.engine.journal(runId);
        assert.deepEqual(
          journal.filter((e) => e.kind === 'step_completed'),
          [],
          'nothing from the stale runner reached the journal',
        );
        const row = await t.store.engine.getRun(runId);
        assert.equal(row?.leaseOwner, 'new-owner', 'the new owner still holds the run');
        assert.equal(row?.status, 'running');
      } finally {
        await runner.stop();
      }
    });
  });
}
