import { z } from 'zod';
import { type Logger, RiposteError } from '../core/index.ts';
import { ACTION_ID } from './playbook-schema.ts';

/**
 * Every side effect a playbook can cause is an action registered here with a declared impact.
 * `read` actions only look; `write` and `destructive` ones change something (and pass policy first, and
 * are simulated in dry-runs). Vendors' actions are registered by `app/`; the engine itself only knows
 * the built-ins `core.log` and `core.transform`.
 */
export type Impact = 'read' | 'write' | 'destructive';

export interface ActionContext {
  /** Same for every attempt of the same step instance (run, step, loop index): send it to the vendor. */
  idempotencyKey: string;
  runId: string;
  stepKey: string;
  /** 1 for the first try. */
  attempt: number;
  /** Aborted on step timeout and run cancellation. */
  signal: AbortSignal;
  logger: Logger | undefined;
}

export interface ActionDefinition<I = unknown, O = unknown> {
  id: string;
  title: string;
  description?: string;
  impact: Impact;
  input: z.ZodType<I>;
  output?: z.ZodType<O>;
  /** For generic actions whose impact depends on the call (an HTTP GET only reads): the impact of this input. */
  impactFor?(input: I): Impact;
  /** The action that undoes this one (block ↔ unblock), for rollbacks and reviewers. */
  inverse?: string;
  /**
   * The inverse's arguments for this call (default: the same arguments). E.g. an isolation whose output
   * carries the vendor's containment id: `(input, output) => ({ host: input.host, containment_id: output.id })`.
   */
  inverseInput?(input: I, output: O): Record<string, unknown>;
  /**
   * How long the effect should last when the call says nothing (a `ttl` or `expires_in` argument wins):
   * a duration such as `24h`, or milliseconds. After it, the containment sweeper runs the inverse.
   */
  defaultTtl?: string | number;
  run(input: I, context: ActionContext): Promise<O> | O;
  /** What a dry-run reports instead of running a write/destructive action. */
  describeEffect?(input: I): string;
}

/** What validation needs to know about actions. */
export interface ActionCatalog {
  get(id: string): ActionDefinition | undefined;
  ids(): string[];
}

export class ActionRegistry implements ActionCatalog {
  readonly #actions = new Map<string, ActionDefinition>();

  register<I, O>(definition: ActionDefinition<I, O>): this {
    if (!ACTION_ID.test(definition.id))
      throw new RiposteError('engine.invalid_action', `action id ${JSON.stringify(definition.id)} must look like vendor.name`);
    if (this.#actions.has(definition.id)) throw new RiposteError('engine.duplicate_action', `action ${definition.id} is already registered`);
    this.#actions.set(definition.id, definition as unknown as ActionDefinition);
    return this;
  }

  get(id: string): ActionDefinition | undefined {
    return this.#actions.get(id);
  }

  ids(): string[] {
    return [...this.#actions.keys()].sort();
  }
}

export function defineAction<I, O>(definition: ActionDefinition<I, O>): ActionDefinition<I, O> {
  return definition;
}

export const coreLog = defineAction({
  id: 'core.log',
  title: 'Write a line to the run log',
  impact: 'read',
  input: z.object({ message: z.string(), level: z.enum(['debug', 'info', 'warn', 'error']).default('info'), data: z.unknown().optional() }).strict(),
  output: z.object({ message: z.string() }),
  run(input, context) {
    context.logger?.[input.level]({ run_id: context.runId, step: context.stepKey, data: input.data }, input.message);
    return { message: input.message };
  },
});

export const coreTransform = defineAction({
  id: 'core.transform',
  title: 'Reshape data with expressions (the value is already evaluated)',
  impact: 'read',
  input: z.object({ value: z.unknown() }).strict(),
  run: (input) => input.value,
});

export function builtinActions(): ActionRegistry {
  return new ActionRegistry().register(coreLog).register(coreTransform);
}
