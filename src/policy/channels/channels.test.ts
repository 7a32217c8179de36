import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../core/index.ts';
import { type ApprovalKeyring, type ApprovalRequest, decideApproval, MemoryOnceLedger, openApprovalRequest } from '../approvals.ts';
import { defaultPolicy } from '../default-policy.ts';
import { evaluatePolicy, type PolicyDecision } from '../evaluate-policy.ts';
import { buildApprovalEmail } from './email.ts';
import {
  buildSlackApprovalMessage,
  buildSlackDecisionUpdate,
  escapeSlackText,
  parseSlackApprovalClick,
  parseSlackStepClick,
  SLACK_APPROVE_ACTION,
  SLACK_REJECT_ACTION,
  SLACK_STEP_APPROVE_ACTION,
  SLACK_STEP_REJECT_ACTION,
  slackSignature,
  verifySlackRequest,
} from './slack.ts';
import { buildSlackStepApprovalMessage } from './step-approval.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE, buildTeamsApprovalCard, buildTeamsDecisionCard, escapeCardText } from './teams.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const KEYS: ApprovalKeyring = { current: { id: 'k1', secret: 'server-key-server-key-server-key-1' } };
const REVIEW = 'https://riposte.example/approvals/x';

function request(
  clock: ManualClock,
  args: Record<string, unknown> = { ip: '203.0.113.9', ttl: '24h', note: '<!channel> *pwned* [x](http://evil)' },
): ApprovalRequest {
  const decision = evaluatePolicy(defaultPolicy(), {
    action: { id: 'firewall.block_ip', impact: 'destructive', kind: 'block_ip', arguments: args },
    targets: [{ type: 'ipv4', value: '203.0.113.9' }],
    indicator: { confidence: 90, verdict: 'malicious' },
    history: { last_hour: { block_ip: 25 } },
    requester: { id: 'playbook:ip' },
  });
  return openApprovalRequest(
    {
      action: { id: 'firewall.block_ip', impact: 'destructive' },
      arguments: args,
      decision: decision as Extract<PolicyDecision, { decision: 'require_approval' }>,
      evidence: [{ kind: 'verdict', id: 'v1', title: 'malicious (90) from 3 sources' }],
      requester: 'playbook:ip',
      initiator: 'rita',
    },
    clock,
  );
}

