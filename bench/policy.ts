import { performance } from 'node:perf_hooks';
import { ManualClock } from '../src/core/index.ts';
import {
  type AllowLists,
  ApprovalDesk,
  type ApprovalKeyring,
  type CompiledPolicy,
  decideApproval,
  defaultPolicy,
  evaluatePolicy,
  openApprovalRequest,
  type PolicyDecision,
  type PolicyInput,
  parsePolicyYaml,
  parseSlackApprovalClick,
  SLACK_APPROVE_ACTION,
  slackSignature,
  verifyDecisionSignature,
  verifyRelease,
  verifySlackRequest,
} from '../src/policy/index.ts';
import { benchStores, emit, note, percentile } from './harness.ts';

/**
 * Policy engine cost per proposed action (it sits in front of every write/destructive action), with the
 * built-in rules and with a 200-rule file, against realistic allow-lists (500 ranges, 200 domains, 20
 * partners); and the cost of checking approval signatures (every decision at release time).
 */
const DECISIONS = 200_000;
const VERIFICATIONS = 100_000;

export function allowLists(): AllowLists {
  return {
    cidrs: Array.from({ length: 500 }, (_, i) => `10.${i % 256}.${Math.floor(i / 256) * 16}.0/${20 + (i % 9)}`),
    domains: Array.from({ length: 200 }, (_, i) => `trusted-${i}.example`),
    partners: Array.from({ length: 20 }, (_, i) => ({
      name: `partner-${i}`,
      cidrs: [`198.51.${i}.0/24`, `2001:db8:${i}::/48`],
      domains: [`partner-${i}.example`],
    })),
    warning_list_hits: Array.from({ length: 100 }, (_, i) => ({ value: `104.16.${i}.1`, list: 'cloudflare' })),
  };
}

export function inputs(lists: AllowLists): PolicyInput[] {
  const out: PolicyInput[] = [];
  const criticalities = ['critical', 'high', 'medium', 'low'] as const;
  for (let i = 0; i < 1000; i++) {
    const ip = i % 10 === 0 ? `198.51.${i % 20}.${i % 250}` : i % 13 === 0 ? `104.16.${i % 100}.1` : `203.0.${i % 250}.${(i * 7) % 250}`;
    out.push({
      action: {
        id: i % 3 === 0 ? 'edr.isolate_host' : 'firewall.block_ip',
        impact: i % 5 === 0 ? 'write' : 'destructive',
        arguments: { ip, ttl_hours: (i % 72) + 1 },
      },
      targets: [
        {
          type: 'ipv4',
          value: ip,
          asset: i % 4 === 0 ? { criticality: criticalities[i % 4] as 'critical', owner: 'it', environment: 'production' } : undefined,
        },
      ],
      indicator: { confidence: (i * 37) % 101, verdict: 'malicious', source: 'feed' },
      allow_lists: lists,
      history: { last_hour: { 'firewall.block_ip': i % 30, 'edr.isolate_host': i % 5 } },
      requester: { id: 'playbook:ip-enrichment', kind: 'playbook' },
    });
  }
  return out;
}

export function twoHundredRules(): CompiledPolicy {
  const rules: string[] = [];
  for (let i = 0; i < 200; i++) {
    const kind = i % 5;
    if (kind === 0) {
      rules.push(
        `  - id: r${i}\n    actions: ["firewall.*"]\n    when: { all: [ { field: indicator.confidence, gte: ${50 + (i % 50)} }, { field: action.arguments.ttl_hours, lte: ${i % 72} } ] }\n    decision: allow\n    reason: r${i}`,
      );
    } else if (kind === 1) {
      rules.push(
        `  - id: r${i}\n    when: { any_target: { field: target.value, in_cidr: [192.${i % 256}.0.0/16, 172.${16 + (i % 16)}.0.0/12] } }\n    decision: deny\n    reason: r${i}`,
      );
    } else if (kind === 2) {
      rules.push(
        `  - id: r${i}\n    actions: ["*.isolate_host"]\n    when: { any_target: { all: [ { field: target.asset.criticality, in: [critical, high] }, { field: target.asset.environment, eq: env-${i} } ] } }\n    decision: require_approval\n    approval: { approvers: ${1 + (i % 3)} }\n    reason: r${i}`,
      );
    } else if (kind === 3) {
      rules.push(
        `  - id: r${i}\n    when: { any: [ { field: history.same_kind_last_hour, gte: ${20 + i} }, { field: requester.id, eq: user-${i} } ] }\n    decision: require_approval\n    reason: r${i}`,
      );
    } else {
      rules.push(
        `  - id: r${i}\n    when: { not: { any_target: { field: target.value, in_domain: [d${i}.example, e${i}.example] } } }\n    decision: allow\n    reason: "{action.id} r${i}"`,
      );
    }
  }
  const { policy, issues } = parsePolicyYaml(`id: big\nversion: 1\nrules:\n${rules.join('\n')}\n`);
  if (!policy) throw new Error(`bench policy invalid: ${issues[0]?.message}`);
  return policy;
}

