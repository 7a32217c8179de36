import { z } from 'zod';
import { parseDuration } from '../core/index.ts';

/**
 * The playbook format. These zod schemas are the single source: the loader validates with them, the
 * TypeScript types come from them, and `schemas/playbook.schema.json` (for editors) is generated from them.
 *
 * A step's kind is the one kind key it carries (`action`, `parallel`, `foreach`, `then` (if/else),
 * `switch`, `set`, `approval`, `wait`, `call`, `succeed`, `fail`); every step may also carry a guard
 * (`when` or `if`), `retry`, `timeout` and `on_error`.
 */

export const STEP_ID = /^[a-z][a-z0-9_]{0,63}$/;
export const ACTION_ID = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

const stepId = z.string().regex(STEP_ID, 'must be lower-case letters, digits and _, starting with a letter (at most 64)');

export const Duration = z
  .union([z.string(), z.number().int().nonnegative()])
  .refine((value) => parseDuration(value) !== undefined, 'must be a duration such as 500ms, 30s, 5m, 24h or 7d')
  .meta({ description: 'A duration: 500ms, 30s, 5m, 24h, 7d, 1h30m, or milliseconds' });

/** A string that may hold Jinja2 syntax (`{{ … }}`, `{% … %}`). */
const Template = z.string().meta({ description: 'A Jinja2 template: "{{ expression }}" returns a typed value; other text renders to a string' });

export const Retry = z
  .object({
    attempts: z.number().int().min(1).max(100).meta({ description: 'Total tries including the first' }),
    backoff: z
      .union([Duration, z.object({ initial: Duration, max: Duration.optional(), factor: z.number().min(1).max(10).default(2) }).strict()])
      .optional()
      .meta({ description: 'Delay before the second try; a mapping makes it exponential' }),
    jitter: z.boolean().default(true).meta({ description: 'Randomise each delay by ±25% so retries of many runs spread out' }),
    respect_retry_after: z.boolean().default(true).meta({ description: "Wait at least as long as the service's Retry-After says" }),
  })
  .strict();

export const OnError = z.union([
  z.enum(['fail', 'continue']),
  z.object({ goto: stepId.meta({ description: 'A later step in the same list to continue at' }) }).strict(),
]);

const common = {
  id: stepId,
  title: z.string().optional(),
  description: z.string().optional(),
  when: Template.optional().meta({ description: 'Guard: the step runs only when this is truthy (else it is skipped)' }),
  timeout: Duration.optional(),
  retry: Retry.optional(),
  on_error: OnError.optional().meta({ description: 'fail (default), continue, or {goto: step}' }),
};

