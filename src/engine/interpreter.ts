import type { z } from 'zod';
import { parseDuration } from '../core/index.ts';
import { type DataValue, ExpressionError, evaluateDeep, isTruthy, toText } from './expressions/index.ts';
import type {
  ActionStep,
  ApprovalStep,
  CallStep,
  FailStep,
  ForeachStep,
  IfStep,
  Playbook,
  Retry,
  Step,
  SucceedStep,
  SwitchStep,
  WaitStep,
} from './playbook-schema.ts';

/**
 * The pure interpreter. Given a playbook, the run's inputs and what the journal says happened so far, it
 * returns what must happen next: actions to run, waits to open, sub-playbooks to call, or the run's
 * outcome. It performs no I/O, reads no clock and draws no random numbers — retry times, timer deadlines
 * and timeouts are decided by the runner and written to the journal, which the interpreter only reads.
 * Replaying a journal therefore always reaches the same decision, which is what makes crash recovery,
 * dry-runs and playbook tests one code path.
 *
 * Step keys name step instances: the step id, prefixed inside `foreach` by the iteration
 * (`scan[3].block`). Pure steps (set, if, switch, succeed, fail, guards) are recomputed on every decision
 * rather than journaled: they depend only on journaled data.
 */

/** What the journal says about one step instance (folded from its events). */
export type StepState =
  | { status: 'completed'; output: DataValue; input?: DataValue }
  | { status: 'failed'; error: StepError; output?: DataValue }
  | { status: 'retrying'; attempts: number; retryAt: number; error: StepError; approvalId?: string }
  | { status: 'waiting'; kind: WaitKind; wakeAt: number | null; onTimeout?: string; approvalId?: string }
  | { status: 'calling'; childRunId: string }
  /** A policy approval on an action step was released: the action runs next, with the approved arguments. */
  | { status: 'released'; approvalId: string };

export interface StepError {
  code: string;
  message: string;
  retryable?: boolean;
  [detail: string]: unknown;
}

export type WaitKind = 'timer' | 'event' | 'approval' | 'call';

export interface JournalEvent {
  kind: string;
  stepKey: string | null;
  data: unknown;
}

export type RetryPolicy = z.output<typeof Retry>;

export type Command =
  | {
      type: 'action';
      key: string;
      stepId: string;
      action: string;
      input: DataValue;
      /** 1 for the first attempt. */
      attempt: number;
      notBefore: number | undefined;
      timeoutMs: number | undefined;
      retry: RetryPolicy | undefined;
      /** Set when policy asked for approval and it was released: act with that approval's arguments. */
      approvalId?: string;
    }
  | { type: 'wait'; key: string; stepId: string; wait: WaitRequest }
  | { type: 'call'; key: string; stepId: string; playbook: string; inputs: DataValue };

export type WaitRequest =
  | { kind: 'timer'; durationMs: number }
  | { kind: 'timer'; at: number }
  | { kind: 'event'; event: string; timeoutMs: number | undefined }
  | { kind: 'approval'; prompt: string; approvers: string[]; timeoutMs: number | undefined; onTimeout: string };

export interface PendingWait {
  key: string;
  kind: WaitKind;
  wakeAt: number | null;
  onTimeout?: string;
  /** A policy approval guarding an action step (see the runner's guard). */
  approvalId?: string;
}

export type Outcome = { status: 'succeeded'; output: DataValue } | { status: 'failed'; error: StepError & { step?: string } };

export interface Decision {
  commands: Command[];
  /** Open waits, with when they time out or fire (null: only an outside decision ends them). */
  waits: PendingWait[];
  outcome: Outcome | undefined;
}

/** Folds journal events into per-step state; `run_resumed` forgets failures so they are tried again. */
export function foldJournal(events: Iterable<JournalEvent>, into: Map<string, StepState> = new Map()): Map<string, StepState> {
  for (const event of events) applyEvent(into, event);
  return into;
}