function measureDecisions(name: string, policy: CompiledPolicy, list: PolicyInput[]): void {
  for (let i = 0; i < 20_000; i++) evaluatePolicy(policy, list[i % list.length] as PolicyInput); // warm-up
  const latencies = new Float64Array(DECISIONS);
  const tally: Record<string, number> = { allow: 0, require_approval: 0, deny: 0 };
  const start = performance.now();
  for (let i = 0; i < DECISIONS; i++) {
    const t0 = performance.now();
    const decision = evaluatePolicy(policy, list[i % list.length] as PolicyInput);
    latencies[i] = performance.now() - t0;
    tally[decision.decision] = (tally[decision.decision] ?? 0) + 1;
  }
  const seconds = (performance.now() - start) / 1000;
  const rules = policy.rules.length;
  emit({ suite: 'policy', metric: 'decisions_per_s', value: DECISIONS / seconds, unit: '1/s', n: DECISIONS, rules, policy: name });
  emit({ suite: 'policy', metric: 'decision_p99_ms', value: percentile(Array.from(latencies), 99), unit: 'ms', n: DECISIONS, rules, policy: name });
  note(`policy ${name}: ${JSON.stringify(tally)}`);
}

function measureApprovals(): void {
  const clock = new ManualClock();
  const keys: ApprovalKeyring = { current: { id: 'bench', secret: 'bench-secret-bench-secret-bench-secret' } };
  const decision = evaluatePolicy(defaultPolicy(), {
    action: { id: 'firewall.block_ip', impact: 'destructive', arguments: { ip: '203.0.113.9', ttl: '24h' } },
    targets: [{ type: 'ipv4', value: '203.0.113.9' }],
    indicator: { confidence: 95, verdict: 'malicious' },
    history: { last_hour: { 'firewall.block_ip': 50 } },
    requester: { id: 'playbook:ip' },
  }) as Extract<PolicyDecision, { decision: 'require_approval' }>;
  let request = openApprovalRequest(
    { action: { id: 'firewall.block_ip', impact: 'destructive' }, arguments: { ip: '203.0.113.9', ttl: '24h' }, decision, requester: 'playbook:ip' },
    clock,
  );
  const ctx = { clock, keys };
  request = decideApproval(
    request,
    { approver: { id: 'alice', roles: ['approver'] }, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'ui' },
    ctx,
  ).request;
  request = decideApproval(
    request,
    { approver: { id: 'bob', roles: ['approver'] }, decision: 'approve', arguments_hash: request.arguments_hash, channel: 'slack' },
    ctx,
  ).request;
  const signed = request.decisions[0];
  if (!signed) throw new Error('no decision');

  let start = performance.now();
  for (let i = 0; i < VERIFICATIONS; i++) if (!verifyDecisionSignature(signed, keys)) throw new Error('verification failed');
  let seconds = (performance.now() - start) / 1000;
  emit({ suite: 'policy', metric: 'approval_signature_verifications_per_s', value: VERIFICATIONS / seconds, unit: '1/s', n: VERIFICATIONS });

  const releases = VERIFICATIONS / 4;
  start = performance.now();
  for (let i = 0; i < releases; i++) verifyRelease(request, keys);
  seconds = (performance.now() - start) / 1000;
  emit({ suite: 'policy', metric: 'approval_release_verifications_per_s', value: releases / seconds, unit: '1/s', n: releases, approvals: 2 });

  const decides = VERIFICATIONS / 4;
  const pending = openApprovalRequest(
    { action: { id: 'firewall.block_ip', impact: 'destructive' }, arguments: { ip: '203.0.113.9', ttl: '24h' }, decision, requester: 'playbook:ip' },
    clock,
  );
  start = performance.now();
  for (let i = 0; i < decides; i++)
    decideApproval(
      pending,
      { approver: { id: `u${i}`, roles: ['approver'] }, decision: 'approve', arguments_hash: pending.arguments_hash, channel: 'ui' },
      ctx,
    );
  seconds = (performance.now() - start) / 1000;
  emit({ suite: 'policy', metric: 'approval_decisions_signed_per_s', value: decides / seconds, unit: '1/s', n: decides });
}

