import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';

/**
 * What the model may answer, per feature, as zod schemas: the JSON Schema sent as `response_format` is
 * generated from them, and the answer is parsed with them. Objects are strict and every field is required
 * (nullable where optional), as OpenAI's strict structured output demands; the lengths are enforced after
 * parsing (by truncation) rather than in the schema, which not every local server understands.
 */
export const AI_KINDS = ['summary', 'explain', 'next_steps', 'playbook_draft'] as const;
export type AiKind = (typeof AI_KINDS)[number];

export const SummaryAnswer = z.strictObject({
  summary: z.string(),
  handoff: z.string(),
  key_facts: z.array(z.string()),
  open_questions: z.array(z.string()),
});

export const ExplainAnswer = z.strictObject({
  observable: z.string().nullable(),
  verdict: z.string().nullable(),
  explanation: z.string(),
  factors: z.array(z.strictObject({ source: z.string(), effect: z.enum(['raises', 'lowers', 'neutral']), detail: z.string() })),
});

/** Playbook inputs as name/value pairs: strict structured output has no free-form maps. */
export const NextStepsAnswer = z.strictObject({
  steps: z.array(
    z.strictObject({
      title: z.string(),
      rationale: z.string(),
      technique: z.string().nullable(),
      mitigation: z.strictObject({ id: z.string(), name: z.string() }).nullable(),
      playbook: z
        .strictObject({
          id: z.string(),
          title: z.string(),
          inputs: z.array(z.strictObject({ name: z.string(), value: z.string() })),
        })
        .nullable(),
    }),
  ),
});

export const PlaybookDraftAnswer = z.strictObject({
  title: z.string(),
  yaml: z.string(),
  notes: z.array(z.string()),
});

export const PingAnswer = z.strictObject({ ok: z.boolean() });

export const ANSWER_SCHEMAS = {
  summary: SummaryAnswer,
  explain: ExplainAnswer,
  next_steps: NextStepsAnswer,
  playbook_draft: PlaybookDraftAnswer,
} as const;

/** The JSON Schema for `response_format.json_schema.schema`. */
export function jsonSchemaFor(schema: z.ZodType): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  delete generated.$schema;
  return generated;
}

/** Largest answer parsed at all: anything longer is refused before JSON.parse sees it. */
export const MAX_ANSWER_CHARS = 200_000;

export type ParsedAnswer<T> = { ok: true; value: T } | { ok: false; error: string };

/** Model text → validated answer, never throwing: garbage, huge, wrong types all come back as `ok: false`. */
export function parseAnswer<T>(schema: z.ZodType<T>, content: string | null | undefined): ParsedAnswer<T> {
  if (typeof content !== 'string' || content.trim() === '') return { ok: false, error: 'the answer was empty' };
  if (content.length > MAX_ANSWER_CHARS) return { ok: false, error: `the answer is ${content.length} characters, more than ${MAX_ANSWER_CHARS}` };
  // Some local servers wrap JSON in a Markdown fence despite response_format.
  const text = content
    .trim()
    .replace(/^```(?:json)?\s*\n?/i, '')
    .replace(/\n?```\s*$/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `the answer is not JSON (${(error as Error).message.slice(0, 120)})` };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    };
  return { ok: true, value: parsed.data };
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function aiError(code: string, message: string, status: number, details?: Record<string, unknown>): RiposteError {
  return new RiposteError(code, message, { status, ...(details ? { details } : {}) });
}
