import type { Runtime } from '../../app/index.ts';
import type { Actor, Config } from '../../core/index.ts';
import { type LlmSimulator, SIMULATOR_LLM_API_KEY, startLlmSimulator } from '../../lab/index.ts';
import type { ScenarioReport } from './scenario.ts';

/**
 * AI assistance in the demo: the lab's OpenAI-compatible model server stands in for a local model, the `ai`
 * block points at it (its key comes from RIPOSTE_SECRET_LAB_LLM, as a real key would), and after each
 * scenario the assistant summarises that scenario's case (the summary lands on the case timeline); at the
 * end it drafts a playbook from a description, which is validated and kept as a draft, never enabled.
 */
export const DEMO_LLM_SECRET = 'LAB_LLM';
const DEMO_ACTOR: Actor = { kind: 'user', id: 'demo', name: 'demo' };
export const DEMO_DRAFT_DESCRIPTION = 'Enrich an IP address with VirusTotal, AbuseIPDB and GreyNoise so an analyst can triage it';

export async function startDemoLlm(latencyMs: number): Promise<LlmSimulator> {
  return startLlmSimulator({ latencyMs });
}

export function demoAiConfig(config: Config, llm: LlmSimulator): Config {
  return {
    ...config,
    ai: {
      ...config.ai,
      enabled: true,
      base_url: llm.url,
      model: llm.model,
      api_key_secret: DEMO_LLM_SECRET,
      rate_limit_per_minute: 600,
      // Re-running the demo asks again about the same cases: keep the case budget out of the way.
      budget: { case_tokens: 10_000_000, daily_tokens: 100_000_000 },
    },
  };
}

/** The environment the demo runtime reads its secrets from: the process's, plus the lab model's key. */
export function demoEnv(): NodeJS.ProcessEnv {
  return { ...process.env, [`RIPOSTE_SECRET_${DEMO_LLM_SECRET}`]: SIMULATOR_LLM_API_KEY };
}

export async function summariseScenarioCase(runtime: Runtime, report: ScenarioReport, say: (line: string) => void): Promise<void> {
  const caseNumber = report.outcomes.find((o) => o.caseNumber !== undefined)?.caseNumber;
  if (caseNumber === undefined) return;
  try {
    const answer = await runtime.ai.summary(String(caseNumber), DEMO_ACTOR);
    const text = answer.output.summary.replace(/\s+/g, ' ');
    say(`  AI summary of case #${caseNumber} (on its timeline; ${answer.usage.prompt_tokens}+${answer.usage.completion_tokens} tokens):`);
    say(`    "${text.length > 220 ? `${text.slice(0, 219)}…` : text}"`);
  } catch (error) {
    say(`  AI summary of case #${caseNumber} failed: ${(error as Error).message}`);
  }
}

export async function draftDemoPlaybook(runtime: Runtime, say: (line: string) => void): Promise<void> {
  say(`\n[AI] Drafting a playbook from: "${DEMO_DRAFT_DESCRIPTION}"`);
  try {
    const { draft } = await runtime.ai.draftPlaybook(DEMO_DRAFT_DESCRIPTION, DEMO_ACTOR);
    const steps = (draft.yaml ?? '').match(/^\s+action: (\S+)/gm)?.map((line) => line.trim().replace('action: ', '')) ?? [];
    say(
      draft.valid
        ? `  draft ${draft.id} validated (same checks as riposte playbook validate): ${steps.join(' → ')}; saved as a draft for review, not enabled`
        : `  draft ${draft.id} has ${draft.issues.length} validation issue(s): ${draft.issues.map((i) => i.message).join('; ')}`,
    );
  } catch (error) {
    say(`  the playbook draft failed: ${(error as Error).message}`);
  }
}
