import { z } from 'zod';
import { parseYamlWithPositions } from '../core/index.ts';
import { evaluatePolicy, type PolicyDecision } from './evaluate-policy.ts';
import { type CompiledPolicy, DECISIONS, type PolicyIssue } from './policy-document.ts';
import { PolicyInputSchema } from './policy-input.ts';

/**
 * Policy tests (`name.test.yml` beside `name.yml`): each case is an input and the decision expected for
 * it, so a policy change that would, say, start blocking a partner fails in review, not in production.
 *
 *   policy: policy.yml            # optional: defaults to the file without ".test"; "builtin" for the default
 *   base_input: { ... }           # optional: merged (top-level keys) under every case's input
 *   cases:
 *     - name: partner address is never blocked
 *       input: { action: ..., targets: ..., indicator: ... }
 *       expect: { decision: deny, rule: allow-listed-target, reasons_include: [partner] }
 */
const Expectation = z
  .object({
    decision: z.enum(DECISIONS),
    rule: z.string().optional(),
    approvers: z.number().int().min(1).optional(),
    roles: z.array(z.string()).optional(),
    page_on_call: z.boolean().optional(),
    on_expiry: z.enum(['reject', 'approve']).optional(),
    matched_rules: z.array(z.string()).optional(),
    /** Substrings that must appear in the reasons (case-insensitive). */
    reasons_include: z.array(z.string()).optional(),
  })
  .strict();

const PolicyTestFile = z
  .object({
    policy: z.string().optional(),
    base_input: z.record(z.string(), z.unknown()).optional(),
    cases: z.array(z.object({ name: z.string().min(1), input: z.record(z.string(), z.unknown()), expect: Expectation }).strict()).min(1),
  })
  .strict();

export type PolicyTestDocument = z.infer<typeof PolicyTestFile>;

export interface PolicyTestResult {
  name: string;
  passed: boolean;
  failures: string[];
  decision: PolicyDecision | undefined;
}

export interface ParsedPolicyTests {
  tests: PolicyTestDocument | undefined;
  issues: PolicyIssue[];
}

export function parsePolicyTestsYaml(text: string): ParsedPolicyTests {
  const yaml = parseYamlWithPositions(text, 'policy.invalid_yaml');
  if (!yaml.ok) return { tests: undefined, issues: yaml.issues };
  const raw = yaml.value;
  const parsed = PolicyTestFile.safeParse(raw);
  const issues: PolicyIssue[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p) => typeof p !== 'symbol') as Array<string | number>;
      issues.push({ code: 'policy.invalid_test', path, message: `${path.join('.') || 'test file'}: ${issue.message}` });
    }
  } else {
    parsed.data.cases.forEach((testCase, index) => {
      const input = PolicyInputSchema.safeParse({ ...(parsed.data.base_input ?? {}), ...testCase.input });
      if (!input.success) {
        for (const issue of input.error.issues) {
          const path = ['cases', index, 'input', ...(issue.path.filter((p) => typeof p !== 'symbol') as Array<string | number>)];
          issues.push({ code: 'policy.invalid_test', path, message: `${path.join('.')}: ${issue.message}` });
        }
      }
    });
  }
  yaml.locate(issues, () => true);
  return { tests: issues.length === 0 && parsed.success ? parsed.data : undefined, issues };
}

function check(expect: z.infer<typeof Expectation>, decision: PolicyDecision): string[] {
  const failures: string[] = [];
  const reasons = decision.reasons.map((r) => r.text).join(' | ');
  if (decision.decision !== expect.decision) failures.push(`expected ${expect.decision}, got ${decision.decision} (rule ${decision.rule.id}: ${reasons})`);
  if (expect.rule !== undefined && decision.rule.id !== expect.rule) failures.push(`expected rule ${expect.rule} to decide, got ${decision.rule.id}`);
  const approval = decision.decision === 'require_approval' ? decision.approval : undefined;
  if (expect.approvers !== undefined && approval?.approvers !== expect.approvers)
    failures.push(`expected ${expect.approvers} approver(s), got ${approval?.approvers ?? 'no approval'}`);
  if (expect.page_on_call !== undefined && (approval?.page_on_call ?? false) !== expect.page_on_call)
    failures.push(`expected page_on_call ${expect.page_on_call}`);
  if (expect.on_expiry !== undefined && approval?.on_expiry !== expect.on_expiry)
    failures.push(`expected on_expiry ${expect.on_expiry}, got ${approval?.on_expiry ?? 'no approval'}`);
  if (expect.roles !== undefined && JSON.stringify([...(approval?.roles ?? [])].sort()) !== JSON.stringify([...expect.roles].sort()))
    failures.push(`expected roles ${expect.roles.join(', ')}, got ${approval?.roles.join(', ') ?? 'no approval'}`);
  if (expect.matched_rules !== undefined && JSON.stringify(expect.matched_rules) !== JSON.stringify(decision.matched_rules))
    failures.push(`expected matched rules [${expect.matched_rules.join(', ')}], got [${decision.matched_rules.join(', ')}]`);
  for (const fragment of expect.reasons_include ?? []) {
    if (!reasons.toLowerCase().includes(fragment.toLowerCase())) failures.push(`reasons do not mention ${JSON.stringify(fragment)}: ${reasons}`);
  }
  return failures;
}

export function runPolicyTests(policy: CompiledPolicy, tests: PolicyTestDocument): PolicyTestResult[] {
  return tests.cases.map((testCase) => {
    const input = PolicyInputSchema.parse({ ...(tests.base_input ?? {}), ...testCase.input });
    try {
      const decision = evaluatePolicy(policy, input);
      const failures = check(testCase.expect, decision);
      return { name: testCase.name, passed: failures.length === 0, failures, decision };
    } catch (error) {
      return { name: testCase.name, passed: false, failures: [(error as Error).message], decision: undefined };
    }
  });
}
