import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Containment, openRuntime, type Runtime, rollbackPlaybook, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Guardrails around the action lifecycle, through the real runner, store and HTTP: the case a run works
 * for is known from its first step; blocks are recorded with their inverse and expiry, undone once
 * (by people, subject to policy, or by the expiry sweeper after a restart); the CMDB's criticality
 * reaches policy; a playbook's author cannot approve what it asks for.
 */
const POLICY = `
id: test-containment
version: 1
defaults:
  approval: { approvers: 1, roles: [approver, admin], expires: 1h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: allow-listed-target
    impact: [write, destructive]
    when:
      all:
        - { any_target: { field: target.allow_listed, eq: true } }
        - { field: action.rollback, eq: false }
    decision: deny
    reason: "{target.value} is allow-listed"
  - id: critical-asset
    impact: [write, destructive]
    when: { any_target: { field: target.asset.criticality, eq: critical } }
    decision: require_approval
    reason: "{target.value} is a critical asset ({target.asset.name}, owner {target.asset.owner}, {target.asset.environment})"
  - id: high-confidence
    impact: [destructive]
    when: { field: indicator.confidence, gte: 85 }
    decision: allow
    reason: "confidence {indicator.confidence} is high"
  - id: medium-confidence
    impact: [destructive]
    when: { field: indicator.confidence, lt: 85 }
    decision: require_approval
    reason: "confidence {indicator.confidence} needs a person"
  - id: unblock-held
    actions: [lab.unblock_ip]
    when: { any_target: { field: target.value, eq: "203.0.113.66" } }
    decision: require_approval
    reason: "unblocking {target.value} needs a second look"
  - id: unblock-refused
    actions: [lab.unblock_ip]
    when: { any_target: { field: target.value, eq: "203.0.113.67" } }
    decision: deny
    reason: "{target.value} stays blocked"
  - id: phishing-block
    actions: [phishing.block_indicators]
    decision: allow
    reason: "phishing blocks are allowed here"
  - id: routine-write
    impact: [write]
    decision: allow
    reason: "routine write"
`;
const PHISH_PLAYBOOK = `
id: block-phish
version: 1
title: Block a phishing URL and its sender for a while
inputs:
  url: { type: string }
  sender: { type: string }
  ttl: { type: string, default: 1h }
steps:
  - id: block
    action: phishing.block_indicators
    with: { urls: ["{{ inputs.url }}"], senders: ["{{ inputs.sender }}"], ttl: "{{ inputs.ttl }}" }
`;
const PLAYBOOK = `
id: block-ip
version: 1
title: Block an IP for a while
author: paula
inputs:
  ip: { type: ip }
  confidence: { type: number }
  ttl: { type: string, default: 1h }
steps:
  - id: block
    action: lab.block_ip
    with: { ip: "{{ inputs.ip }}", ttl: "{{ inputs.ttl }}", confidence: "{{ inputs.confidence }}", verdict: malicious }
`;
const ASSETS =
  'name,ip,hostname,owner,criticality,environment\nPayments DB,10.20.0.5,pay-db01.corp.example,Payments,critical,prod\nKiosk,10.20.0.9,,Facilities,low,\n';

/** A loopback firewall: which addresses are blocked now, and how often each was blocked and unblocked. */
const blocked = new Set<string>();
const counts = new Map<string, { block: number; unblock: number }>();
const tally = (ip: string) => {
  const c = counts.get(ip) ?? { block: 0, unblock: 0 };
  counts.set(ip, c);
  return c;
};
const blockIp = defineAction({
  id: 'lab.block_ip',
  title: 'Block an IP at the (loopback) firewall',
  impact: 'destructive',
  inverse: 'lab.unblock_ip',
  input: z.object({ ip: z.string(), ttl: z.union([z.string(), z.number()]).optional() }),
  inverseInput: (input) => ({ ip: input.ip }),
  run(input) {
    blocked.add(input.ip);
    tally(input.ip).block++;
    return { blocked: input.ip };
  },
});
const unblockIp = defineAction({
  id: 'lab.unblock_ip',
  title: 'Unblock an IP at the (loopback) firewall',
  impact: 'write',
  // An inverse of its own: the rollback run must still not record it as a new containment.
  inverse: 'lab.block_ip',
  input: z.object({ ip: z.string() }),
  run(input) {
    blocked.delete(input.ip);
    tally(input.ip).unblock++;
    return { unblocked: input.ip };
  },
});

