import type { DataBlock } from './untrusted-data.ts';

/**
 * Looks for prompt-injection attempts in the untrusted data before it goes to the model. A hit does not stop
 * the request — the guardrails do not depend on the model resisting — but it is reported with the answer,
 * put on the case timeline and tagged, so an analyst reads the model's output knowing someone tried.
 */
export interface InjectionSignal {
  /** The block it was found in ("alert 2 field description", "email 1 body"). */
  where: string;
  /** Which pattern matched, in words. */
  pattern: string;
  excerpt: string;
}

export interface InjectionReport {
  suspected: boolean;
  signals: InjectionSignal[];
}

const PATTERNS: ReadonlyArray<{ name: string; test: RegExp }> = [
  {
    name: 'ignore previous instructions',
    test: /\b(ignore|disregard|forget|override|skip)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your|the system'?s?|preceding)\b[^.\n]{0,25}\b(instructions?|prompts?|rules|guidelines|directions|guardrails|context)\b/i,
  },
  { name: 'role reassignment', test: /\b(you are now|from now on,? you|act as (an?|the|my)\b|pretend (to be|you are)|roleplay as|your new (role|persona))/i },
  {
    name: 'fake role header',
    test: /(^|\n)\s*(system|assistant|developer|user)\s*(prompt)?\s*:|<\|(im_start|im_end|system|endoftext)\|>|\[\/?(INST|SYS)\]|<\/?(system|assistant)>/i,
  },
  { name: 'new instructions', test: /\b(new|updated|revised|real|actual|secret|hidden) (instructions?|task|orders|rules|directive)\b/i },
  { name: 'jailbreak wording', test: /\b(jailbreak|DAN mode|developer mode|do anything now|no restrictions|without (any )?restrictions)\b/i },
  {
    name: 'containment reversal request',
    test: /\b(release|unisolate|un-isolate|de-isolate|unblock|unquarantine|restore|lift|remove)\b[^.\n]{0,40}\b(host|hosts|ip|address|domain|sender|machine|endpoint|device|account|user|block|isolation|containment|quarantine)\b/i,
  },
  {
    name: 'verdict steering',
    test: /\b(mark|classify|treat|report|label|consider|declare|say)\b[^.\n]{0,40}\b(as )?(benign|clean|safe|harmless|false positive|legitimate|trusted|not malicious)\b/i,
  },
  { name: 'allow-list request', test: /\b(add|put)\b[^.\n]{0,40}\b(allow-?list|white-?list|safe ?list|exclusions?)\b/i },
  {
    name: 'close or suppress request',
    test: /\b(close|resolve|suppress|dismiss|delete)\b[^.\n]{0,20}\b(this |the )?(case|alert|incident|ticket)s?\b[^.\n]{0,30}\b(immediately|now|without|no need)/i,
  },
  {
    name: 'prompt or secret extraction',
    test: /\b(reveal|print|show|repeat|output|leak|tell me)\b[^.\n]{0,30}\b(system prompt|your (instructions|prompt|rules)|api[ _-]?key|password|secrets?|credentials)\b/i,
  },
  { name: 'forced output', test: /\b(respond|reply|answer|output|return)\b[^.\n]{0,15}\b(only|exactly|verbatim)\b[^.\n]{0,25}\b(with|the following|this)\b/i },
  {
    name: 'addressing the AI',
    test: /\b(dear|attention|note to|hey|hi|hello|instructions for( the)?)\s+(ai|a\.i\.|assistant|chatgpt|gpt|llm|language model|model|copilot|bot|analyst bot)\b/i,
  },
  { name: 'delimiter forgery', test: /<<<|>>>|‹‹‹|›››|\bEND DATA\b|\bBEGIN DATA\b|<<<END|\bend of (data|untrusted|block)\b/i },
  { name: 'hidden comment instruction', test: /<!--[\s\S]{0,300}?\b(instruction|assistant|ai|model|ignore|system)\b[\s\S]{0,300}?-->/i },
  { name: 'invisible characters', test: /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/ },
  {
    name: 'tool or function call request',
    test: /\b(call|invoke|execute|run|trigger|start)\b[^.\n]{0,20}\b(the )?(tool|function|playbook|action|command|script)\b[^.\n]{0,40}\b(now|immediately|release|unblock|delete|disable)\b/i,
  },
];

function excerptAround(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 40);
  const end = Math.min(text.length, index + length + 60);
  const piece = text
    .slice(start, end)
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, '·')
    .replace(/\s+/g, ' ')
    .trim();
  return `${start > 0 ? '…' : ''}${piece.slice(0, 160)}${end < text.length ? '…' : ''}`;
}

export function scanForInjection(blocks: readonly DataBlock[]): InjectionReport {
  const signals: InjectionSignal[] = [];
  for (const block of blocks) {
    for (const pattern of PATTERNS) {
      const match = pattern.test.exec(block.content);
      if (!match) continue;
      signals.push({ where: block.label, pattern: pattern.name, excerpt: excerptAround(block.content, match.index, match[0].length) });
      if (signals.length >= 50) return { suspected: true, signals };
    }
  }
  return { suspected: signals.length > 0, signals };
}

export const INJECTION_PATTERN_NAMES: readonly string[] = PATTERNS.map((p) => p.name);