export function applyEvent(states: Map<string, StepState>, event: JournalEvent): void {
  const key = event.stepKey;
  const data = (event.data ?? {}) as Record<string, unknown>;
  switch (event.kind) {
    case 'step_completed':
      if (key) states.set(key, { status: 'completed', output: (data.output ?? null) as DataValue, input: data.input as DataValue });
      break;
    case 'step_failed':
      if (key) states.set(key, { status: 'failed', error: data.error as StepError, output: data.output as DataValue });
      break;
    case 'attempt_failed':
      if (key) {
        // A retried attempt of a released action keeps its approval: it is the same approved action.
        const before = states.get(key);
        const approvalId = before && (before.status === 'released' || before.status === 'retrying') ? before.approvalId : undefined;
        states.set(key, {
          status: 'retrying',
          attempts: Number(data.attempt),
          retryAt: Number(data.retry_at),
          error: data.error as StepError,
          ...(approvalId ? { approvalId } : {}),
        });
      }
      break;
    case 'wait_started':
      if (key)
        states.set(key, {
          status: 'waiting',
          kind: data.kind as WaitKind,
          wakeAt: (data.wake_at ?? null) as number | null,
          ...(data.on_timeout ? { onTimeout: String(data.on_timeout) } : {}),
          ...(data.approval_id ? { approvalId: String(data.approval_id) } : {}),
        });
      break;
    case 'approval_released':
      if (key) states.set(key, { status: 'released', approvalId: String(data.approval_id) });
      break;
    case 'child_started':
      if (key) states.set(key, { status: 'calling', childRunId: String(data.child_run_id) });
      break;
    case 'run_resumed':
      for (const [k, state] of states) if (state.status === 'failed' || state.status === 'retrying') states.delete(k);
      break;
  }
}

type ListResult =
  | { state: 'done'; last: DataValue }
  | { state: 'pending' }
  | { state: 'failed'; error: StepError & { step?: string } }
  | { state: 'stopped'; outcome: Outcome };

interface Scope {
  context: Record<string, DataValue>;
  steps: Record<string, DataValue>;
  vars: Record<string, DataValue>;
}

export interface InterpretOptions {
  runId: string;
  /** Extra read-only names for templates (e.g. `secrets` placeholders, `run` facts). */
  globals?: Record<string, DataValue>;
}

export function decide(playbook: Playbook, inputs: Record<string, DataValue>, states: ReadonlyMap<string, StepState>, options: InterpretOptions): Decision {
  const walk = new Walk(states);
  const steps: Record<string, DataValue> = {};
  const vars: Record<string, DataValue> = {};
  const context: Record<string, DataValue> = {
    ...(options.globals ?? {}),
    inputs,
    steps,
    vars,
    run: { id: options.runId, playbook: playbook.id, version: playbook.version },
  };
  const result = walk.list(playbook.steps, { context, steps, vars }, '');
  let outcome: Outcome | undefined;
  if (result.state === 'done') {
    try {
      outcome = { status: 'succeeded', output: playbook.outputs === undefined ? result.last : evaluateDeep(playbook.outputs, context) };
    } catch (error) {
      outcome = { status: 'failed', error: { code: 'engine.expression_failed', message: `outputs: ${(error as Error).message}` } };
    }
  } else if (result.state === 'failed') {
    outcome = { status: 'failed', error: result.error };
  } else if (result.state === 'stopped') {
    outcome = result.outcome;
  }
  return { commands: outcome ? [] : walk.commands, waits: outcome ? [] : walk.waits, outcome };
}