function clickBody(approval: ApprovalRequest, actionId = SLACK_APPROVE_ACTION, hash = approval.arguments_hash): string {
  const payload = {
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0001' },
    api_app_id: 'A0001',
    token: 'legacy-token-ignored',
    container: { type: 'message', message_ts: '1764295200.000100', channel_id: 'C0SOC', is_ephemeral: false },
    trigger_id: '123.456.abc',
    team: { id: 'T0001', domain: 'acme' },
    channel: { id: 'C0SOC', name: 'soc-approvals' },
    message: { type: 'message', ts: '1764295200.000100', text: 'Approval needed' },
    response_url: 'https://hooks.slack.com/actions/T0001/1/abc',
    actions: [{ type: 'button', action_id: actionId, block_id: `riposte.approval:${approval.id}`, value: `${approval.id}:${hash}`, action_ts: '1764295230.1' }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

describe('Slack request verification (v0 signing secret)', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 2, 0, 0));
  const timestamp = String(Math.floor(clock.now() / 1000));

  test('an authentic request passes once; a replay of it is refused', async () => {
    const ledger = new MemoryOnceLedger(clock);
    const body = 'payload=%7B%7D';
    const headers = { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(SECRET, timestamp, body) };
    await verifySlackRequest({ rawBody: body, headers, signingSecret: SECRET, clock, ledger });
    await assert.rejects(() => verifySlackRequest({ rawBody: body, headers, signingSecret: SECRET, clock, ledger }), { code: 'slack.replayed' });
  });

  test('a bad signature, a changed body, a stale timestamp and missing headers are refused with distinct codes', async () => {
    const ledger = new MemoryOnceLedger(clock);
    const body = 'payload=%7B%7D';
    const good = slackSignature(SECRET, timestamp, body);
    const verify = (headers: Record<string, string>, rawBody = body) => verifySlackRequest({ rawBody, headers, signingSecret: SECRET, clock, ledger });
    await assert.rejects(() => verify({ 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': slackSignature('wrong-secret', timestamp, body) }), {
      code: 'slack.bad_signature',
    });
    await assert.rejects(() => verify({ 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': good }, `${body}&x=1`), { code: 'slack.bad_signature' });
    await assert.rejects(() => verify({ 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': 'v0=short' }), { code: 'slack.bad_signature' });
    const old = String(Number(timestamp) - 301);
    await assert.rejects(() => verify({ 'X-Slack-Request-Timestamp': old, 'X-Slack-Signature': slackSignature(SECRET, old, body) }), {
      code: 'slack.stale_request',
    });
    await assert.rejects(() => verify({ 'X-Slack-Signature': good }), { code: 'slack.signature_missing' });
    // Still inside the window: accepted (the earlier failures did not burn the signature).
    await verify({ 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': good });
  });

  test('matches the worked example from Slack’s documentation', () => {
    // Slack's documented example: secret 8f742231b10e8888abcd99yyyzzz85a5, timestamp 1531420618.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    assert.equal(slackSignature(SECRET, '1531420618', body), 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });
});

describe('Slack interactive payloads and messages', () => {
  test('a button click becomes an approval decision bound to the arguments shown', () => {
    const clock = new ManualClock();
    const approval = request(clock);
    const click = parseSlackApprovalClick(clickBody(approval));
    assert.deepEqual(click, {
      approval_id: approval.id,
      arguments_hash: approval.arguments_hash,
      decision: 'approve',
      slack_user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0001' },
      response_url: 'https://hooks.slack.com/actions/T0001/1/abc',
      channel_id: 'C0SOC',
      message_ts: '1764295200.000100',
      action_ts: '1764295230.1',
    });
    assert.equal(parseSlackApprovalClick(clickBody(approval, SLACK_REJECT_ACTION)).decision, 'reject');
    const decided = decideApproval(
      approval,
      { approver: { id: 'alice', roles: ['approver'] }, decision: click.decision, arguments_hash: click.arguments_hash, channel: 'slack' },
      { clock, keys: KEYS },
    );
    assert.equal(decided.request.decisions[0]?.channel, 'slack');
    // A click on an old message (arguments since edited) carries the old hash and is refused.
    const stale = parseSlackApprovalClick(clickBody(approval, SLACK_APPROVE_ACTION, 'a'.repeat(64)));
    assert.throws(
      () =>
        decideApproval(
          approval,
          { approver: { id: 'bob', roles: ['approver'] }, decision: stale.decision, arguments_hash: stale.arguments_hash, channel: 'slack' },
          { clock, keys: KEYS },
        ),
      { code: 'approvals.arguments_changed' },
    );
  });

  test('malformed and foreign payloads are refused', () => {
    const approval = request(new ManualClock());
    assert.throws(() => parseSlackApprovalClick('text=hello'), { code: 'slack.invalid_payload' });
    assert.throws(() => parseSlackApprovalClick('payload=%7Bnot-json'), { code: 'slack.invalid_payload' });
    assert.throws(() => parseSlackApprovalClick(`payload=${encodeURIComponent(JSON.stringify({ type: 'view_submission', user: { id: 'U1' } }))}`), {
      code: 'slack.invalid_payload',
    });
    assert.throws(() => parseSlackApprovalClick(clickBody(approval, 'someone.else')), { code: 'slack.not_an_approval' });
    const badValue = clickBody(approval).replace(encodeURIComponent(`${approval.id}:`), encodeURIComponent('x y:'));
    assert.throws(() => parseSlackApprovalClick(badValue), { code: 'slack.invalid_payload' });
  });

  test('the Block Kit message shows action, exact arguments (escaped), reasons, evidence and two buttons carrying id:hash', () => {
    const approval = request(new ManualClock());
    const message = buildSlackApprovalMessage(approval, { reviewUrl: REVIEW });
    const json = JSON.stringify(message.blocks);
    assert.equal(message.blocks[0]?.type, 'header');
    assert.match(json, /firewall.block_ip \(destructive\)/);
    assert.match(json, /two approvers are needed and the on-call is paged/);
    assert.match(json, /malicious \(90\) from 3 sources/);
    assert.ok(!json.includes('<!channel>'), 'data cannot ping the channel');
    assert.ok(json.includes('&lt;!channel&gt;'));
    const actions = message.blocks.at(-1) as { type: string; elements: Array<{ action_id: string; value?: string; url?: string }> };
    assert.equal(actions.type, 'actions');
    assert.deepEqual(
      actions.elements.map((e) => e.action_id),
      [SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION, 'riposte.approval.open'],
    );
    assert.equal(actions.elements[0]?.value, `${approval.id}:${approval.arguments_hash}`);
    assert.equal(actions.elements[2]?.url, REVIEW);
    assert.equal(escapeSlackText('a<b>&c'), 'a&lt;b&gt;&amp;c');
  });

  test('the update shows progress while pending and who decided once resolved, without buttons', () => {
    const clock = new ManualClock();
    let approval = request(clock);
    approval = decideApproval(
      approval,
      { approver: { id: 'alice', roles: ['approver'] }, decision: 'approve', arguments_hash: approval.arguments_hash, channel: 'slack' },
      { clock, keys: KEYS },
    ).request;
    const pending = buildSlackDecisionUpdate(approval, { reviewUrl: REVIEW });
    assert.equal(pending.replace_original, true);
    assert.match(JSON.stringify(pending.blocks), /waiting: 1 of 2 approvals \(so far: alice\)/);
    assert.equal(pending.blocks.at(-1)?.type, 'actions');
    approval = decideApproval(
      approval,
      { approver: { id: 'bob', roles: ['approver'] }, decision: 'approve', arguments_hash: approval.arguments_hash, channel: 'slack' },
      { clock, keys: KEYS },
    ).request;
    const done = buildSlackDecisionUpdate(approval, { reviewUrl: REVIEW });
    assert.match(done.text, /approved by alice, bob/);
    assert.ok(
      done.blocks.every((b) => b.type !== 'actions'),
      'no buttons after the decision',
    );
  });
});

describe('Teams Adaptive Card', () => {
  test('the webhook message carries an Adaptive Card with the facts and a link back to Riposte', () => {
    const approval = request(new ManualClock());
    const message = buildTeamsApprovalCard(approval, { reviewUrl: REVIEW, signedLinks: { approve: `${REVIEW}?t=abc` } });
    assert.equal(message.type, 'message');
    const attachment = message.attachments[0];
    assert.equal(attachment?.contentType, ADAPTIVE_CARD_CONTENT_TYPE);
    const card = attachment?.content as { type: string; version: string; actions: Array<{ type: string; url: string }>; body: unknown[] };
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.version, '1.4');
    assert.deepEqual(
      card.actions.map((a) => [a.type, a.url]),
      [
        ['Action.OpenUrl', REVIEW],
        ['Action.OpenUrl', `${REVIEW}?t=abc`],
      ],
    );
    const json = JSON.stringify(card.body);
    assert.match(json, /Approval needed: firewall.block_ip/);
    assert.match(json, /2 distinct approvers/);
    assert.ok(!json.includes('[x](http://evil)'), 'data cannot become a link');
    assert.equal(escapeCardText('[x](http://evil) *b*'), '\\[x\\](http://evil) \\*b\\*');
    const decided = buildTeamsDecisionCard(
      { ...approval, status: 'rejected', resolution: { outcome: 'rejected', how: 'rejected', at: 0, by: 'bob' } },
      { reviewUrl: REVIEW },
    );
    assert.match(JSON.stringify(decided), /rejected by bob/);
  });
});

describe('approval e-mail', () => {
  test('one approver gets the facts, escaped HTML, and their one-time links', () => {
    const approval = request(new ManualClock(), { ip: '203.0.113.9', note: '<script>alert(1)</script>' });
    const mail = buildApprovalEmail(approval, { reviewUrl: REVIEW, approveUrl: `${REVIEW}/link?t=a"b`, rejectUrl: `${REVIEW}/link?t=r` });
    assert.equal(mail.subject, '[Riposte] Approval needed: firewall.block_ip (2 approvers)');
    assert.match(mail.text, /Approve \(one-time link\): https:\/\/riposte.example\/approvals\/x\/link\?t=a"b/);
    assert.match(mail.text, /"note": "<script>alert\(1\)<\/script>"/);
    assert.ok(!mail.html.includes('<script>'), 'data is escaped in HTML');
    assert.ok(mail.html.includes('&lt;script&gt;'));
    assert.ok(mail.html.includes('href="https://riposte.example/approvals/x/link?t=a&quot;b"'));
  });
});

describe('Slack clicks on a playbook approval step', () => {
  const body = (actionId: string, value: string) =>
    `payload=${encodeURIComponent(
      JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE', name: 'alice' }, actions: [{ type: 'button', action_id: actionId, value }] }),
    )}`;

  test('a step button names the run and step key; other interactions are not step clicks; a bad value is refused', () => {
    assert.deepEqual(parseSlackStepClick(body(SLACK_STEP_REJECT_ACTION, '01JRUN-1|contain[0].ask')), {
      run_id: '01JRUN-1',
      step_key: 'contain[0].ask',
      decision: 'reject',
      slack_user: { id: 'U0ALICE', username: undefined, name: 'alice', team_id: undefined },
    });
    assert.equal(parseSlackStepClick(body(SLACK_APPROVE_ACTION, `a:${'0'.repeat(64)}`)), undefined);
    assert.equal(parseSlackStepClick('payload=%7Bnot-json'), undefined);
    assert.throws(() => parseSlackStepClick(body(SLACK_STEP_APPROVE_ACTION, 'no separator')), { code: 'slack.invalid_payload' });
  });

  test('the step message escapes the prompt, shows no buttons without a signing secret, and none once decided', () => {
    const facts = {
      run_id: 'R1',
      step: 'ask',
      prompt: 'Isolate <!channel> *ws-1*?',
      playbook: { id: 'isolate', version: 1, title: 'Isolate' },
      case_id: null,
      started_by: 'rita',
      expires_at: null,
      on_timeout: 'reject',
      approvers: [],
      run_url: 'https://riposte.example/runs/R1',
      inbox_url: 'https://riposte.example/approvals',
    };
    const plain = JSON.stringify(buildSlackStepApprovalMessage(facts).blocks);
    assert.ok(!plain.includes('<!channel>') && plain.includes('&lt;!channel&gt;'));
    assert.ok(!plain.includes(SLACK_STEP_APPROVE_ACTION));
    assert.ok(JSON.stringify(buildSlackStepApprovalMessage(facts, undefined, { buttons: true }).blocks).includes(`"R1|ask"`));
    const done = buildSlackStepApprovalMessage(facts, { status: 'rejected', by: 'carol', comment: 'no', text: 'rejected by carol: no' }, { buttons: true });
    assert.ok(done.blocks.every((b) => b.type !== 'actions'));
    assert.match(done.text, /rejected by carol: no/);
  });
});
