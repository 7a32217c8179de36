import { type Clock, conflict, invalidInput, type Logger, newId, notFound, RiposteError, systemClock } from '../core/index.ts';
import { ACTIVE_RUN_STATUSES, type JournalEntry, type RunFilter, type RunRow, type Store, type StoreTx, type WaitRow } from '../store/index.ts';
import type { ActionGuard } from './action-guard.ts';
import type { ActionCatalog } from './actions.ts';
import type { DataValue } from './expressions/index.ts';
import { topLevelIndex } from './interpreter.ts';
import type { PlaybookCatalog } from './playbook-loader.ts';
import { Playbook } from './playbook-schema.ts';
import { type ActionInterceptor, Runner, type RunnerEvent, type RunnerOptions, validateRunInputs } from './runner.ts';
import type { SecretSource } from './secrets.ts';

/**
 * The engine's API for the rest of Riposte (CLI, REST routes, triggers): start, inspect, cancel, resume
 * and re-run runs, decide approvals and deliver events. It owns one embedded Runner; state lives only in
 * the Store, so any process can answer these calls and the runner that holds a run is poked when needed.
 */
export interface EngineOptions {
  store: Store;
  actions: ActionCatalog;
  playbooks?: PlaybookCatalog;
  clock?: Clock;
  logger?: Logger;
  secrets?: SecretSource;
  intercept?: ActionInterceptor;
  /** Policy before every write/destructive action (app/ implements it with policy/). */
  guard?: ActionGuard;
  runner?: Pick<RunnerOptions, 'owner' | 'leaseMs' | 'pollMs' | 'maxActiveRuns' | 'exclusive' | 'only' | 'onClaimed' | 'playbookIds'>;
}

export interface StartRunOptions {
  mode?: 'live' | 'dry_run';
  startedBy?: string;
  /**
   * The case this run works for, stored on the run row in the insert that creates it: guardrail
   * decisions of its first step go on that case's timeline (sub-playbook runs inherit it).
   */
  caseId?: string;
}

/** An `Idempotency-Key` on a run start (draft-ietf-httpapi-idempotency-key-header). */
export interface IdempotentStart {
  /** Whose key it is: keys are scoped per actor, so two clients never collide on the same key. */
  scope: string;
  key: string;
  /** A digest of what was asked (playbook and request body): the same key with another one is refused. */
  fingerprint: string;
  /** How long the key keeps answering with its run (24 h for the API). */
  ttlMs: number;
}

export interface StepRecord {
  key: string;
  status: string;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  attempts: number;
  at: number;
}

export interface RunView extends Omit<RunRow, 'definition'> {
  steps?: StepRecord[];
  waits?: WaitRow[];
}

