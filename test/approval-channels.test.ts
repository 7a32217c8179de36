import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApprovalChannels, openRuntime, type RunningWorker, type Runtime, serverServices, startWorker } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';
import { defineAction } from '../src/engine/index.ts';
import {
  type PagerDutySimulator,
  SIMULATOR_PAGERDUTY_ROUTING_KEY,
  SIMULATOR_SLACK_BOT_TOKEN,
  SIMULATOR_SLACK_SIGNING_SECRET,
  type SlackSimulator,
  startPagerDutySimulator,
  startSlackSimulator,
  startTeamsSimulator,
  type TeamsSimulator,
} from '../src/lab/index.ts';
import { type SmtpSink, startSmtpSink } from '../src/lab/smtp-sink.ts';
import { SLACK_APPROVE_ACTION, SLACK_STEP_APPROVE_ACTION, SLACK_STEP_REJECT_ACTION } from '../src/policy/index.ts';
import { buildServer } from '../src/server/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * Approval channels end to end: policy holds a destructive step for two approvers; the request goes to
 * the Slack Web API, a Teams webhook and e-mail (real HTTP to the lab simulators, a real SMTP server);
 * a click in the Slack simulator (signed like Slack) and a one-time link from the e-mail decide it; the
 * Slack message is updated to name the approvers and the other channels get follow-ups. Rate limits are
 * honoured, a blast-radius hit pages the on-call (Slack, PagerDuty), and a dead channel blocks nothing.
 */
const POLICY = `
id: test-channels
version: 1
defaults:
  approval: { approvers: 2, roles: [approver, admin], expires: 1h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: blast-radius
    impact: [destructive]
    when: { field: indicator.confidence, gte: 99 }
    decision: require_approval
    approval: { approvers: 2, page_on_call: true, expires: 1h }
    reason: "confidence {indicator.confidence}: the wave stops for two people and pages the on-call"
  - id: short-fuse
    impact: [destructive]
    when: { field: indicator.confidence, eq: 77 }
    decision: require_approval
    approval: { approvers: 2, expires: 3s, on_expiry: reject }
    reason: "nobody answers this one in time"
  - id: two-person
    impact: [destructive]
    when: { field: indicator.confidence, gte: 50 }
    decision: require_approval
    approval: { approvers: 2, expires: 1h }
    reason: "blocking {action.arguments.ip} needs two people"
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
    with: { ip: "{{ inputs.ip }}", confidence: "{{ inputs.confidence }}", verdict: malicious }
    on_error: continue
`;

/** A playbook's own approval step: the prompt shows the host, never the ticket token the run also carries. */
const ASK_PLAYBOOK = `
id: isolate-host
version: 1
title: Isolate a host when a person agrees
author: pat
inputs:
  host: { type: string }
  ticket_token: { type: string }
steps:
  - id: ask
    approval: { prompt: "Isolate {{ inputs.host }}? <!channel> *now*", approvers: [approver], timeout: 4h }
  - id: done
    set: { isolated: "{{ inputs.host }}" }
`;
const SHORT_ASK_PLAYBOOK = `
id: quick-ask
version: 1
title: Ask briefly
inputs:
  host: { type: string }
steps:
  - id: ask
    approval: { prompt: "Quarantine {{ inputs.host }}?", timeout: 2s, on_timeout: reject }
`;

