import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { openRuntime, type Runtime, serverServices } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import { hashArguments, SLACK_APPROVE_ACTION, slackSignature } from '../src/policy/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Guardrails through the real runner and HTTP: policy decides before a destructive action, approvals
 * held by policy are decided through the API, one-time links and Slack, and the action runs exactly once
 * (a loopback side-effect counter keyed by idempotency key) with the approved arguments.
 */
const SLACK_SECRET = 'slack-signing-secret-for-tests';
const POLICY = `
id: test-guardrails
version: 1
defaults:
  approval: { approvers: 2, roles: [approver, admin], expires: 1h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: allow-listed-target
    impact: [write, destructive]
    when: { any_target: { field: target.allow_listed, eq: true } }
    decision: deny
    reason: "{target.value} is on the {target.allow_list.kind} allow-list {target.allow_list.name} ({target.allow_list.entry})"
  - id: low-confidence
    impact: [destructive]
    when: { field: indicator.confidence, lt: 50 }
    decision: deny
    reason: "indicator confidence {indicator.confidence} is below 50: annotate only"
  - id: two-person
    impact: [destructive]
    when: { field: indicator.confidence, gte: 50 }
    decision: require_approval
    approval: { approvers: 2, expires: 1h }
    reason: "blocking {action.arguments.ip} needs two people"
  - id: blast-radius
    impact: [destructive]
    when: { field: history.same_kind_last_hour, gte: 50 }
    decision: require_approval
    approval: { approvers: 3, page_on_call: true, expires: 1h }
    reason: "{history.same_kind_last_hour} blocks in the last hour: the wave stops for three people and pages the on-call"
`;
const PLAYBOOK = `
id: block-ip
version: 1
title: Block an IP when policy lets us
inputs:
  ip: { type: ip }
  confidence: { type: number }
steps:
  - id: block
    action: lab.block_ip
    with: { ip: "{{ inputs.ip }}", ttl_hours: 24, confidence: "{{ inputs.confidence }}", verdict: malicious, indicator_source: "feed:cheap-intel" }
    on_error: continue
  - id: after
    action: core.transform
    with: { value: "{{ steps.block.status }}" }
`;

/** Loopback firewall: how many times each idempotency key acted, and with which arguments. */
const effects = new Map<string, { count: number; input: unknown }>();
const blockIp = defineAction({
  id: 'lab.block_ip',
  title: 'Block an IP at the (loopback) firewall',
  impact: 'destructive',
  inverse: 'lab.unblock_ip',
  input: z.object({ ip: z.string(), ttl_hours: z.number().optional() }),
  run(input, context) {
    const seen = effects.get(context.idempotencyKey) ?? { count: 0, input };
    effects.set(context.idempotencyKey, { count: seen.count + 1, input });
    return { blocked: input.ip };
  },
});