export interface Decision {
  decision: 'approve' | 'reject';
  actor: string;
  comment?: string;
  /**
   * The decider's roles, when an authenticated principal decides (the API). A step's `approvers` list is
   * checked against the actor's name and these roles; without them (the operator's `riposte runs decide`,
   * playbook tests) only separation of duties is checked.
   */
  roles?: readonly string[];
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export class Engine {
  readonly runner: Runner;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #listeners = new Set<(event: RunnerEvent) => void>();

  constructor(options: EngineOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.runner = new Runner({
      store: options.store,
      actions: options.actions,
      playbooks: options.playbooks,
      clock: this.#clock,
      logger: options.logger,
      secrets: options.secrets,
      intercept: options.intercept,
      guard: options.guard,
      onEvent: (event) => {
        for (const listener of this.#listeners) listener(event);
      },
      ...options.runner,
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Subscribes to step and run progress of runs executed by this process's runner. */
  onEvent(listener: (event: RunnerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts a run pinned to this playbook definition; inputs are checked against its declared inputs. */
  async startRun(playbook: Playbook, inputs: unknown, options: StartRunOptions = {}): Promise<string> {
    const [id] = await this.startRuns([{ playbook, inputs }], options);
    return id as string;
  }

  async startRuns(batch: ReadonlyArray<{ playbook: Playbook; inputs: unknown; caseId?: string }>, options: StartRunOptions = {}): Promise<string[]> {
    const now = this.#clock.now();
    const runs = batch.map(({ playbook, inputs, caseId }) => ({
      id: newId(now),
      playbookId: playbook.id,
      playbookVersion: playbook.version,
      definition: playbook,
      inputs: validateRunInputs(playbook, inputs),
      status: 'queued',
      mode: options.mode ?? 'live',
      startedBy: options.startedBy ?? null,
      caseId: caseId ?? options.caseId ?? null,
      wakeAt: now,
      createdAt: now,
    }));
    await this.#store.engine.insertRuns(runs);
    this.runner.poke();
    return runs.map((r) => r.id);
  }

  /**
   * Starts a run once per idempotency key: the first request with the key starts it, every later one with
   * the same key and fingerprint (however many arrive at once) gets that run back (`replayed`, with the
   * status the first was answered with once it is known). The key and the run commit in one transaction,
   * so concurrent duplicates cannot both start one. The same key with another fingerprint is a 422.
   */
  async startRunIdempotent(
    playbook: Playbook,
    inputs: unknown,
    options: StartRunOptions,
    idempotency: IdempotentStart,
  ): Promise<{ runId: string; replayed: boolean; statusCode: number | null }> {
    const keys = this.#store.runIdempotencyKeys;
    await keys.purgeExpired(this.#clock.now());
    // A claim lost to a concurrent request is visible once that request commits: a second look finds it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await keys.get(idempotency.scope, idempotency.key);
      if (existing) {
        if (existing.fingerprint !== idempotency.fingerprint) {
          throw new RiposteError(
            'run.idempotency_key_reused',
            `Idempotency-Key ${JSON.stringify(idempotency.key)} was already used for a different request (run ${existing.runId}); use a new key for a new run`,
            { status: 422, details: { run_id: existing.runId } },
          );
        }
        return { runId: existing.runId, replayed: true, statusCode: existing.statusCode };
      }
      const runId = await this.startRunIf(playbook, inputs, options, (tx, newRunId) =>
        tx.runIdempotencyKeys.claim({
          actor: idempotency.scope,
          key: idempotency.key,
          fingerprint: idempotency.fingerprint,
          ttlMs: idempotency.ttlMs,
          runId: newRunId,
        }),
      );
      if (runId !== undefined) return { runId, replayed: false, statusCode: null };
    }
    throw new RiposteError('conflict', `Idempotency-Key ${JSON.stringify(idempotency.key)} is being used by a concurrent request; retry`, {
      status: 409,
      retryable: true,
    });
  }

  /** Remembers the status the first request with a key was answered with, for its retries. */
  recordIdempotentStatus(idempotency: Pick<IdempotentStart, 'scope' | 'key'>, runId: string, statusCode: number): Promise<void> {
    return this.#store.runIdempotencyKeys.setStatus(idempotency.scope, idempotency.key, runId, statusCode);
  }

  /**
   * Starts a run only if `condition` (run in the same transaction as the insert, told the new run's id)
   * returns true: a caller's own state change and the run that acts on it commit together or not at all.
   * Returns the run id, or undefined when the condition said no.
   */
  async startRunIf(
    playbook: Playbook,
    inputs: unknown,
    options: StartRunOptions,
    condition: (tx: StoreTx, runId: string) => Promise<boolean>,
  ): Promise<string | undefined> {
    const now = this.#clock.now();
    const run = {
      id: newId(now),
      playbookId: playbook.id,
      playbookVersion: playbook.version,
      definition: playbook,
      inputs: validateRunInputs(playbook, inputs),
      status: 'queued',
      mode: options.mode ?? 'live',
      startedBy: options.startedBy ?? null,
      caseId: options.caseId ?? null,
      wakeAt: now,
      createdAt: now,
    };
    const started = await this.#store.transaction(async (tx) => {
      if (!(await condition(tx, run.id))) return false;
      await tx.engine.insertRuns([run]);
      return true;
    });
    if (!started) return undefined;
    this.runner.poke();
    return run.id;
  }

  async getRun(id: string, options: { history?: boolean } = {}): Promise<RunView> {
    const row = await this.#store.engine.getRun(id);
    if (row === undefined) throw notFound('run', id);
    const { definition: _definition, ...view } = row;
    if (!options.history) return view;
    const [journal, waits] = await Promise.all([this.#store.engine.journal(id), this.#store.engine.listWaits({ runId: id })]);
    return { ...view, steps: stepHistory(journal), waits };
  }

  listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    return this.#store.engine.listRuns(filter);
  }

  /** Open approvals (optionally of one run), oldest first. */
  listApprovals(filter: { runId?: string } = {}): Promise<WaitRow[]> {
    return this.#store.engine.listWaits({ kind: 'approval', status: 'open', ...(filter.runId ? { runId: filter.runId } : {}) });
  }

  async cancel(id: string, actor?: string): Promise<RunView> {
    const row = await this.#store.engine.getRun(id);
    if (row === undefined) throw notFound('run', id);
    if (FINISHED.has(row.status)) throw conflict(`run ${id} already ${row.status}`);
    await this.#store.transaction(async (tx) => {
      await tx.engine.requestCancel(id);
      const current = await tx.engine.getRun(id);
      // Nobody holds it (waiting or queued): finish it here. A held run is finished by its runner.
      if (current && current.leaseOwner === null && !FINISHED.has(current.status)) {
        await tx.engine.updateRuns([{ id, status: 'cancelled', finishedAt: this.#clock.now(), wakeAt: null }]);
        await tx.engine.appendJournal([{ runId: id, kind: 'run_cancelled', stepKey: null, data: { actor: actor ?? null } }]);
        for (const wait of await tx.engine.listWaits({ runId: id, status: 'open' })) await tx.engine.resolveWait(id, wait.stepKey, { cancelled: true });
        if (current.parentRunId && current.parentStepKey && (await tx.engine.resolveWait(current.parentRunId, current.parentStepKey, { cancelled: true }))) {
          await tx.engine.appendJournal([
            {
              runId: current.parentRunId,
              kind: 'step_failed',
              stepKey: current.parentStepKey,
              data: { error: { code: 'engine.child_cancelled', message: `sub-playbook run ${id} was cancelled` } },
            },
          ]);
          await tx.engine.wakeRun(current.parentRunId, this.#clock.now());
        }
      }
    });
    for (const child of await this.#store.engine.listRuns({ parentRunId: id, status: ACTIVE_RUN_STATUSES })) await this.cancel(child.id, actor).catch(() => {});
    await this.runner.notify(id);
    return this.getRun(id);
  }

  /** Continues a failed run: failed steps are tried again (completed ones are not). */
  async resume(id: string, actor?: string): Promise<RunView> {
    const row = await this.#store.engine.getRun(id);
    if (row === undefined) throw notFound('run', id);
    if (row.status !== 'failed') throw conflict(`run ${id} is ${row.status}; only failed runs can be resumed`);
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      await tx.engine.appendJournal([{ runId: id, kind: 'run_resumed', stepKey: null, data: { actor: actor ?? null } }]);
      await tx.engine.updateRuns([{ id, status: 'queued', error: null, finishedAt: null, wakeAt: now }]);
    });
    this.runner.poke();
    return this.getRun(id);
  }

  /** A new run of the same pinned playbook and inputs that reuses the results of every top-level step before `stepId`. */
  async rerunFrom(id: string, stepId: string, options: StartRunOptions = {}): Promise<string> {
    const row = await this.#store.engine.getRun(id);
    if (row === undefined) throw notFound('run', id);
    const playbook = Playbook.parse(row.definition) as Playbook;
    const tops = topLevelIndex(playbook);
    const from = tops.get(stepId);
    if (from === undefined) throw invalidInput(`step "${stepId}" is not in playbook ${playbook.id} v${playbook.version}`);
    const journal = await this.#store.engine.journal(id);
    const now = this.#clock.now();
    const newRunId = newId(now);
    const kept = journal.filter((entry) => {
      if (entry.kind !== 'step_completed' || entry.stepKey === null) return false;
      const top = tops.get(entry.stepKey.split(/[[.]/)[0] as string);
      return top !== undefined && top < from;
    });
    await this.#store.transaction(async (tx) => {
      await tx.engine.insertRuns([
        {
          id: newRunId,
          playbookId: row.playbookId,
          playbookVersion: row.playbookVersion,
          definition: row.definition,
          inputs: row.inputs,
          status: 'queued',
          mode: options.mode ?? row.mode,
          startedBy: options.startedBy ?? null,
          caseId: options.caseId ?? row.caseId,
          wakeAt: now,
          createdAt: now,
        },
      ]);
      await tx.engine.appendJournal([
        { runId: newRunId, kind: 'rerun_of', stepKey: null, data: { run_id: id, from_step: stepId } },
        ...kept.map((entry) => ({ runId: newRunId, kind: entry.kind, stepKey: entry.stepKey, data: entry.data })),
      ]);
    });
    this.runner.poke();
    return newRunId;
  }

  /**
   * Decides a playbook's approval step. Who may: never the person who started the run nor the playbook's
   * last author (one person must not both ask and answer; they may still reject); when the step names
   * `approvers`, only those users or holders of those roles. Policy approvals (M-of-N, signed) are the approvals desk's, not this.
   */
  async decide(runId: string, stepKey: string, decision: Decision): Promise<RunView> {
    if (decision.decision !== 'approve' && decision.decision !== 'reject') throw invalidInput('decision must be "approve" or "reject"');
    if (!decision.actor) throw invalidInput('actor is required');
    const wait = await this.#store.engine.getWait(runId, stepKey);
    const approvalId = (wait?.request as { approval_id?: unknown } | null | undefined)?.approval_id;
    if (wait !== undefined && wait.kind === 'approval' && typeof approvalId !== 'string') await this.#checkDecider(runId, stepKey, wait, decision);
    if (typeof approvalId === 'string') {
      // A policy approval is M-of-N with separation of duties: only the approvals desk may decide it.
      throw new RiposteError(
        'engine.policy_approval',
        `step ${stepKey} waits for policy approval ${approvalId}; decide it at /api/v1/approvals/${approvalId}`,
        {
          status: 409,
          details: { approval_id: approvalId },
        },
      );
    }
    const output = {
      decision: decision.decision,
      actor: decision.actor,
      comment: decision.comment ?? null,
      decided_at: new Date(this.#clock.now()).toISOString(),
    };
    await this.#deliver(runId, stepKey, 'approval', output, (wait) => {
      if (decision.decision === 'approve') return { kind: 'step_completed', data: { output } };
      return {
        kind: 'step_failed',
        data: {
          error: { code: 'engine.approval_rejected', message: `rejected by ${decision.actor}${decision.comment ? `: ${decision.comment}` : ''}` },
          output,
          request: wait.request,
        },
      };
    });
    return this.getRun(runId);
  }

  /**
   * Ends a step's policy-approval wait (see ActionGuard): `released` lets the action run with the approved
   * arguments, a rejection fails the step with `error`. Only the first resolution of a wait counts; a later
   * one is a conflict.
   */
  async resolveGuardedApproval(
    runId: string,
    stepKey: string,
    outcome: { approvalId: string } & ({ status: 'released' } | { status: 'rejected'; error: { code: string; message: string; [detail: string]: unknown } }),
  ): Promise<void> {
    await this.#deliver(runId, stepKey, 'approval', { approval_id: outcome.approvalId, outcome: outcome.status }, () =>
      outcome.status === 'released'
        ? { kind: 'approval_released', data: { approval_id: outcome.approvalId } }
        : { kind: 'step_failed', data: { error: outcome.error, approval_id: outcome.approvalId } },
    );
  }

  /** Delivers a named event to every run waiting for it; returns the runs woken. */
  async emitEvent(name: string, payload: unknown): Promise<string[]> {
    const waits = await this.#store.engine.listWaits({ kind: 'event', status: 'open', eventName: name });
    const woken: string[] = [];
    for (const wait of waits) {
      try {
        await this.#deliver(wait.runId, wait.stepKey, 'event', { event: name, payload }, () => ({
          kind: 'step_completed',
          data: { output: { event: name, payload: payload as DataValue, timed_out: false } },
        }));
        woken.push(wait.runId);
      } catch (error) {
        if (!(error instanceof RiposteError) || error.code !== 'conflict') throw error;
      }
    }
    return woken;
  }

  async #checkDecider(runId: string, stepKey: string, wait: WaitRow, decision: Decision): Promise<void> {
    const run = await this.#store.engine.getRun(runId);
    const author = (run?.definition as { author?: unknown } | undefined)?.author;
    const refuse = (message: string, reason: string) => {
      throw new RiposteError('engine.approver_not_allowed', message, { status: 403, details: { run_id: runId, step: stepKey, reason } });
    };
    // Separation of duties binds approving only: withdrawing (a rejection) is always safe, as for policy approvals.
    const approving = decision.decision === 'approve';
    if (approving && run?.startedBy && run.startedBy === decision.actor)
      refuse(`${decision.actor} started run ${runId} and may not decide its approval ${stepKey}: someone else must`, 'initiator');
    if (approving && typeof author === 'string' && author === decision.actor)
      refuse(`${decision.actor} is the last author of playbook ${run?.playbookId} and may not decide its approval ${stepKey}: someone else must`, 'author');
    const approvers = (wait.request as { approvers?: unknown } | null)?.approvers;
    if (decision.roles === undefined || !Array.isArray(approvers) || approvers.length === 0) return;
    const allowed = new Set(approvers.filter((a): a is string => typeof a === 'string'));
    if (allowed.has(decision.actor) || decision.roles.some((role) => allowed.has(role))) return;
    refuse(`approval ${stepKey} of run ${runId} may be decided only by ${[...allowed].join(', ')}; ${decision.actor} is none of them`, 'not_listed');
  }

