import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_POLICY_YAML, defaultPolicy } from './default-policy.ts';
import { evaluatePolicy, type PolicyDecision } from './evaluate-policy.ts';
import { parsePolicyYaml } from './policy-document.ts';
import type { PolicyInput } from './policy-input.ts';
import { targetsFromArguments } from './policy-input.ts';
import { policyDecisionRecord, policyDeniedError } from './policy-records.ts';
import { parsePolicyTestsYaml, runPolicyTests } from './policy-testing.ts';

const PARTNER = { name: 'Acme Logistics', cidrs: ['198.51.100.0/24'], domains: ['acme-logistics.example'] };
const CDN_ADDRESS = '104.16.132.229';
const ALLOW_LISTS = {
  cidrs: ['10.0.0.0/8'],
  domains: ['corp.example'],
  partners: [PARTNER],
  warning_list_hits: [{ value: CDN_ADDRESS, list: 'cloudflare' }],
};

function blockIp(ip: string, confidence: number | undefined, extra: Partial<PolicyInput> = {}): PolicyInput {
  return {
    action: { id: 'firewall.block_ip', impact: 'destructive', kind: 'block_ip', arguments: { ip, ttl: '24h' } },
    targets: [{ type: 'ipv4', value: ip }],
    indicator: confidence === undefined ? undefined : { confidence, verdict: 'malicious', source: 'feed:cheap-intel' },
    allow_lists: ALLOW_LISTS,
    requester: { id: 'playbook:ip-enrichment', kind: 'playbook' },
    ...extra,
  };
}

function approvalOf(decision: PolicyDecision) {
  assert.equal(decision.decision, 'require_approval', JSON.stringify(decision.reasons));
  return decision.decision === 'require_approval' ? decision.approval : undefined;
}

