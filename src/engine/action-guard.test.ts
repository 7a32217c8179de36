import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { type TestStore, testBackends } from '../store/testing.ts';
import type { ActionGuard, GuardOutcome, GuardRequest } from './action-guard.ts';
import { builtinActions, defineAction, Engine, type Playbook, parsePlaybookYaml } from './index.ts';

/**
 * The runner's guard hook with a fake guard (the engine knows no policy): allow runs, deny fails the
 * step, require_approval parks it on a durable wait that only the guard's outcome ends, and a released
 * step acts once with the arguments the guard releases.
 */
const effects: Array<{ key: string; ip: string }> = [];
const actions = builtinActions().register(
  defineAction({
    id: 'test.block',
    title: 'Block an IP',
    impact: 'destructive',
    input: z.object({ ip: z.string() }),
    run: (input, context) => {
      effects.push({ key: context.idempotencyKey, ip: input.ip });
      return { blocked: input.ip };
    },
  }),
);

const PLAYBOOK = `
id: guarded
version: 1
title: Guarded block
inputs: { ip: { type: string } }
steps:
  - { id: block, action: test.block, with: { ip: "{{ inputs.ip }}", confidence: 90 }, on_error: continue }
  - { id: done, action: core.transform, with: { value: "{{ steps.block.status }}" } }
`;

class FakeGuard implements ActionGuard {
  readonly checks: GuardRequest[] = [];
  readonly outcomes = new Map<string, GuardOutcome>();
  expiresIn = 3_600_000;
  async check(request: GuardRequest) {
    this.checks.push(request);
    const ip = request.arguments.ip;
    if (ip === '192.0.2.1') return { decision: 'allow' as const };
    if (ip === '192.0.2.2') return { decision: 'deny' as const, error: { code: 'policy.denied', message: 'partner', rule: 'allow-listed-target' } };
    return { decision: 'require_approval' as const, approvalId: `ap-${request.run.id}`, expiresAt: Date.now() + this.expiresIn };
  }
  async settle(approvalId: string) {
    return this.outcomes.get(approvalId) ?? { status: 'pending' as const };
  }
  async release(_approvalId: string) {
    // An approver shortened the block to a narrower address: the action must use it.
    return { arguments: { ip: '192.0.2.99' } };
  }
}

for (const backend of testBackends()) {
  describe(`runner guard hook (${backend.backend})`, () => {
    let t: TestStore;
    let engine: Engine;
    const guard = new FakeGuard();
    const playbook = parsePlaybookYaml(PLAYBOOK, { actions }).playbook as Playbook;
    before(async () => {
      t = await backend.open();
      engine = new Engine({ store: t.store, actions, guard, runner: { pollMs: 20 } });
      await engine.start();
    });
    after(async () => {
      await engine.stop();
      await t.dispose();
    });

    test('allow runs the action; deny fails the step with the guard error and on_error applies', async () => {
      const allowed = await engine.startRun(playbook, { ip: '192.0.2.1' });
      const denied = await engine.startRun(playbook, { ip: '192.0.2.2' });
      assert.equal((await engine.waitForRun(allowed, 5000)).status, 'succeeded');
      assert.equal((await engine.waitForRun(denied, 5000)).status, 'succeeded');
      assert.ok(effects.some((e) => e.key === `${allowed}:block`));
      assert.ok(!effects.some((e) => e.key === `${denied}:block`));
      const step = (await engine.getRun(denied, { history: true })).steps?.find((s) => s.key === 'block');
      assert.deepEqual(step?.error, { code: 'policy.denied', message: 'partner', retryable: false, rule: 'allow-listed-target' });
      const check = guard.checks.find((c) => c.run.id === allowed);
      assert.deepEqual(check?.rawInput, { ip: '192.0.2.1', confidence: 90 }, 'the guard sees the step input with its indicator facts');
    });

    test('require_approval waits durably; a release runs the action once with the released arguments', async () => {
      const id = await engine.startRun(playbook, { ip: '192.0.2.3' });
      const waiting = await engine.waitForRun(id, 5000, { untilWaiting: true });
      assert.equal(waiting.status, 'waiting');
      assert.equal(effects.filter((e) => e.key === `${id}:block`).length, 0);
      const [wait] = await engine.listApprovals({ runId: id });
      assert.equal((wait?.request as { approval_id: string } | undefined)?.approval_id, `ap-${id}`);
      await assert.rejects(engine.decide(id, 'block', { decision: 'approve', actor: 'mallory' }), { code: 'engine.policy_approval' });
      await engine.resolveGuardedApproval(id, 'block', { approvalId: `ap-${id}`, status: 'released' });
      await assert.rejects(engine.resolveGuardedApproval(id, 'block', { approvalId: `ap-${id}`, status: 'released' }), { code: 'conflict' });
      assert.equal((await engine.waitForRun(id, 5000)).status, 'succeeded');
      assert.deepEqual(
        effects.filter((e) => e.key === `${id}:block`),
        [{ key: `${id}:block`, ip: '192.0.2.99' }],
      );
    });

    test('a wait that falls due asks the guard; a rejection fails the step', async () => {
      guard.expiresIn = 50;
      const id = await engine.startRun(playbook, { ip: '192.0.2.4' });
      guard.outcomes.set(`ap-${id}`, { status: 'rejected', error: { code: 'policy.approval_expired', message: 'expired unanswered' } });
      assert.equal((await engine.waitForRun(id, 5000)).status, 'succeeded');
      const step = (await engine.getRun(id, { history: true })).steps?.find((s) => s.key === 'block');
      assert.equal((step?.error as { code: string } | undefined)?.code, 'policy.approval_expired');
      assert.equal(effects.filter((e) => e.key === `${id}:block`).length, 0);
      guard.expiresIn = 3_600_000;
    });
  });
}