  async #deliver(
    runId: string,
    stepKey: string,
    kind: string,
    resolution: unknown,
    eventFor: (wait: WaitRow) => { kind: string; data: unknown },
  ): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const wait = await tx.engine.getWait(runId, stepKey);
      if (wait === undefined || wait.kind !== kind) throw notFound(`${kind} wait`, `${runId}/${stepKey}`);
      if (!(await tx.engine.resolveWait(runId, stepKey, resolution))) throw conflict(`${kind} ${runId}/${stepKey} is already resolved`);
      const event = eventFor(wait);
      await tx.engine.appendJournal([{ runId, kind: event.kind, stepKey, data: event.data }]);
      await tx.engine.wakeRun(runId, this.#clock.now());
    });
    await this.runner.notify(runId);
  }

  /** Resolves when the run has finished (or is waiting on the outside world, if `untilWaiting`), or when time is up. */
  async waitForRun(id: string, timeoutMs: number, options: { untilWaiting?: boolean } = {}): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.getRun(id);
      // "Waiting on the outside world": an approval or event, or a timer far enough away not to sit through.
      const parked = run.status === 'waiting' && (run.wakeAt === null || run.wakeAt - this.#clock.now() > 30_000);
      const settled = FINISHED.has(run.status) || (options.untilWaiting && parked);
      if (settled || Date.now() >= deadline) return run;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(200, Math.max(0, deadline - Date.now())));
        const off = this.onEvent((event) => {
          if (event.runId === id && event.type === 'run') done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }
}

