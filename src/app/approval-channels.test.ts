import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadConfig, newId, systemClock } from '../core/index.ts';
import { SIMULATOR_SLACK_BOT_TOKEN, type SlackSimulator, startSlackSimulator, startTeamsSimulator } from '../lab/index.ts';
import { approvalStorageRecord, defaultPolicy, evaluatePolicy, openApprovalRequest, type PolicyDecision } from '../policy/index.ts';
import { type TestStore, testBackends } from '../store/testing.ts';
import { ApprovalChannels } from './approval-channels.ts';

/**
 * The outbox's promise: an approval saved by a process that dies before sending anything is still
 * announced, once, by the next process; an approval whose channels are not configured writes nothing.
 */
function approval(ip: string) {
  const args = { ip, ttl: '24h' };
  const decision = evaluatePolicy(defaultPolicy(), {
    action: { id: 'firewall.block_ip', impact: 'destructive', kind: 'block_ip', arguments: args },
    targets: [{ type: 'ipv4', value: ip }],
    indicator: { confidence: 70, verdict: 'malicious' },
    requester: { id: 'playbook:ip-enrichment', kind: 'playbook' },
  });
  assert.equal(decision.decision, 'require_approval');
  return openApprovalRequest(
    {
      action: { id: 'firewall.block_ip', impact: 'destructive' },
      arguments: args,
      decision: decision as Extract<PolicyDecision, { decision: 'require_approval' }>,
      requester: 'playbook:ip-enrichment',
    },
    systemClock,
  );
}

const links = { createLink: async () => ({ token: 'unused' }), reviewUrl: (id: string) => `https://riposte.example/approvals/${id}` };