describe('default policy: the response tiers of issue 6', () => {
  const policy = defaultPolicy();

  test('high confidence on a non-critical target is allowed, with the rule and policy version named', () => {
    const decision = evaluatePolicy(policy, blockIp('203.0.113.9', 92));
    assert.equal(decision.decision, 'allow');
    assert.equal(decision.rule.id, 'high-confidence');
    assert.equal(decision.rule.policy_id, 'builtin-default');
    assert.equal(decision.rule.policy_version, 2);
    assert.match(decision.rule.policy_digest, /^[0-9a-f]{64}$/);
    assert.match(decision.reasons[0]?.text ?? '', /confidence 92 is at least 85/);
  });

  test('confidence 50–84 needs one approver; a critical asset needs one approver even at high confidence', () => {
    const medium = approvalOf(evaluatePolicy(policy, blockIp('203.0.113.9', 84)));
    assert.deepEqual(medium, { approvers: 1, roles: ['approver', 'admin'], expires_after_ms: 4 * 3_600_000, on_expiry: 'reject', page_on_call: false });
    approvalOf(evaluatePolicy(policy, blockIp('203.0.113.9', 50)));
    const isolate: PolicyInput = {
      action: { id: 'edr.isolate_host', impact: 'destructive', arguments: { host: 'db-prod-01' } },
      targets: [
        { type: 'host', value: 'db-prod-01', asset: { criticality: 'critical', name: 'Payments DB', owner: 'payments-team', environment: 'production' } },
      ],
      indicator: { confidence: 97, verdict: 'malicious' },
      requester: { id: 'playbook:hunt', kind: 'playbook' },
    };
    const decision = evaluatePolicy(policy, isolate);
    assert.equal(approvalOf(decision)?.approvers, 1);
    assert.equal(decision.rule.id, 'critical-asset');
    assert.match(decision.reasons[0]?.text ?? '', /db-prod-01 is a critical asset \(Payments DB, owner payments-team, production\)/);
  });

  test('confidence below 50 denies the block: annotate only', () => {
    const decision = evaluatePolicy(policy, blockIp('203.0.113.9', 49));
    assert.equal(decision.decision, 'deny');
    assert.equal(decision.rule.id, 'low-confidence');
    assert.match(decision.reasons[0]?.text ?? '', /confidence 49 \(from feed:cheap-intel\) is below 50: firewall.block_ip is not allowed, annotate only/);
  });

  test('allow-listed targets are denied whatever the confidence: CIDR, domain and subdomain, partner range, warning list', () => {
    const cases: Array<[PolicyInput, RegExp]> = [
      [blockIp('10.20.30.40', 99), /10.20.30.40 is on the cidr allow-list allow-list \(10.0.0.0\/8\)/],
      [blockIp('198.51.100.77', 99), /on the partner allow-list Acme Logistics \(198.51.100.0\/24\)/],
      [blockIp(CDN_ADDRESS, 99), /on the warning_list allow-list cloudflare/],
      [
        {
          ...blockIp('x', 99),
          action: { id: 'dns.sinkhole', impact: 'destructive', arguments: {} },
          targets: [{ type: 'domain', value: 'vpn.eu.corp.example' }],
        },
        /vpn.eu.corp.example is on the domain allow-list allow-list \(corp.example\)/,
      ],
      [
        {
          ...blockIp('x', 99),
          action: { id: 'proxy.block_url', impact: 'destructive', arguments: {} },
          targets: [{ type: 'url', value: 'https://portal.acme-logistics.example/login' }],
        },
        /partner allow-list Acme Logistics \(acme-logistics.example\)/,
      ],
    ];
    for (const [input, reason] of cases) {
      const decision = evaluatePolicy(policy, input);
      assert.equal(decision.decision, 'deny', input.targets?.[0]?.value);
      assert.equal(decision.rule.id, 'allow-listed-target');
      assert.match(decision.reasons[0]?.text ?? '', reason);
    }
    // A look-alike of the partner's domain is not covered.
    const lookalike = evaluatePolicy(policy, { ...blockIp('x', 99), targets: [{ type: 'domain', value: 'acme-logistics.example.evil.test' }] });
    assert.equal(lookalike.decision, 'allow');
  });

  test('replay of the partner incident: a confidence-40 feed naming a partner IP and a CDN address blocks neither, and says why', () => {
    for (const ip of ['198.51.100.23', CDN_ADDRESS]) {
      const decision = evaluatePolicy(policy, blockIp(ip, 40));
      assert.equal(decision.decision, 'deny');
      const texts = decision.reasons.map((r) => r.text).join('\n');
      assert.match(texts, /allow-list/, 'the allow-list is named');
      assert.match(texts, /confidence 40 .* below 50/, 'the weak confidence is named too');
      assert.deepEqual(decision.matched_rules, ['allow-listed-target', 'low-confidence']);
    }
  });

  test('blast radius: past the hourly limit of one kind a destructive action needs two approvers and pages the on-call', () => {
    const decision = evaluatePolicy(policy, blockIp('203.0.113.9', 95, { history: { last_hour: { block_ip: 20, isolate_host: 3 } } }));
    const approval = approvalOf(decision);
    assert.equal(approval?.approvers, 2);
    assert.equal(approval?.page_on_call, true);
    assert.equal(approval?.expires_after_ms, 3_600_000);
    assert.equal(decision.rule.id, 'blast-radius');
    assert.match(decision.reasons[0]?.text ?? '', /20 block_ip actions already ran in the last hour \(limit 20\)/);
    // Other kinds do not count towards this kind's limit.
    assert.equal(evaluatePolicy(policy, blockIp('203.0.113.9', 95, { history: { last_hour: { block_ip: 19, isolate_host: 50 } } })).decision, 'allow');
  });

  test('undoing an earlier block on an allow-listed target is not refused by the allow-list rule (a new write on it is)', () => {
    const unblock = (rollback: boolean) =>
      evaluatePolicy(policy, {
        ...blockIp('198.51.100.23', undefined),
        action: { id: 'firewall.unblock_ip', impact: 'write', arguments: { ip: '198.51.100.23' }, ...(rollback ? { rollback: true } : {}) },
      });
    assert.equal(unblock(false).decision, 'deny');
    assert.equal(unblock(false).rule.id, 'allow-listed-target');
    assert.equal(unblock(true).decision, 'allow');
    assert.equal(unblock(true).rule.id, 'routine-write');
  });

  test('read actions pass without rules; writes are allowed unless a target is critical or allow-listed; unknown confidence needs approval', () => {
    assert.equal(
      evaluatePolicy(policy, { ...blockIp('203.0.113.9', 10), action: { id: 'vt.ip_report', impact: 'read', arguments: {} } }).rule.id,
      '(read-only)',
    );
    const ticket = evaluatePolicy(policy, { ...blockIp('203.0.113.9', 10), action: { id: 'jira.create_issue', impact: 'write', arguments: {} } });
    assert.equal(ticket.decision, 'allow');
    const noConfidence = evaluatePolicy(policy, blockIp('203.0.113.9', undefined));
    assert.equal(noConfidence.rule.id, '(no-match)');
    assert.equal(approvalOf(noConfidence)?.approvers, 1);
  });

  test('1,000 indicators with mixed confidence, 50 allow-listed or critical: none of those 50 is ever allowed, and the wave stops at the blast radius', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let blocksThisHour = 0;
    let allowed = 0;
    let pagedApprovals = 0;
    let protectedAllowed = 0;
    for (let i = 0; i < 1000; i++) {
      const confidence = Math.floor(random() * 101);
      let input: PolicyInput;
      const isProtected = i % 20 === 0;
      if (isProtected && i % 40 === 0) {
        input = blockIp(`198.51.100.${i % 250}`, confidence);
      } else if (isProtected) {
        input = {
          ...blockIp(`203.0.${Math.floor(i / 250)}.${i % 250}`, confidence),
          targets: [{ type: 'ipv4', value: `203.0.${Math.floor(i / 250)}.${i % 250}`, asset: { criticality: 'critical' } }],
        };
      } else {
        input = blockIp(`192.0.${Math.floor(i / 250)}.${i % 250}`, confidence);
      }
      input.history = { last_hour: { block_ip: blocksThisHour } };
      const decision = evaluatePolicy(policy, input);
      if (decision.decision === 'allow') {
        allowed++;
        blocksThisHour++;
        if (isProtected) protectedAllowed++;
      }
      if (decision.decision === 'require_approval' && decision.approval.page_on_call) pagedApprovals++;
      if (isProtected) assert.notEqual(decision.decision, 'allow', `protected target ${i} allowed`);
    }
    assert.equal(protectedAllowed, 0);
    assert.equal(allowed, 20, 'exactly the blast-radius limit ran automatically');
    assert.ok(pagedApprovals > 0, 'the wave beyond the limit pages the on-call');
  });
});