/** Per-step history from the journal: the latest state of each step instance with its attempts. */
export function stepHistory(journal: readonly JournalEntry[]): StepRecord[] {
  const steps = new Map<string, StepRecord>();
  for (const entry of journal) {
    if (entry.stepKey === null) continue;
    const data = (entry.data ?? {}) as Record<string, unknown>;
    const record = steps.get(entry.stepKey) ?? { key: entry.stepKey, status: 'pending', attempts: 0, at: entry.at };
    record.at = entry.at;
    switch (entry.kind) {
      case 'step_completed':
        record.status = 'completed';
        record.output = data.output;
        if (data.input !== undefined) record.input = data.input;
        record.attempts = Math.max(record.attempts, Number(data.attempt ?? 1));
        break;
      case 'step_failed':
        record.status = 'failed';
        record.error = data.error;
        if (data.input !== undefined) record.input = data.input;
        record.attempts = Math.max(record.attempts, Number(data.attempt ?? 1));
        break;
      case 'attempt_failed':
        record.status = 'retrying';
        record.error = data.error;
        record.attempts = Number(data.attempt ?? record.attempts + 1);
        break;
      case 'wait_started':
        record.status = 'waiting';
        record.input = data.request;
        break;
      case 'child_started':
        record.status = 'calling';
        record.output = { child_run_id: data.child_run_id };
        break;
    }
    steps.set(entry.stepKey, record);
  }
  return [...steps.values()];
}
