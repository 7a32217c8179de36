import { CidrSet, DomainSet, hostOf, parseIpAddress, RiposteError } from '../core/index.ts';
import type { EvaluationContext, TargetFacts } from './conditions.ts';
import type { ApprovalRequirement, CompiledPolicy, CompiledRule, DecisionKind } from './policy-document.ts';
import type { AllowLists, Impact, PolicyInput } from './policy-input.ts';

/**
 * Evaluating a policy for one proposed action. Every rule whose scope (impact, action glob) and
 * condition match contributes a reason; the strictest outcome wins (deny over require_approval over
 * allow; among approvals, more approvers, then a page, then the earlier rule). So a rule can only ever
 * add caution: an "allow" rule never overrides a "deny" elsewhere in the file. When nothing matches,
 * the policy's `no_match` outcome applies (require_approval unless the file says otherwise).
 */
export interface PolicyReason {
  rule: string;
  decision: DecisionKind;
  text: string;
}

export interface DecidingRule {
  /** Rule id, or `(read-only)` / `(no-match)` for the two built-in outcomes. */
  id: string;
  policy_id: string;
  policy_version: number;
  policy_digest: string;
}

interface DecisionCommon {
  /** Deciding reason first, then the other matched rules' reasons in file order. */
  reasons: PolicyReason[];
  rule: DecidingRule;
  /** Ids of every rule that matched. */
  matched_rules: string[];
}

export type PolicyDecision =
  | (DecisionCommon & { decision: 'allow' })
  | (DecisionCommon & { decision: 'deny' })
  | (DecisionCommon & { decision: 'require_approval'; approval: ApprovalRequirement });

const SEVERITY: Record<DecisionKind, number> = { allow: 0, require_approval: 1, deny: 2 };

interface CompiledAllowLists {
  cidrs: CidrSet;
  domains: DomainSet;
  /** Every partner's ranges and domains in one set each, with the partner each entry belongs to. */
  partnerCidrs: CidrSet;
  partnerDomains: DomainSet;
  partnerOf: Map<string, string>;
  warnings: Map<string, string>;
}

const compiledLists = new WeakMap<AllowLists, CompiledAllowLists>();

function compileAllowLists(lists: AllowLists): CompiledAllowLists {
  const cached = compiledLists.get(lists);
  if (cached) return cached;
  const build = <T>(field: string, make: () => T): T => {
    try {
      return make();
    } catch (error) {
      throw new RiposteError('policy.invalid_input', `allow_lists.${field}: ${(error as Error).message}`, { status: 400 });
    }
  };
  const compiled: CompiledAllowLists = {
    cidrs: build('cidrs', () => new CidrSet(lists.cidrs ?? [])),
    domains: build('domains', () => new DomainSet(lists.domains ?? [])),
    partnerCidrs: new CidrSet([]),
    partnerDomains: new DomainSet([]),
    partnerOf: new Map(),
    warnings: new Map((lists.warning_list_hits ?? []).map((hit) => [hit.value.trim().toLowerCase(), hit.list])),
  };
  const ranges: string[] = [];
  const domains: string[] = [];
  (lists.partners ?? []).forEach((partner, i) => {
    for (const range of build(`partners[${i}].cidrs`, () => [...new CidrSet(partner.cidrs ?? []).ranges()])) {
      ranges.push(range.text);
      compiled.partnerOf.set(`cidr:${range.text}`, partner.name);
    }
    for (const domain of build(`partners[${i}].domains`, () => [...new DomainSet(partner.domains ?? []).domains()])) {
      domains.push(domain);
      compiled.partnerOf.set(`domain:${domain}`, partner.name);
    }
  });
  compiled.partnerCidrs = new CidrSet(ranges);
  compiled.partnerDomains = new DomainSet(domains);
  compiledLists.set(lists, compiled);
  return compiled;
}

const EMPTY_LISTS: CompiledAllowLists = {
  cidrs: new CidrSet([]),
  domains: new DomainSet([]),
  partnerCidrs: new CidrSet([]),
  partnerDomains: new DomainSet([]),
  partnerOf: new Map(),
  warnings: new Map(),
};

function targetFacts(input: PolicyInput, lists: CompiledAllowLists): TargetFacts[] {
  return (input.targets ?? []).map((target) => {
    const host = hostOf(target.value);
    const ip = parseIpAddress(host);
    let allowList: TargetFacts['allow_list'];
    if (ip) {
      const partnerRange = lists.partnerCidrs.match(ip);
      if (partnerRange) allowList = { kind: 'partner', name: lists.partnerOf.get(`cidr:${partnerRange.text}`) ?? 'partner', entry: partnerRange.text };
      else {
        const hit = lists.cidrs.match(ip);
        if (hit) allowList = { kind: 'cidr', name: 'allow-list', entry: hit.text };
      }
    } else {
      const partnerDomain = lists.partnerDomains.match(host);
      if (partnerDomain) allowList = { kind: 'partner', name: lists.partnerOf.get(`domain:${partnerDomain}`) ?? 'partner', entry: partnerDomain };
      else {
        const hit = lists.domains.match(host);
        if (hit) allowList = { kind: 'domain', name: 'allow-list', entry: hit };
      }
    }
    if (!allowList) {
      const key = target.value.trim().toLowerCase();
      const list = lists.warnings.get(key) ?? lists.warnings.get(host.toLowerCase());
      if (list !== undefined) allowList = { kind: 'warning_list', name: list, entry: target.value };
    }
    return {
      type: target.type,
      value: target.value,
      host,
      ip,
      asset: target.asset,
      allow_listed: allowList !== undefined,
      allow_list: allowList,
    };
  });
}