describe('policy files', () => {
  test('the built-in policy text round-trips through the loader', () => {
    const loaded = parsePolicyYaml(DEFAULT_POLICY_YAML);
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.policy?.rules.length, 7);
  });

  test('every problem is reported at once with its line and column', () => {
    const text = [
      'id: custom',
      'version: 2',
      'params: { limit: 5 }',
      'rules:',
      '  - id: one',
      '    decision: deny',
      '    reason: bad field',
      '    when: { field: indicator.confidense, lt: 5 }',
      '  - id: two',
      '    decision: allow',
      '    reason: "{target.value} ok"',
      '    when: { field: target.value, eq: x }',
      '  - id: three',
      '    decision: require_approval',
      '    reason: x',
      '    when: { field: history.same_kind_last_hour, gte: { param: limt } }',
      '  - id: four',
      '    decision: maybe',
      '    reason: x',
      '  - id: five',
      '    decision: deny',
      '    reason: x',
      '    when: { any_target: { field: target.value, in_cidr: [10.0.0.0/33] } }',
      '  - id: one',
      '    decision: deny',
      '    reason: dup',
    ].join('\n');
    const { policy, issues } = parsePolicyYaml(text);
    assert.equal(policy, undefined);
    const summary = issues.map((i) => `${i.line}:${i.column} ${i.message}`);
    assert.ok(
      summary.some((s) => /^8:\d+ unknown field "indicator.confidense"/.test(s)),
      summary.join('\n'),
    );
    assert.ok(issues.find((i) => /did you mean indicator.confidence/.test(i.hint ?? '')));
    assert.ok(
      summary.some((s) => /^12:\d+ target.value is only defined inside any_target/.test(s)),
      summary.join('\n'),
    );
    assert.ok(
      summary.some((s) => /^11:\d+ reason uses \{target.value\} but the rule's condition has no any_target/.test(s)),
      summary.join('\n'),
    );
    assert.ok(
      summary.some((s) => /^16:\d+ unknown param "limt"/.test(s)),
      summary.join('\n'),
    );
    assert.ok(
      summary.some((s) => /^18:\d+ .*decision: must be one of allow, require_approval, deny/.test(s)),
      summary.join('\n'),
    );
    assert.ok(
      summary.some((s) => /^23:\d+ in_cidr takes CIDR ranges/.test(s)),
      summary.join('\n'),
    );
    assert.ok(
      summary.some((s) => /^24:\d+ rule id one is used twice/.test(s)),
      summary.join('\n'),
    );
  });

  test('YAML syntax errors and unknown keys have positions too', () => {
    const broken = parsePolicyYaml('id: x\nversion: 1\nrules:\n  - id: a\n    id: b\n');
    assert.equal(broken.issues[0]?.code, 'policy.invalid_yaml');
    assert.equal(broken.issues[0]?.line, 5);
    const unknown = parsePolicyYaml('id: x\nversion: 1\nrules:\n  - id: a\n    decision: deny\n    reason: r\n    whenn: {}\n');
    assert.match(unknown.issues[0]?.message ?? '', /unknown key whenn/);
    assert.equal(unknown.issues[0]?.line, 4);
  });

  test('custom rules: action globs, any/all/not, in, in_cidr, in_domain, starts_with, arguments and params; the strictest match decides', () => {
    const { policy, issues } = parsePolicyYaml(`
id: acme
version: 7
params: { max_ttl_hours: 48, vip_users: [ceo, cfo] }
defaults: { no_match: deny, approval: { roles: [approver], expires: 30m } }
rules:
  - id: short-blocks
    actions: ["firewall.*"]
    impact: [destructive]
    when:
      all:
        - { field: action.arguments.ttl_hours, lte: 48 }
        - { any_target: { field: target.value, not_in_cidr: [192.168.0.0/16] } }
    decision: allow
    reason: "a block of {action.arguments.ttl_hours}h on {target.value}"
  - id: long-blocks
    actions: ["firewall.*"]
    when: { not: { field: action.arguments.ttl_hours, lte: 48 } }
    decision: require_approval
    approval: { approvers: 2 }
    reason: "blocks longer than 48h need two people"
  - id: vip-accounts
    actions: ["*.disable_user"]
    when: { any_target: { field: target.value, in: { param: vip_users } } }
    decision: require_approval
    approval: { approvers: 3, page_on_call: true }
    reason: "{target.value} is a VIP"
  - id: lab-hosts
    when: { any_target: { any: [ { field: target.value, starts_with: "lab-" }, { field: target.value, in_domain: lab.example } ] } }
    decision: allow
    reason: lab
`);
    assert.deepEqual(issues, []);
    assert.ok(policy);
    const base = { requester: { id: 'alice' }, targets: [{ type: 'ipv4', value: '203.0.113.1' }] };
    const short = evaluatePolicy(policy, { ...base, action: { id: 'firewall.block_ip', impact: 'destructive', arguments: { ttl_hours: 24 } } });
    assert.equal(short.decision, 'allow');
    assert.equal(short.reasons[0]?.text, 'a block of 24h on 203.0.113.1');
    const long = evaluatePolicy(policy, { ...base, action: { id: 'firewall.block_ip', impact: 'destructive', arguments: { ttl_hours: 720 } } });
    assert.equal(approvalOf(long)?.approvers, 2);
    assert.deepEqual(approvalOf(long)?.roles, ['approver']);
    assert.equal(approvalOf(long)?.expires_after_ms, 30 * 60_000);
    const internal = evaluatePolicy(policy, {
      ...base,
      targets: [{ type: 'ipv4', value: '192.168.1.1' }],
      action: { id: 'firewall.block_ip', impact: 'destructive', arguments: { ttl_hours: 1 } },
    });
    assert.equal(internal.decision, 'deny', 'no rule matched: no_match deny');
    const vip = evaluatePolicy(policy, {
      ...base,
      targets: [
        { type: 'user', value: 'ceo' },
        { type: 'user', value: 'lab-bot' },
      ],
      action: { id: 'ad.disable_user', impact: 'destructive', arguments: {} },
    });
    assert.equal(approvalOf(vip)?.approvers, 3, 'the lab allow rule cannot override the VIP rule');
    assert.equal(approvalOf(vip)?.page_on_call, true);
    assert.deepEqual(vip.matched_rules, ['vip-accounts', 'lab-hosts']);
    const lab = evaluatePolicy(policy, {
      ...base,
      targets: [{ type: 'host', value: 'x.lab.example' }],
      action: { id: 'edr.isolate_host', impact: 'destructive', arguments: {} },
    });
    assert.equal(lab.decision, 'allow');
  });

  test('a missing fact fails every comparison, so a rule that needs it does not fire', () => {
    const { policy } = parsePolicyYaml(`
id: t
version: 1
defaults: { no_match: require_approval }
rules:
  - { id: not-benign, decision: allow, reason: r, when: { field: indicator.verdict, ne: benign } }
`);
    assert.ok(policy);
    const withoutIndicator = evaluatePolicy(policy, { action: { id: 'a.b', impact: 'destructive', arguments: {} }, requester: { id: 'x' } });
    assert.equal(withoutIndicator.decision, 'require_approval');
  });

  test('in_cidr and not_in_cidr are both false for a value that is not an address; URLs are judged by their host; exists', () => {
    const { policy } = parsePolicyYaml(`
id: t
version: 1
defaults: { no_match: deny }
rules:
  - { id: inside, decision: allow, reason: r, when: { any_target: { field: target.value, in_cidr: [10.0.0.0/8] } } }
  - { id: outside, decision: require_approval, reason: r, when: { any_target: { field: target.value, not_in_cidr: [10.0.0.0/8] } } }
  - { id: has-verdict, decision: require_approval, reason: r, when: { field: indicator.verdict, exists: true } }
`);
    assert.ok(policy);
    const input = (value: string): PolicyInput => ({
      action: { id: 'a.b', impact: 'destructive', arguments: {} },
      targets: [{ type: 'x', value }],
      requester: { id: 'r' },
    });
    assert.deepEqual(evaluatePolicy(policy, input('10.1.2.3')).matched_rules, ['inside']);
    assert.deepEqual(evaluatePolicy(policy, input('http://10.1.2.3/path')).matched_rules, ['inside']);
    assert.deepEqual(evaluatePolicy(policy, input('11.0.0.1')).matched_rules, ['outside']);
    assert.deepEqual(evaluatePolicy(policy, input('not-an-ip')).matched_rules, []);
    assert.deepEqual(evaluatePolicy(policy, { ...input('x'), indicator: { confidence: 5, verdict: 'unknown' } }).matched_rules, ['has-verdict']);
  });

  test('bad allow-list entries in an input are reported with the field at fault', () => {
    assert.throws(
      () => evaluatePolicy(defaultPolicy(), { ...blockIp('203.0.113.1', 90), allow_lists: { cidrs: ['10.0.0.0/40'] } }),
      (error: Error & { code?: string }) => error.code === 'policy.invalid_input' && /allow_lists.cidrs/.test(error.message),
    );
  });

  test('targets are derived from conventional argument names', () => {
    assert.deepEqual(targetsFromArguments({ ip: '203.0.113.1', hosts: ['a', 'b'], ttl: '24h', url: 'https://x.example/' }), [
      { type: 'ipv4', value: '203.0.113.1' },
      { type: 'host', value: 'a' },
      { type: 'host', value: 'b' },
      { type: 'url', value: 'https://x.example/' },
    ]);
  });
});

