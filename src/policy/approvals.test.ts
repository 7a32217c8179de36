import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../core/index.ts';
import {
  type ApprovalKeyring,
  type ApprovalPrincipal,
  type ApprovalRequest,
  approvalKeyring,
  breakGlass,
  claimApprovalLink,
  countedApprovers,
  createApprovalLinkToken,
  decideApproval,
  editApprovalArguments,
  expireApproval,
  hashArguments,
  MemoryOnceLedger,
  openApprovalRequest,
  verifyApprovalLinkToken,
  verifyDecisionSignature,
  verifyRelease,
} from './approvals.ts';
import { defaultPolicy } from './default-policy.ts';
import { evaluatePolicy, type PolicyDecision } from './evaluate-policy.ts';
import type { PolicyInput } from './policy-input.ts';

const KEYS: ApprovalKeyring = { current: { id: 'k2', secret: 'a-server-secret-of-at-least-32-bytes!!' } };
const alice: ApprovalPrincipal = { id: 'alice', roles: ['approver'] };
const bob: ApprovalPrincipal = { id: 'bob', roles: ['approver'] };
const carol: ApprovalPrincipal = { id: 'carol', roles: ['approver'] };
const requester: ApprovalPrincipal = { id: 'rita', roles: ['responder', 'approver'] };
const analyst: ApprovalPrincipal = { id: 'ann', roles: ['analyst'] };
const admin: ApprovalPrincipal = { id: 'root', roles: ['admin'] };

function policyInput(args: Record<string, unknown>, history = 20): PolicyInput {
  return {
    action: { id: 'firewall.block_ip', impact: 'destructive', kind: 'block_ip', arguments: args },
    targets: [{ type: 'ipv4', value: String(args.ip) }],
    indicator: { confidence: 90, verdict: 'malicious' },
    history: { last_hour: { block_ip: history } },
    requester: { id: 'rita' },
  };
}