const blocked = new Map<string, number>();
const blockIp = defineAction({
  id: 'lab.block_ip',
  title: 'Block an IP (loopback)',
  impact: 'destructive',
  input: z.object({ ip: z.string() }),
  run(input, context) {
    blocked.set(context.idempotencyKey, (blocked.get(context.idempotencyKey) ?? 0) + 1);
    return { blocked: input.ip };
  },
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

for (const backend of testBackends()) {
  describe(`approval channels: Slack, Teams, e-mail, on-call (${backend.backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'riposte-channels-'));
    let testStore: TestStore;
    let runtime: Runtime;
    let app: FastifyInstance;
    let base: string;
    let slack: SlackSimulator;
    let teams: TeamsSimulator;
    let pagerduty: PagerDutySimulator;
    let smtp: SmtpSink;
    const tokens: Record<string, string> = {};

    before(async () => {
      writeFileSync(join(dir, 'policy.yml'), POLICY);
      mkdirSync(join(dir, 'playbooks'));
      writeFileSync(join(dir, 'playbooks', 'block-ip.yml'), PLAYBOOK);
      writeFileSync(join(dir, 'playbooks', 'isolate-host.yml'), ASK_PLAYBOOK);
      writeFileSync(join(dir, 'playbooks', 'quick-ask.yml'), SHORT_ASK_PLAYBOOK);
      [slack, teams, pagerduty, smtp] = await Promise.all([startSlackSimulator(), startTeamsSimulator(), startPagerDutySimulator(), startSmtpSink()]);
      testStore = await backend.open();
      await testStore.store.close();
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const config = loadConfig({
        env: testStore.env,
        cwd: dir,
        overrides: {
          'log.level': 'silent',
          'server.public_url': base,
          'engine.playbooks_dir': join(dir, 'playbooks'),
          'policy.file': join(dir, 'policy.yml'),
          'integrations.http_allow': ['127.0.0.1'],
          'slack.signing_secret': SIMULATOR_SLACK_SIGNING_SECRET,
          'slack.bot_token': SIMULATOR_SLACK_BOT_TOKEN,
          'slack.api_url': `${slack.url}/api`,
          'slack.users': { UALICE: 'alice', UBOB: 'bob', URITA: 'rita', UVIC: 'vic' },
          'approvals.channels': {
            slack: { channel: 'C0SOC' },
            teams: { webhook_url: teams.webhookUrl },
            email: {
              to: {
                alice: 'alice@corp.example',
                bob: 'bob@corp.example',
                rita: 'rita@corp.example',
                pat: 'pat@corp.example',
                carol: 'carol@corp.example',
                vic: 'vic@corp.example',
              },
            },
          },
          'approvals.on_call': {
            slack: { channel: 'C0ONCALL' },
            pagerduty: { routing_key: SIMULATOR_PAGERDUTY_ROUTING_KEY, url: pagerduty.url },
          },
          'approvals.delivery': { poll_interval: '200ms', max_attempts: 3 },
          'approvals.sweep_interval': '200ms',
          'email.smtp': { host: smtp.host, port: smtp.port, security: 'none', from: 'Riposte <soc@riposte.example>' },
        },
      });
      runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {}, actions: [blockIp], runner: { pollMs: 20 } });
      app = await buildServer(serverServices(runtime));
      await app.listen({ host: '127.0.0.1', port });
      await runtime.engine.start();
      for (const [name, roles] of [
        ['alice', ['approver']],
        ['bob', ['approver']],
        ['rita', ['approver']],
        ['root', ['admin']],
        ['pat', ['approver']],
        ['carol', ['approver']],
        ['vic', ['viewer']],
      ] as const) {
        await runtime.auth.createUser({ name, roles: [...roles] });
        tokens[name] = `Bearer ${(await runtime.auth.createToken({ userName: name })).token}`;
      }
    });
    after(async () => {
      await app.close();
      await runtime.close();
      await Promise.all([slack.close(), teams.close(), pagerduty.close(), smtp.close()]);
      await testStore.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    const as = (name: string) => ({ authorization: tokens[name] as string });

    async function holdBlock(ip: string, confidence: number): Promise<{ runId: string; id: string; hash: string }> {
      const playbook = runtime.playbooks.get('block-ip');
      assert.ok(playbook);
      const runId = await runtime.engine.startRun(playbook, { ip, confidence }, { startedBy: 'rita' });
      const run = await runtime.engine.waitForRun(runId, 10_000, { untilWaiting: true });
      assert.equal(run.status, 'waiting');
      const inbox = await app.inject({ url: '/api/v1/approvals', headers: as('alice') });
      const item = inbox.json().items.find((a: { run_id: string; kind: string }) => a.run_id === runId && a.kind === 'policy');
      assert.ok(item, 'the approval is open');
      const detail = await app.inject({ url: `/api/v1/approvals/${item.id}`, headers: as('alice') });
      opened.push(item.id);
      return { runId, id: item.id, hash: detail.json().approval.request.arguments_hash };
    }

    /** Waits until no message of an earlier test is still in flight (simulator faults apply to the next request, whoever sends it). */
    const opened: string[] = [];
    async function quiet(): Promise<void> {
      for (const id of opened) {
        await waitFor(`messages of ${id} to settle`, async () =>
          // A step approval's watch row stays pending while the step is open: it is not a message in flight.
          (await runtime.store.notifications.listBySubject(id)).every((r) => r.status !== 'pending' || r.topic === 'step.watch') ? true : undefined,
        );
      }
    }

    const slackMessageFor = (id: string, channel = 'C0SOC') =>
      [...slack.messages.values()].find((m) => m.channel === channel && JSON.stringify(m.history[0]?.blocks).includes(id));
    const mailsFor = (id: string, to: string) => smtp.messages.filter((m) => m.to.includes(to) && m.decoded.includes(id));

    test('a request reaches Slack, Teams and each approver by e-mail; a Slack click and an e-mailed link decide it; every channel hears the outcome', async () => {
      const { runId, id, hash } = await holdBlock('203.0.113.77', 80);

      // Slack: the Block Kit message with the exact arguments and buttons bound to the arguments hash.
      const posted = await waitFor('the Slack approval message', () => slackMessageFor(id));
      const postCall = slack.requests.find((r) => r.path === '/api/chat.postMessage' && r.body.includes(id));
      assert.equal(postCall?.headers.authorization, `Bearer ${SIMULATOR_SLACK_BOT_TOKEN}`);
      assert.equal(posted.blocks[0]?.type, 'header');
      assert.match(JSON.stringify(posted.blocks), /203\.0\.113\.77/);
      assert.match(JSON.stringify(posted.blocks), /blocking 203\.0\.113\.77 needs two people/);
      const buttons = (posted.blocks.find((b) => b.type === 'actions')?.elements ?? []) as Array<{ action_id: string; value?: string }>;
      assert.deepEqual(
        buttons.filter((b) => b.value).map((b) => [b.action_id, b.value]),
        [
          ['riposte.approval.approve', `${id}:${hash}`],
          ['riposte.approval.reject', `${id}:${hash}`],
        ],
      );

      // Teams: an Adaptive Card whose action link leads back to this approval in Riposte.
      const card = await waitFor('the Teams card', () => teams.received.find((c) => JSON.stringify(c.card).includes(id)));
      const open = (card.card.actions as Array<{ type: string; url: string }>).find((a) => a.type === 'Action.OpenUrl');
      assert.equal(open?.url, `${base}/approvals/${id}`);
      const linked = await app.inject({ url: `/api/v1/approvals/${open?.url.split('/').at(-1)}`, headers: as('bob') });
      assert.equal(linked.json().approval.request.arguments_hash, hash, 'the card links to the approval it shows');

      // E-mail: alice and bob, not rita (she started the run, so she may not approve).
      const bobMail = await waitFor('the e-mail to bob', () => mailsFor(id, 'bob@corp.example')[0]);
      await waitFor('the e-mail to alice', () => mailsFor(id, 'alice@corp.example')[0]);
      assert.equal(mailsFor(id, 'rita@corp.example').length, 0);
      assert.match(bobMail.subject, /Approval needed: lab\.block_ip/);

      // Alice clicks Approve in Slack; the simulator signs the request exactly as Slack does.
      const click = await slack.click({
        interactionsUrl: `${base}/api/v1/webhooks/slack/interactions`,
        signingSecret: SIMULATOR_SLACK_SIGNING_SECRET,
        channel: posted.channel,
        ts: posted.ts,
        actionId: SLACK_APPROVE_ACTION,
        user: { id: 'UALICE', name: 'alice' },
      });
      assert.equal(click.status, 200, click.body);
      const afterClick = await app.inject({ url: `/api/v1/approvals/${id}`, headers: as('bob') });
      assert.deepEqual(afterClick.json().approval.approvals, ['alice']);
      await waitFor('the Slack message to show alice', () =>
        posted.history.some((h) => h.via === 'chat.update' && JSON.stringify(h.blocks).includes('so far: alice')),
      );

      // A forged click (body changed after signing) is refused and changes nothing.
      const forged = await slack.click({
        interactionsUrl: `${base}/api/v1/webhooks/slack/interactions`,
        signingSecret: SIMULATOR_SLACK_SIGNING_SECRET,
        channel: posted.channel,
        ts: posted.ts,
        actionId: SLACK_APPROVE_ACTION,
        user: { id: 'UBOB', name: 'bob' },
        mutate: (body) => body.replace('UBOB', 'URITA'),
      });
      assert.equal(forged.status, 401);

      // Bob follows the one-time approve link from his e-mail: a confirmation page, then the decision.
      const link = /Approve \(one-time link\): (\S+)/.exec(bobMail.decoded)?.[1];
      assert.ok(link, 'the e-mail carries an approve link');
      const url = new URL(link);
      assert.equal(url.origin, base);
      const page = await fetch(link);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Approve lab\.block_ip\?/);
      const used = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(used.status, 200, await used.clone().text());
      assert.equal(((await used.json()) as { released: boolean }).released, true);

      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded');
      assert.equal(blocked.get(`${runId}:block`), 1, 'the block ran exactly once');

      // Slack: the same message now names both approvers and has no buttons left.
      await waitFor('the final Slack update', () => {
        const last = posted.history.at(-1);
        const text = JSON.stringify(last?.blocks ?? []);
        return last?.via === 'chat.update' && /approved by alice, bob/.test(text) && !posted.blocks.some((b) => b.type === 'actions');
      });
      assert.equal([...slack.messages.values()].filter((m) => JSON.stringify(m.history[0]?.blocks).includes(id)).length, 1, 'one message, updated in place');
      // Teams and e-mail: follow-ups naming the outcome.
      await waitFor('the Teams follow-up', () =>
        teams.received.find((c) => JSON.stringify(c.card).includes(id) && /approved by alice, bob/.test(JSON.stringify(c.card))),
      );
      const outcome = await waitFor('the outcome e-mail to alice', () =>
        mailsFor(id, 'alice@corp.example').find((m) => /approved by alice, bob/.test(m.subject)),
      );
      assert.match(outcome.raw, /In-Reply-To: </i);
      const rows = await waitFor('every message sent', async () => {
        const all = await runtime.store.notifications.listBySubject(id);
        return all.every((r) => r.status === 'sent') ? all : undefined;
      });
      const mailedTo = (r: { channel: string; payload: unknown }) => (r.payload as { recipient?: string }).recipient ?? '';
      assert.equal(
        rows.filter((r) => r.channel === 'email' && ['alice', 'bob', 'rita'].includes(mailedTo(r))).length,
        4,
        'two requests and two outcomes, none to rita',
      );
    });

    test('Slack rate limiting: a 429 with Retry-After is waited out and the message is posted once', async () => {
      await quiet();
      slack.failNext({ kind: 'status', status: 429, retryAfterSeconds: 1, body: { ok: false, error: 'ratelimited' } });
      const before = slack.requests.length;
      const { id } = await holdBlock('203.0.113.78', 80);
      const posted = await waitFor('the Slack message after the rate limit', () => slackMessageFor(id));
      assert.ok(posted);
      const posts = slack.requests.slice(before).filter((r) => r.path === '/api/chat.postMessage' && r.body.includes(id));
      assert.equal(posts.length, 2, 'one refused with 429, one accepted');
      const row = await waitFor('the row marked sent', async () => {
        const r = await runtime.store.notifications.get(`${id}/request/slack`);
        return r?.status === 'sent' ? r : undefined;
      });
      assert.equal(row?.attempts, 2);
      assert.match(row?.lastError ?? '', /^$|ratelimited/);
      assert.equal([...slack.messages.values()].filter((m) => JSON.stringify(m.history[0]?.blocks).includes(id)).length, 1);
    });

    test('a blast-radius hit pages the on-call in Slack and PagerDuty; the incident resolves with the approval', async () => {
      const { id, hash } = await holdBlock('203.0.113.79', 99);
      const page = await waitFor('the on-call page in Slack', () => slackMessageFor(id, 'C0ONCALL'));
      assert.match(page.text, /held for 2 approvers/);
      const trigger = await waitFor('the PagerDuty trigger', () => pagerduty.events.find((e) => e.event_action === 'trigger' && e.dedup_key?.includes(id)));
      assert.equal(trigger.payload?.severity, 'critical');
      assert.equal(trigger.links?.[0]?.href, `${base}/approvals/${id}`);
      const rejected = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/decide`,
        headers: as('alice'),
        payload: { decision: 'reject', arguments_hash: hash, comment: 'this is our CDN' },
      });
      assert.equal(rejected.statusCode, 200, rejected.body);
      await waitFor('the PagerDuty resolve', () => pagerduty.events.find((e) => e.event_action === 'resolve' && e.dedup_key === trigger.dedup_key));
      const posted = await waitFor('the approval message', () => slackMessageFor(id));
      await waitFor('the Slack message to say rejected by alice', () => /rejected by alice/.test(JSON.stringify(posted.blocks)));
    });

    test('break-glass by an admin updates the Slack message and tells Teams, flagged for review', async () => {
      const { runId, id } = await holdBlock('203.0.113.81', 80);
      const posted = await waitFor('the approval message', () => slackMessageFor(id));
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/break-glass`,
        headers: as('root'),
        payload: { reason: 'active ransomware spreading from this host' },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await runtime.engine.waitForRun(runId, 10_000)).status, 'succeeded');
      await waitFor(
        'the Slack message to show the break-glass',
        () => /approved by break-glass \(flagged for review\) by root/.test(JSON.stringify(posted.blocks)) && !posted.blocks.some((b) => b.type === 'actions'),
      );
      await waitFor('the Teams follow-up', () =>
        teams.received.find((c) => JSON.stringify(c.card).includes(id) && /Approved by break-glass by root/.test(JSON.stringify(c.card))),
      );
    });

    test('an edit re-binds the Slack buttons to the new arguments and mails fresh links; the old ones stop working', async () => {
      const { id, hash } = await holdBlock('203.0.113.82', 80);
      const posted = await waitFor('the approval message', () => slackMessageFor(id));
      const oldMail = await waitFor('the first e-mail to bob', () => mailsFor(id, 'bob@corp.example')[0]);
      const oldLink = /Approve \(one-time link\): (\S+)/.exec(oldMail.decoded)?.[1] as string;
      const detail = await app.inject({ url: `/api/v1/approvals/${id}`, headers: as('alice') });
      const edited = await app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${id}/edit`,
        headers: as('alice'),
        payload: { arguments: { ...detail.json().approval.request.arguments, ip: '203.0.113.83' }, arguments_hash: hash, comment: 'block the whole pair' },
      });
      assert.equal(edited.statusCode, 200, edited.body);
      const newHash = edited.json().approval.request.arguments_hash as string;
      assert.notEqual(newHash, hash);
      await waitFor('the Slack buttons bound to the new hash', () => JSON.stringify(posted.blocks).includes(`${id}:${newHash}`));
      const fresh = await waitFor('a fresh e-mail to bob', () =>
        mailsFor(id, 'bob@corp.example').find((m) => m !== oldMail && /203\.0\.113\.83/.test(m.decoded)),
      );
      const stale = await fetch(oldLink, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(stale.status, 409, 'a link bound to the old arguments is refused');
      const newLink = /Approve \(one-time link\): (\S+)/.exec(fresh.decoded)?.[1] as string;
      const used = await fetch(newLink, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(used.status, 200, await used.text());
    });

    test('an approval nobody answers expires; the Slack message says so and Teams gets the follow-up', async () => {
      // Not holdBlock: the run waits only until the expiry, which may pass before a poll sees it waiting.
      const playbook = runtime.playbooks.get('block-ip');
      assert.ok(playbook);
      const runId = await runtime.engine.startRun(playbook, { ip: '203.0.113.84', confidence: 77 }, { startedBy: 'rita' });
      const id = await waitFor('the approval to open', async () => (await runtime.store.approvals.listByRun(runId))[0]?.id);
      opened.push(id);
      const posted = await waitFor('the approval message', () => slackMessageFor(id));
      await waitFor('the Slack message to say it expired', () => /expired \(rejected\) by system/.test(JSON.stringify(posted.blocks)));
      assert.ok(!posted.blocks.some((b) => b.type === 'actions'), 'no buttons left on an expired request');
      await waitFor('the Teams follow-up', () => teams.received.find((c) => JSON.stringify(c.card).includes(id) && /expired/.test(JSON.stringify(c.card))));
      await waitFor('the outcome e-mail', () => mailsFor(id, 'bob@corp.example').find((m) => /expired/.test(m.subject)));
      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(blocked.get(`${runId}:block`), undefined, 'the expired request released nothing');
      assert.equal(run.status, 'succeeded', 'the playbook carries on (on_error: continue)');
    });

    test('a dead channel blocks nothing: the approval is decided, the failure is on record, nothing crashes', async () => {
      await quiet();
      slack.failNext({ kind: 'status', status: 200, body: { ok: false, error: 'channel_not_found' } });
      smtp.refuse('alice@corp.example');
      teams.failNext({ kind: 'status', status: 404 }, 3);
      const { runId, id, hash } = await holdBlock('203.0.113.80', 80);
      await waitFor('the Slack request to be given up', async () => (await runtime.store.notifications.get(`${id}/request/slack`))?.status === 'failed');
      const slackRow = await runtime.store.notifications.get(`${id}/request/slack`);
      assert.match(slackRow?.lastError ?? '', /channel_not_found/);
      assert.equal(slackRow?.attempts, 1, 'a permanent error is not retried');
      await waitFor(
        'the e-mail to alice to be given up',
        async () => (await runtime.store.notifications.get(`${id}/request/email/alice`))?.status === 'failed',
      );
      await waitFor('the e-mail to bob', () => mailsFor(id, 'bob@corp.example')[0]);

      for (const who of ['alice', 'bob']) {
        const res = await app.inject({
          method: 'POST',
          url: `/api/v1/approvals/${id}/decide`,
          headers: as(who),
          payload: { decision: 'approve', arguments_hash: hash },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const run = await runtime.engine.waitForRun(runId, 10_000);
      assert.equal(run.status, 'succeeded', 'the approval released the action although channels were down');
      const failures = await waitFor('the failures on the audit log', async () => {
        const audit = await runtime.cases.auditList({ action: 'approval.channel_failed' });
        const mine = audit.items.filter((a) => JSON.stringify(a).includes(id));
        return mine.length >= 2 ? mine : undefined;
      });
      const text = JSON.stringify(failures);
      assert.match(text, /Slack channel C0SOC/);
      assert.match(text, /e-mail to alice/);
      assert.doesNotMatch(text, new RegExp(SIMULATOR_SLACK_BOT_TOKEN), 'the bot token is never recorded');
      assert.doesNotMatch(text, /IncomingWebhook/, 'the webhook URL (a credential) is never recorded');
      const deliveries = await app.inject({ url: `/api/v1/approvals/${id}/deliveries`, headers: as('bob') });
      assert.equal(deliveries.statusCode, 200);
      const slackDelivery = deliveries.json().items.find((d: { id: string }) => d.id === `${id}/request/slack`);
      assert.equal(slackDelivery.status, 'failed');
      assert.match(slackDelivery.last_error, /channel_not_found/);
      assert.doesNotMatch(deliveries.body, /IncomingWebhook|xoxb-/);
      assert.equal((await app.inject({ url: `/api/v1/approvals/${id}/deliveries` })).statusCode, 401);
      const health = await app.inject({ url: '/healthz' });
      assert.equal(health.statusCode, 200);
    });

    // ---------------------------------------------------------------- a playbook's own approval step

    const stepMessage = (runId: string) =>
      [...slack.messages.values()].find((m) => m.channel === 'C0SOC' && JSON.stringify(m.history[0]?.blocks).includes(`run ${runId}`));
    const stepPosts = (runId: string) => slack.requests.filter((r) => r.path === '/api/chat.postMessage' && r.body.includes(runId));

    async function parkOnStep(playbookId: string, inputs: Record<string, unknown>): Promise<string> {
      const playbook = runtime.playbooks.get(playbookId);
      assert.ok(playbook);
      const runId = await runtime.engine.startRun(playbook, inputs, { startedBy: 'rita' });
      await waitFor('the run to wait for its approval step', async () => ((await runtime.engine.listApprovals({ runId })).length > 0 ? true : undefined));
      opened.push(`step:${runId}/ask`);
      return runId;
    }

    test('an approval step reaches Slack, Teams and the people who may decide it, with the prompt and no inputs; the decision updates every channel', async () => {
      await quiet();
      const runId = await parkOnStep('isolate-host', { host: 'ws-042', ticket_token: 'TKT-SECRET-991' });
      const posted = await waitFor('the Slack message for the step', () => stepMessage(runId));
      const slackText = JSON.stringify(posted.history[0]?.blocks);
      assert.match(slackText, /Isolate ws-042\?/, 'the prompt, rendered');
      assert.match(slackText, /Isolate a host when a person agrees/);
      assert.match(slackText, /isolate-host v1/);
      assert.match(slackText, /\*Started by\*\\n\s*rita/);
      assert.match(slackText, /approver; not rita \(started the run\)/);
      assert.ok(slackText.includes(`${base}/runs/${runId}`), 'links to the run in Riposte');
      assert.ok(slackText.includes(`${base}/approvals`), 'links to the approvals inbox');
      assert.ok(slackText.includes('&lt;!channel&gt;') && !slackText.includes('<!channel>'), 'the prompt cannot ping the channel');
      assert.doesNotMatch(slackText, /TKT-SECRET-991/, 'inputs the prompt does not show stay out');
      assert.doesNotMatch(slackText, new RegExp(SIMULATOR_SLACK_BOT_TOKEN));
      assert.ok(posted.blocks.some((b) => b.type === 'actions'));

      const card = await waitFor('the Teams card for the step', () => teams.received.find((c) => JSON.stringify(c.card).includes(`run ${runId}`)));
      const cardText = JSON.stringify(card.card);
      assert.match(cardText, /Isolate ws-042\?/);
      assert.doesNotMatch(cardText, /TKT-SECRET-991/);
      assert.deepEqual(
        (card.card.actions as Array<{ url: string }>).map((a) => a.url),
        [`${base}/runs/${runId}`, `${base}/approvals`],
      );

      // E-mail: the holders of the listed role, minus the run's starter (rita) and the playbook's author (pat).
      // (alice's address is refused by the relay since the dead-channel test: her row fails, the others do not wait for it.)
      const mail = await waitFor('the e-mail to carol', () => mailsFor(runId, 'carol@corp.example')[0]);
      await waitFor('the e-mail to bob', () => mailsFor(runId, 'bob@corp.example')[0]);
      assert.match(mail.subject, /Approval needed: Isolate a host when a person agrees/);
      assert.match(mail.decoded, /Isolate ws-042\?/);
      assert.ok(mail.decoded.includes(`${base}/runs/${runId}`));
      assert.doesNotMatch(mail.decoded, /TKT-SECRET-991|one-time/);
      const requests = await waitFor('every request handled', async () => {
        const rows = (await runtime.store.notifications.listBySubject(`step:${runId}/ask`)).filter((r) => r.topic === 'step.request');
        return rows.length > 0 && rows.every((r) => r.status !== 'pending') ? rows : undefined;
      });
      assert.deepEqual(requests.map((r) => r.id.replace(`step:${runId}/ask/`, '')).sort(), [
        'request/email/alice',
        'request/email/bob',
        'request/email/carol',
        'request/slack',
        'request/teams',
      ]);
      for (const who of ['rita', 'pat', 'vic']) assert.equal(mailsFor(runId, `${who}@corp.example`).length, 0, `${who} is not mailed`);

      // Rita started the run: the engine refuses her approval, and the message stays open.
      const refused = await app.inject({
        method: 'POST',
        url: `/api/v1/runs/${runId}/approvals/ask`,
        headers: as('rita'),
        payload: { decision: 'approve' },
      });
      assert.equal(refused.statusCode, 403, refused.body);

      const decided = await app.inject({
        method: 'POST',
        url: `/api/v1/runs/${runId}/approvals/ask`,
        headers: as('alice'),
        payload: { decision: 'approve', comment: 'host confirmed compromised' },
      });
      assert.equal(decided.statusCode, 200, decided.body);
      assert.equal((await runtime.engine.waitForRun(runId, 10_000)).status, 'succeeded');
      await waitFor('the Slack message updated in place', () => {
        const last = posted.history.at(-1);
        return last?.via === 'chat.update' && /approved by alice: host confirmed compromised/.test(JSON.stringify(last.blocks)) ? true : undefined;
      });
      assert.ok(!posted.blocks.some((b) => b.type === 'actions'), 'no buttons once decided');
      assert.equal(stepPosts(runId).length, 1, 'one message, updated in place');
      await waitFor('the Teams follow-up', () =>
        teams.received.find((c) => JSON.stringify(c.card).includes(`run ${runId}`) && /approved by alice/.test(JSON.stringify(c.card))),
      );
      const outcome = await waitFor('the outcome e-mail to bob', () =>
        mailsFor(runId, 'bob@corp.example').find((m) => /approved by alice: host confirmed compromised/.test(m.decoded)),
      );
      assert.match(outcome.raw, /In-Reply-To: </i);
    });

    test('a second process (or a restart) announces an open approval step once; cancelling the run closes it', async () => {
      await quiet();
      const runId = await parkOnStep('isolate-host', { host: 'ws-043', ticket_token: 'x' });
      await waitFor('the Slack message for the step', () => stepMessage(runId));
      const rowsBefore = await runtime.store.notifications.listBySubject(`step:${runId}/ask`);
      // Another process (a worker, or this one restarted) reconciles the same open step against the outbox.
      const other = new ApprovalChannels({ config: runtime.config, logger: createLogger({ level: 'silent' }) });
      other.storeWithOutbox(runtime.store);
      other.attach({ createLink: async () => ({ token: 'unused' }), reviewUrl: (id) => `${base}/approvals/${id}` });
      other.start();
      try {
        await other.sweepStepApprovals(true);
        await other.deliverDue();
        await other.deliverDue();
      } finally {
        await other.stop();
      }
      const rowsAfter = await runtime.store.notifications.listBySubject(`step:${runId}/ask`);
      assert.deepEqual(
        rowsAfter.map((r) => r.id),
        rowsBefore.map((r) => r.id),
        'no new rows',
      );
      assert.equal(stepPosts(runId).length, 1, 'posted once');

      // Cancelling the run closes the request everywhere.
      await runtime.engine.cancel(runId, 'root');
      await waitFor('the Slack message to say cancelled', () =>
        /cancelled: the run was cancelled/.test(JSON.stringify(stepMessage(runId)?.blocks)) ? true : undefined,
      );
      await waitFor('the Teams follow-up', () =>
        teams.received.find((c) => JSON.stringify(c.card).includes(`run ${runId}`) && /cancelled/.test(JSON.stringify(c.card))),
      );
      assert.equal(stepPosts(runId).length, 1);
    });

    test('a step approval nobody answers times out; the Slack message and Teams say so', async () => {
      await quiet();
      const playbook = runtime.playbooks.get('quick-ask');
      assert.ok(playbook);
      const runId = await runtime.engine.startRun(playbook, { host: 'ws-045' }, { startedBy: 'rita' });
      opened.push(`step:${runId}/ask`);
      const posted = await waitFor('the Slack message for the step', () => stepMessage(runId));
      assert.match(JSON.stringify(posted.history[0]?.blocks), /anyone who may decide approvals/);
      assert.equal((await runtime.engine.waitForRun(runId, 10_000)).status, 'failed');
      await waitFor('the Slack message to say timed out', () =>
        /timed out \(rejected automatically\)/.test(JSON.stringify(posted.blocks)) ? true : undefined,
      );
      await waitFor('the Teams follow-up', () =>
        teams.received.find((c) => JSON.stringify(c.card).includes(`run ${runId}`) && /timed out/.test(JSON.stringify(c.card))),
      );
      // No list: every holder of approvals:decide with an address, minus the starter (rita); not the viewer.
      const rows = await waitFor('the e-mails planned', async () => {
        const all = (await runtime.store.notifications.listBySubject(`step:${runId}/ask`)).filter((r) => r.channel === 'email' && r.topic === 'step.request');
        return all.length > 0 ? all : undefined;
      });
      assert.deepEqual(rows.map((r) => (r.payload as { recipient: string }).recipient).sort(), ['alice', 'bob', 'carol', 'pat']);
    });

    test('Slack buttons on an approval step decide through the engine: the run’s starter and a viewer are refused, an approver is not', async () => {
      await quiet();
      const runId = await parkOnStep('isolate-host', { host: 'ws-046', ticket_token: 'x' });
      const posted = await waitFor('the Slack message for the step', () => stepMessage(runId));
      const buttons = (posted.blocks.find((b) => b.type === 'actions')?.elements ?? []) as Array<{ action_id: string; value?: string }>;
      assert.deepEqual(
        buttons.filter((b) => b.value).map((b) => [b.action_id, b.value]),
        [
          [SLACK_STEP_APPROVE_ACTION, `${runId}|ask`],
          [SLACK_STEP_REJECT_ACTION, `${runId}|ask`],
        ],
      );
      const click = (user: { id: string; name: string }, actionId = SLACK_STEP_APPROVE_ACTION) =>
        slack.click({
          interactionsUrl: `${base}/api/v1/webhooks/slack/interactions`,
          signingSecret: SIMULATOR_SLACK_SIGNING_SECRET,
          channel: posted.channel,
          ts: posted.ts,
          actionId,
          user,
        });
      // Rita started the run: separation of duties holds in Slack as in the API.
      const byStarter = await click({ id: 'URITA', name: 'rita' });
      assert.equal(byStarter.status, 403, byStarter.body);
      assert.equal(JSON.parse(byStarter.body).code, 'engine.approver_not_allowed');
      // Vic is mapped but only a viewer: the permission the API route demands is demanded here too.
      const byViewer = await click({ id: 'UVIC', name: 'vic' });
      assert.equal(byViewer.status, 403, byViewer.body);
      assert.equal(JSON.parse(byViewer.body).code, 'auth.forbidden');
      // A forged click (body changed after signing) is refused.
      const forged = await slack.click({
        interactionsUrl: `${base}/api/v1/webhooks/slack/interactions`,
        signingSecret: SIMULATOR_SLACK_SIGNING_SECRET,
        channel: posted.channel,
        ts: posted.ts,
        actionId: SLACK_STEP_APPROVE_ACTION,
        user: { id: 'URITA', name: 'rita' },
        mutate: (body) => body.replace('URITA', 'UBOB'),
      });
      assert.equal(forged.status, 401);
      assert.equal((await runtime.engine.listApprovals({ runId })).length, 1, 'still waiting after the refused clicks');

      const byBob = await click({ id: 'UBOB', name: 'bob' });
      assert.equal(byBob.status, 200, byBob.body);
      assert.equal((await runtime.engine.waitForRun(runId, 10_000)).status, 'succeeded');
      const run = await runtime.engine.getRun(runId, { history: true });
      assert.equal((run.steps?.find((s) => s.key === 'ask')?.output as { actor?: string } | undefined)?.actor, 'bob');
      await waitFor('the Slack message to say approved by bob', () =>
        /approved by bob/.test(JSON.stringify(posted.blocks)) && !posted.blocks.some((b) => b.type === 'actions') ? true : undefined,
      );
    });
  });
}

