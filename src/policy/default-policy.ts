import { RiposteError } from '../core/index.ts';
import { type CompiledPolicy, parsePolicyYaml } from './policy-document.ts';

/**
 * The built-in response tiers, used when no policy file is configured. Kept as YAML text (not objects)
 * so that `riposte policy default` prints exactly what runs, as the starting point for a custom file.
 */
export const DEFAULT_POLICY_YAML = `# Riposte built-in policy: the response tiers every destructive action goes through.
# Copy it (riposte policy default > policy.yml), edit, then check with riposte policy validate/test.
id: builtin-default
version: 2
description: >-
  High confidence on a non-critical target acts automatically; critical assets and medium confidence
  need one approver; allow-listed targets and low confidence are never acted on; a wave of destructive
  actions beyond the blast-radius limit needs two approvers and pages the on-call.
params:
  high_confidence: 85
  approval_confidence: 50
  blast_radius_per_hour: 20
defaults:
  approval: { approvers: 1, roles: [approver, admin], expires: 4h, on_expiry: reject }
  no_match: require_approval
rules:
  - id: allow-listed-target
    description: Partners, our own ranges and known-good infrastructure are never acted on (undoing an earlier block on them is allowed).
    impact: [write, destructive]
    when:
      all:
        - { any_target: { field: target.allow_listed, eq: true } }
        - { field: action.rollback, eq: false }
    decision: deny
    reason: "{target.value} is on the {target.allow_list.kind} allow-list {target.allow_list.name} ({target.allow_list.entry}): Riposte never acts on it automatically"

  - id: low-confidence
    description: Below the approval threshold the evidence is too weak to act on; annotate only.
    impact: [destructive]
    when: { field: indicator.confidence, lt: { param: approval_confidence } }
    decision: deny
    reason: "indicator confidence {indicator.confidence} (from {indicator.source}) is below {params.approval_confidence}: {action.id} is not allowed, annotate only"

  - id: blast-radius
    description: Too many destructive actions of one kind in an hour is a runaway wave until two people say otherwise.
    impact: [destructive]
    when: { field: history.same_kind_last_hour, gte: { param: blast_radius_per_hour } }
    decision: require_approval
    approval: { approvers: 2, page_on_call: true, expires: 1h }
    reason: "{history.same_kind_last_hour} {action.kind} actions already ran in the last hour (limit {params.blast_radius_per_hour}): two approvers are needed and the on-call is paged"

  - id: critical-asset
    description: Critical assets are never changed without a human.
    impact: [write, destructive]
    when: { any_target: { field: target.asset.criticality, eq: critical } }
    decision: require_approval
    reason: "{target.value} is a critical asset ({target.asset.name}, owner {target.asset.owner}, {target.asset.environment}): one approver is needed"

  - id: medium-confidence
    description: Between the thresholds a human confirms the verdict.
    impact: [destructive]
    when:
      all:
        - { field: indicator.confidence, gte: { param: approval_confidence } }
        - { field: indicator.confidence, lt: { param: high_confidence } }
    decision: require_approval
    reason: "indicator confidence {indicator.confidence} is at least {params.approval_confidence} but below {params.high_confidence}: one approver is needed"

  - id: high-confidence
    description: Strong evidence on a non-critical target acts at machine speed.
    impact: [destructive]
    when:
      all:
        - { field: indicator.confidence, gte: { param: high_confidence } }
        - { not: { any_target: { field: target.asset.criticality, eq: critical } } }
    decision: allow
    reason: "indicator confidence {indicator.confidence} is at least {params.high_confidence} and no target is a critical asset"

  - id: routine-write
    description: Writes that enforce nothing (tickets, tags, watchlists) run unless a rule above objects.
    impact: [write]
    decision: allow
    reason: "{action.id} is a write action on no critical or allow-listed target"
`;

let builtin: CompiledPolicy | undefined;

/** The built-in policy, compiled once. */
export function defaultPolicy(): CompiledPolicy {
  if (builtin) return builtin;
  const result = parsePolicyYaml(DEFAULT_POLICY_YAML);
  if (!result.policy) throw new RiposteError('policy.invalid', `built-in policy does not compile: ${result.issues.map((i) => i.message).join('; ')}`);
  builtin = result.policy;
  return builtin;
}
