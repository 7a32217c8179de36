import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { RiposteError, usageError } from '../../core/index.ts';
import {
  type CompiledPolicy,
  DEFAULT_POLICY_YAML,
  defaultPolicy,
  evaluatePolicy,
  formatPolicyIssues,
  type PolicyDecision,
  parsePolicyInput,
  parsePolicyTestsYaml,
  parsePolicyYaml,
  runPolicyTests,
} from '../../policy/index.ts';
import { createOutput } from '../output.ts';

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RiposteError('policy.unreadable', `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** Loads a policy file, or the built-in one for "builtin"; invalid files fail with every issue listed. */
function loadPolicy(file: string | undefined): { policy: CompiledPolicy; source: string } {
  if (file === undefined || file === 'builtin') return { policy: defaultPolicy(), source: 'builtin' };
  const { policy, issues } = parsePolicyYaml(readText(file, 'policy'));
  if (!policy) throw new RiposteError('policy.invalid', `policy ${file} is invalid:\n${formatPolicyIssues(file, issues)}`);
  return { policy, source: file };
}

function describeDecision(decision: PolicyDecision): string {
  const lines = [`decision: ${decision.decision}`];
  if (decision.decision === 'require_approval') {
    const a = decision.approval;
    lines.push(
      `approval: ${a.approvers} approver(s), roles ${a.roles.join(', ')}, expires after ${Math.round(a.expires_after_ms / 60_000)} min then ${a.on_expiry}${a.page_on_call ? ', page the on-call' : ''}`,
    );
  }
  lines.push(
    `decided by: rule ${decision.rule.id} of policy ${decision.rule.policy_id} v${decision.rule.policy_version} (${decision.rule.policy_digest.slice(0, 12)})`,
  );
  lines.push('reasons:');
  for (const reason of decision.reasons) lines.push(`  - [${reason.rule} → ${reason.decision}] ${reason.text}`);
  return lines.join('\n');
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('guardrail policies: validate rule files, run their tests, explain a decision');

  policy
    .command('validate')
    .description('check a policy file; every problem is printed as file:line:col')
    .argument('<file>', 'policy YAML file')
    .option('--json', 'print the result as JSON')
    .action((file: string, options: { json?: boolean }) => {
      const out = createOutput(Boolean(options.json));
      const { policy: compiled, issues } = parsePolicyYaml(readText(file, 'policy'));
      if (!compiled) {
        out.data({ file, valid: false, issues }, () => formatPolicyIssues(file, issues));
        process.exitCode = 1;
        return;
      }
      out.data({ file, valid: true, id: compiled.id, version: compiled.version, digest: compiled.digest, rules: compiled.rules.map((r) => r.id) }, () =>
        [`${file}: policy ${compiled.id} v${compiled.version} is valid (${compiled.rules.length} rules, digest ${compiled.digest.slice(0, 12)})`].join('\n'),
      );
    });

  policy
    .command('test')
    .description('run policy test cases (name.test.yml beside name.yml)')
    .argument('<files...>', 'test files (*.test.yml), or policy files whose *.test.yml sits beside them')
    .option('--policy <file>', 'policy to test against ("builtin" for the built-in one); default: the test file’s policy: key, else its sibling')
    .option('--json', 'print the results as JSON')
    .action((files: string[], options: { policy?: string; json?: boolean }) => {
      const out = createOutput(Boolean(options.json));
      const report: Array<{ file: string; policy: string; results: Array<{ name: string; passed: boolean; failures: string[] }> }> = [];
      let failed = 0;
      let human = '';
      for (const given of files) {
        const testFile = given.endsWith('.test.yml') || given.endsWith('.test.yaml') ? given : given.replace(/\.ya?ml$/, '.test.yml');
        if (!existsSync(testFile)) throw usageError(`no test file ${testFile} (tests for ${given} go in ${basename(testFile)})`);
        const parsed = parsePolicyTestsYaml(readText(testFile, 'policy test'));
        if (!parsed.tests) {
          throw new RiposteError('policy.invalid_test', `policy tests ${testFile} are invalid:\n${formatPolicyIssues(testFile, parsed.issues)}`);
        }
        const sibling = testFile.replace(/\.test\.ya?ml$/, '.yml');
        const named =
          parsed.tests.policy === undefined || parsed.tests.policy === 'builtin' ? parsed.tests.policy : resolve(dirname(testFile), parsed.tests.policy);
        const policyFile = options.policy ?? named ?? (existsSync(sibling) ? sibling : undefined);
        if (policyFile === undefined) throw usageError(`${testFile} names no policy and ${sibling} does not exist; pass --policy FILE or --policy builtin`);
        const { policy: compiled, source } = loadPolicy(policyFile);
        const results = runPolicyTests(compiled, parsed.tests);
        report.push({ file: testFile, policy: source, results: results.map(({ name, passed, failures }) => ({ name, passed, failures })) });
        for (const result of results) {
          if (!result.passed) failed++;
          human += `${result.passed ? 'ok  ' : 'FAIL'} ${testFile} › ${result.name}\n${result.failures.map((f) => `       ${f}\n`).join('')}`;
        }
      }
      const total = report.reduce((n, r) => n + r.results.length, 0);
      out.data({ passed: total - failed, failed, files: report }, () => `${human}${total - failed} passed, ${failed} failed`);
      if (failed > 0) process.exitCode = 1;
    });

  policy
    .command('explain')
    .description('evaluate one proposed action and print the decision with its reasons')
    .requiredOption('--input <file>', 'the policy input as YAML or JSON (see docs/policy.md)')
    .option('--policy <file>', 'policy file ("builtin", the default, for the built-in one)')
    .option('--json', 'print the decision as JSON')
    .action((options: { input: string; policy?: string; json?: boolean }) => {
      const out = createOutput(Boolean(options.json));
      let raw: unknown;
      try {
        raw = parseYaml(readText(options.input, 'input'));
      } catch (error) {
        if (error instanceof RiposteError) throw error;
        throw new RiposteError('policy.invalid_input', `input ${options.input} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
      }
      const { input, issues } = parsePolicyInput(raw);
      if (issues.length > 0) {
        throw new RiposteError(
          'policy.invalid_input',
          `input ${options.input}: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        );
      }
      const { policy: compiled } = loadPolicy(options.policy);
      const decision = evaluatePolicy(compiled, input);
      out.data(decision, () => describeDecision(decision));
    });

  policy
    .command('default')
    .description('print the built-in policy (a starting point for your own file)')
    .action(() => {
      createOutput(false).data(DEFAULT_POLICY_YAML, () => DEFAULT_POLICY_YAML.trimEnd());
    });
}