const postgres = testBackends().find((b) => b.backend === 'postgres');

describe('approval steps run by a worker (postgres)', { skip: !postgres && 'needs RIPOSTE_TEST_PG_URL' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'riposte-step-worker-'));
  let testStore: TestStore;
  let runtime: Runtime;
  let worker: RunningWorker;
  let slack: SlackSimulator;

  before(async () => {
    if (!postgres) return;
    writeFileSync(join(dir, 'isolate-host.yml'), ASK_PLAYBOOK);
    slack = await startSlackSimulator();
    testStore = await postgres.open();
    await testStore.store.close();
    const config = loadConfig({
      env: testStore.env,
      cwd: tmpdir(),
      overrides: {
        'log.level': 'silent',
        'engine.playbooks_dir': dir,
        // The API process runs no playbooks; both processes deliver approval messages.
        'engine.runner': false,
        'server.public_url': 'https://soar.example',
        'integrations.http_allow': ['127.0.0.1'],
        'slack.bot_token': SIMULATOR_SLACK_BOT_TOKEN,
        'slack.api_url': `${slack.url}/api`,
        'approvals.channels': { slack: { channel: 'C0SOC' } },
        'approvals.delivery': { poll_interval: '100ms' },
      },
    });
    runtime = await openRuntime(config, createLogger({ level: 'silent' }), { env: {}, announce: () => {} });
    worker = await startWorker(config, { pollMs: 50, logger: createLogger({ level: 'silent' }), id: 'step-worker' });
  });
  after(async () => {
    await worker?.close();
    await runtime?.close();
    await slack?.close();
    await testStore?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('the step a worker parks on is announced once although two processes deliver, and updated when decided', async () => {
    const playbook = runtime.playbooks.get('isolate-host');
    assert.ok(playbook);
    const runId = await runtime.engine.startRun(playbook, { host: 'db-01', ticket_token: 'x' }, { startedBy: 'rita' });
    const message = () => [...slack.messages.values()].find((m) => JSON.stringify(m.history[0]?.blocks).includes(`run ${runId}`));
    const posted = await waitFor('the Slack message', message);
    assert.match(JSON.stringify(posted.history[0]?.blocks), /Isolate db-01\?/);
    assert.ok(JSON.stringify(posted.history[0]?.blocks).includes(`https://soar.example/runs/${runId}`));
    await runtime.engine.decide(runId, 'ask', { decision: 'reject', actor: 'carol', comment: 'that is the payroll database' });
    await waitFor('the update', () => (/rejected by carol: that is the payroll database/.test(JSON.stringify(posted.blocks)) ? true : undefined));
    // Several passes of both processes later, still one message.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(slack.requests.filter((r) => r.path === '/api/chat.postMessage' && r.body.includes(runId)).length, 1);
  });
});