export const STEP_KINDS = ['action', 'parallel', 'foreach', 'then', 'switch', 'set', 'approval', 'wait', 'call', 'succeed', 'fail'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Builds each kind's schema around a schema for nested step lists (typed for JSON Schema, raw for the loader). */
function kindSchemas(steps: z.ZodType) {
  return {
    action: z
      .object({
        ...common,
        if: Template.optional(),
        action: z.string().regex(ACTION_ID, 'must be an action id such as core.http_request'),
        with: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    parallel: z.object({ ...common, if: Template.optional(), parallel: steps.meta({ description: 'Steps that run at the same time' }) }).strict(),
    foreach: z
      .object({
        ...common,
        if: Template.optional(),
        foreach: z
          .object({
            items: z.union([Template, z.array(z.unknown())]),
            as: z
              .string()
              .regex(/^[a-z_][a-z0-9_]*$/)
              .default('item'),
            concurrency: z.number().int().min(1).max(1000).default(10),
            do: steps,
          })
          .strict(),
      })
      .strict(),
    // biome-ignore lint/suspicious/noThenProperty: `then` is the playbook keyword of if/else steps; these objects are never awaited
    then: z
      .object({
        ...common,
        if: Template.meta({ description: 'Condition choosing `then` or `else`' }),
        // biome-ignore lint/suspicious/noThenProperty: as above
        then: steps,
        else: steps.optional(),
      })
      .strict(),
    switch: z
      .object({
        ...common,
        if: Template.optional(),
        switch: Template,
        cases: z.record(z.string(), steps),
        default: steps.optional(),
      })
      .strict(),
    set: z.object({ ...common, if: Template.optional(), set: z.record(z.string(), z.unknown()) }).strict(),
    approval: z
      .object({
        ...common,
        if: Template.optional(),
        approval: z
          .object({
            prompt: Template,
            approvers: z.array(z.string()).optional().meta({
              description:
                'Users or roles who may decide, checked against the deciding user and their roles; the run’s starter and the playbook’s author may never approve',
            }),
            timeout: Duration.optional(),
            on_timeout: z.enum(['reject', 'approve', 'fail']).default('fail'),
          })
          .strict(),
      })
      .strict(),
    wait: z
      .object({
        ...common,
        if: Template.optional(),
        wait: z.union([
          z.object({ duration: Duration }).strict(),
          z.object({ until: Template.meta({ description: 'ISO-8601 time or epoch milliseconds' }) }).strict(),
          z.object({ event: z.string().min(1), timeout: Duration.optional() }).strict(),
        ]),
      })
      .strict(),
    call: z
      .object({
        ...common,
        if: Template.optional(),
        call: z.object({ playbook: z.string().min(1), with: z.record(z.string(), z.unknown()).optional() }).strict(),
      })
      .strict(),
    succeed: z
      .object({ ...common, if: Template.optional(), succeed: z.union([z.literal(true), z.object({ output: z.unknown().optional() }).strict()]) })
      .strict(),
    fail: z.object({ ...common, if: Template.optional(), fail: z.union([Template, z.object({ message: Template }).strict()]) }).strict(),
  } satisfies Record<StepKind, z.ZodType>;
}

/** Per-kind schemas whose nested step lists are left raw: the loader validates those recursively itself. */
export const RAW_KIND_SCHEMAS = kindSchemas(z.array(z.unknown()));

export interface StepCommon {
  id: string;
  title?: string;
  description?: string;
  when?: string;
  if?: string;
  timeout?: string | number;
  retry?: z.output<typeof Retry>;
  on_error?: z.output<typeof OnError>;
}
export type ActionStep = StepCommon & { action: string; with?: Record<string, unknown> };
export type ParallelStep = StepCommon & { parallel: Step[] };
export type ForeachStep = StepCommon & { foreach: { items: string | unknown[]; as: string; concurrency: number; do: Step[] } };
export type IfStep = StepCommon & { if: string; then: Step[]; else?: Step[] };
export type SwitchStep = StepCommon & { switch: string; cases: Record<string, Step[]>; default?: Step[] };
export type SetStep = StepCommon & { set: Record<string, unknown> };
export type ApprovalStep = StepCommon & {
  approval: { prompt: string; approvers?: string[]; timeout?: string | number; on_timeout: 'reject' | 'approve' | 'fail' };
};
export type WaitStep = StepCommon & {
  wait: { duration: string | number } | { until: string } | { event: string; timeout?: string | number };
};
export type CallStep = StepCommon & { call: { playbook: string; with?: Record<string, unknown> } };
export type SucceedStep = StepCommon & { succeed: true | { output?: unknown } };
export type FailStep = StepCommon & { fail: string | { message: string } };
export type Step = ActionStep | ParallelStep | ForeachStep | IfStep | SwitchStep | SetStep | ApprovalStep | WaitStep | CallStep | SucceedStep | FailStep;

export const Step: z.ZodType<Step> = z.lazy(() => z.union(Object.values(TYPED_KIND_SCHEMAS) as unknown as [z.ZodType<Step>, ...z.ZodType<Step>[]]));
const TYPED_KIND_SCHEMAS = kindSchemas(z.array(Step).min(1));
Step.meta({ id: 'Step', description: 'One step; its kind is the kind key it carries' });

export const INPUT_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'object',
  'array',
  'ip',
  'ipv4',
  'ipv6',
  'domain',
  'url',
  'email',
  'hash',
  'any',
] as const;

export const InputSpec = z
  .object({
    type: z.enum(INPUT_TYPES).default('string'),
    description: z.string().optional(),
    required: z.boolean().default(true),
    default: z.unknown().optional(),
    enum: z.array(z.unknown()).optional(),
  })
  .strict();
export type InputSpec = z.output<typeof InputSpec>;

/** Input name → template evaluated against the triggering alert or event to fill the run's inputs. */
const TriggerInputs = z
  .record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.unknown())
  .optional()
  .meta({ description: 'Run inputs computed from the trigger: input name → template over `alert`/`event`, `case`' });

export const Trigger = z
  .object({
    manual: z.boolean().optional(),
    alert: z.object({ where: Template.optional(), inputs: TriggerInputs }).strict().optional(),
    event: z.object({ name: z.string(), where: Template.optional(), inputs: TriggerInputs }).strict().optional(),
    schedule: z.object({ every: Duration }).strict().optional(),
  })
  .strict();

const AttackTechniqueId = z
  .string()
  .regex(/^T[0-9]{4}(\.[0-9]{3})?$/, 'must be an ATT&CK technique id such as T1059 or T1059.001')
  .meta({ description: 'ATT&CK technique id' });

const playbookFields = {
  id: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and -, starting with a letter')
    .meta({ description: 'Stable identifier' }),
  version: z.number().int().min(1).meta({ description: 'Bump on every change; runs pin the version they started with' }),
  title: z.string().min(1),
  description: z.string().optional(),
  author: z.string().min(1).max(200).optional().meta({
    description:
      "The playbook's last author (a Riposte user name). Runs pin it; that user may not approve a policy approval the playbook's actions ask for (separation of duties)",
  }),
  trigger: Trigger.optional(),
  inputs: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), InputSpec).default({}),
  outputs: z.record(z.string(), z.unknown()).optional().meta({ description: 'Run outputs: name → template evaluated when the run succeeds' }),
  attack: z
    .object({
      detects: z.array(AttackTechniqueId).default([]).meta({ description: 'Techniques this playbook detects or triages' }),
      responds_to: z.array(AttackTechniqueId).default([]).meta({ description: 'Techniques this playbook contains or remediates' }),
    })
    .strict()
    .optional()
    .meta({ description: 'MITRE ATT&CK coverage metadata (GET /api/v1/attack/coverage); no effect on how the playbook runs' }),
};

export const Playbook = z
  .object({ ...playbookFields, steps: z.array(Step).min(1) })
  .strict()
  .meta({ id: 'Playbook', title: 'Riposte playbook' });
export type Playbook = Omit<z.output<typeof Playbook>, 'steps'> & { steps: Step[] };

/** The top level with steps left raw, for the loader's own recursive validation. */
export const RAW_PLAYBOOK = z.object({ ...playbookFields, steps: z.array(z.unknown()).min(1) }).strict();

/** Which kind a raw step is, by the kind keys it carries; `then` wins over a guard `if`. */
export function stepKindOf(raw: Record<string, unknown>): StepKind[] {
  return STEP_KINDS.filter((kind) => Object.hasOwn(raw, kind));
}

/** The playbook's JSON Schema for editors (schemas/playbook.schema.json). */
export function playbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Playbook, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://riposte.dev/schemas/playbook.schema.json' };
}