function twoPersonRequest(clock: ManualClock): ApprovalRequest {
  const args = { ip: '203.0.113.9', ttl: '24h' };
  const decision = evaluatePolicy(defaultPolicy(), policyInput(args));
  assert.equal(decision.decision, 'require_approval');
  return openApprovalRequest(
    {
      action: { id: 'firewall.block_ip', impact: 'destructive' },
      arguments: args,
      decision: decision as Extract<PolicyDecision, { decision: 'require_approval' }>,
      evidence: [{ kind: 'verdict', id: 'v-1', title: 'malicious, 90' }],
      requester: 'rita',
      initiator: 'ivan',
      playbookLastAuthor: 'paula',
      context: { run_id: 'run-1', step_id: 'contain' },
    },
    clock,
  );
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('approvals: M-of-N with separation of duties', () => {
  test('the request carries the exact action, arguments hash, evidence, policy reasons, quorum and expiry', () => {
    const clock = new ManualClock();
    const request = twoPersonRequest(clock);
    assert.equal(request.required, 2);
    assert.equal(request.page_on_call, true);
    assert.equal(request.expires_at, clock.now() + 3_600_000);
    assert.equal(request.on_expiry, 'reject');
    assert.equal(request.arguments_hash, hashArguments({ ttl: '24h', ip: '203.0.113.9' }), 'hash is over canonical JSON: key order does not matter');
    assert.equal(request.policy.rule.id, 'blast-radius');
    assert.match(request.policy.reasons[0]?.text ?? '', /two approvers/);
    assert.equal(request.evidence[0]?.id, 'v-1');
  });

  test('two distinct approvers release the action exactly once, and the release verifies', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    let request = twoPersonRequest(clock);
    const first = decideApproval(request, { approver: alice, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(first.released, false);
    assert.equal(first.request.status, 'pending');
    request = first.request;
    clock.advance(1000);
    const second = decideApproval(request, { approver: bob, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'slack' }, ctx);
    assert.equal(second.released, true);
    assert.equal(second.request.status, 'approved');
    assert.equal(second.request.revision, 3);
    assert.deepEqual(verifyRelease(second.request, KEYS).arguments, { ip: '203.0.113.9', ttl: '24h' });
    // A third approver arriving later changes nothing: the quorum was reached once.
    assert.equal(
      codeOf(() => decideApproval(second.request, { approver: carol, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx)),
      'approvals.already_resolved',
    );
    // Two racing second approvals computed from the same revision: both say released, so storage must
    // compare-and-set on `revision` — exactly one of them can be saved.
    const racer = decideApproval(request, { approver: carol, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(racer.request.revision, second.request.revision, 'same expected revision: the store lets one win');
  });

  test('the same person approving twice is refused', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const once = decideApproval(
      twoPersonRequest(clock),
      { approver: alice, decision: 'approve', arguments_hash: twoPersonRequest(clock).arguments_hash, channel: 'ui' },
      ctx,
    );
    const again = codeOf(() =>
      decideApproval(once.request, { approver: alice, decision: 'approve', arguments_hash: once.request.arguments_hash, channel: 'slack' }, ctx),
    );
    assert.equal(again, 'approvals.duplicate_approver');
  });

  test('the requester, the run initiator and the playbook last author cannot approve; other roles cannot either', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const request = twoPersonRequest(clock);
    const vote = (approver: ApprovalPrincipal) => () =>
      decideApproval(request, { approver, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(codeOf(vote(requester)), 'approvals.separation_of_duties');
    assert.equal(codeOf(vote({ id: 'ivan', roles: ['approver'] })), 'approvals.separation_of_duties');
    assert.equal(codeOf(vote({ id: 'paula', roles: ['admin'] })), 'approvals.separation_of_duties');
    assert.equal(codeOf(vote(analyst)), 'approvals.role_not_allowed');
    try {
      vote(requester)();
    } catch (error) {
      assert.match((error as Error).message, /rita is the requester of this action and cannot approve it/);
    }
    // Withdrawing is safe: the requester may reject their own request.
    const withdrawn = decideApproval(request, { approver: requester, decision: 'reject', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(withdrawn.request.status, 'rejected');
    assert.equal(withdrawn.rejected, true);
  });

  test('one rejection vetoes the request', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const request = twoPersonRequest(clock);
    const approved = decideApproval(request, { approver: alice, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx);
    const rejected = decideApproval(
      approved.request,
      { approver: bob, decision: 'reject', arguments_hash: request.arguments_hash, channel: 'ui', comment: 'that is our VPN' },
      ctx,
    );
    assert.equal(rejected.request.status, 'rejected');
    assert.equal(rejected.request.resolution?.by, 'bob');
    assert.equal(
      codeOf(() => verifyRelease(rejected.request, KEYS)),
      'approvals.not_approved',
    );
  });

  test('expiry resolves to reject by default; decisions after it are refused', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const request = twoPersonRequest(clock);
    clock.advance(3_600_000);
    assert.equal(
      codeOf(() => decideApproval(request, { approver: alice, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx)),
      'approvals.expired',
    );
    const expired = expireApproval(request, ctx);
    assert.equal(expired.changed, true);
    assert.equal(expired.released, false);
    assert.equal(expired.request.status, 'rejected');
    assert.equal(expired.request.resolution?.how, 'expired');
    assert.equal(expireApproval(expired.request, ctx).changed, false);
    // on_expiry: approve (only when a policy says so explicitly) releases and verifies.
    const lenient = expireApproval({ ...request, on_expiry: 'approve' }, ctx);
    assert.equal(lenient.released, true);
    assert.equal(verifyRelease(lenient.request, KEYS).how, 'expired');
    assert.equal(expireApproval(twoPersonRequest(new ManualClock()), { clock: new ManualClock(), keys: KEYS }).changed, false, 'not yet due');
  });

  test('arguments altered after signing are refused at release; forged decisions too', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    let request = twoPersonRequest(clock);
    request = decideApproval(request, { approver: alice, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx).request;
    request = decideApproval(request, { approver: bob, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx).request;
    const tampered = { ...request, arguments: { ...request.arguments, ip: '10.0.0.1' } };
    assert.equal(
      codeOf(() => verifyRelease(tampered, KEYS)),
      'approvals.arguments_altered',
    );
    const rehashed = { ...tampered, arguments_hash: hashArguments(tampered.arguments) };
    assert.equal(
      codeOf(() => verifyRelease(rehashed, KEYS)),
      'approvals.not_approved',
      'signatures were for the old hash: they do not count',
    );
    const forged = { ...rehashed, decisions: rehashed.decisions.map((d) => ({ ...d, arguments_hash: rehashed.arguments_hash })) };
    assert.equal(
      codeOf(() => verifyRelease(forged, KEYS)),
      'approvals.bad_signature',
    );
    const decision = request.decisions[0];
    assert.ok(decision);
    assert.equal(verifyDecisionSignature(decision, KEYS), true);
    assert.equal(verifyDecisionSignature({ ...decision, approver: 'mallory' }, KEYS), false);
    assert.equal(verifyDecisionSignature({ ...decision, at: decision.at + 1 }, KEYS), false);
    assert.equal(verifyDecisionSignature(decision, { current: { id: 'k2', secret: 'another-secret-another-secret-another' } }), false);
    // Rotation: a decision signed under a previous key still verifies.
    assert.equal(verifyDecisionSignature(decision, { current: { id: 'k3', secret: 'x'.repeat(32) }, previous: [KEYS.current] }), true);
  });

  test('an approver edits the arguments: policy is re-checked, earlier approvals stop counting, deny refuses the edit', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    let request = twoPersonRequest(clock);
    const staleHash = request.arguments_hash;
    request = decideApproval(request, { approver: alice, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' }, ctx).request;
    const recheck = (args: Record<string, unknown>) => evaluatePolicy(defaultPolicy(), policyInput(args));
    const edited = editApprovalArguments(
      request,
      { editor: bob, arguments: { ip: '203.0.113.9', ttl: '1h' }, arguments_hash: request.arguments_hash, comment: 'shorter' },
      recheck,
      ctx,
    );
    assert.notEqual(edited.request.arguments_hash, staleHash);
    assert.deepEqual(countedApprovers(edited.request), [], "alice's approval was for the old arguments");
    assert.equal(edited.request.edits[0]?.editor, 'bob');
    // A decision made on the screen that showed the old arguments is refused.
    assert.equal(
      codeOf(() => decideApproval(edited.request, { approver: carol, decision: 'approve', arguments_hash: staleHash, channel: 'ui' }, ctx)),
      'approvals.arguments_changed',
    );
    let next = decideApproval(edited.request, { approver: alice, decision: 'approve', arguments_hash: edited.request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(next.released, false);
    next = decideApproval(next.request, { approver: carol, decision: 'approve', arguments_hash: edited.request.arguments_hash, channel: 'ui' }, ctx);
    assert.equal(next.released, true);
    assert.deepEqual(verifyRelease(next.request, KEYS).arguments, { ip: '203.0.113.9', ttl: '1h' });
    // Editing the target onto an allow-listed partner range is denied by policy.
    const denyingRecheck = (args: Record<string, unknown>) =>
      evaluatePolicy(defaultPolicy(), { ...policyInput(args), allow_lists: { partners: [{ name: 'Acme', cidrs: ['198.51.100.0/24'] }] } });
    assert.equal(
      codeOf(() =>
        editApprovalArguments(
          request,
          { editor: bob, arguments: { ip: '198.51.100.1', ttl: '1h' }, arguments_hash: request.arguments_hash },
          denyingRecheck,
          ctx,
        ),
      ),
      'approvals.edit_denied',
    );
    assert.equal(
      codeOf(() =>
        editApprovalArguments(
          request,
          { editor: requester, arguments: { ip: '203.0.113.9', ttl: '2h' }, arguments_hash: request.arguments_hash },
          recheck,
          ctx,
        ),
      ),
      'approvals.separation_of_duties',
    );
  });

  test('break-glass: admin only, with a reason, flagged for review', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const request = twoPersonRequest(clock);
    assert.equal(
      codeOf(() => breakGlass(request, { admin: alice, reason: 'ransomware spreading now' }, ctx)),
      'approvals.break_glass_forbidden',
    );
    assert.equal(
      codeOf(() => breakGlass(request, { admin, reason: '  urgent ' }, ctx)),
      'approvals.reason_required',
    );
    const broken = breakGlass(request, { admin, reason: 'ransomware spreading now, approvers asleep' }, ctx);
    assert.equal(broken.released, true);
    assert.equal(broken.request.review_required, true);
    assert.equal(broken.request.resolution?.how, 'break_glass');
    assert.equal(verifyRelease(broken.request, KEYS).how, 'break_glass');
    const strippedReason = { ...broken.request, decisions: broken.request.decisions.map((d) => ({ ...d, reason: 'x' })) };
    assert.equal(
      codeOf(() => verifyRelease(strippedReason, KEYS)),
      'approvals.bad_signature',
    );
  });
});

describe('one-time signed approval links', () => {
  test('a link works once, for one approver, one decision and the arguments it was made for', async () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const ledger = new MemoryOnceLedger(clock);
    const request = twoPersonRequest(clock);
    const { token, claims } = createApprovalLinkToken(
      { approval_id: request.id, approver: 'alice', decision: 'approve', arguments_hash: request.arguments_hash },
      ctx,
    );
    assert.equal(claims.expires_at, clock.now() + 15 * 60_000);
    const used = await claimApprovalLink(token, ctx, ledger);
    assert.deepEqual(used, claims);
    await assert.rejects(() => claimApprovalLink(token, ctx, ledger), { code: 'approvals.link_used' });
  });

  test('expired, altered and foreign links are refused with distinct codes', () => {
    const clock = new ManualClock();
    const ctx = { clock, keys: KEYS };
    const { token } = createApprovalLinkToken({ approval_id: 'a1', approver: 'alice', decision: 'approve', arguments_hash: 'h', ttl_ms: 60_000 }, ctx);
    const [v, kid, body, sig] = token.split('.') as [string, string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, decision: 'reject' })).toString('base64url');
    assert.equal(
      codeOf(() => verifyApprovalLinkToken(`${v}.${kid}.${forgedBody}.${sig}`, ctx)),
      'approvals.link_invalid',
    );
    assert.equal(
      codeOf(() => verifyApprovalLinkToken(token, { clock, keys: { current: { id: 'k2', secret: 'y'.repeat(40) } } })),
      'approvals.link_invalid',
    );
    assert.equal(
      codeOf(() => verifyApprovalLinkToken('garbage', ctx)),
      'approvals.link_invalid',
    );
    clock.advance(60_000);
    assert.equal(
      codeOf(() => verifyApprovalLinkToken(token, ctx)),
      'approvals.link_expired',
    );
    assert.equal(
      codeOf(() => createApprovalLinkToken({ approval_id: 'a1', approver: 'alice', decision: 'approve', arguments_hash: 'h', ttl_ms: 2 * 86_400_000 }, ctx)),
      'input.invalid',
    );
  });
});

describe('approval keys', () => {
  test('a keyring refuses short secrets and derives stable ids that do not reveal the secret', () => {
    assert.equal(
      codeOf(() => approvalKeyring('short')),
      'approvals.weak_key',
    );
    const ring = approvalKeyring('x'.repeat(32), ['y'.repeat(40)]);
    assert.match(ring.current.id, /^[0-9a-f]{16}$/);
    assert.equal(ring.current.id, approvalKeyring('x'.repeat(32)).current.id);
    assert.notEqual(ring.current.id, ring.previous?.[0]?.id);
    assert.ok(!ring.current.id.includes('xxxx'));
  });
});