/**
 * The policy side of "approval click → action starts": a signed Slack click is verified (signature,
 * window, replay ledger in the store), parsed, and decided through the desk with compare-and-set in the
 * store, up to the moment the quorum releases the action. The runner's hand-over comes on top.
 */
async function measureClickToRelease(): Promise<void> {
  const CLICKS = 300;
  const secret = 'bench-slack-signing-secret';
  const keys: ApprovalKeyring = { current: { id: 'bench', secret: 'bench-secret-bench-secret-bench-secret' } };
  for (const open of await benchStores()) {
    const { store, backend, dispose } = await open();
    try {
      const clock = { now: () => Date.now() };
      const desk = new ApprovalDesk({ storage: store.approvals, clock, keys });
      const decision = evaluatePolicy(defaultPolicy(), {
        action: { id: 'firewall.block_ip', impact: 'destructive', arguments: { ip: '203.0.113.9' } },
        targets: [{ type: 'ipv4', value: '203.0.113.9' }],
        indicator: { confidence: 95, verdict: 'malicious' },
        history: { last_hour: { 'firewall.block_ip': 50 } },
        requester: { id: 'playbook:ip' },
      }) as Extract<PolicyDecision, { decision: 'require_approval' }>;
      const requests = [];
      for (let i = 0; i < CLICKS; i++) {
        const request = await desk.open({
          action: { id: 'firewall.block_ip', impact: 'destructive' },
          arguments: { ip: '203.0.113.9', n: i },
          decision,
          requester: 'playbook:ip',
        });
        await desk.decide(request.id, {
          approver: { id: 'alice', roles: ['approver'] },
          decision: 'approve',
          arguments_hash: request.arguments_hash,
          channel: 'ui',
        });
        requests.push(request);
      }
      const latencies: number[] = [];
      let released = 0;
      const start = performance.now();
      for (const request of requests) {
        const body = `payload=${encodeURIComponent(
          JSON.stringify({
            type: 'block_actions',
            user: { id: 'U0BOB' },
            actions: [{ type: 'button', action_id: SLACK_APPROVE_ACTION, value: `${request.id}:${request.arguments_hash}` }],
          }),
        )}`;
        const timestamp = String(Math.floor(Date.now() / 1000));
        const headers = { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(secret, timestamp, body) };
        const t0 = performance.now();
        await verifySlackRequest({ rawBody: body, headers, signingSecret: secret, clock, ledger: desk.ledger });
        const click = parseSlackApprovalClick(body);
        const result = await desk.decide(click.approval_id, {
          approver: { id: 'bob', roles: ['approver'] },
          decision: click.decision,
          arguments_hash: click.arguments_hash,
          channel: 'slack',
        });
        latencies.push(performance.now() - t0);
        if (result.released) released++;
      }
      const seconds = (performance.now() - start) / 1000;
      if (released !== CLICKS) throw new Error(`bench: ${released} of ${CLICKS} clicks released`);
      emit({ suite: 'policy', metric: 'slack_click_to_release_p99_ms', value: percentile(latencies, 99), unit: 'ms', n: CLICKS, backend });
      emit({ suite: 'policy', metric: 'slack_click_to_release_p50_ms', value: percentile(latencies, 50), unit: 'ms', n: CLICKS, backend });
      emit({ suite: 'policy', metric: 'slack_clicks_per_s', value: CLICKS / seconds, unit: '1/s', n: CLICKS, backend });
    } finally {
      await dispose();
    }
  }
}

export async function run(): Promise<void> {
  const lists = allowLists();
  const list = inputs(lists);
  measureDecisions('builtin-default', defaultPolicy(), list);
  measureDecisions('200-rules', twoHundredRules(), list);
  measureApprovals();
  await measureClickToRelease();
}
