import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/core/index.ts';
import {
  ApprovalDesk,
  type ApprovalKeyring,
  type ApprovalPrincipal,
  approvalFromStorage,
  approvalStorageRecord,
  defaultPolicy,
  evaluatePolicy,
  openApprovalRequest,
  type PolicyDecision,
  parseSlackApprovalClick,
  SLACK_APPROVE_ACTION,
  slackSignature,
  verifyRelease,
  verifySlackRequest,
} from '../src/policy/index.ts';
import { type TestStore, testBackends } from '../src/store/testing.ts';

/**
 * The approval path as the lead will wire it: policy asks for two approvers, the request is stored,
 * approvers decide concurrently through the API and Slack, each decision is read–decide–compare-and-set,
 * and the action is released exactly once with verified signatures.
 */
const KEYS: ApprovalKeyring = { current: { id: 'k1', secret: 'flow-test-secret-flow-test-secret' } };
const SIGNING_SECRET = 'slack-signing-secret';

for (const backend of testBackends()) {
  describe(`approval flow through the store (${backend.backend})`, () => {
    let t: TestStore;
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 2, 0));
    before(async () => {
      t = await backend.open({ clock });
    });
    after(async () => {
      await t.dispose();
    });

    async function openTwoPerson() {
      const args = { ip: '203.0.113.50', ttl: '24h' };
      const decision = evaluatePolicy(defaultPolicy(), {
        action: { id: 'firewall.block_ip', impact: 'destructive', kind: 'block_ip', arguments: args },
        targets: [{ type: 'ipv4', value: args.ip }],
        indicator: { confidence: 96, verdict: 'malicious' },
        history: { last_hour: { block_ip: 40 } },
        requester: { id: 'playbook:ip-enrichment', kind: 'playbook' },
      });
      assert.equal(decision.decision, 'require_approval');
      const request = openApprovalRequest(
        {
          action: { id: 'firewall.block_ip', impact: 'destructive' },
          arguments: args,
          decision: decision as Extract<PolicyDecision, { decision: 'require_approval' }>,
          requester: 'playbook:ip-enrichment',
          initiator: 'rita',
          context: { run_id: 'run-77' },
        },
        clock,
      );
      assert.equal(await t.store.approvals.insert(approvalStorageRecord(request)), true);
      return request;
    }

    /** What an approval endpoint does: the desk reads, decides and saves with compare-and-set (retrying on a lost race). */
    async function decide(
      id: string,
      approver: ApprovalPrincipal,
      shownHash: string,
      channel: 'api' | 'slack',
    ): Promise<{ released: boolean; error?: string }> {
      const desk = new ApprovalDesk({ storage: t.store.approvals, clock, keys: KEYS });
      try {
        const result = await desk.decide(id, { approver, decision: 'approve', arguments_hash: shownHash, channel });
        return { released: result.released };
      } catch (error) {
        return { released: false, error: (error as { code: string }).code };
      }
    }

    test('two distinct approvers deciding at the same moment release the action exactly once', async () => {
      for (let round = 0; round < 5; round++) {
        const request = await openTwoPerson();
        const outcomes = await Promise.all([
          decide(request.id, { id: 'alice', roles: ['approver'] }, request.arguments_hash, 'api'),
          decide(request.id, { id: 'bob', roles: ['approver'] }, request.arguments_hash, 'slack'),
          decide(request.id, { id: 'carol', roles: ['approver'] }, request.arguments_hash, 'api'),
        ]);
        assert.equal(outcomes.filter((o) => o.released).length, 1, JSON.stringify(outcomes));
        const stored = await t.store.approvals.get(request.id);
        assert.equal(stored?.status, 'approved');
        const final = approvalFromStorage(stored?.document);
        assert.deepEqual(verifyRelease(final, KEYS).arguments, request.arguments);
      }
    });

    test('the same person twice and the initiator are refused; a replayed Slack click is refused before it counts', async () => {
      const request = await openTwoPerson();
      const ledger = new ApprovalDesk({ storage: t.store.approvals, clock, keys: KEYS }).ledger;
      const body = `payload=${encodeURIComponent(
        JSON.stringify({
          type: 'block_actions',
          user: { id: 'U0BOB', username: 'bob' },
          actions: [{ type: 'button', action_id: SLACK_APPROVE_ACTION, value: `${request.id}:${request.arguments_hash}` }],
          response_url: 'https://hooks.slack.com/actions/x',
        }),
      )}`;
      const timestamp = String(Math.floor(clock.now() / 1000));
      const headers = { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body) };
      await verifySlackRequest({ rawBody: body, headers, signingSecret: SIGNING_SECRET, clock, ledger });
      const click = parseSlackApprovalClick(body);
      assert.deepEqual(await decide(click.approval_id, { id: 'bob', roles: ['approver'] }, click.arguments_hash, 'slack'), { released: false });
      await assert.rejects(() => verifySlackRequest({ rawBody: body, headers, signingSecret: SIGNING_SECRET, clock, ledger }), { code: 'slack.replayed' });
      assert.deepEqual(await decide(request.id, { id: 'bob', roles: ['approver'] }, request.arguments_hash, 'api'), {
        released: false,
        error: 'approvals.duplicate_approver',
      });
      assert.deepEqual(await decide(request.id, { id: 'rita', roles: ['approver'] }, request.arguments_hash, 'api'), {
        released: false,
        error: 'approvals.separation_of_duties',
      });
      assert.deepEqual(await decide(request.id, { id: 'alice', roles: ['approver'] }, request.arguments_hash, 'api'), { released: true });
    });
  });
}
