import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, parseDuration, parseYamlWithPositions } from '../core/index.ts';
import { type CompiledCondition, type ConditionIssue, compileCondition, type EvaluationContext, fieldReader, isKnownField } from './conditions.ts';
import { IMPACTS, type Impact } from './policy-input.ts';

/**
 * Policy files: YAML documents of rules, validated (zod for the shape, then the condition compiler for
 * the meaning) with every problem reported at once at its line and column. A loaded policy is compiled:
 * conditions are closures, action globs are regular expressions, durations are milliseconds.
 */
export const DECISIONS = ['allow', 'require_approval', 'deny'] as const;
export type DecisionKind = (typeof DECISIONS)[number];

const ID = /^[a-z0-9][a-z0-9._-]*$/;
const idText = z.string().regex(ID, { error: 'must be lower case letters, digits, ".", "_" or "-", starting with a letter or digit' });
const durationText = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== undefined && (parseDuration(v) ?? 0) > 0, {
  error: 'must be a duration such as 30m, 4h or 1d',
});

const ApprovalSpec = z
  .object({
    approvers: z.number().int().min(1).max(10).optional(),
    roles: z.array(z.string().min(1)).min(1).optional(),
    expires: durationText.optional(),
    on_expiry: z.enum(['reject', 'approve']).optional(),
    page_on_call: z.boolean().optional(),
  })
  .strict();

const RawRule = z
  .object({
    id: idText,
    description: z.string().optional(),
    /** Action id globs ("firewall.*", "*.isolate_host"); absent = every action. */
    actions: z.array(z.string().min(1)).min(1).optional(),
    /** Impacts the rule looks at; absent = write and destructive. */
    impact: z.array(z.enum(IMPACTS)).min(1).optional(),
    when: z.unknown().optional(),
    decision: z.enum(DECISIONS, { error: `must be one of ${DECISIONS.join(', ')}` }),
    approval: ApprovalSpec.optional(),
    reason: z.string().min(1),
  })
  .strict();

const RawPolicy = z
  .object({
    id: idText,
    version: z.number().int().min(1),
    description: z.string().optional(),
    params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.union([z.number(), z.string(), z.boolean(), z.array(z.string())])).default({}),
    defaults: z
      .object({
        approval: ApprovalSpec.optional(),
        /** Outcome when no rule matches a write/destructive action. */
        no_match: z.enum(DECISIONS).default('require_approval'),
      })
      .strict()
      .prefault({}),
    rules: z.array(z.unknown()).min(1, { error: 'a policy needs at least one rule' }),
  })
  .strict();

export interface ApprovalRequirement {
  /** Distinct approvers needed (M of N). */
  approvers: number;
  /** Roles allowed to approve. */
  roles: string[];
  /** How long the request stays open. */
  expires_after_ms: number;
  /** What happens when nobody decides in time; reject unless the policy says otherwise. */
  on_expiry: 'reject' | 'approve';
  /** Page the on-call when the request opens. */
  page_on_call: boolean;
}

export interface CompiledRule {
  id: string;
  description: string | undefined;
  decision: DecisionKind;
  impacts: ReadonlySet<Impact>;
  actionPattern: RegExp | undefined;
  when: CompiledCondition | undefined;
  approval: ApprovalRequirement | undefined;
  reason: string;
  /** The reason with its {field} placeholders filled from the evaluation. */
  renderReason: (ctx: EvaluationContext) => string;
  /** Position in the file, for ties: earlier rules decide. */
  order: number;
}

export interface CompiledPolicy {
  id: string;
  version: number;
  description: string | undefined;
  /** sha256 of the policy's canonical JSON: which exact text decided, for the audit record. */
  digest: string;
  params: Record<string, unknown>;
  noMatch: DecisionKind;
  defaultApproval: ApprovalRequirement;
  rules: CompiledRule[];
}

export interface PolicyIssue {
  code: string;
  path: Array<string | number>;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
}

export interface PolicyLoadResult {
  policy: CompiledPolicy | undefined;
  issues: PolicyIssue[];
}

export const BUILTIN_APPROVAL: ApprovalRequirement = {
  approvers: 1,
  roles: ['approver', 'admin'],
  expires_after_ms: 4 * 3_600_000,
  on_expiry: 'reject',
  page_on_call: false,
};

function globToRegExp(globs: string[]): RegExp {
  const alternatives = globs.map((glob) =>
    glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^\\s]*'),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

function approvalFrom(spec: z.infer<typeof ApprovalSpec> | undefined, base: ApprovalRequirement): ApprovalRequirement {
  return {
    approvers: spec?.approvers ?? base.approvers,
    roles: spec?.roles ?? base.roles,
    expires_after_ms: spec?.expires === undefined ? base.expires_after_ms : (parseDuration(spec.expires) ?? base.expires_after_ms),
    on_expiry: spec?.on_expiry ?? base.on_expiry,
    page_on_call: spec?.page_on_call ?? base.page_on_call,
  };
}

const PLACEHOLDER = /\{([a-z_][a-z0-9_.]*)\}/g;

function showValue(value: unknown): string {
  if (value === undefined || value === null) return 'unknown';
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Splits a reason template once, so rendering is string joins and field reads. */
function compileReason(template: string): (ctx: EvaluationContext) => string {
  const literals: string[] = [];
  const readers: Array<(ctx: EvaluationContext) => unknown> = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, match.index));
    readers.push(fieldReader(match[1] as string));
    last = (match.index ?? 0) + match[0].length;
  }
  const tail = template.slice(last);
  if (readers.length === 0) return () => template;
  return (ctx) => {
    let out = '';
    for (let i = 0; i < readers.length; i++) out += literals[i] + showValue((readers[i] as (c: EvaluationContext) => unknown)(ctx));
    return out + tail;
  };
}