for (const backend of testBackends()) {
  describe(`containment lifecycle, case links, CMDB and author separation of duties (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-containment-'));
    let testStore: TestStore;
    let runtime: Runtime;
    let app: FastifyInstance;
    const tokens: Record<string, string> = {};

    async function boot(): Promise<void> {
      const config = loadConfig({
        env: testStore.env,
        cwd: dir,
        overrides: {
          'log.level': 'silent',
          'engine.playbooks_dir': join(dir, 'playbooks'),
          'policy.file': join(dir, 'policy.yml'),
          'policy.allow_lists': { partners: [{ name: 'Acme Logistics', cidrs: ['198.51.100.0/24'] }] },
          'approvals.sweep_interval': '100ms',
          data_dir: join(dir, 'data'),
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), {
        env: { RIPOSTE_MASTER_KEY: 'ab'.repeat(32) },
        announce: () => {},
        actions: [blockIp, unblockIp],
        runner: { pollMs: 20 },
      });
      app = await buildServer(serverServices(runtime));
      await app.ready();
      await runtime.engine.start();
    }

    async function shutdown(): Promise<void> {
      await app.close();
      await runtime.close();
    }

    before(async () => {
      blocked.clear();
      counts.clear();
      writeFileSync(join(dir, 'policy.yml'), POLICY);
      writeFileSync(join(dir, 'assets.csv'), ASSETS);
      mkdirSync(join(dir, 'playbooks'));
      writeFileSync(join(dir, 'playbooks', 'block-ip.yml'), PLAYBOOK);
      writeFileSync(join(dir, 'playbooks', 'block-phish.yml'), PHISH_PLAYBOOK);
      testStore = await backend.open();
      await testStore.store.close();
      await boot();
      // Integration instances are loaded at start: configure the CMDB, then start again.
      await runtime.integrations.add({ name: 'cmdb', integration: 'cmdb', config: { file: join(dir, 'assets.csv') } });
      await shutdown();
      await boot();
      for (const [name, roles] of [
        ['alice', ['approver']],
        ['paula', ['approver']],
        ['rex', ['responder']],
        ['vic', ['viewer']],
      ] as const) {
        await runtime.auth.createUser({ name, roles: [...roles] });
        tokens[name] = `Bearer ${(await runtime.auth.createToken({ userName: name })).token}`;
      }
    });
    after(async () => {
      await shutdown();
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const as = (name: string) => ({ authorization: tokens[name] as string });

    async function block(ip: string, confidence: number, options: { caseId?: string; ttl?: string } = {}): Promise<string> {
      const playbook = runtime.playbooks.get('block-ip');
      assert.ok(playbook, 'block-ip playbook loads');
      return runtime.engine.startRun(
        playbook,
        { ip, confidence, ...(options.ttl ? { ttl: options.ttl } : {}) },
        {
          startedBy: 'rita',
          ...(options.caseId ? { caseId: options.caseId } : {}),
        },
      );
    }

    async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }

    const rollback = (who: string, id: string, reason = 'false positive, confirmed with the owner') =>
      app.inject({ method: 'POST', url: `/api/v1/actions/${encodeURIComponent(id)}/rollback?wait=10`, headers: as(who), payload: { reason } });

    async function pendingApproval(
      runId: string,
    ): Promise<{ id: string; request: { arguments_hash: string; policy: { rule: { id: string }; reasons: Array<{ text: string }> } } }> {
      const run = await runtime.engine.waitForRun(runId, 10_000, { untilWaiting: true });
      assert.equal(run.status, 'waiting', `run ${runId} waits for approval`);
      const [record] = await runtime.store.approvals.listByRun(runId);
      assert.ok(record, 'an approval was opened');
      return runtime.guardrails.get(record.id) as never;
    }

    test('a run started for a case puts its very first policy decision on that case, with no link written afterwards', async () => {
      const kase = await runtime.cases.createCase({ title: 'Beaconing to 203.0.113.20', severity: 'high' });
      const runId = await block('203.0.113.20', 95, { caseId: kase.id });
      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded');
      assert.equal(run.caseId, kase.id, 'the case is on the run row');
      assert.deepEqual(await runtime.cases.runsOf(kase.id), [], 'no case_runs link was written: the decision did not need it');
      const timeline = await runtime.cases.timeline(kase.id);
      const decision = timeline.items.find((e) => e.kind === 'policy.decision');
      assert.ok(decision, 'the policy decision of the first step is on the case timeline');
      assert.match(decision.summary, /Policy allowed lab\.block_ip on 203\.0\.113\.20/);
      assert.ok(
        timeline.items.some((e) => e.kind === 'containment.recorded'),
        'the block is recorded on the case with its undo',
      );
    });

    test('a block is recorded with its exact arguments, inverse and expiry; a rollback runs the inverse once, however often it is asked', async () => {
      const runId = await block('203.0.113.21', 95, { ttl: '2h' });
      await runtime.engine.waitForRun(runId, 10_000);
      const id = `${runId}:block`;
      const listed = await app.inject({ url: '/api/v1/actions?status=active', headers: as('vic') });
      assert.equal(listed.statusCode, 200, listed.body);
      const item = listed.json().items.find((a: { id: string }) => a.id === id);
      assert.ok(item, 'a viewer sees the active block');
      assert.deepEqual(item.arguments, { ip: '203.0.113.21', ttl: '2h' });
      assert.deepEqual(item.inverse, { action: 'lab.unblock_ip', arguments: { ip: '203.0.113.21' } });
      assert.equal(item.target, '203.0.113.21');
      assert.equal(item.performed_by, 'rita');
      assert.match(item.reason, /policy high-confidence/);
      const ttl = Date.parse(item.expires_at) - Date.parse(item.created_at);
      assert.ok(ttl > 7_100_000 && ttl <= 7_200_000, `expires 2h after it ran (${ttl} ms)`);

      assert.equal((await app.inject({ url: '/api/v1/actions' })).statusCode, 401);
      assert.equal((await rollback('vic', id)).statusCode, 403, 'a viewer lacks actions:rollback');
      const noReason = await rollback('rex', id, '');
      assert.equal(noReason.statusCode, 400);

      const [first, second] = await Promise.all([rollback('rex', id), rollback('rex', id)]);
      const bodies = [first.json(), second.json()];
      assert.equal(bodies.filter((b) => b.started === true).length, 1, `exactly one call starts the inverse: ${first.body} ${second.body}`);
      const done = await until('the rollback to settle', async () => {
        const row = await runtime.guardrails.containment.get(id);
        return row.status === 'rolling_back' ? undefined : row;
      });
      assert.equal(done.status, 'rolled_back');
      assert.equal(done.rollback?.by, 'rex');
      assert.equal(blocked.has('203.0.113.21'), false);
      const again = await rollback('rex', id);
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'containment.already_rolled_back');
      assert.deepEqual(counts.get('203.0.113.21'), { block: 1, unblock: 1 }, 'blocked once, unblocked once');
      const rollbackRun = done.rollback?.run_id as string;
      assert.equal((await runtime.guardrails.containment.list({ runId: rollbackRun })).length, 0, "the inverse's own inverse is not recorded");
      const detail = await app.inject({ url: `/api/v1/actions/${encodeURIComponent(id)}`, headers: as('vic') });
      assert.equal(detail.json().action.status, 'rolled_back');
    });

    test('the inverse passes policy: a hold is reported with its approval and completes once approved; a denial is reported and nothing is undone', async () => {
      const held = await block('203.0.113.66', 95);
      const refused = await block('203.0.113.67', 95);
      await runtime.engine.waitForRun(held, 10_000);
      await runtime.engine.waitForRun(refused, 10_000);

      const heldReply = await rollback('rex', `${held}:block`);
      assert.equal(heldReply.statusCode, 202, heldReply.body);
      const heldBody = heldReply.json();
      assert.equal(heldBody.action.status, 'rolling_back');
      assert.equal(heldBody.run.status, 'waiting');
      assert.ok(heldBody.approval_id, 'the approval holding the inverse is named');
      assert.equal(blocked.has('203.0.113.66'), true, 'nothing undone before the approval');
      const approval = await runtime.guardrails.get(heldBody.approval_id);
      const approve = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${heldBody.approval_id}/decide`,
        headers: as('alice'),
        payload: { decision: 'approve', arguments_hash: approval.request?.arguments_hash },
      });
      assert.equal(approve.statusCode, 200, approve.body);
      const settled = await until('the held rollback to finish', async () => {
        const row = await runtime.guardrails.containment.get(`${held}:block`);
        return row.status === 'rolling_back' ? undefined : row;
      });
      assert.equal(settled.status, 'rolled_back');
      assert.equal(blocked.has('203.0.113.66'), false);

      const refusedReply = await rollback('rex', `${refused}:block`);
      assert.equal(refusedReply.statusCode, 200, refusedReply.body);
      const refusedBody = refusedReply.json();
      assert.equal(refusedBody.action.status, 'rollback_failed');
      assert.equal(refusedBody.error.code, 'policy.denied');
      assert.match(refusedBody.error.message, /203\.0\.113\.67 stays blocked/);
      assert.equal(blocked.has('203.0.113.67'), true, 'still blocked');
      assert.equal(counts.get('203.0.113.67')?.unblock ?? 0, 0);
    });

    test('an expiry that passes while Riposte is down fires the inverse after the restart, once, on the case and the audit chain', async () => {
      const kase = await runtime.cases.createCase({ title: 'Short block', severity: 'medium' });
      const runId = await block('203.0.113.30', 95, { ttl: '1s', caseId: kase.id });
      await runtime.engine.waitForRun(runId, 10_000);
      const id = `${runId}:block`;
      assert.equal((await runtime.guardrails.containment.get(id)).status, 'active');
      await shutdown();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.equal(blocked.has('203.0.113.30'), true, 'still blocked while nothing runs');
      await boot();
      const row = await until('the expiry to fire', async () => {
        const current = await runtime.guardrails.containment.get(id);
        return current.status === 'expired' || current.status === 'rollback_failed' ? current : undefined;
      });
      assert.equal(row.status, 'expired', JSON.stringify(row.rollback));
      assert.equal(row.rollback?.by, 'system:expiry');
      assert.equal(blocked.has('203.0.113.30'), false);
      assert.deepEqual(counts.get('203.0.113.30'), { block: 1, unblock: 1 });
      // The timeline entry follows the status change (its own write): wait for it rather than race it.
      const kinds = await until('the expiry on the case timeline', async () => {
        const seen = (await runtime.cases.timeline(kase.id)).items.map((e) => e.kind);
        return seen.includes('containment.expired') ? seen : undefined;
      });
      for (const kind of ['containment.recorded', 'containment.expiry', 'containment.expired']) assert.ok(kinds.includes(kind), `${kind} on the case`);
      assert.equal((await runtime.cases.verifyAudit()).ok, true);
    });

    test('a block that hit a partner can be undone (policy sees a genuine rollback); a look-alike run of the rollback playbook cannot', async () => {
      // Recorded before the partner was allow-listed: the kind of block the partner incident left behind.
      blocked.add('198.51.100.9');
      await runtime.store.containedActions.insert({
        id: 'old-run:block',
        runId: 'old-run',
        stepKey: 'block',
        caseId: null,
        action: 'lab.block_ip',
        target: '198.51.100.9',
        arguments: { ip: '198.51.100.9', ttl: '7d' },
        inverseAction: 'lab.unblock_ip',
        inverseArguments: { ip: '198.51.100.9' },
        expiresAt: null,
        performedBy: 'feed:cheap-intel',
        reason: 'policy high-confidence',
      });
      const undone = await rollback('rex', 'old-run:block', 'Acme Logistics is a partner');
      assert.equal(undone.statusCode, 200, undone.body);
      assert.equal(undone.json().action.status, 'rolled_back');
      assert.equal(blocked.has('198.51.100.9'), false);

      blocked.add('198.51.100.10');
      const spoof = await runtime.engine.startRun(
        rollbackPlaybook({ id: 'none', action: 'lab.block_ip', inverseAction: 'lab.unblock_ip', inverseArguments: { ip: '198.51.100.10' } }),
        { arguments: { ip: '198.51.100.10' } },
        { startedBy: 'mallory' },
      );
      const run = await runtime.engine.waitForRun(spoof, 10_000);
      assert.equal(run.status, 'failed');
      assert.equal((run.error as { code?: string } | null)?.code, 'policy.denied');
      assert.equal(blocked.has('198.51.100.10'), true, 'a run that only looks like a rollback is refused on the allow-listed target');
    });

    test('sweepers racing on the same expired action (as several workers do) run its inverse once', async () => {
      const runId = await block('203.0.113.31', 95, { ttl: '1s' });
      await runtime.engine.waitForRun(runId, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // A second sweeper over the same store, as another worker would run it, plus this runtime's own.
      const other = new Containment({ store: runtime.store, cases: runtime.cases, logger: createLogger({ level: 'silent' }) });
      other.attach(runtime.engine);
      const results = await Promise.all([other.sweep(), runtime.guardrails.containment.sweep(), other.sweep()]);
      other.detach();
      assert.ok(results.reduce((n, r) => n + r.expired, 0) <= 1, 'at most one of these sweeps started it (the background one may have won)');
      const row = await until('the expiry to settle', async () => {
        const current = await runtime.guardrails.containment.get(`${runId}:block`);
        return current.status === 'expired' ? current : undefined;
      });
      const undoRuns = (await runtime.engine.listRuns({ playbookId: 'riposte-rollback', limit: 1000 })).filter(
        (r) => JSON.stringify(r.inputs) === JSON.stringify({ arguments: { ip: '203.0.113.31' } }),
      );
      assert.deepEqual(
        undoRuns.map((r) => r.id),
        [row.rollback?.run_id],
        'one inverse run',
      );
      assert.deepEqual(counts.get('203.0.113.31'), { block: 1, unblock: 1 });
    });

    test('a phishing block is a contained action: its rollback takes exactly its entries off the served EDLs, and so does its expiry', async () => {
      const playbook = runtime.playbooks.get('block-phish');
      assert.ok(playbook, 'block-phish playbook loads');
      const first = await runtime.engine.startRun(
        playbook,
        { url: 'https://Login.Examp1e-Corp.top/a#x', sender: 'Ceo@Examp1e-Corp.top' },
        { startedBy: 'rita' },
      );
      assert.equal((await runtime.engine.waitForRun(first, 10_000)).status, 'succeeded');
      const action = await runtime.guardrails.containment.get(`${first}:block`);
      assert.equal(action.status, 'active');
      assert.equal(action.inverse.action, 'phishing.unblock_indicators');
      assert.deepEqual(action.inverse.arguments.urls, ['login.examp1e-corp.top/a']);
      const lifetime = Date.parse(action.expires_at ?? '') - Date.parse(action.created_at);
      assert.ok(Math.abs(lifetime - 3_600_000) < 1000, `expires an hour after it was recorded, not ${lifetime} ms`);
      const listed = await app.inject({ url: '/api/v1/actions?status=active', headers: as('rex') });
      assert.ok(
        (listed.json() as { items: Array<{ id: string }> }).items.some((a) => a.id === action.id),
        listed.body,
      );
      assert.equal(await runtime.edl.render('riposte-urls'), 'login.examp1e-corp.top/a\n');
      assert.equal(await runtime.edl.render('riposte-senders'), 'ceo@examp1e-corp.top\n');
      const undone = await rollback('rex', action.id);
      assert.equal(undone.statusCode, 200, undone.body);
      assert.equal(undone.json().action.status, 'rolled_back');
      assert.equal(await runtime.edl.render('riposte-urls'), '');
      assert.equal(await runtime.edl.render('riposte-senders'), '');

      const second = await runtime.engine.startRun(
        playbook,
        { url: 'https://pay.examp1e-corp.top/b', sender: 'billing@examp1e-corp.top', ttl: '1s' },
        { startedBy: 'rita' },
      );
      assert.equal((await runtime.engine.waitForRun(second, 10_000)).status, 'succeeded');
      assert.equal(await runtime.edl.render('riposte-urls'), 'pay.examp1e-corp.top/b\n');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await runtime.guardrails.containment.sweep();
      const expired = await until('the phishing block to expire', async () => {
        const current = await runtime.guardrails.containment.get(`${second}:block`);
        return current.status === 'expired' || current.status === 'rollback_failed' ? current : undefined;
      });
      assert.equal(expired.status, 'expired', JSON.stringify(expired.rollback));
      assert.equal((await runtime.store.edl.entries('riposte-urls')).length, 0, 'the entry is gone, not only past its expiry');
    });

    test('the CMDB says an address is a critical asset: approval is required even at confidence 95, and the reason names the asset', async () => {
      const runId = await block('10.20.0.5', 95);
      const approval = await pendingApproval(runId);
      assert.equal(approval.request.policy.rule.id, 'critical-asset');
      assert.match(approval.request.policy.reasons[0]?.text ?? '', /10\.20\.0\.5 is a critical asset \(Payments DB, owner Payments, prod\)/);
      assert.equal(counts.get('10.20.0.5'), undefined, 'not blocked');
      await runtime.engine.cancel(runId, 'test');
      const lowAsset = await block('10.20.0.9', 95);
      assert.equal((await runtime.engine.waitForRun(lowAsset, 10_000)).status, 'succeeded', 'a low-criticality asset at 95 is blocked automatically');
    });

    test("the playbook's last author cannot approve what it asks for; another approver can", async () => {
      const runId = await block('203.0.113.40', 70);
      const approval = await pendingApproval(runId);
      const byAuthor = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${approval.id}/decide`,
        headers: as('paula'),
        payload: { decision: 'approve', arguments_hash: approval.request.arguments_hash },
      });
      assert.equal(byAuthor.statusCode, 403);
      assert.equal(byAuthor.json().code, 'approvals.separation_of_duties');
      assert.match(byAuthor.json().detail ?? byAuthor.json().message, /paula is the playbook's last author/);
      const byAlice = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${approval.id}/decide`,
        headers: as('alice'),
        payload: { decision: 'approve', arguments_hash: approval.request.arguments_hash },
      });
      assert.equal(byAlice.json().released, true);
      assert.equal((await runtime.engine.waitForRun(runId, 10_000)).status, 'succeeded');
      assert.equal(counts.get('203.0.113.40')?.block, 1);
    });
  });
}
