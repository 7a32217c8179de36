import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { RiposteError } from '../core/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { builtinActions, defineAction, Engine, type Playbook, parsePlaybookYaml, type RunnerEvent } from './index.ts';

const effects: Array<{ key: string; ip: string }> = [];
let flakyCalls = new Map<string, number>();

const actions = builtinActions()
  .register(
    defineAction({
      id: 'test.lookup',
      title: 'Look something up',
      impact: 'read',
      input: z.object({ value: z.unknown() }),
      run: (input) => ({ seen: input.value }),
    }),
  )
  .register(
    defineAction({
      id: 'test.block',
      title: 'Block an IP',
      impact: 'destructive',
      input: z.object({ ip: z.string() }),
      describeEffect: (input) => `block ${input.ip}`,
      run: (input, context) => {
        effects.push({ key: context.idempotencyKey, ip: input.ip });
        return { blocked: input.ip };
      },
    }),
  )
  .register(
    defineAction({
      id: 'test.flaky',
      title: 'Fails twice, then works',
      impact: 'write',
      input: z.object({ fail_times: z.number().default(2), retryable: z.boolean().default(true) }),
      run: (input, context) => {
        const calls = (flakyCalls.get(context.idempotencyKey) ?? 0) + 1;
        flakyCalls.set(context.idempotencyKey, calls);
        if (calls <= input.fail_times) throw new RiposteError('test.flaky', `failure ${calls}`, { retryable: input.retryable });
        return { calls, key: context.idempotencyKey };
      },
    }),
  )
  .register(
    defineAction({
      id: 'test.slow',
      title: 'Takes 5 s unless aborted',
      impact: 'read',
      input: z.object({}),
      run: (_input, context) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve({ slow: true }), 5000);
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(context.signal.reason);
          });
        }),
    }),
  )
  .register(
    defineAction({
      id: 'test.throttled',
      title: 'Answers 429 with Retry-After once',
      impact: 'read',
      input: z.object({}),
      run: (_input, context) => {
        if (context.attempt === 1) throw new RiposteError('http.status', 'answered 429', { retryable: true, details: { status: 429, retry_after_ms: 300 } });
        return { ok: context.attempt };
      },
    }),
  )
  .register(
    defineAction({
      id: 'test.secretive',
      title: 'Echoes its token',
      impact: 'read',
      input: z.object({ token: z.string() }),
      run: (input) => ({ echoed: `token was ${input.token}` }),
    }),
  );

function playbook(yaml: string, playbooks?: Map<string, Playbook>): Playbook {
  const { playbook: loaded, issues } = parsePlaybookYaml(yaml, { actions, playbooks: playbooks && { get: (id) => playbooks.get(id) } });
  assert.deepEqual(issues, []);
  return loaded as Playbook;
}

const fiveSteps = playbook(`
id: five
version: 1
title: Five steps
inputs: { ip: { type: ipv4 } }
outputs: { blocked: "{{ steps.block.output.blocked }}", n: "{{ vars.n }}" }
steps:
  - { id: one, action: test.lookup, with: { value: "{{ inputs.ip }}" } }
  - { id: two, set: { n: "{{ 40 + 2 }}" } }
  - id: three
    parallel:
      - { id: a, action: test.lookup, with: { value: 1 } }
      - { id: b, action: test.lookup, with: { value: 2 } }
  - id: four
    if: "{{ steps.one.output.seen == inputs.ip }}"
    then:
      - { id: block, action: test.block, with: { ip: "{{ inputs.ip }}" } }
    else:
      - { id: never, fail: "should not happen" }
  - { id: five, action: core.log, with: { message: "done {{ steps.three.output.a.seen }}" } }
`);

const fanout = playbook(`
id: fanout
version: 1
title: Fan out
inputs: { hosts: { type: array } }
outputs: { results: "{{ steps.each.output }}" }
steps:
  - id: each
    foreach:
      items: "{{ inputs.hosts }}"
      concurrency: 3
      do:
        - { id: look, action: test.lookup, with: { value: "{{ item }}" } }
        - id: pick
          switch: "{{ index % 2 }}"
          cases:
            "0": [ { id: even, set: { kind: even } } ]
          default: [ { id: odd, set: { kind: odd } } ]
        - { id: result, action: core.transform, with: { value: "{{ item }}={{ vars.kind }}" } }
`);