function buildContext(policy: CompiledPolicy, input: PolicyInput): EvaluationContext {
  const kind = input.action.kind ?? input.action.id;
  const lastHour = input.history?.last_hour ?? {};
  let total = 0;
  for (const count of Object.values(lastHour)) total += count;
  const lists = input.allow_lists ? compileAllowLists(input.allow_lists) : EMPTY_LISTS;
  const targets = targetFacts(input, lists);
  return {
    facts: {
      action: { id: input.action.id, impact: input.action.impact, kind, rollback: input.action.rollback === true, arguments: input.action.arguments ?? {} },
      indicator: input.indicator,
      targets: { count: targets.length },
      history: { same_kind_last_hour: lastHour[kind] ?? 0, total_last_hour: total, last_hour: lastHour },
      requester: input.requester,
      initiator: input.initiator,
      run: input.run,
      params: policy.params,
    },
    targets,
    target: undefined,
    bound: undefined,
  };
}

const scopedRules = new WeakMap<CompiledPolicy, Map<string, CompiledRule[]>>();

/** The rules whose impact and action globs cover this action, computed once per action id and impact. */
function rulesInScope(policy: CompiledPolicy, impact: string, actionId: string): CompiledRule[] {
  let byAction = scopedRules.get(policy);
  if (!byAction) {
    byAction = new Map();
    scopedRules.set(policy, byAction);
  }
  const key = `${impact} ${actionId}`;
  let rules = byAction.get(key);
  if (!rules) {
    rules = policy.rules.filter((rule) => rule.impacts.has(impact as Impact) && (!rule.actionPattern || rule.actionPattern.test(actionId)));
    if (byAction.size > 10_000) byAction.clear();
    byAction.set(key, rules);
  }
  return rules;
}

function stricter(a: CompiledRule, b: CompiledRule): boolean {
  if (SEVERITY[a.decision] !== SEVERITY[b.decision]) return SEVERITY[a.decision] > SEVERITY[b.decision];
  if (a.approval && b.approval) {
    if (a.approval.approvers !== b.approval.approvers) return a.approval.approvers > b.approval.approvers;
    if (a.approval.page_on_call !== b.approval.page_on_call) return a.approval.page_on_call;
  }
  return a.order < b.order;
}

/**
 * Decides one proposed action. Pure and synchronous: no clock, no I/O; expiry is a duration that the
 * approval request turns into a time. Actions with impact `read` are allowed without consulting rules.
 */
export function evaluatePolicy(policy: CompiledPolicy, input: PolicyInput): PolicyDecision {
  const ref = (id: string): DecidingRule => ({ id, policy_id: policy.id, policy_version: policy.version, policy_digest: policy.digest });
  if (input.action.impact === 'read') {
    return {
      decision: 'allow',
      reasons: [{ rule: '(read-only)', decision: 'allow', text: `${input.action.id} only reads: no policy check needed` }],
      rule: ref('(read-only)'),
      matched_rules: [],
    };
  }
  const ctx = buildContext(policy, input);
  const matched: Array<{ rule: CompiledRule; text: string }> = [];
  let winner: CompiledRule | undefined;
  for (const rule of rulesInScope(policy, input.action.impact, input.action.id)) {
    ctx.bound = undefined;
    if (rule.when !== undefined && !rule.when(ctx)) continue;
    matched.push({ rule, text: rule.renderReason(ctx) });
    if (winner === undefined || stricter(rule, winner)) winner = rule;
  }
  const matchedIds = matched.map((m) => m.rule.id);
  if (winner === undefined) {
    const text = `no rule of policy ${policy.id} v${policy.version} matched ${input.action.id} (${input.action.impact}); the policy's no_match outcome (${policy.noMatch}) applies`;
    const reasons = [{ rule: '(no-match)', decision: policy.noMatch, text }];
    if (policy.noMatch === 'require_approval')
      return { decision: 'require_approval', approval: policy.defaultApproval, reasons, rule: ref('(no-match)'), matched_rules: [] };
    return { decision: policy.noMatch, reasons, rule: ref('(no-match)'), matched_rules: [] };
  }
  const deciding = winner;
  const reasons: PolicyReason[] = [
    ...matched.filter((m) => m.rule === deciding).map((m) => ({ rule: m.rule.id, decision: m.rule.decision, text: m.text })),
    ...matched.filter((m) => m.rule !== deciding).map((m) => ({ rule: m.rule.id, decision: m.rule.decision, text: m.text })),
  ];
  if (deciding.decision === 'require_approval') {
    // Any matched approval rule that pages keeps the page, and the shortest expiry wins: caution adds up.
    const approvals = matched.filter((m) => m.rule.approval).map((m) => m.rule.approval as ApprovalRequirement);
    const base = deciding.approval as ApprovalRequirement;
    const approval: ApprovalRequirement = {
      ...base,
      page_on_call: approvals.some((a) => a.page_on_call),
      expires_after_ms: Math.min(...approvals.map((a) => a.expires_after_ms)),
      on_expiry: approvals.some((a) => a.on_expiry === 'reject') ? 'reject' : base.on_expiry,
    };
    return { decision: 'require_approval', approval, reasons, rule: ref(deciding.id), matched_rules: matchedIds };
  }
  return { decision: deciding.decision, reasons, rule: ref(deciding.id), matched_rules: matchedIds };
}
