import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type AiAnswer, buildLlmInstance, openRuntime, type Runtime, testLlmEndpoint } from '../../app/index.ts';
import { type Actor, RiposteError } from '../../core/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

/**
 * `riposte llm …`: AI assistance from the terminal (docs/ai.md). `test` checks the configured endpoint
 * (reachable, key accepted, model listed, one tiny structured completion); the others ask the assistant
 * about a case or for a playbook draft, exactly as the API does (stored, budgeted, on the case timeline),
 * acting as the operator running the command.
 */
function operator(): Actor {
  const name = `cli:${userInfo().username}`;
  return { kind: 'user', id: name, name };
}

async function withRuntime<T>(command: Command, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(configFor(command, { 'engine.runner': false }));
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** What to do about the usual failures, appended to the one-line error. */
const HINTS: Record<string, string> = {
  'http.blocked_address': 'a local model server needs its address in integrations.http_allow',
  'integration.unauthorized': 'check the key in RIPOSTE_SECRET_<ai.api_key_secret>',
  'integration.network': 'is the model server running and is ai.base_url right?',
  'integration.timeout': 'raise ai.timeout or check the server',
  'integration.bad_response': 'ai.base_url must point at the OpenAI-compatible API root (often ending in /v1)',
  'integration.not_found': 'ai.base_url must point at the OpenAI-compatible API root (often ending in /v1)',
  'llm.request_rejected': 'check ai.model, and that the server supports response_format json_schema',
};

function usageLine(answer: AiAnswer): string {
  const flagged = answer.injection.suspected
    ? `\n! possible prompt injection: ${answer.injection.signals
        .slice(0, 3)
        .map((s) => `${s.where} (${s.pattern})`)
        .join('; ')}`
    : '';
  const withheld = answer.withheld.tlp_red > 0 ? `\n${answer.withheld.tlp_red} TLP:RED item(s) withheld` : '';
  return `— ${answer.model}, ${answer.usage.prompt_tokens}+${answer.usage.completion_tokens} tokens, ${answer.usage.latency_ms} ms, interaction ${answer.interaction_id}${withheld}${flagged}`;
}

export function registerLlm(program: Command): void {
  const llm = program
    .command('llm')
    .description('AI assistance through the OpenAI-compatible endpoint in the `ai` config block (suggestions only)')
    .addHelpText(
      'after',
      '\nExample:\n  riposte llm test\n  riposte llm summarize 42\n  riposte llm draft "enrich an IP with VirusTotal and block it" --out draft.yml',
    );

  llm
    .command('test')
    .description('check the endpoint: reachable, key accepted, model listed, a tiny structured completion')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = configFor(command);
      const out = createOutput(Boolean(options.json));
      if (!config.ai.enabled) out.note('riposte: note: ai.enabled is false — Riposte will not use this endpoint until the `ai` block enables it');
      const instance = buildLlmInstance({ ...config, ai: { ...config.ai, enabled: true } });
      if (!instance) throw new RiposteError('ai.disabled', 'no endpoint configured');
      const result = await testLlmEndpoint(instance, config);
      if (!result.ok) {
        const hint = HINTS[result.code ?? ''];
        throw new RiposteError('llm.test_failed', `llm test failed for ${result.endpoint}: ${result.error}${hint ? ` (${hint})` : ''}`);
      }
      out.data(
        result,
        () =>
          `ok: ${result.endpoint} model ${result.model}${result.model_listed === false ? ' (not in GET /models — check ai.model)' : result.model_listed ? ' (listed)' : ''} — ${result.latency_ms} ms, ${result.prompt_tokens}+${result.completion_tokens} tokens`,
      );
    });

  llm
    .command('summarize')
    .description("summary and hand-off note of a case (stored on the case's timeline)")
    .argument('<case>', 'case id or number')
    .option('--json', 'print the answer as JSON')
    .action(async (caseRef: string, options: { json?: boolean }, command: Command) => {
      const answer = await withRuntime(command, (runtime) => runtime.ai.summary(caseRef, operator()));
      createOutput(Boolean(options.json)).data(answer, () => {
        const o = answer.output;
        return [
          o.summary,
          '',
          `Hand-off: ${o.handoff}`,
          ...(o.key_facts.length > 0 ? ['', 'Key facts:', ...o.key_facts.map((f) => `  - ${f}`)] : []),
          ...(o.open_questions.length > 0 ? ['', 'Open questions:', ...o.open_questions.map((q) => `  - ${q}`)] : []),
          usageLine(answer),
        ].join('\n');
      });
    });

  llm
    .command('explain')
    .description("explain an observable's verdict on a case in plain words")
    .argument('<case>', 'case id or number')
    .option('--observable <value>', 'the observable (default: the one with the strongest verdict)')
    .option('--json', 'print the answer as JSON')
    .action(async (caseRef: string, options: { observable?: string; json?: boolean }, command: Command) => {
      const answer = await withRuntime(command, (runtime) => runtime.ai.explain(caseRef, operator(), options.observable));
      createOutput(Boolean(options.json)).data(answer, () => {
        const o = answer.output;
        return [
          `${o.observable ?? '(no observable)'}: ${o.verdict ?? 'no verdict'}`,
          o.explanation,
          ...o.factors.map((f) => `  ${f.effect === 'raises' ? '+' : f.effect === 'lowers' ? '-' : '·'} ${f.source}: ${f.detail}`),
          usageLine(answer),
        ].join('\n');
      });
    });

  llm
    .command('suggest')
    .description('next steps from the menu of ATT&CK mitigations and loaded playbooks (nothing is started)')
    .argument('<case>', 'case id or number')
    .option('--json', 'print the answer as JSON')
    .action(async (caseRef: string, options: { json?: boolean }, command: Command) => {
      const answer = await withRuntime(command, (runtime) => runtime.ai.nextSteps(caseRef, operator()));
      createOutput(Boolean(options.json)).data(answer, () =>
        [
          ...answer.output.steps.flatMap((s, i) => [
            `${i + 1}. ${s.title}`,
            `   ${s.rationale}`,
            ...(s.mitigation ? [`   mitigation ${s.mitigation.id} ${s.mitigation.name}`] : []),
            ...(s.playbook
              ? [
                  `   playbook ${s.playbook.id} ${JSON.stringify(s.playbook.inputs)} — ${s.startable ? `startable from the case page or POST /api/v1/playbooks/${s.playbook.id}/runs (policy and approvals apply)` : `not startable: ${s.refused_reason}`}`,
                ]
              : []),
          ]),
          answer.output.steps.length === 0 ? 'no suggestion from the menu' : '',
          usageLine(answer),
        ]
          .filter((line) => line !== '')
          .join('\n'),
      );
    });

  llm
    .command('draft')
    .description('draft a playbook from a description; validated and saved as a draft, never enabled')
    .argument('<description>', 'what the playbook should do (at most 4000 characters)')
    .option('--out <file>', 'also write the YAML to this file (for review; it is not loaded from there)')
    .option('--json', 'print the draft as JSON')
    .action(async (description: string, options: { out?: string; json?: boolean }, command: Command) => {
      const { draft, answer } = await withRuntime(command, (runtime) => runtime.ai.draftPlaybook(description, operator()));
      if (options.out) writeFileSync(options.out, draft.yaml ?? '');
      createOutput(Boolean(options.json)).data({ draft, answer }, () =>
        [
          `draft ${draft.id}: ${draft.title} — ${draft.valid ? 'valid' : `${draft.issues.length} issue(s)`}`,
          ...draft.issues.map((i) => `  ${i.line ? `line ${i.line}: ` : ''}${i.message}`),
          '',
          options.out ? `YAML written to ${options.out}` : (draft.yaml ?? '').trimEnd(),
          usageLine(answer),
        ].join('\n'),
      );
    });

  const drafts = llm.command('drafts').description('playbook drafts the assistant wrote');
  drafts
    .command('list', { isDefault: true })
    .description('drafts, newest first')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { drafts: list } = await withRuntime(command, (runtime) => runtime.ai.drafts());
      createOutput(Boolean(options.json)).data(list, () =>
        list.length === 0
          ? 'no playbook drafts'
          : formatTable(
              ['id', 'created', 'by', 'valid', 'title'],
              list.map((d) => [d.id, d.created_at, d.created_by, d.valid ? 'yes' : `no (${d.issues.length})`, d.title]),
            ),
      );
    });
  drafts
    .command('show')
    .description('one draft with its YAML and issues')
    .argument('<id>', 'draft id')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { draft } = await withRuntime(command, (runtime) => runtime.ai.draft(id));
      createOutput(Boolean(options.json)).data(draft, () =>
        [
          `# ${draft.title} — ${draft.valid ? 'valid' : 'INVALID'} draft by ${draft.created_by} at ${draft.created_at}`,
          ...draft.issues.map((i) => `# ${i.line ? `line ${i.line}: ` : ''}${i.message}`),
          (draft.yaml ?? '').trimEnd(),
        ].join('\n'),
      );
    });
}