for (const backend of testBackends()) {
  describe(`engine runs (${backend.backend})`, () => {
    let t: TestStore;
    let engine: Engine;
    const events: RunnerEvent[] = [];
    before(async () => {
      t = await backend.open();
      engine = new Engine({
        store: t.store,
        actions,
        secrets: { names: () => ['api_token'], resolve: async (name) => (name === 'api_token' ? 's3cr3t-value' : undefined) },
        runner: { pollMs: 20, exclusive: true },
      });
      engine.onEvent((event) => events.push(event));
      await engine.start();
    });
    after(async () => {
      await engine.stop();
      await t.dispose();
    });

    test('a five-step run completes with outputs, history and one effect per idempotency key', async () => {
      effects.length = 0;
      const id = await engine.startRun(fiveSteps, { ip: '198.51.100.9' });
      const run = await engine.waitForRun(id, 10_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.output, { blocked: '198.51.100.9', n: 42 });
      assert.deepEqual(effects, [{ key: `${id}:block`, ip: '198.51.100.9' }]);
      const history = (await engine.getRun(id, { history: true })).steps ?? [];
      assert.deepEqual(
        history.map((s) => s.key),
        ['one', 'a', 'b', 'block', 'five'],
      );
      assert.deepEqual(history[0]?.input, { value: '198.51.100.9' });
    });

    test('foreach honours its concurrency, keys iterations by index and keeps order', async () => {
      let concurrent = 0;
      let peak = 0;
      const off = engine.onEvent((event) => {
        if (event.type === 'step' && event.key?.endsWith('.look')) {
          if (event.status === 'started') peak = Math.max(peak, ++concurrent);
          if (event.status === 'completed') concurrent--;
        }
      });
      const id = await engine.startRun(fanout, { hosts: ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'] });
      const run = await engine.waitForRun(id, 10_000);
      off();
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.output, { results: ['h0=even', 'h1=odd', 'h2=even', 'h3=odd', 'h4=even', 'h5=odd', 'h6=even'] });
      assert.ok(peak <= 3, `at most 3 iterations at once, saw ${peak}`);
      const keys = ((await engine.getRun(id, { history: true })).steps ?? []).map((s) => s.key);
      assert.ok(keys.includes('each[6].look') && keys.includes('each[0].result'));
    });

    test('retries keep the idempotency key, honour attempts and record each failure', async () => {
      flakyCalls = new Map();
      const pb = playbook(`
id: retrying
version: 1
title: Retry
steps:
  - { id: flaky, action: test.flaky, with: { fail_times: 2 }, retry: { attempts: 3, backoff: 10ms } }
  - { id: hopeless, action: test.flaky, with: { fail_times: 5 }, retry: { attempts: 2, backoff: 10ms }, on_error: continue }
  - { id: fatal, action: test.flaky, with: { fail_times: 1, retryable: false }, retry: { attempts: 5 }, on_error: { goto: last } }
  - { id: skipped, action: core.log, with: { message: never } }
  - { id: last, action: core.transform, with: { value: "{{ steps.hopeless.status }}/{{ steps.fatal.error.code }}/{{ steps.skipped is defined }}" } }
`);
      const id = await engine.startRun(pb, {});
      const run = await engine.waitForRun(id, 10_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(run.output, 'failed/test.flaky/false');
      assert.equal(flakyCalls.get(`${id}:flaky`), 3);
      assert.equal(flakyCalls.get(`${id}:hopeless`), 2);
      assert.equal(flakyCalls.get(`${id}:fatal`), 1, 'a non-retryable error is not retried');
      const steps = (await engine.getRun(id, { history: true })).steps ?? [];
      assert.equal(steps.find((s) => s.key === 'flaky')?.attempts, 3);
    });

    test('a step over its timeout is aborted and retried; Retry-After sets the retry time', async () => {
      const pb = playbook(`
id: timing
version: 1
title: Timing
steps:
  - { id: slow, action: test.slow, timeout: 30ms, retry: { attempts: 2, backoff: 1ms }, on_error: continue }
  - { id: throttled, action: test.throttled, retry: { attempts: 2, backoff: 1ms, jitter: false } }
`);
      const id = await engine.startRun(pb, {});
      const run = await engine.waitForRun(id, 10_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const journal = await t.store.engine.journal(id);
      const slow = journal.filter((e) => e.stepKey === 'slow').map((e) => [e.kind, (e.data as { error?: { code: string } }).error?.code]);
      assert.deepEqual(slow, [
        ['attempt_failed', 'engine.step_timeout'],
        ['step_failed', 'engine.step_timeout'],
      ]);
      const throttled = journal.find((e) => e.stepKey === 'throttled' && e.kind === 'attempt_failed');
      assert.ok(throttled, 'the 429 attempt is journaled');
      const retryAt = (throttled.data as { retry_at: number }).retry_at;
      assert.ok(retryAt - throttled.at >= 290, 'waited at least what Retry-After asked, not the 1 ms backoff');
      assert.deepEqual(run.output, { ok: 2 });
    });

    test('approvals are durable waits decided through the API; rejections fail the step', async () => {
      const pb = playbook(`
id: approve
version: 1
title: Approve
steps:
  - { id: ask, approval: { prompt: "Block it?" } }
  - { id: after, action: core.transform, with: { value: "{{ steps.ask.output.actor }}" } }
`);
      const approved = await engine.startRun(pb, {});
      const rejected = await engine.startRun(pb, {});
      for (const id of [approved, rejected]) assert.equal((await engine.waitForRun(id, 10_000, { untilWaiting: true })).status, 'waiting');
      const open = await engine.listApprovals();
      assert.ok(open.some((w) => w.runId === approved && w.stepKey === 'ask'));
      await engine.decide(approved, 'ask', { decision: 'approve', actor: 'alice', comment: 'go' });
      await engine.decide(rejected, 'ask', { decision: 'reject', actor: 'bob' });
      await assert.rejects(engine.decide(approved, 'ask', { decision: 'approve', actor: 'eve' }), /already resolved/);
      assert.equal((await engine.waitForRun(approved, 10_000)).output, 'alice');
      const failed = await engine.waitForRun(rejected, 10_000);
      assert.equal(failed.status, 'failed');
      assert.equal((failed.error as { code: string }).code, 'engine.approval_rejected');
    });

    test('timer and event waits; an event wait times out with timed_out', async () => {
      const pb = playbook(`
id: waits
version: 1
title: Waits
steps:
  - { id: nap, wait: { duration: 50ms } }
  - { id: signal, wait: { event: "ticket.closed", timeout: 5s } }
  - { id: quiet, wait: { event: "never.happens", timeout: 50ms } }
  - { id: out, action: core.transform, with: { value: "{{ steps.signal.output.payload.ticket }}/{{ steps.quiet.output.timed_out }}" } }
`);
      const id = await engine.startRun(pb, {});
      for (let i = 0; i < 100 && (await engine.emitEvent('ticket.closed', { ticket: 'T-1' })).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const run = await engine.waitForRun(id, 10_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(run.output, 'T-1/true');
    });

    test('call runs a sub-playbook as a child run and returns its output', async () => {
      const child = playbook(`
id: child
version: 1
title: Child
inputs: { n: { type: integer } }
outputs: { doubled: "{{ inputs.n * 2 }}" }
steps: [ { id: noop, action: core.log, with: { message: child } } ]
`);
      const parent = playbook(
        `
id: parent
version: 1
title: Parent
steps:
  - { id: sub, call: { playbook: child, with: { n: 21 } } }
  - { id: out, action: core.transform, with: { value: "{{ steps.sub.output.doubled }}" } }
`,
        new Map([['child', child]]),
      );
      const local = new Engine({ store: t.store, actions, playbooks: { get: (id) => (id === 'child' ? child : undefined) }, runner: { pollMs: 20 } });
      await engine.stop();
      await local.start();
      try {
        const id = await local.startRun(parent, {});
        const run = await local.waitForRun(id, 10_000);
        assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
        assert.equal(run.output, 42);
        const children = await local.listRuns({ parentRunId: id });
        assert.equal(children[0]?.status, 'succeeded');
      } finally {
        await local.stop();
        await engine.start();
      }
    });

    test('cancel stops a waiting run; resume retries only the failed step', async () => {
      const waiting = await engine.startRun(playbook('id: w\nversion: 1\ntitle: W\nsteps: [ { id: ask, approval: { prompt: "?" } } ]\n'), {});
      await engine.waitForRun(waiting, 10_000, { untilWaiting: true });
      const cancelled = await engine.cancel(waiting, 'alice');
      assert.equal(cancelled.status, 'cancelled');
      await assert.rejects(engine.decide(waiting, 'ask', { decision: 'approve', actor: 'bob' }), /already resolved/);

      flakyCalls = new Map();
      const pb = playbook(`
id: resumable
version: 1
title: Resumable
steps:
  - { id: first, action: test.block, with: { ip: "192.0.2.1" } }
  - { id: second, action: test.flaky, with: { fail_times: 1, retryable: false } }
`);
      effects.length = 0;
      const id = await engine.startRun(pb, {});
      assert.equal((await engine.waitForRun(id, 10_000)).status, 'failed');
      await engine.resume(id, 'alice');
      const resumed = await engine.waitForRun(id, 10_000);
      assert.equal(resumed.status, 'succeeded', JSON.stringify(await engine.getRun(id, { history: true })));
      assert.equal(effects.length, 1, 'the completed first step did not run again');
      assert.equal(flakyCalls.get(`${id}:second`), 2);

      const rerun = await engine.rerunFrom(id, 'second');
      // A new run: the first step's result is reused, the second runs again under the new run's key.
      assert.equal((await engine.waitForRun(rerun, 10_000)).status, 'failed');
      assert.equal(flakyCalls.get(`${rerun}:second`), 1);
      assert.equal(effects.length, 1, 're-running from the second step reuses the first step');
    });

    test('dry-run executes reads and simulates destructive actions', async () => {
      effects.length = 0;
      const simulated: RunnerEvent[] = [];
      const off = engine.onEvent((event) => event.type === 'effect' && simulated.push(event));
      const id = await engine.startRun(fiveSteps, { ip: '198.51.100.10' }, { mode: 'dry_run' });
      const run = await engine.waitForRun(id, 10_000);
      off();
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(effects, []);
      assert.equal(simulated.length, 1);
      assert.match(JSON.stringify(simulated[0]?.detail), /block 198\.51\.100\.10/);
    });

    test('secrets are resolved only for the action and never stored', async () => {
      const pb = playbook(`
id: secret
version: 1
title: Secret
steps: [ { id: call, action: test.secretive, with: { token: "Bearer {{ secrets.api_token }}" } } ]
`);
      const id = await engine.startRun(pb, {});
      const run = await engine.waitForRun(id, 10_000, {});
      assert.equal(run.status, 'succeeded');
      const stored = JSON.stringify(await engine.getRun(id, { history: true }));
      assert.doesNotMatch(stored, /s3cr3t-value/);
      assert.match(stored, /token was Bearer \[secret\]/);
    });

    test('inputs are checked against the declared types', async () => {
      await assert.rejects(engine.startRun(fiveSteps, { ip: 'not-an-ip' }), /input "ip" must be an IPv4 address/);
      await assert.rejects(engine.startRun(fiveSteps, {}), /input "ip" is required/);
      await assert.rejects(engine.startRun(fiveSteps, { ip: '192.0.2.1', extra: 1 }), /input "extra" is not declared/);
    });

    test('a run keeps the definition it started with, even if the file changes without a version bump', async () => {
      const original = playbook(
        'id: pinned\nversion: 1\ntitle: P\nsteps:\n  - { id: ask, approval: { prompt: "?" } }\n  - { id: out, action: core.transform, with: { value: original } }\n',
      );
      const edited = playbook(
        'id: pinned\nversion: 1\ntitle: P\nsteps:\n  - { id: ask, approval: { prompt: "?" } }\n  - { id: out, action: core.transform, with: { value: edited } }\n',
      );
      const first = await engine.startRun(original, {});
      await engine.waitForRun(first, 10_000, { untilWaiting: true });
      const second = await engine.startRun(edited, {});
      await engine.waitForRun(second, 10_000, { untilWaiting: true });
      for (const id of [first, second]) await engine.decide(id, 'ask', { decision: 'approve', actor: 'pat' });
      assert.equal((await engine.waitForRun(first, 10_000)).output, 'original');
      assert.equal((await engine.waitForRun(second, 10_000)).output, 'edited');
    });

    test('two runners on one store share the work without running any step twice', async () => {
      const counted = new Map<string, number>();
      const counting = builtinActions().register(
        defineAction({
          id: 'test.count',
          title: 'Counts calls per idempotency key',
          impact: 'write',
          input: z.object({}),
          run: async (_input, context) => {
            counted.set(context.idempotencyKey, (counted.get(context.idempotencyKey) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            return { ok: true };
          },
        }),
      );
      const pb = parsePlaybookYaml('id: shared\nversion: 1\ntitle: S\nsteps:\n  - { id: a, action: test.count }\n  - { id: b, action: test.count }\n', {
        actions: counting,
      }).playbook as Playbook;
      await engine.stop();
      const workers = [0, 1].map(() => new Engine({ store: t.store, actions: counting, runner: { pollMs: 10, maxActiveRuns: 40 } }));
      const seen = new Map<number, number>();
      workers.forEach((worker, i) => {
        worker.onEvent((event) => {
          if (event.type === 'run' && event.status === 'succeeded') seen.set(i, (seen.get(i) ?? 0) + 1);
        });
      });
      try {
        const ids = await workers[0]?.startRuns(Array.from({ length: 200 }, () => ({ playbook: pb, inputs: {} })));
        await Promise.all(workers.map((worker) => worker.start()));
        for (const id of ids ?? []) assert.equal((await workers[0]?.waitForRun(id, 20_000))?.status, 'succeeded');
        assert.equal(counted.size, 400);
        assert.deepEqual([...new Set(counted.values())], [1], 'every step ran exactly once');
        assert.equal((seen.get(0) ?? 0) + (seen.get(1) ?? 0), 200);
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
        await engine.start();
      }
    });

    test('stopping the runner mid-action does not fail the step; it runs again after the restart', async () => {
      const pb = playbook('id: interrupted\nversion: 1\ntitle: I\nsteps:\n  - { id: slow, action: test.slow }\n');
      const id = await engine.startRun(pb, {});
      for (let i = 0; i < 200 && (await engine.getRun(id)).status !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
      await engine.stop();
      const stopped = await engine.getRun(id, { history: true });
      assert.equal(stopped.status, 'running', 'not failed by the shutdown');
      assert.deepEqual(stopped.steps, []);
      assert.equal(stopped.leaseOwner, null, 'the lease was handed back');
      const quick = builtinActions().register(
        defineAction({ id: 'test.slow', title: 'Now quick', impact: 'read', input: z.object({}), run: () => ({ quick: true }) }),
      );
      const restarted = new Engine({ store: t.store, actions: quick, runner: { pollMs: 10 } });
      await restarted.start();
      try {
        assert.deepEqual((await restarted.waitForRun(id, 10_000)).output, { quick: true });
      } finally {
        await restarted.stop();
        await engine.start();
      }
    });

    test('a run waiting on an approval survives a restart of the runner and store', async () => {
      const pb = playbook(
        'id: survive\nversion: 1\ntitle: S\nsteps:\n  - { id: ask, approval: { prompt: "?" } }\n  - { id: then_log, action: core.transform, with: { value: ok } }\n',
      );
      const id = await engine.startRun(pb, {});
      await engine.waitForRun(id, 10_000, { untilWaiting: true });
      await engine.stop();
      const store = await t.reopen();
      const restarted = new Engine({ store, actions, runner: { pollMs: 20, exclusive: true } });
      await restarted.start();
      try {
        await restarted.decide(id, 'ask', { decision: 'approve', actor: 'carol' });
        assert.equal((await restarted.waitForRun(id, 10_000)).output, 'ok');
      } finally {
        await restarted.stop();
        await store.close();
        await engine.start();
      }
    });
  });
}
