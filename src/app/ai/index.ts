/**
 * app/ai: AI assistance with guardrails (docs/ai.md) — case summaries, verdict explanations, next steps from
 * a menu, playbook drafts — through the `llm` integration, with untrusted data fenced, injection scanned,
 * TLP gated, secrets redacted, answers validated, tokens budgeted and every exchange stored.
 */

export {
  type AiAnswer,
  type AiInteractionEvent,
  AiService,
  type AiServiceOptions,
  type AiStatus,
  INJECTION_TAG,
  type NextStep,
  type PlaybookDraftView,
} from './ai-service.ts';
export { AI_KINDS, type AiKind, MAX_ANSWER_CHARS, PingAnswer, parseAnswer } from './answer-schemas.ts';
export { INJECTION_PATTERN_NAMES, type InjectionReport, type InjectionSignal, scanForInjection } from './injection-scanner.ts';
export { buildLlmInstance, type LlmTestResult, testLlmEndpoint } from './llm-instance.ts';
export { buildMessages } from './prompts.ts';
export { redactText, redactValue } from './redaction.ts';
export { type DataBlock, neutralise, renderBlocks } from './untrusted-data.ts';