function zodIssues(error: z.ZodError, prefix: Array<string | number>): PolicyIssue[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...(issue.path.filter((p) => typeof p !== 'symbol') as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      return {
        code: 'policy.invalid',
        path,
        message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`,
        hint: 'keys are listed in docs/policy.md',
      };
    }
    const where = path.length > 0 ? `${path.join('.')}: ` : '';
    return { code: 'policy.invalid', path, message: `${where}${issue.message}` };
  });
}

/** Validates and compiles an already-parsed policy document (YAML or JSON); issues carry paths but no positions. */
export function compilePolicy(raw: unknown): PolicyLoadResult {
  const parsed = RawPolicy.safeParse(raw);
  if (!parsed.success) return { policy: undefined, issues: zodIssues(parsed.error, []) };
  const doc = parsed.data;
  const issues: PolicyIssue[] = [];
  const defaultApproval = approvalFrom(doc.defaults.approval, BUILTIN_APPROVAL);
  const rules: CompiledRule[] = [];
  const seen = new Set<string>();
  doc.rules.forEach((rawRule, index) => {
    const base = ['rules', index];
    const ruleParsed = RawRule.safeParse(rawRule);
    if (!ruleParsed.success) {
      issues.push(...zodIssues(ruleParsed.error, base));
      return;
    }
    const rule = ruleParsed.data;
    if (seen.has(rule.id))
      issues.push({
        code: 'policy.duplicate_rule',
        path: [...base, 'id'],
        message: `rule id ${rule.id} is used twice`,
        hint: 'rule ids name decisions in the audit trail; keep them unique',
      });
    seen.add(rule.id);
    if (rule.approval && rule.decision !== 'require_approval') {
      issues.push({
        code: 'policy.invalid',
        path: [...base, 'approval'],
        message: `approval only applies to decision require_approval (this rule says ${rule.decision})`,
      });
    }
    const conditionIssues: ConditionIssue[] = [];
    const when = rule.when === undefined ? undefined : compileCondition(rule.when, [...base, 'when'], conditionIssues, { params: doc.params });
    for (const issue of conditionIssues) issues.push({ code: 'policy.invalid_condition', ...issue });
    const quantified = rule.when !== undefined && /"(any_target|all_targets)"/.test(JSON.stringify(rule.when));
    for (const [, name] of rule.reason.matchAll(PLACEHOLDER)) {
      const field = name as string;
      if (!isKnownField(field)) {
        issues.push({
          code: 'policy.invalid',
          path: [...base, 'reason'],
          message: `reason names unknown field {${field}}`,
          hint: 'placeholders are field paths such as {indicator.confidence} or {target.value}',
        });
      } else if (field.startsWith('params.') && !Object.hasOwn(doc.params, field.slice(7))) {
        issues.push({ code: 'policy.invalid', path: [...base, 'reason'], message: `reason names undeclared param {${field}}` });
      } else if (field.startsWith('target.') && !quantified) {
        issues.push({
          code: 'policy.invalid',
          path: [...base, 'reason'],
          message: `reason uses {${field}} but the rule's condition has no any_target or all_targets to pick a target`,
        });
      }
    }
    rules.push({
      id: rule.id,
      description: rule.description,
      decision: rule.decision,
      impacts: new Set(rule.impact ?? ['write', 'destructive']),
      actionPattern: rule.actions ? globToRegExp(rule.actions) : undefined,
      when,
      approval: rule.decision === 'require_approval' ? approvalFrom(rule.approval, defaultApproval) : undefined,
      reason: rule.reason,
      renderReason: compileReason(rule.reason),
      order: index,
    });
  });
  if (issues.length > 0) return { policy: undefined, issues };
  return {
    policy: {
      id: doc.id,
      version: doc.version,
      description: doc.description,
      digest: createHash('sha256').update(canonicalJson(raw)).digest('hex'),
      params: doc.params,
      noMatch: doc.defaults.no_match,
      defaultApproval,
      rules,
    },
    issues,
  };
}

/** Parses policy YAML; every issue carries the line and column of the node at fault. */
export function parsePolicyYaml(text: string): PolicyLoadResult {
  const parsed = parseYamlWithPositions(text, 'policy.invalid_yaml');
  if (!parsed.ok) return { policy: undefined, issues: parsed.issues as PolicyIssue[] };
  const result = compilePolicy(parsed.value);
  // A policy issue's last path segment names the key at fault (an unknown or misspelt field).
  parsed.locate(result.issues, () => true);
  return result;
}

/** `file:line:col: message [code]` lines, the way compilers (and `riposte playbook validate`) print them. */
export function formatPolicyIssues(file: string, issues: PolicyIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column}`;
      return `${where}: ${issue.message} [${issue.code}]${issue.hint ? `\n    hint: ${issue.hint}` : ''}`;
    })
    .join('\n');
}