for (const backend of testBackends()) {
  describe(`guardrails through the runner and HTTP (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-guardrails-'));
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
          'policy.allow_lists': {
            partners: [{ name: 'Acme Logistics', cidrs: ['198.51.100.0/24'] }],
            warning_list_hits: [{ value: '104.16.132.229', list: 'cloudflare' }],
          },
          'slack.signing_secret': SLACK_SECRET,
          'slack.users': { UALICE: 'alice', UBOB: 'bob', URITA: 'rita' },
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {}, actions: [blockIp], runner: { pollMs: 20 } });
      app = await buildServer(serverServices(runtime));
      await app.ready();
      await runtime.engine.start();
    }

    async function shutdown(): Promise<void> {
      await app.close();
      await runtime.close();
    }

    before(async () => {
      writeFileSync(join(dir, 'policy.yml'), POLICY);
      const playbooks = join(dir, 'playbooks');
      mkdirSync(playbooks);
      writeFileSync(join(playbooks, 'block-ip.yml'), PLAYBOOK);
      testStore = await backend.open();
      await testStore.store.close();
      await boot();
      for (const [name, roles] of [
        ['alice', ['approver']],
        ['bob', ['approver']],
        ['rita', ['approver']],
        ['root', ['admin']],
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

    async function startBlock(ip: string, confidence: number, startedBy = 'rita'): Promise<string> {
      const playbook = runtime.playbooks.get('block-ip');
      assert.ok(playbook, 'block-ip playbook loads');
      return runtime.engine.startRun(playbook, { ip, confidence }, { startedBy });
    }

    async function pendingApprovalOf(runId: string): Promise<{ id: string; hash: string }> {
      const run = await runtime.engine.waitForRun(runId, 10_000, { untilWaiting: true });
      assert.equal(run.status, 'waiting', `run ${runId} waits for approval`);
      const inbox = await app.inject({ url: '/api/v1/approvals', headers: as('alice') });
      assert.equal(inbox.statusCode, 200);
      const item = inbox.json().items.find((a: { run_id: string; kind: string }) => a.run_id === runId && a.kind === 'policy');
      assert.ok(item, 'the policy approval is in the shared inbox');
      const detail = await app.inject({ url: `/api/v1/approvals/${item.id}`, headers: as('alice') });
      return { id: item.id, hash: detail.json().approval.request.arguments_hash };
    }

    const decide = (who: string, id: string, hash: string, decision = 'approve') =>
      app.inject({ method: 'POST', url: `/api/v1/approvals/${id}/decide`, headers: as(who), payload: { decision, arguments_hash: hash } });

    function slackClick(user: string, id: string, hash: string, options: { secret?: string; at?: number } = {}) {
      const payload = {
        type: 'block_actions',
        user: { id: user, username: user.toLowerCase() },
        actions: [{ action_id: SLACK_APPROVE_ACTION, value: `${id}:${hash}` }],
        response_url: 'https://hooks.slack.invalid/actions/1',
      };
      const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const timestamp = String(Math.floor((options.at ?? Date.now()) / 1000));
      return {
        method: 'POST' as const,
        url: '/api/v1/webhooks/slack/interactions',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': slackSignature(options.secret ?? SLACK_SECRET, timestamp, body),
        },
        payload: body,
      };
    }

    test('partner incident replay: a confidence-40 feed naming a partner IP and a CDN address blocks nothing, and the case says why', async () => {
      const kase = await runtime.cases.createCase({ title: 'Cheap intel feed hit', severity: 'high' });
      const runs: string[] = [];
      await runtime.engine.stop();
      for (const ip of ['198.51.100.23', '104.16.132.229']) {
        const id = await startBlock(ip, 40);
        await runtime.cases.linkRun(kase.id, id);
        runs.push(id);
      }
      await runtime.engine.start();
      for (const id of runs) {
        const run = await runtime.engine.waitForRun(id, 10_000);
        assert.equal(run.status, 'succeeded', 'the playbook carries on (on_error: continue)');
        const view = await runtime.engine.getRun(id, { history: true });
        const block = view.steps?.find((s) => s.key === 'block');
        assert.equal(block?.status, 'failed');
        assert.equal((block?.error as { code: string } | undefined)?.code, 'policy.denied');
        assert.ok(!effects.has(`${id}:block`), 'no block reached the firewall');
      }
      const timeline = await runtime.cases.timeline(kase.id);
      const decisions = timeline.items.filter((e) => e.kind === 'policy.decision');
      assert.equal(decisions.length, 2);
      const text = decisions.map((e) => `${e.summary} ${JSON.stringify(e.details)}`).join('\n');
      assert.match(text, /198\.51\.100\.23 is on the partner allow-list Acme Logistics/);
      assert.match(text, /104\.16\.132\.229 is on the warning_list allow-list cloudflare/);
      assert.match(text, /confidence 40 is below 50/);
      const audit = await runtime.cases.auditList({ action: 'timeline.policy.decision' });
      assert.ok(audit.items.length >= 2, 'the decisions are on the audit chain');
    });

    test('two-person approval: wrong approvers, stale links, forged and replayed Slack clicks are refused; two approvers release the block once', async () => {
      const runId = await startBlock('203.0.113.9', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      assert.equal(hash, hashArguments({ ip: '203.0.113.9', ttl_hours: 24 }));

      const byInitiator = await decide('rita', id, hash);
      assert.equal(byInitiator.statusCode, 403);
      assert.equal(byInitiator.json().code, 'approvals.separation_of_duties');
      const byViewer = await decide('vic', id, hash);
      assert.equal(byViewer.statusCode, 403, 'a viewer lacks approvals:decide');

      const first = await decide('alice', id, hash);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json().released, false);
      const twice = await decide('alice', id, hash);
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().code, 'approvals.duplicate_approver');

      const stale = await decide('bob', id, 'f'.repeat(64));
      assert.equal(stale.json().code, 'approvals.arguments_changed');

      const { token } = await runtime.guardrails.createLink(id, 'bob', 'approve', 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const expired = await app.inject({ method: 'POST', url: `/api/v1/approval-links?token=${token}` });
      assert.equal(expired.statusCode, 410);
      assert.equal(expired.json().code, 'approvals.link_expired');

      const forged = await app.inject(slackClick('UBOB', id, hash, { secret: 'not-the-signing-secret' }));
      assert.equal(forged.statusCode, 401);
      assert.equal(forged.json().code, 'slack.bad_signature');
      const unsigned = await app.inject({ ...slackClick('UBOB', id, hash), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(unsigned.json().code, 'slack.signature_missing');

      assert.equal(effects.get(`${runId}:block`), undefined, 'nothing ran before the quorum');
      const click = slackClick('UBOB', id, hash);
      const released = await app.inject(click);
      assert.equal(released.statusCode, 200, released.body);
      assert.match(JSON.stringify(released.json()), /approved by alice, bob/);
      const replayed = await app.inject(click);
      assert.equal(replayed.statusCode, 409);
      assert.equal(replayed.json().code, 'slack.replayed');
      const late = await decide('root', id, hash);
      assert.equal(late.json().code, 'approvals.already_resolved');

      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded');
      assert.equal(effects.get(`${runId}:block`)?.count, 1, 'the block ran exactly once');
    });

    test('an approval whose arguments were altered in storage after signing is not acted on', async () => {
      const runId = await startBlock('203.0.113.10', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      assert.equal((await decide('alice', id, hash)).statusCode, 200);
      const stored = await runtime.store.approvals.get(id);
      assert.ok(stored);
      const doc = stored.document as { arguments: Record<string, unknown> };
      doc.arguments = { ...doc.arguments, ip: '198.51.100.1' };
      assert.equal(await runtime.store.approvals.update(stored, stored.revision), true);
      assert.equal((await decide('bob', id, hash)).statusCode, 200);
      await runtime.engine.waitForRun(runId, 10_000);
      const view = await runtime.engine.getRun(runId, { history: true });
      const block = view.steps?.find((s) => s.key === 'block');
      assert.equal((block?.error as { code: string } | undefined)?.code, 'approvals.arguments_altered');
      assert.equal(effects.get(`${runId}:block`), undefined);
    });

    test('edited arguments within policy run as edited; a rejection fails the step with policy.approval_rejected', async () => {
      const runId = await startBlock('203.0.113.11', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      const edit = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/edit`,
        headers: as('alice'),
        payload: { arguments: { ip: '203.0.113.11', ttl_hours: 4 }, arguments_hash: hash, comment: 'four hours is enough' },
      });
      assert.equal(edit.statusCode, 200, edit.body);
      const newHash = edit.json().approval.request.arguments_hash;
      const denied = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/edit`,
        headers: as('alice'),
        payload: { arguments: { ip: '198.51.100.7', ttl_hours: 4 }, arguments_hash: newHash },
      });
      assert.equal(denied.json().code, 'approvals.edit_denied', 'an edit onto a partner address is refused');
      assert.equal((await decide('alice', id, newHash)).statusCode, 200);
      assert.equal((await decide('bob', id, newHash)).json().released, true);
      await runtime.engine.waitForRun(runId, 10_000);
      assert.deepEqual(effects.get(`${runId}:block`), { count: 1, input: { ip: '203.0.113.11', ttl_hours: 4 } });

      const rejectedRun = await startBlock('203.0.113.12', 70, 'rita');
      const second = await pendingApprovalOf(rejectedRun);
      const reject = await decide('rita', second.id, second.hash, 'reject');
      assert.equal(reject.json().rejected, true, 'the initiator may withdraw');
      const run = await runtime.engine.waitForRun(rejectedRun, 10_000);
      const block = (await runtime.engine.getRun(run.id, { history: true })).steps?.find((s) => s.key === 'block');
      assert.equal((block?.error as { code: string } | undefined)?.code, 'policy.approval_rejected');
      assert.equal(effects.get(`${rejectedRun}:block`), undefined);
    });

    test('separation of duties cannot be bypassed: second token, session plus token, renaming, blank break-glass reason', async () => {
      const runId = await startBlock('203.0.113.14', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      const password = 'sod-bypass-password-0123';
      await runtime.auth.updateUser('alice', { password });
      await runtime.auth.updateUser('rita', { password });
      const session = async (username: string) => {
        const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
        assert.equal(login.statusCode, 200, login.body);
        return { cookie: (login.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]).join('; '), 'x-csrf-token': login.json().csrf_token as string };
      };
      const decideWith = (headers: Record<string, string>) =>
        app.inject({ method: 'POST', url: `/api/v1/approvals/${id}/decide`, headers, payload: { decision: 'approve', arguments_hash: hash } });

      assert.equal((await decide('alice', id, hash)).statusCode, 200);
      const secondToken = `Bearer ${(await runtime.auth.createToken({ userName: 'alice', name: 'second' })).token}`;
      const viaSecondToken = await decideWith({ authorization: secondToken });
      assert.equal(viaSecondToken.json().code, 'approvals.duplicate_approver', viaSecondToken.body);
      const viaSession = await decideWith(await session('alice'));
      assert.equal(viaSession.json().code, 'approvals.duplicate_approver', viaSession.body);
      const initiatorSession = await decideWith(await session('rita'));
      assert.equal(initiatorSession.json().code, 'approvals.separation_of_duties', initiatorSession.body);
      const initiatorToken = await decideWith({ authorization: `Bearer ${(await runtime.auth.createToken({ userName: 'rita', name: 'fresh' })).token}` });
      assert.equal(initiatorToken.json().code, 'approvals.separation_of_duties');

      // Names are the approver identity, so they cannot change: there is no rename, and a new user with a
      // look-alike name is a different person who still needs approvals:decide.
      const rename = await app.inject({ method: 'PATCH', url: '/api/v1/users/alice', headers: as('root'), payload: { name: 'alice2' } });
      // Fastify strips unknown body properties: the request changes nothing rather than failing.
      assert.ok(rename.statusCode === 400 || rename.json().name === 'alice', rename.body);
      assert.equal(await runtime.auth.getUser('alice2').catch(() => 'absent'), 'absent');
      const recreate = await app.inject({ method: 'POST', url: '/api/v1/users', headers: as('root'), payload: { name: 'alice', roles: ['approver'] } });
      assert.equal(recreate.statusCode, 409, recreate.body);

      for (const reason of ['', '   ', '\n\t', 'x']) {
        const blank = await app.inject({ method: 'POST', url: `/api/v1/approvals/${id}/break-glass`, headers: as('root'), payload: { reason } });
        assert.ok(blank.statusCode >= 400 && blank.statusCode < 500, `break-glass with ${JSON.stringify(reason)} → ${blank.statusCode}`);
      }
      assert.equal(effects.get(`${runId}:block`), undefined, 'no bypass released the action');
      const released = await decide('bob', id, hash);
      assert.equal(released.json().released, true, released.body);
      await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(effects.get(`${runId}:block`)?.count, 1);
    });

    test('break-glass needs an admin and a reason, and is flagged for review', async () => {
      const runId = await startBlock('203.0.113.13', 70, 'rita');
      const { id } = await pendingApprovalOf(runId);
      const notAdmin = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/break-glass`,
        headers: as('alice'),
        payload: { reason: 'ransomware spreading now' },
      });
      assert.equal(notAdmin.json().code, 'approvals.break_glass_forbidden');
      const noReason = await app.inject({ method: 'POST', url: `/api/v1/approvals/${id}/break-glass`, headers: as('root'), payload: { reason: 'now' } });
      assert.equal(noReason.json().code, 'approvals.reason_required');
      const ok = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/break-glass`,
        headers: as('root'),
        payload: { reason: 'ransomware spreading now' },
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().approval.review_required, true);
      await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(effects.get(`${runId}:block`)?.count, 1);
    });

    test('a one-time link shows a confirmation page, acts once on POST, and refuses a second use', async () => {
      const runId = await startBlock('203.0.113.14', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      assert.equal((await decide('alice', id, hash)).statusCode, 200);
      const { token } = await runtime.guardrails.createLink(id, 'bob', 'approve');
      const page = await app.inject({ url: `/api/v1/approval-links?token=${token}` });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /text\/html/);
      assert.match(page.body, /Approve lab\.block_ip/);
      const use = await app.inject({
        method: 'POST',
        url: `/api/v1/approval-links?token=${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: '',
      });
      assert.equal(use.statusCode, 200, use.body);
      assert.equal(use.json().released, true);
      const again = await app.inject({ method: 'POST', url: `/api/v1/approval-links?token=${token}` });
      assert.equal(again.json().code, 'approvals.link_used');
      await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(effects.get(`${runId}:block`)?.count, 1);
    });

    test('a dry-run shows the policy decision without acting or asking anyone', async () => {
      const playbook = runtime.playbooks.get('block-ip');
      assert.ok(playbook);
      const runId = await runtime.engine.startRun(playbook, { ip: '203.0.113.15', confidence: 70 }, { mode: 'dry_run', startedBy: 'rita' });
      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded');
      const block = (await runtime.engine.getRun(runId, { history: true })).steps?.find((s) => s.key === 'block');
      assert.equal((block?.output as { policy: { decision: string } } | undefined)?.policy.decision, 'require_approval');
      assert.equal((await runtime.store.approvals.listByRun(runId)).length, 0);
    });

    test('blast radius: past the hourly limit (counted in the store, by any worker) the wave needs three people and pages', async () => {
      const now = Date.now();
      for (let i = 0; i < 50; i++) await runtime.store.approvals.recordGuardedAction({ id: `earlier-${i}`, kind: 'lab.block_ip', at: now - 60_000 });
      try {
        const runId = await startBlock('203.0.113.17', 95, 'rita');
        const { id } = await pendingApprovalOf(runId);
        const request = (await app.inject({ url: `/api/v1/approvals/${id}`, headers: as('alice') })).json().approval.request;
        assert.equal(request.required, 3);
        assert.equal(request.page_on_call, true);
        assert.equal(request.policy.rule.id, 'blast-radius');
        const audit = await runtime.cases.auditList({ action: 'policy.decision', order: 'desc', limit: 5 });
        assert.ok(
          audit.items.some((r) => JSON.stringify(r).includes(id)),
          'the approval decision is on the audit chain',
        );
        await runtime.engine.cancel(runId, 'test');
      } finally {
        await runtime.store.approvals.pruneGuardedActions(now);
      }
    });

    test('an approval survives a restart: decided on the new process, the action runs once', async () => {
      const runId = await startBlock('203.0.113.16', 70, 'rita');
      const { id, hash } = await pendingApprovalOf(runId);
      await shutdown();
      await boot();
      assert.equal((await decide('alice', id, hash)).statusCode, 200);
      assert.equal((await decide('bob', id, hash)).json().released, true);
      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded');
      assert.equal(effects.get(`${runId}:block`)?.count, 1);
    });
  });
}