for (const backend of testBackends()) {
  describe(`approval channels outbox (${backend.backend})`, () => {
    let t: TestStore;
    let slack: SlackSimulator;
    before(async () => {
      t = await backend.open();
      slack = await startSlackSimulator();
    });
    after(async () => {
      await slack.close();
      await t.dispose();
    });

    const config = () =>
      loadConfig({
        env: {},
        overrides: {
          'log.level': 'silent',
          'integrations.http_allow': ['127.0.0.1'],
          'slack.bot_token': SIMULATOR_SLACK_BOT_TOKEN,
          'slack.api_url': `${slack.url}/api`,
          'approvals.channels': { slack: { channel: 'C0SOC' } },
          'approvals.delivery': { poll_interval: '100ms' },
        },
      });

    test('a crash between saving the approval and sending the message loses nothing, and the next process sends it once', async () => {
      const crashed = new ApprovalChannels({ config: config(), logger: createLogger({ level: 'silent' }) });
      const request = approval('203.0.113.10');
      // The process saves the approval (and, in the same transaction, the message it owes), then dies before sending.
      assert.equal(await crashed.storeWithOutbox(t.store).approvals.insert(approvalStorageRecord(request)), true);
      assert.equal((await t.store.notifications.get(`${request.id}/request/slack`))?.status, 'pending');
      assert.equal(slack.requests.length, 0);

      const next = new ApprovalChannels({ config: config(), logger: createLogger({ level: 'silent' }) });
      next.storeWithOutbox(t.store);
      next.attach(links);
      next.start();
      try {
        const deadline = Date.now() + 10_000;
        while ((await t.store.notifications.get(`${request.id}/request/slack`))?.status !== 'sent') {
          assert.ok(Date.now() < deadline, 'the message is sent after the restart');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await next.deliverDue();
      } finally {
        await next.stop();
      }
      const posted = [...slack.messages.values()].filter((m) => JSON.stringify(m.blocks).includes(request.id));
      assert.equal(posted.length, 1, 'posted exactly once');
    });

    test('delivered messages older than 30 days are dropped from the outbox; pending ones never are', async () => {
      const request = approval('203.0.113.11');
      const channels = new ApprovalChannels({ config: config(), logger: createLogger({ level: 'silent' }) });
      assert.equal(await channels.storeWithOutbox(t.store).approvals.insert(approvalStorageRecord(request)), true);
      const id = `${request.id}/request/slack`;
      assert.equal((await t.store.notifications.get(id))?.status, 'pending');
      // Thirty-one days later, still pending (a channel down for a month): kept.
      const later = new ApprovalChannels({
        config: config(),
        logger: createLogger({ level: 'silent' }),
        clock: { now: () => Date.now() + 31 * 86_400_000 },
      });
      later.storeWithOutbox(t.store);
      await later.prune(); // (other tests' delivered rows may go here; this one is pending)
      assert.equal((await t.store.notifications.get(id))?.status, 'pending');
      // Delivered now, and looked at again thirty-one days on: dropped.
      channels.attach(links);
      await channels.deliverDue();
      assert.equal((await t.store.notifications.get(id))?.status, 'sent');
      await channels.prune();
      assert.equal((await t.store.notifications.get(id))?.status, 'sent', 'a fresh delivery is kept');
      assert.ok((await later.prune()) >= 1);
      assert.equal(await t.store.notifications.get(id), undefined);
    });

    test('a process that died between "run parked on an approval step" and "message written" is caught up by the next one, once', async () => {
      // What the runner leaves behind: a waiting run and its open approval wait, and nothing in the outbox.
      const now = Date.now();
      const runId = newId(now);
      await t.store.engine.insertRuns([
        {
          id: runId,
          playbookId: 'isolate-host',
          playbookVersion: 2,
          definition: { id: 'isolate-host', version: 2, title: 'Isolate a host' },
          inputs: { host: 'ws-7', api_key: 'INPUT-NOT-SHOWN' },
          status: 'waiting',
          startedBy: 'rita',
          caseId: 'case-1',
          wakeAt: now + 3_600_000,
          createdAt: now,
        },
      ]);
      await t.store.engine.insertWaits([
        {
          runId,
          stepKey: 'ask',
          kind: 'approval',
          wakeAt: now + 3_600_000,
          request: { prompt: 'Isolate ws-7?', approvers: ['approver'], on_timeout: 'reject', step: 'ask' },
        },
      ]);
      const posts = () => slack.requests.filter((r) => r.path === '/api/chat.postMessage' && r.body.includes(runId));
      for (const attempt of [1, 2]) {
        // Each process starts from nothing but the store: the first announces, the second finds it done.
        const process = new ApprovalChannels({ config: config(), logger: createLogger({ level: 'silent' }) });
        process.storeWithOutbox(t.store);
        process.attach(links);
        process.start();
        try {
          const deadline = Date.now() + 10_000;
          while ((await t.store.notifications.get(`step:${runId}/ask/request/slack`))?.status !== 'sent') {
            assert.ok(Date.now() < deadline, `the step approval is announced (process ${attempt})`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await process.sweepStepApprovals(true);
          await process.deliverDue();
        } finally {
          await process.stop();
        }
      }
      assert.equal(posts().length, 1, 'posted exactly once');
      const text = posts()[0]?.body ?? '';
      assert.match(text, /Isolate ws-7\?/);
      assert.match(text, /case-1/);
      assert.doesNotMatch(text, /INPUT-NOT-SHOWN/);
    });

    test('a Teams Workflows URL (202 Accepted) gets the card; a payload Teams cannot read would be refused', async () => {
      const teams = await startTeamsSimulator({ flavour: 'workflow' });
      const channels = new ApprovalChannels({
        config: loadConfig({
          env: {},
          overrides: {
            'log.level': 'silent',
            'integrations.http_allow': ['127.0.0.1'],
            'approvals.channels': { teams: { webhook_url: teams.webhookUrl } },
          },
        }),
        logger: createLogger({ level: 'silent' }),
      });
      const request = approval('203.0.113.12');
      try {
        await channels.storeWithOutbox(t.store).approvals.insert(approvalStorageRecord(request));
        channels.attach(links);
        channels.start();
        const deadline = Date.now() + 10_000;
        while ((await t.store.notifications.get(`${request.id}/request/teams`))?.status !== 'sent') {
          assert.ok(Date.now() < deadline, 'the card is accepted');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(teams.received.length, 1);
        assert.match(JSON.stringify(teams.received[0]?.card), /firewall\.block_ip/);
        const bad = await fetch(teams.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
        assert.equal(bad.status, 400);
      } finally {
        await channels.stop();
        await teams.close();
      }
    });

    test('without channels configured the store is handed back untouched and nothing is queued', async () => {
      const channels = new ApprovalChannels({
        config: loadConfig({ env: {}, overrides: { 'log.level': 'silent' } }),
        logger: createLogger({ level: 'silent' }),
      });
      assert.equal(channels.enabled, false);
      assert.equal(channels.storeWithOutbox(t.store), t.store);
      const request = approval('203.0.113.11');
      assert.equal(await t.store.approvals.insert(approvalStorageRecord(request)), true);
      assert.deepEqual(await t.store.notifications.listBySubject(request.id), []);
    });
  });
}

describe('approval channel configuration', () => {
  const load = (overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ env, overrides: { 'log.level': 'silent', ...overrides } });

  test('mistakes name the key: a #channel name, a malformed bot token or PagerDuty key, an unknown key', () => {
    assert.throws(() => load({ 'approvals.channels': { slack: { channel: '#soc' } } }), /approvals\.channels\.slack\.channel .*channel id/);
    assert.throws(() => load({ 'slack.bot_token': 'hunter2' }), /slack\.bot_token .*xoxb/);
    assert.throws(() => load({ 'approvals.on_call': { pagerduty: { routing_key: 'short' } } }), /routing_key .*32-character/);
    assert.throws(() => load({ 'approvals.channels': { sms: { to: ['+1555'] } } }), /unknown configuration key approvals\.channels\.sms/);
  });

  test('secrets come from the environment', () => {
    const config = load(
      { 'email.smtp.host': 'smtp.corp.example', 'email.smtp.from': 'soc@corp.example' },
      {
        RIPOSTE_SLACK_BOT_TOKEN: SIMULATOR_SLACK_BOT_TOKEN,
        RIPOSTE_SMTP_PASSWORD: 'relay-password',
        RIPOSTE_TEAMS_WEBHOOK_URL: 'https://corp.webhook.office.com/webhookb2/x',
        RIPOSTE_PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEYR1P0STELAB0000000000AB',
      },
    );
    assert.equal(config.slack.bot_token, SIMULATOR_SLACK_BOT_TOKEN);
    assert.equal(config.email.smtp?.password, 'relay-password');
    assert.equal(config.email.smtp?.port, 587);
    assert.equal(config.approvals.channels.teams?.webhook_url, 'https://corp.webhook.office.com/webhookb2/x');
    assert.equal(config.approvals.on_call.pagerduty?.url, 'https://events.pagerduty.com');
  });
});