describe('policy test files', () => {
  test('cases run against a policy and report each failed expectation', () => {
    const parsed = parsePolicyTestsYaml(`
base_input:
  requester: { id: "playbook:ip", kind: playbook }
  allow_lists: { partners: [{ name: Acme, cidrs: [198.51.100.0/24] }] }
cases:
  - name: partner never blocked
    input:
      action: { id: firewall.block_ip, impact: destructive, arguments: { ip: 198.51.100.4 } }
      targets: [{ type: ipv4, value: 198.51.100.4 }]
      indicator: { confidence: 99, verdict: malicious }
    expect: { decision: deny, rule: allow-listed-target, reasons_include: [Acme] }
  - name: wrong on purpose
    input:
      action: { id: firewall.block_ip, impact: destructive }
      targets: [{ type: ipv4, value: 203.0.113.4 }]
      indicator: { confidence: 60 }
    expect: { decision: allow, approvers: 2 }
`);
    assert.deepEqual(parsed.issues, []);
    assert.ok(parsed.tests);
    const results = runPolicyTests(defaultPolicy(), parsed.tests);
    assert.equal(results[0]?.passed, true, results[0]?.failures.join('\n'));
    assert.equal(results[1]?.passed, false);
    assert.match(results[1]?.failures[0] ?? '', /expected allow, got require_approval \(rule medium-confidence/);
    assert.match(results[1]?.failures[1] ?? '', /expected 2 approver\(s\), got 1/);
  });

  test('invalid case inputs are located in the test file', () => {
    const parsed = parsePolicyTestsYaml(
      'cases:\n  - name: x\n    input:\n      action: { id: a, impact: huge }\n      requester: { id: r }\n    expect: { decision: allow }\n',
    );
    assert.equal(parsed.tests, undefined);
    assert.match(parsed.issues[0]?.message ?? '', /cases.0.input.action.impact/);
    assert.equal(parsed.issues[0]?.line, 4);
  });
});

describe('policy records', () => {
  test('the timeline/audit record carries action, arguments hash, targets, decision, rule and reasons; a deny becomes policy.denied', () => {
    const input = blockIp('198.51.100.5', 99, { run: { id: 'run-9' } });
    const decision = evaluatePolicy(defaultPolicy(), input);
    const record = policyDecisionRecord(input, decision);
    assert.equal(record.decision, 'deny');
    assert.equal(record.rule.id, 'allow-listed-target');
    assert.match(record.arguments_hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(record.targets, ['198.51.100.5']);
    assert.equal(record.run_id, 'run-9');
    assert.equal(decision.decision, 'deny');
    if (decision.decision !== 'deny') return;
    const error = policyDeniedError(input, decision);
    assert.equal(error.code, 'policy.denied');
    assert.equal(error.status, 403);
    assert.match(error.message, /policy denied firewall.block_ip: 198.51.100.5 is on the partner allow-list Acme Logistics/);
  });
});
