import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../core/index.ts';
import { ApprovalDesk, type ApprovalStorage, type ApprovalStorageRecord } from './approval-desk.ts';
import { createApprovalLinkToken, verifyRelease } from './approvals.ts';
import { defaultPolicy } from './default-policy.ts';
import { evaluatePolicy, type PolicyDecision } from './evaluate-policy.ts';

const KEYS = { current: { id: 'k', secret: 'desk-test-secret-desk-test-secret' } };

/** In-memory storage with the same compare-and-set contract as the store; `beforeUpdate` lets a test interleave a rival. */
class MemoryStorage implements ApprovalStorage {
  readonly rows = new Map<string, ApprovalStorageRecord>();
  readonly once = new Map<string, number>();
  beforeUpdate: (() => Promise<void>) | undefined;
  readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  async insert(record: ApprovalStorageRecord) {
    if (this.rows.has(record.id)) return false;
    this.rows.set(record.id, structuredClone(record));
    return true;
  }
  async get(id: string) {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : undefined;
  }
  async update(record: ApprovalStorageRecord, expectedRevision: number) {
    const hook = this.beforeUpdate;
    this.beforeUpdate = undefined;
    if (hook) await hook();
    const row = this.rows.get(record.id);
    if (!row || row.revision !== expectedRevision) return false;
    this.rows.set(record.id, structuredClone(record));
    return true;
  }
  async listDue(now: number) {
    return [...this.rows.values()].filter((r) => r.status === 'pending' && r.expiresAt <= now).map((r) => ({ id: r.id }));
  }
  async claimOnce(key: string, expiresAt: number) {
    const until = this.once.get(key);
    if (until !== undefined && until > this.clock.now()) return false;
    this.once.set(key, expiresAt);
    return true;
  }
}

function needsTwo() {
  return evaluatePolicy(defaultPolicy(), {
    action: { id: 'edr.isolate_host', impact: 'destructive', arguments: { host: 'ws-17' } },
    targets: [{ type: 'host', value: 'ws-17' }],
    indicator: { confidence: 95, verdict: 'malicious' },
    history: { last_hour: { 'edr.isolate_host': 30 } },
    requester: { id: 'playbook:hunt' },
  }) as Extract<PolicyDecision, { decision: 'require_approval' }>;
}

describe('approval desk', () => {
  test('a decision that loses a compare-and-set race is re-applied to the fresh request, and the quorum releases once', async () => {
    const clock = new ManualClock();
    const storage = new MemoryStorage(clock);
    const desk = new ApprovalDesk({ storage, clock, keys: KEYS });
    const opened = await desk.open({
      action: { id: 'edr.isolate_host', impact: 'destructive' },
      arguments: { host: 'ws-17' },
      decision: needsTwo(),
      requester: 'playbook:hunt',
    });
    assert.equal(opened.required, 2);
    // Bob's save is overtaken by Alice's: Bob's decision is re-read and then completes the quorum.
    storage.beforeUpdate = async () => {
      const alice = await desk.decide(opened.id, {
        approver: { id: 'alice', roles: ['approver'] },
        decision: 'approve',
        arguments_hash: opened.arguments_hash,
        channel: 'ui',
      });
      assert.equal(alice.released, false);
    };
    const bob = await desk.decide(opened.id, {
      approver: { id: 'bob', roles: ['approver'] },
      decision: 'approve',
      arguments_hash: opened.arguments_hash,
      channel: 'slack',
    });
    assert.equal(bob.released, true);
    const final = await desk.get(opened.id);
    assert.equal(final.status, 'approved');
    assert.deepEqual(
      final.decisions.map((d) => d.approver),
      ['alice', 'bob'],
    );
    verifyRelease(final, KEYS);
    await assert.rejects(
      () =>
        desk.decide(opened.id, { approver: { id: 'carol', roles: ['approver'] }, decision: 'approve', arguments_hash: opened.arguments_hash, channel: 'ui' }),
      { code: 'approvals.already_resolved' },
    );
    await assert.rejects(() => desk.get('missing'), { code: 'not_found' });
  });

  test('expireDue resolves overdue requests once; links are spent once', async () => {
    const clock = new ManualClock();
    const storage = new MemoryStorage(clock);
    const desk = new ApprovalDesk({ storage, clock, keys: KEYS });
    const opened = await desk.open({
      action: { id: 'edr.isolate_host', impact: 'destructive' },
      arguments: { host: 'ws-17' },
      decision: needsTwo(),
      requester: 'playbook:hunt',
    });
    const { token } = createApprovalLinkToken(
      { approval_id: opened.id, approver: 'alice', decision: 'approve', arguments_hash: opened.arguments_hash },
      { clock, keys: KEYS },
    );
    assert.equal((await desk.claimLink(token)).approver, 'alice');
    await assert.rejects(() => desk.claimLink(token), { code: 'approvals.link_used' });
    assert.deepEqual(await desk.expireDue(), []);
    clock.advance(opened.expires_at - clock.now());
    const expired = await desk.expireDue();
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.request.status, 'rejected');
    assert.equal(expired[0]?.released, false);
    assert.deepEqual(await desk.expireDue(), []);
  });
});