function durationOf(value: string | number | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

function expressionError(stepId: string, error: unknown): StepError & { step: string } {
  if (error instanceof ExpressionError || (error as Error)?.name === 'TemplateSyntaxError') {
    return { code: 'engine.expression_failed', message: `step ${stepId}: ${(error as Error).message}`, step: stepId };
  }
  throw error;
}

class Walk {
  readonly commands: Command[] = [];
  readonly waits: PendingWait[] = [];
  readonly #states: ReadonlyMap<string, StepState>;

  constructor(states: ReadonlyMap<string, StepState>) {
    this.#states = states;
  }

  list(steps: readonly Step[], scope: Scope, prefix: string): ListResult {
    let last: DataValue = null;
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index] as Step;
      const result = this.#step(step, scope, prefix);
      if (result.state === 'done') {
        last = result.last;
        continue;
      }
      if (result.state !== 'failed') return result;
      const onError = step.on_error ?? 'fail';
      scope.steps[step.id] = { status: 'failed', output: null, error: result.error as DataValue };
      if (onError === 'continue') continue;
      if (typeof onError === 'object') {
        const target = steps.findIndex((s, i) => i > index && s.id === onError.goto);
        if (target > index) {
          index = target - 1;
          continue;
        }
      }
      return result;
    }
    return { state: 'done', last };
  }

  #step(step: Step, scope: Scope, prefix: string): ListResult {
    const key = prefix + step.id;
    const guard = step.when ?? ('then' in step ? undefined : step.if);
    if (guard !== undefined) {
      let pass: boolean;
      try {
        pass = isTruthy(evaluateDeep(guard, scope.context));
      } catch (error) {
        return { state: 'failed', error: expressionError(step.id, error) };
      }
      if (!pass) {
        scope.steps[step.id] = { status: 'skipped', output: null };
        return { state: 'done', last: null };
      }
    }
    let result: ListResult;
    try {
      result = this.#kind(step, scope, prefix, key);
    } catch (error) {
      result = { state: 'failed', error: expressionError(step.id, error) };
    }
    if (result.state === 'done') scope.steps[step.id] = { status: 'completed', output: result.last };
    return result;
  }

  #kind(step: Step, scope: Scope, prefix: string, key: string): ListResult {
    if ('action' in step) return this.#action(step, scope, key);
    if ('set' in step) {
      const values = evaluateDeep(step.set, scope.context) as Record<string, DataValue>;
      Object.assign(scope.vars, values);
      return { state: 'done', last: values };
    }
    if ('then' in step) return this.#if(step, scope, prefix);
    if ('switch' in step) return this.#switch(step, scope, prefix);
    if ('parallel' in step) return this.#parallel(step.parallel, scope, prefix);
    if ('foreach' in step) return this.#foreach(step, scope, key);
    if ('approval' in step || 'wait' in step) return this.#wait(step, scope, key);
    if ('call' in step) return this.#call(step, scope, key);
    if ('succeed' in step) return this.#succeed(step, scope);
    if ('fail' in step) return this.#fail(step, scope);
    throw new Error(`step ${(step as Step).id} has no kind`);
  }

  #settled(key: string, stepId: string): ListResult | undefined {
    const state = this.#states.get(key);
    if (state?.status === 'completed') return { state: 'done', last: state.output };
    if (state?.status === 'failed') return { state: 'failed', error: { ...state.error, step: stepId } };
    return undefined;
  }

  #action(step: ActionStep, scope: Scope, key: string): ListResult {
    const settled = this.#settled(key, step.id);
    if (settled) return settled;
    const state = this.#states.get(key);
    if (state?.status === 'waiting') {
      // Policy asked for approval before this action: it waits like an approval step does.
      this.waits.push({ key, kind: state.kind, wakeAt: state.wakeAt, ...(state.approvalId ? { approvalId: state.approvalId } : {}) });
      return { state: 'pending' };
    }
    const input = evaluateDeep(step.with ?? {}, scope.context);
    this.commands.push({
      type: 'action',
      key,
      stepId: step.id,
      action: step.action,
      input,
      attempt: state?.status === 'retrying' ? state.attempts + 1 : 1,
      notBefore: state?.status === 'retrying' ? state.retryAt : undefined,
      timeoutMs: durationOf(step.timeout),
      retry: step.retry,
      ...((state?.status === 'released' || state?.status === 'retrying') && state.approvalId ? { approvalId: state.approvalId } : {}),
    });
    return { state: 'pending' };
  }

  #if(step: IfStep, scope: Scope, prefix: string): ListResult {
    const branch = isTruthy(evaluateDeep(step.if, scope.context)) ? step.then : step.else;
    return branch ? this.list(branch, scope, prefix) : { state: 'done', last: null };
  }

  #switch(step: SwitchStep, scope: Scope, prefix: string): ListResult {
    const value = toText(evaluateDeep(step.switch, scope.context));
    const branch = Object.hasOwn(step.cases, value) ? step.cases[value] : step.default;
    return branch ? this.list(branch, scope, prefix) : { state: 'done', last: null };
  }

  #parallel(children: readonly Step[], scope: Scope, prefix: string): ListResult {
    const output: Record<string, DataValue> = {};
    let pending = false;
    for (const child of children) {
      // Each branch is evaluated even when a sibling is pending, so all of them get their commands now.
      const result = this.list([child], scope, prefix);
      if (result.state === 'failed' || result.state === 'stopped') return result;
      if (result.state === 'pending') pending = true;
      else output[child.id] = result.last;
    }
    return pending ? { state: 'pending' } : { state: 'done', last: output };
  }

  #foreach(step: ForeachStep, scope: Scope, key: string): ListResult {
    const spec = step.foreach;
    const items = typeof spec.items === 'string' ? evaluateDeep(spec.items, scope.context) : (evaluateDeep(spec.items, scope.context) as DataValue);
    if (items === null || items === undefined) return { state: 'done', last: [] };
    if (!Array.isArray(items)) throw new ExpressionError(`foreach.items must be a list, got ${typeof items}`);
    const results: DataValue[] = [];
    let active = 0;
    let pending = false;
    for (let i = 0; i < items.length; i++) {
      const iterationPrefix = `${key}[${i}].`;
      const started = active < spec.concurrency || this.#hasState(iterationPrefix);
      if (!started) {
        pending = true;
        break;
      }
      const steps: Record<string, DataValue> = { ...scope.steps };
      const vars: Record<string, DataValue> = { ...scope.vars };
      const context = { ...scope.context, steps, vars, [spec.as]: items[i], index: i, loop: { index: i + 1, index0: i, length: items.length } };
      const result = this.list(spec.do, { context, steps, vars }, iterationPrefix);
      if (result.state === 'failed' || result.state === 'stopped') return result;
      if (result.state === 'pending') {
        pending = true;
        active++;
      } else {
        results.push(result.last);
      }
    }
    return pending ? { state: 'pending' } : { state: 'done', last: results };
  }

  #hasState(prefix: string): boolean {
    if (this.#iterations === undefined) {
      // Every "each[3]." prefix that has journaled state, computed once per decision (not once per iteration).
      this.#iterations = new Set();
      for (const key of this.#states.keys()) {
        for (let at = key.indexOf('].'); at !== -1; at = key.indexOf('].', at + 2)) this.#iterations.add(key.slice(0, at + 2));
      }
    }
    return this.#iterations.has(prefix);
  }
  #iterations: Set<string> | undefined;

  #wait(step: ApprovalStep | WaitStep, scope: Scope, key: string): ListResult {
    const settled = this.#settled(key, step.id);
    if (settled) return settled;
    const state = this.#states.get(key);
    if (state?.status === 'waiting') {
      this.waits.push({ key, kind: state.kind, wakeAt: state.wakeAt, ...(state.onTimeout ? { onTimeout: state.onTimeout } : {}) });
      return { state: 'pending' };
    }
    let wait: WaitRequest;
    if ('approval' in step) {
      wait = {
        kind: 'approval',
        prompt: toText(evaluateDeep(step.approval.prompt, scope.context)),
        approvers: step.approval.approvers ?? [],
        timeoutMs: durationOf(step.approval.timeout),
        onTimeout: step.approval.on_timeout,
      };
    } else if ('duration' in step.wait) {
      wait = { kind: 'timer', durationMs: durationOf(step.wait.duration) ?? 0 };
    } else if ('until' in step.wait) {
      const at = evaluateDeep(step.wait.until, scope.context);
      const ms = typeof at === 'number' ? at : Date.parse(toText(at));
      if (!Number.isFinite(ms)) throw new ExpressionError(`wait.until ${JSON.stringify(at)} is not a time`);
      wait = { kind: 'timer', at: ms };
    } else {
      wait = { kind: 'event', event: step.wait.event, timeoutMs: durationOf(step.wait.timeout) };
    }
    this.commands.push({ type: 'wait', key, stepId: step.id, wait });
    return { state: 'pending' };
  }

  #call(step: CallStep, scope: Scope, key: string): ListResult {
    const settled = this.#settled(key, step.id);
    if (settled) return settled;
    if (this.#states.get(key)?.status === 'calling') {
      this.waits.push({ key, kind: 'call', wakeAt: null });
      return { state: 'pending' };
    }
    this.commands.push({ type: 'call', key, stepId: step.id, playbook: step.call.playbook, inputs: evaluateDeep(step.call.with ?? {}, scope.context) });
    return { state: 'pending' };
  }

  #succeed(step: SucceedStep, scope: Scope): ListResult {
    const output = step.succeed === true ? null : evaluateDeep(step.succeed.output ?? null, scope.context);
    return { state: 'stopped', outcome: { status: 'succeeded', output } };
  }

  #fail(step: FailStep, scope: Scope): ListResult {
    const message = toText(evaluateDeep(typeof step.fail === 'string' ? step.fail : step.fail.message, scope.context));
    return { state: 'stopped', outcome: { status: 'failed', error: { code: 'engine.playbook_failed', message, step: step.id } } };
  }
}

/** The top-level step each step id sits under (for re-running from a step). */
export function topLevelIndex(playbook: Playbook): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (steps: readonly Step[], top: number) => {
    for (const step of steps) {
      out.set(step.id, top);
      if ('parallel' in step) visit(step.parallel, top);
      if ('foreach' in step) visit(step.foreach.do, top);
      if ('then' in step) {
        visit(step.then, top);
        if (step.else) visit(step.else, top);
      }
      if ('switch' in step) {
        for (const branch of Object.values(step.cases)) visit(branch, top);
        if (step.default) visit(step.default, top);
      }
    }
  };
  playbook.steps.forEach((step, index) => {
    visit([step], index);
  });
  return out;
}
