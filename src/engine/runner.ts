import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { type Clock, type Logger, newId, RiposteError, systemClock } from '../core/index.ts';
import type { NewJournalEntry, NewRun, NewWait, RunChange, RunRow, Store } from '../store/index.ts';
import type { ActionGuard, GuardRequest } from './action-guard.ts';
import type { ActionCatalog, ActionDefinition } from './actions.ts';
import { type DataValue, toPlainData } from './expressions/index.ts';
import {
  applyEvent,
  type Command,
  type Decision,
  decide,
  foldJournal,
  type JournalEvent,
  type Outcome,
  type PendingWait,
  type StepError,
  type StepState,
} from './interpreter.ts';
import type { PlaybookCatalog } from './playbook-loader.ts';
import { Playbook } from './playbook-schema.ts';
import { resolveSecrets, type SecretSource, scrubSecrets, secretPlaceholders } from './secrets.ts';

/**
 * The durable runner around the pure interpreter. It claims runnable runs from the Store (leases),
 * asks the interpreter what to do, performs it, and appends the results to the journal.
 *
 * Group commit: results from every in-flight run are collected and written in one transaction per tick;
 * a run's next decision is made only after its previous results are committed. So a step whose result
 * is committed is never executed again, and a step interrupted by a crash is executed again after
 * restart with the same idempotency key (run id + step key, which includes the loop index).
 *
 * Waits (timers, approvals, events, sub-playbook calls) are rows with a wake-up time; a run with only
 * waits left releases its lease and is claimed again when it is due or when someone resolves the wait.
 */
export interface RunnerEvent {
  type: 'step' | 'run' | 'effect';
  runId: string;
  key?: string;
  status: string;
  detail?: unknown;
}

/** Returns a result to use instead of running the action, or undefined to run it (playbook tests' mocks). */
export type ActionInterceptor = (
  command: Extract<Command, { type: 'action' }>,
  run: { id: string; mode: string },
) => Promise<{ output: unknown } | { error: StepError } | undefined> | undefined;

export interface RunnerOptions {
  store: Store;
  actions: ActionCatalog;
  playbooks?: PlaybookCatalog;
  clock?: Clock;
  logger?: Logger;
  /** This runner's lease owner id (default: a fresh id). */
  owner?: string;
  leaseMs?: number;
  /** How often to look for due work when nothing pokes the runner. */
  pollMs?: number;
  maxActiveRuns?: number;
  /** Embedded single process: leases left by a previous (crashed) process are taken over at start. */
  exclusive?: boolean;
  secrets?: SecretSource;
  intercept?: ActionInterceptor;
  /** Policy before every write/destructive action (see action-guard.ts); absent: actions run unchecked. */
  guard?: ActionGuard;
  onEvent?: (event: RunnerEvent) => void;
  random?: () => number;
  /** Execute only these runs (and the sub-playbook runs they start): for `riposte run` beside a server. */
  only?: Set<string>;
  /** Claim only runs of these playbooks (`riposte worker --queues`): dedicated workers for heavy playbooks. */
  playbookIds?: readonly string[];
  /** Told, per claim, how late each claimed run was (now − its wake time), for the worker's claim-lag metric. */
  onClaimed?: (lagsMs: readonly number[]) => void;
}

/** Counters for a worker's /metrics and /healthz. */
export interface RunnerStats {
  /** Runs claimed since start (a run claimed again after a wait counts again). */
  claimed: number;
  /** Runs held now. */
  running: number;
  /** Lease extensions written by heartbeats. */
  leaseRenewals: number;
  /** Runs dropped because another worker took their lease over (found by heartbeat or by the commit fence). */
  leasesLost: number;
  /** Runs whose buffered results the commit fence refused (their lease had moved on). */
  staleResultsRefused: number;
  /** Heartbeats that could not reach the store. */
  heartbeatFailures: number;
  /** Epoch ms of the last successful heartbeat (or start). */
  lastHeartbeatAt: number;
}

interface ActiveRun {
  row: RunRow;
  playbook: Playbook;
  inputs: Record<string, DataValue>;
  states: Map<string, StepState>;
  /** Keys with work executing or results not yet committed. */
  inflight: Set<string>;
  controllers: Set<AbortController>;
  wakeTimer: NodeJS.Timeout | undefined;
  done: boolean;
}

interface PendingResolution {
  runId: string;
  stepKey: string;
  resolution: unknown;
  event: NewJournalEntry;
  /** Set by the flush: whether this resolution won (a wait is resolved once). */
  accepted?: boolean;
}

const DEFAULT_BACKOFF_MS = 1000;

export class Runner {
  readonly owner: string;
  readonly #store: Store;
  readonly #actions: ActionCatalog;
  readonly #playbooks: PlaybookCatalog | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #maxActive: number;
  readonly #exclusive: boolean;
  readonly #secrets: SecretSource | undefined;
  readonly #intercept: ActionInterceptor | undefined;
  readonly #guard: ActionGuard | undefined;
  readonly #onEvent: ((event: RunnerEvent) => void) | undefined;
  readonly #random: () => number;
  readonly #only: Set<string> | undefined;
  readonly #onClaimed: ((lagsMs: readonly number[]) => void) | undefined;
  readonly #playbookIds: readonly string[] | undefined;
  readonly #runs = new Map<string, ActiveRun>();
  /** Runs whose lease we lost while results may still be buffered: the next commit drops their results. */
  readonly #lost = new Set<string>();
  readonly #stats: Omit<RunnerStats, 'running'> = {
    claimed: 0,
    leaseRenewals: 0,
    leasesLost: 0,
    staleResultsRefused: 0,
    heartbeatFailures: 0,
    lastHeartbeatAt: 0,
  };
  /** Graceful stop in progress: committed steps are kept, no new step is started. */
  #stopping = false;
  #unlisten: (() => Promise<void>) | undefined;
  readonly #playbookCache = new Map<string, Playbook>();

  // Group commit buffers.
  #journal: NewJournalEntry[] = [];
  #changes: RunChange[] = [];
  #newRuns: NewRun[] = [];
  #waits: NewWait[] = [];
  #resolutions: PendingResolution[] = [];
  #releases: Array<{ change: RunChange; waitingKeys: string[] }> = [];
  #afterCommit: Array<{ runId: string; callback: () => void }> = [];
  #flushing: Promise<void> | undefined;
  #flushScheduled = false;

  #running = false;
  #claiming = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #fatal: unknown;

  constructor(options: RunnerOptions) {
    this.#store = options.store;
    this.#actions = options.actions;
    this.#playbooks = options.playbooks;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.owner = options.owner ?? newId();
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 250;
    this.#maxActive = options.maxActiveRuns ?? 2000;
    this.#exclusive = options.exclusive ?? false;
    this.#secrets = options.secrets;
    this.#intercept = options.intercept;
    this.#guard = options.guard;
    this.#onEvent = options.onEvent;
    this.#random = options.random ?? Math.random;
    this.#only = options.only;
    this.#onClaimed = options.onClaimed;
    this.#playbookIds = options.playbookIds;
  }

  stats(): RunnerStats {
    return { ...this.#stats, running: this.#runs.size };
  }

  get activeRuns(): number {
    return this.#runs.size;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#exclusive) await this.#store.engine.takeOverAllLeases();
    this.#running = true;
    this.#stopping = false;
    this.#stats.lastHeartbeatAt = this.#clock.now();
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), Math.max(50, Math.floor(this.#leaseMs / 3)));
    this.#heartbeatTimer.unref();
    // Other processes queue runs and resolve waits: their NOTIFY wakes us at once; polling stays as the fallback.
    try {
      this.#unlisten = await this.#store.listenForWork(() => this.poke());
    } catch (error) {
      this.#logger?.warn({ err: error }, 'engine: cannot listen for work notifications; polling only');
    }
    this.poke();
  }

  /**
   * Stops claiming and hands every lease back. With `graceMs`, steps already executing get that long to
   * finish and commit (no new step starts meanwhile); whatever is still executing then is cut short, not
   * journaled, and runs again elsewhere with the same idempotency key.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopping = true;
    clearTimeout(this.#pollTimer);
    for (const run of this.#runs.values()) clearTimeout(run.wakeTimer);
    const deadline = this.#clock.now() + (options.graceMs ?? 0);
    while (this.#clock.now() < deadline && [...this.#runs.values()].some((run) => run.controllers.size > 0 && !run.done)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const run of this.#runs.values()) {
      for (const controller of run.controllers) controller.abort(new RiposteError('engine.stopping', 'runner is stopping', { retryable: true }));
    }
    await this.#drain();
    clearInterval(this.#heartbeatTimer);
    this.#runs.clear();
    await this.#unlisten?.().catch(() => {});
    this.#unlisten = undefined;
    await this.#store.engine.releaseLeases(this.owner);
    this.#stopping = false;
  }

  /** Look for runnable work now (a run was started, a wait resolved). */
  poke(): void {
    if (!this.#running) return;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => void this.#claim(), 0);
  }

  /** Resolves when no run is held in memory and nothing is waiting to be committed. */
  idle(): Promise<void> {
    if (this.#runs.size === 0 && !this.#hasBuffered() && !this.#flushing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Something outside changed this run (approval, event, cancel): re-read its journal if we hold it. */
  async notify(runId: string): Promise<void> {
    const run = this.#runs.get(runId);
    if (run === undefined || run.done) {
      this.poke();
      return;
    }
    const row = await this.#store.engine.getRun(runId);
    if (row?.cancelRequested) {
      this.#cancel(run);
      return;
    }
    const journal = await this.#store.engine.journal(runId);
    run.states = foldJournal(journal.map(toEvent));
    this.#advance(run);
  }

  async #claim(): Promise<void> {
    if (!this.#running || this.#claiming) return;
    this.#claiming = true;
    try {
      while (this.#running && this.#runs.size < this.#maxActive) {
        const now = this.#clock.now();
        const limit = Math.min(500, this.#maxActive - this.#runs.size);
        const only = this.#only ? [...this.#only].filter((id) => !this.#runs.has(id)) : undefined;
        const rows = await this.#store.engine.claimRunnable(this.owner, now, this.#leaseMs, limit, only, this.#playbookIds);
        if (rows.length === 0) break;
        this.#stats.claimed += rows.length;
        this.#onClaimed?.(rows.map((row) => Math.max(0, now - (row.wakeAt ?? now))));
        const journals = await this.#store.engine.journals(rows.map((r) => r.id));
        for (const row of rows) {
          if (this.#runs.has(row.id)) continue;
          let playbook: Playbook;
          try {
            playbook = this.#playbookFor(row);
          } catch (error) {
            this.#changes.push({
              id: row.id,
              status: 'failed',
              error: { code: 'engine.invalid_definition', message: (error as Error).message },
              finishedAt: now,
              wakeAt: null,
              releaseLease: true,
            });
            this.#scheduleFlush();
            continue;
          }
          const run: ActiveRun = {
            row,
            playbook,
            inputs: row.inputs as Record<string, DataValue>,
            states: foldJournal((journals.get(row.id) ?? []).map(toEvent)),
            inflight: new Set(),
            controllers: new Set(),
            wakeTimer: undefined,
            done: false,
          };
          this.#runs.set(row.id, run);
          if (row.cancelRequested) this.#cancel(run);
          else this.#advance(run);
        }
        // A fair-share claim may return less than the limit while more is due (each playbook got its
        // share): only an empty claim means there is nothing left.
        if (rows.length < limit && only !== undefined) break;
      }
    } catch (error) {
      this.#logger?.error({ err: error }, 'engine: claiming runs failed');
    } finally {
      this.#claiming = false;
      if (this.#running) {
        clearTimeout(this.#pollTimer);
        this.#pollTimer = setTimeout(() => void this.#claim(), this.#pollMs);
      }
    }
  }

  #playbookFor(row: RunRow): Playbook {
    // Keyed by content, not just id@version: a file edited without a version bump must not change runs
    // that pinned the earlier text.
    const text = JSON.stringify(row.definition);
    const cacheKey = `${row.playbookId}@${row.playbookVersion}:${createHash('sha1').update(text).digest('base64')}`;
    const cached = this.#playbookCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const playbook = Playbook.parse(row.definition) as Playbook;
    if (this.#playbookCache.size >= 1000) this.#playbookCache.clear();
    this.#playbookCache.set(cacheKey, playbook);
    return playbook;
  }

  async #heartbeat(): Promise<void> {
    if (!this.#running && !this.#stopping) return;
    try {
      const held = [...this.#runs.values()];
      if (held.length > 0) {
        const extended = await this.#store.engine.extendLeases(
          this.owner,
          this.#clock.now() + this.#leaseMs,
          held.map((run) => run.row.id),
        );
        this.#stats.leaseRenewals += extended;
        // Fewer rows than runs: some lease was taken over (we were cut off from the database for longer
        // than the lease). Stop working on those runs; the commit fence would refuse their results anyway.
        if (extended < held.length) {
          const still = await this.#store.engine.heldLeases(
            this.owner,
            held.map((run) => ({ id: run.row.id, epoch: run.row.attempt })),
          );
          for (const run of held) if (!still.has(run.row.id)) this.#loseLease(run);
        }
      }
      this.#stats.lastHeartbeatAt = this.#clock.now();
      for (const id of await this.#store.engine.cancelRequested(this.owner)) {
        const run = this.#runs.get(id);
        if (run && !run.done) this.#cancel(run);
      }
    } catch (error) {
      this.#stats.heartbeatFailures++;
      this.#logger?.warn({ err: error }, 'engine: lease heartbeat failed');
    }
  }

  /** Another worker owns this run now: forget it without committing anything more for it. */
  #loseLease(run: ActiveRun): void {
    if (!this.#runs.has(run.row.id)) return;
    run.done = true;
    clearTimeout(run.wakeTimer);
    for (const controller of run.controllers)
      controller.abort(new RiposteError('engine.lease_lost', `the lease on run ${run.row.id} was taken over`, { retryable: true }));
    this.#runs.delete(run.row.id);
    this.#lost.add(run.row.id);
    this.#stats.leasesLost++;
    this.#logger?.warn({ runId: run.row.id }, 'engine: lease lost to another worker; dropping the run');
    this.#emit({ type: 'run', runId: run.row.id, status: 'lease_lost' });
  }

  #advance(run: ActiveRun): void {
    if (run.done) return;
    let decision: Decision;
    try {
      decision = decide(run.playbook, run.inputs, run.states, { runId: run.row.id, globals: this.#globals() });
    } catch (error) {
      this.#finish(run, { status: 'failed', error: { code: 'engine.internal', message: (error as Error).message } });
      return;
    }
    if (decision.outcome) {
      this.#finish(run, decision.outcome);
      return;
    }
    const now = this.#clock.now();
    // Stopping: keep the run as it is (runnable, lease handed back by stop) rather than start or park anything.
    if (this.#stopping) return;
    for (const command of decision.commands) {
      if (run.inflight.has(command.key)) continue;
      run.inflight.add(command.key);
      if (command.type === 'action') void this.#execute(run, command);
      else if (command.type === 'wait') this.#openWait(run, command, now);
      else this.#startChild(run, command, now);
    }
    let nextWake: number | undefined;
    for (const wait of decision.waits) {
      if (run.inflight.has(wait.key) || wait.wakeAt === null) continue;
      if (wait.wakeAt <= now) this.#timeOut(run, wait);
      else nextWake = Math.min(nextWake ?? Number.POSITIVE_INFINITY, wait.wakeAt);
    }
    if (run.inflight.size > 0) {
      // Still busy: if a timer falls due meanwhile, look again then.
      if (nextWake !== undefined) {
        clearTimeout(run.wakeTimer);
        run.wakeTimer = setTimeout(() => this.#advance(run), Math.max(0, nextWake - now));
      }
      return;
    }
    this.#release(run, nextWake ?? null, decision.waits);
  }

  #globals(): Record<string, DataValue> {
    return this.#secrets ? { secrets: secretPlaceholders(this.#secrets.names()) } : {};
  }

  async #execute(run: ActiveRun, command: Extract<Command, { type: 'action' }>): Promise<void> {
    const controller = new AbortController();
    run.controllers.add(controller);
    this.#emit({ type: 'step', runId: run.row.id, key: command.key, status: 'started', detail: { action: command.action, attempt: command.attempt } });
    let event: NewJournalEntry;
    try {
      if (command.notBefore !== undefined) {
        const delay = command.notBefore - this.#clock.now();
        if (delay > 0) await sleep(delay, controller.signal);
      }
      const output = await this.#perform(run, command, controller.signal);
      event = { runId: run.row.id, kind: 'step_completed', stepKey: command.key, data: { output, input: command.input, attempt: command.attempt } };
    } catch (error) {
      if (run.done) return;
      if (error instanceof GuardedWait) {
        run.controllers.delete(controller);
        this.#openGuardedWait(run, command, error);
        return;
      }
      if (!this.#running) {
        // Stopping: an attempt cut short by shutdown is not a failure. Nothing is journaled; after the
        // restart the step runs again with the same idempotency key.
        run.inflight.delete(command.key);
        return;
      }
      const stepError = toStepError(error);
      const retryAt = this.#retryAt(command, stepError);
      event =
        retryAt === undefined
          ? { runId: run.row.id, kind: 'step_failed', stepKey: command.key, data: { error: stepError, input: command.input, attempt: command.attempt } }
          : { runId: run.row.id, kind: 'attempt_failed', stepKey: command.key, data: { error: stepError, attempt: command.attempt, retry_at: retryAt } };
    } finally {
      run.controllers.delete(controller);
    }
    if (run.done) return;
    this.#journalFor(run, event);
  }

  async #perform(run: ActiveRun, command: Extract<Command, { type: 'action' }>, signal: AbortSignal): Promise<DataValue> {
    const intercepted = await this.#intercept?.(command, { id: run.row.id, mode: run.row.mode });
    if (intercepted !== undefined) {
      if ('error' in intercepted)
        throw new RiposteError(intercepted.error.code, intercepted.error.message, { retryable: intercepted.error.retryable ?? false });
      return toPlainData(intercepted.output);
    }
    const definition = this.#actions.get(command.action);
    if (definition === undefined) throw new RiposteError('engine.unknown_action', `action ${command.action} is not registered here`, { retryable: false });
    const parsed = definition.input.safeParse(command.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RiposteError('engine.invalid_action_input', `with.${issue?.path.join('.') ?? ''} for ${command.action}: ${issue?.message ?? 'is invalid'}`, {
        retryable: false,
      });
    }
    const impact = definition.impactFor?.(parsed.data) ?? definition.impact;
    let input: unknown = parsed.data;
    let guarded: GuardRequest | undefined;
    if (impact !== 'read' && this.#guard) {
      guarded = {
        run: {
          id: run.row.id,
          mode: run.row.mode,
          playbookId: run.row.playbookId,
          playbookVersion: run.row.playbookVersion,
          startedBy: run.row.startedBy ?? null,
          caseId: run.row.caseId ?? null,
          ...(run.playbook.author ? { author: run.playbook.author } : {}),
        },
        stepKey: command.key,
        stepId: command.stepId,
        action: {
          id: command.action,
          impact,
          ...(definition.inverse ? { inverse: definition.inverse } : {}),
          ...(definition.defaultTtl !== undefined ? { defaultTtl: definition.defaultTtl } : {}),
        },
        arguments: (parsed.data ?? {}) as Record<string, unknown>,
        rawInput: command.input,
        idempotencyKey: `${run.row.id}:${command.key}`,
        dryRun: run.row.mode === 'dry_run',
      };
      if (command.approvalId !== undefined) {
        // Released by the approvers: act with the arguments they signed (possibly edited), verified again now.
        const released = await this.#guard.release(command.approvalId, { runId: run.row.id, stepKey: command.key });
        const reparsed = definition.input.safeParse(released.arguments);
        if (!reparsed.success) {
          throw new RiposteError(
            'engine.invalid_action_input',
            `approved arguments for ${command.action} are not valid: ${reparsed.error.issues[0]?.message}`,
            {
              retryable: false,
            },
          );
        }
        input = reparsed.data;
        guarded.arguments = released.arguments;
      } else {
        const verdict = await this.#guard.check(guarded);
        if (run.row.mode === 'dry_run') return this.#simulate(run, command, definition, impact, parsed.data, verdict);
        if (verdict.decision === 'deny') {
          const { code, message, retryable: _retryable, ...details } = verdict.error;
          throw new RiposteError(code, message, { retryable: false, details });
        }
        if (verdict.decision === 'require_approval') throw new GuardedWait(verdict.approvalId, verdict.expiresAt, verdict.record);
      }
    }
    if (run.row.mode === 'dry_run' && impact !== 'read') return this.#simulate(run, command, definition, impact, parsed.data);
    const resolved = this.#secrets ? await resolveSecrets(input, this.#secrets) : { value: input, values: [] };
    const timeoutMs = command.timeoutMs;
    const signals = [signal, ...(timeoutMs === undefined ? [] : [AbortSignal.timeout(timeoutMs)])];
    const combined = signals.length === 1 ? signal : AbortSignal.any(signals);
    const work = Promise.resolve(
      definition.run(resolved.value, {
        idempotencyKey: `${run.row.id}:${command.key}`,
        runId: run.row.id,
        stepKey: command.key,
        attempt: command.attempt,
        signal: combined,
        logger: this.#logger,
      }),
    );
    const output = timeoutMs === undefined && combined === signal ? await work : await raceAbort(work, combined, command, timeoutMs);
    const data = toPlainData(output);
    if (guarded && this.#guard?.performed) {
      if (definition.inverse) {
        try {
          guarded.inverseArguments = definition.inverseInput ? definition.inverseInput(input, data) : guarded.arguments;
        } catch (error) {
          this.#logger?.warn({ err: error, run_id: run.row.id, step: command.key }, 'engine: the inverse arguments of an action could not be computed');
        }
      }
      try {
        await this.#guard.performed(guarded, data);
      } catch (error) {
        this.#logger?.warn({ err: error, run_id: run.row.id, step: command.key }, 'engine: guard bookkeeping after an action failed');
      }
    }
    // Secrets never land in the journal, even when a service echoes them back.
    return resolved.values.length > 0 ? scrubSecrets(data, resolved.values) : data;
  }

  #simulate(
    run: ActiveRun,
    command: Extract<Command, { type: 'action' }>,
    definition: ActionDefinition,
    impact: string,
    input: unknown,
    verdict?: { decision: string; record?: unknown },
  ): DataValue {
    const effect = definition.describeEffect?.(input) ?? `${definition.title}`;
    const policy = verdict ? { decision: verdict.decision, ...(verdict.record === undefined ? {} : { record: verdict.record }) } : undefined;
    this.#emit({
      type: 'effect',
      runId: run.row.id,
      key: command.key,
      status: 'simulated',
      detail: { action: command.action, impact, effect, input: command.input, ...(policy ? { policy } : {}) },
    });
    return toPlainData({ simulated: true, action: command.action, impact, effect, ...(policy ? { policy } : {}) });
  }

  /** Policy asked for approval: the step waits (durably) until the approval is released, rejected or expires. */
  #openGuardedWait(run: ActiveRun, command: Extract<Command, { type: 'action' }>, wait: GuardedWait): void {
    const request = { approval_id: wait.approvalId, action: command.action, step: command.stepId, policy: toPlainData(wait.record ?? null) };
    this.#waits.push({ runId: run.row.id, stepKey: command.key, kind: 'approval', eventName: null, wakeAt: wait.expiresAt, request });
    this.#journalFor(run, {
      runId: run.row.id,
      kind: 'wait_started',
      stepKey: command.key,
      data: { kind: 'approval', wake_at: wait.expiresAt, approval_id: wait.approvalId, request },
    });
    this.#emit({ type: 'step', runId: run.row.id, key: command.key, status: 'waiting', detail: { kind: 'approval', approval_id: wait.approvalId } });
  }

  /** A guarded approval's wait fell due: the guard says how it ended (expiry resolves it to its on_expiry outcome). */
  #settleGuardedWait(run: ActiveRun, wait: PendingWait & { approvalId: string }): void {
    run.inflight.add(wait.key);
    const guard = this.#guard;
    void (async () => {
      let outcome: Awaited<ReturnType<ActionGuard['settle']>>;
      try {
        outcome = guard ? await guard.settle(wait.approvalId) : { status: 'pending' };
      } catch (error) {
        this.#logger?.warn({ err: error, run_id: run.row.id, approval_id: wait.approvalId }, 'engine: settling an approval failed; trying again');
        outcome = { status: 'pending' };
      }
      if (run.done) return;
      if (outcome.status === 'pending') {
        run.inflight.delete(wait.key);
        clearTimeout(run.wakeTimer);
        run.wakeTimer = setTimeout(() => this.#advance(run), 1000);
        return;
      }
      const event: NewJournalEntry =
        outcome.status === 'released'
          ? { runId: run.row.id, kind: 'approval_released', stepKey: wait.key, data: { approval_id: wait.approvalId } }
          : { runId: run.row.id, kind: 'step_failed', stepKey: wait.key, data: { error: outcome.error, approval_id: wait.approvalId } };
      this.#resolveWait(run, wait.key, { approval_id: wait.approvalId, outcome: outcome.status }, event);
    })();
  }

  #resolveWait(run: ActiveRun, key: string, resolutionData: unknown, event: NewJournalEntry): void {
    const resolution: PendingResolution = { runId: run.row.id, stepKey: key, resolution: resolutionData, event };
    this.#resolutions.push(resolution);
    this.#after(run.row.id, () => {
      run.inflight.delete(key);
      if (resolution.accepted) {
        applyEvent(run.states, toEvent(event));
        this.#emitStep(run, event);
        this.#readvance(run);
      } else {
        void this.notify(run.row.id);
      }
    });
    this.#scheduleFlush();
  }

  #retryAt(command: Extract<Command, { type: 'action' }>, error: StepError): number | undefined {
    const retry = command.retry;
    if (retry === undefined || command.attempt >= retry.attempts || error.retryable === false) return undefined;
    const backoff = retry.backoff;
    let initial = DEFAULT_BACKOFF_MS;
    let factor = 1;
    let max = Number.POSITIVE_INFINITY;
    if (typeof backoff === 'object' && backoff !== null) {
      initial = parseMs(backoff.initial) ?? DEFAULT_BACKOFF_MS;
      factor = backoff.factor;
      max = parseMs(backoff.max) ?? max;
    } else if (backoff !== undefined) {
      initial = parseMs(backoff) ?? DEFAULT_BACKOFF_MS;
    }
    let delay = Math.min(max, initial * factor ** (command.attempt - 1));
    if (retry.jitter) delay *= 0.75 + this.#random() * 0.5;
    const retryAfter = error.retry_after_ms;
    if (retry.respect_retry_after && typeof retryAfter === 'number') delay = Math.max(delay, retryAfter);
    return this.#clock.now() + Math.round(delay);
  }

  #openWait(run: ActiveRun, command: Extract<Command, { type: 'wait' }>, now: number): void {
    const wait = command.wait;
    if (run.row.mode === 'dry_run') {
      // A dry-run does not sit through timers or wait for people: it notes what would happen and moves on.
      const effect = wait.kind === 'approval' ? `ask for approval: ${wait.prompt}` : wait.kind === 'event' ? `wait for event ${wait.event}` : 'wait';
      if (wait.kind === 'approval') {
        this.#emit({
          type: 'effect',
          runId: run.row.id,
          key: command.key,
          status: 'simulated',
          detail: { action: 'approval', impact: 'approval', effect, input: wait },
        });
      }
      const output = wait.kind === 'approval' ? { decision: 'approve', actor: 'dry-run', simulated: true } : { simulated: true, timed_out: false };
      this.#journalFor(run, { runId: run.row.id, kind: 'step_completed', stepKey: command.key, data: { output } });
      return;
    }
    let wakeAt: number | null;
    if (wait.kind === 'timer') wakeAt = 'at' in wait ? wait.at : now + wait.durationMs;
    else wakeAt = wait.timeoutMs === undefined ? null : now + wait.timeoutMs;
    const request =
      wait.kind === 'approval'
        ? { prompt: wait.prompt, approvers: wait.approvers, on_timeout: wait.onTimeout, step: command.stepId }
        : wait.kind === 'event'
          ? { event: wait.event, step: command.stepId }
          : { step: command.stepId };
    this.#waits.push({ runId: run.row.id, stepKey: command.key, kind: wait.kind, eventName: wait.kind === 'event' ? wait.event : null, wakeAt, request });
    const onTimeout = wait.kind === 'approval' ? wait.onTimeout : undefined;
    this.#journalFor(run, {
      runId: run.row.id,
      kind: 'wait_started',
      stepKey: command.key,
      data: { kind: wait.kind, wake_at: wakeAt, ...(onTimeout ? { on_timeout: onTimeout } : {}), request },
    });
    this.#emit({ type: 'step', runId: run.row.id, key: command.key, status: 'waiting', detail: { kind: wait.kind, wake_at: wakeAt } });
  }

  #timeOut(run: ActiveRun, wait: PendingWait): void {
    if (wait.approvalId !== undefined) {
      this.#settleGuardedWait(run, { ...wait, approvalId: wait.approvalId });
      return;
    }
    run.inflight.add(wait.key);
    let event: NewJournalEntry;
    if (wait.kind === 'timer') {
      event = { runId: run.row.id, kind: 'step_completed', stepKey: wait.key, data: { output: { fired_at: wait.wakeAt } } };
    } else if (wait.kind === 'approval' && wait.onTimeout !== 'fail') {
      const decision = wait.onTimeout === 'approve' ? 'approve' : 'reject';
      event =
        decision === 'approve'
          ? { runId: run.row.id, kind: 'step_completed', stepKey: wait.key, data: { output: { decision, actor: null, timed_out: true } } }
          : {
              runId: run.row.id,
              kind: 'step_failed',
              stepKey: wait.key,
              data: { error: { code: 'engine.approval_rejected', message: 'approval timed out and was rejected' }, output: { decision, timed_out: true } },
            };
    } else if (wait.kind === 'event') {
      event = { runId: run.row.id, kind: 'step_completed', stepKey: wait.key, data: { output: { timed_out: true, event: null } } };
    } else {
      event = {
        runId: run.row.id,
        kind: 'step_failed',
        stepKey: wait.key,
        data: { error: { code: 'engine.wait_timeout', message: `${wait.kind} timed out` } },
      };
    }
    const resolution: PendingResolution = { runId: run.row.id, stepKey: wait.key, resolution: { timed_out: true, ...(event.data as object) }, event };
    this.#resolutions.push(resolution);
    this.#after(run.row.id, () => {
      run.inflight.delete(wait.key);
      if (resolution.accepted) {
        applyEvent(run.states, toEvent(event));
        this.#emitStep(run, event);
        this.#readvance(run);
      } else {
        // Someone decided it first (an approval racing its timeout): take their result from the journal.
        void this.notify(run.row.id);
      }
    });
    this.#scheduleFlush();
  }

  #startChild(run: ActiveRun, command: Extract<Command, { type: 'call' }>, now: number): void {
    const playbook = this.#playbooks?.get(command.playbook);
    if (playbook === undefined) {
      this.#journalFor(run, {
        runId: run.row.id,
        kind: 'step_failed',
        stepKey: command.key,
        data: { error: { code: 'engine.unknown_playbook', message: `playbook ${command.playbook} is not available` } },
      });
      return;
    }
    let inputs: Record<string, DataValue>;
    try {
      inputs = validateRunInputs(playbook, command.inputs);
    } catch (error) {
      this.#journalFor(run, { runId: run.row.id, kind: 'step_failed', stepKey: command.key, data: { error: toStepError(error) } });
      return;
    }
    const childId = newId(now);
    this.#only?.add(childId);
    this.#newRuns.push({
      id: childId,
      playbookId: playbook.id,
      playbookVersion: playbook.version,
      definition: playbook,
      inputs,
      status: 'queued',
      mode: run.row.mode,
      parentRunId: run.row.id,
      parentStepKey: command.key,
      caseId: run.row.caseId ?? null,
      wakeAt: now,
      createdAt: now,
    });
    this.#waits.push({ runId: run.row.id, stepKey: command.key, kind: 'call', wakeAt: null, request: { playbook: playbook.id, child_run_id: childId } });
    this.#journalFor(run, { runId: run.row.id, kind: 'child_started', stepKey: command.key, data: { child_run_id: childId } });
    this.#after(run.row.id, () => this.poke());
  }

  /** Queues a journal event for a run we hold; after commit the run's state includes it and it advances. */
  #journalFor(run: ActiveRun, event: NewJournalEntry): void {
    this.#journal.push(event);
    this.#after(run.row.id, () => {
      applyEvent(run.states, toEvent(event));
      run.inflight.delete(event.stepKey as string);
      this.#emitStep(run, event);
      this.#readvance(run);
    });
    this.#scheduleFlush();
  }

  #readvance(run: ActiveRun): void {
    // Many events of one run may commit together; decide once after all of them are applied.
    if (this.#toAdvance.has(run)) return;
    this.#toAdvance.add(run);
  }
  readonly #toAdvance = new Set<ActiveRun>();

  #finish(run: ActiveRun, outcome: Outcome): void {
    run.done = true;
    clearTimeout(run.wakeTimer);
    for (const controller of run.controllers) controller.abort(new RiposteError('engine.run_finished', 'the run finished', { retryable: false }));
    const now = this.#clock.now();
    const change: RunChange = {
      id: run.row.id,
      status: outcome.status,
      finishedAt: now,
      wakeAt: null,
      releaseLease: true,
      owner: this.owner,
    };
    if (outcome.status === 'succeeded') change.output = outcome.output ?? null;
    else change.error = outcome.error;
    this.#changes.push(change);
    this.#notifyParent(run.row, outcome);
    this.#after(run.row.id, () => {
      this.#runs.delete(run.row.id);
      this.#emit({ type: 'run', runId: run.row.id, status: outcome.status, detail: outcome.status === 'succeeded' ? outcome.output : outcome.error });
    });
    this.#scheduleFlush();
  }

  #notifyParent(row: RunRow, outcome: Outcome | { status: 'cancelled' }): void {
    if (!row.parentRunId || !row.parentStepKey) return;
    const event: NewJournalEntry =
      outcome.status === 'succeeded'
        ? { runId: row.parentRunId, kind: 'step_completed', stepKey: row.parentStepKey, data: { output: outcome.output ?? null, child_run_id: row.id } }
        : {
            runId: row.parentRunId,
            kind: 'step_failed',
            stepKey: row.parentStepKey,
            data: {
              error:
                outcome.status === 'failed'
                  ? { ...outcome.error, code: outcome.error.code, message: `sub-playbook run ${row.id} failed: ${outcome.error.message}` }
                  : { code: 'engine.child_cancelled', message: `sub-playbook run ${row.id} was cancelled` },
              child_run_id: row.id,
            },
          };
    this.#resolutions.push({ runId: row.parentRunId, stepKey: row.parentStepKey, resolution: { child_run_id: row.id, status: outcome.status }, event });
    const parentId = row.parentRunId;
    this.#after(row.id, () => void this.notify(parentId));
  }

  #cancel(run: ActiveRun): void {
    if (run.done) return;
    run.done = true;
    clearTimeout(run.wakeTimer);
    for (const controller of run.controllers) controller.abort(new RiposteError('engine.cancelled', 'the run was cancelled', { retryable: false }));
    this.#changes.push({ id: run.row.id, status: 'cancelled', finishedAt: this.#clock.now(), wakeAt: null, releaseLease: true, owner: this.owner });
    this.#journal.push({ runId: run.row.id, kind: 'run_cancelled', stepKey: null, data: {} });
    this.#notifyParent(run.row, { status: 'cancelled' });
    this.#after(run.row.id, () => {
      this.#runs.delete(run.row.id);
      this.#emit({ type: 'run', runId: run.row.id, status: 'cancelled' });
    });
    this.#scheduleFlush();
  }

  #release(run: ActiveRun, wakeAt: number | null, waits: PendingWait[]): void {
    run.done = true;
    clearTimeout(run.wakeTimer);
    this.#releases.push({
      change: { id: run.row.id, status: 'waiting', wakeAt, releaseLease: true, owner: this.owner },
      waitingKeys: waits.map((w) => w.key),
    });
    this.#after(run.row.id, () => {
      this.#runs.delete(run.row.id);
      this.#emit({ type: 'run', runId: run.row.id, status: 'waiting', detail: { wake_at: wakeAt } });
      // A timer due soon is claimed on time rather than at the next poll.
      const delay = wakeAt === null ? undefined : wakeAt - this.#clock.now();
      if (delay !== undefined && delay < this.#leaseMs && this.#running) setTimeout(() => this.poke(), Math.max(0, delay)).unref();
    });
    this.#scheduleFlush();
  }

  /** Runs `callback` once the commit holding this run's buffered results succeeded (and its lease was still ours). */
  #after(runId: string, callback: () => void): void {
    this.#afterCommit.push({ runId, callback });
  }

  #hasBuffered(): boolean {
    return (
      this.#journal.length +
        this.#changes.length +
        this.#newRuns.length +
        this.#waits.length +
        this.#resolutions.length +
        this.#releases.length +
        this.#afterCommit.length >
      0
    );
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => void this.#flushLoop());
  }

  async #flushLoop(): Promise<void> {
    if (this.#flushing) {
      await this.#flushing;
      if (!this.#hasBuffered()) {
        this.#flushScheduled = false;
        return;
      }
    }
    this.#flushScheduled = false;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
    if (this.#hasBuffered()) this.#scheduleFlush();
    else if (this.#runs.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** One transaction for everything buffered since the last one: the group commit. */
  async #flush(): Promise<void> {
    let journal = this.#journal;
    let changes = this.#changes;
    let newRuns = this.#newRuns;
    let waits = this.#waits;
    let resolutions = this.#resolutions;
    let releases = this.#releases;
    const afterCommit = this.#afterCommit;
    // The lease fence: every result below belongs to a run we claimed at some epoch. Inside the commit we
    // check (and on PostgreSQL lock) that we still hold each of those leases at that epoch; results of a
    // run taken over meanwhile (we were cut off longer than the lease) are dropped, never committed.
    const lost = new Set(this.#lost);
    this.#lost.clear();
    const leases = new Map<string, number>();
    const stale = new Set<string>();
    const fence = (id: string | null | undefined) => {
      if (!id || leases.has(id) || stale.has(id)) return;
      const run = this.#runs.get(id);
      if (run) leases.set(id, run.row.attempt);
      else if (lost.has(id)) stale.add(id);
    };
    for (const entry of journal) fence(entry.runId);
    for (const change of changes) fence(change.id);
    for (const { change } of releases) fence(change.id);
    for (const wait of waits) fence(wait.runId);
    for (const run of newRuns) fence(run.parentRunId);
    for (const resolution of resolutions) {
      fence(resolution.runId);
      fence((resolution.event.data as { child_run_id?: string } | null)?.child_run_id);
    }
    const isStale = (id: string | null | undefined) => id != null && stale.has(id);
    const dropStale = () => {
      if (stale.size === 0) return;
      journal = journal.filter((e) => !isStale(e.runId));
      changes = changes.filter((c) => !isStale(c.id));
      releases = releases.filter((r) => !isStale(r.change.id));
      waits = waits.filter((w) => !isStale(w.runId));
      newRuns = newRuns.filter((r) => !isStale(r.parentRunId));
      resolutions = resolutions.filter((r) => !isStale(r.runId) && !isStale((r.event.data as { child_run_id?: string } | null)?.child_run_id));
    };
    this.#journal = [];
    this.#changes = [];
    this.#newRuns = [];
    this.#waits = [];
    this.#resolutions = [];
    this.#releases = [];
    this.#afterCommit = [];
    const wakeParents: string[] = [];
    try {
      await this.#store.transaction(async (tx) => {
        if (leases.size > 0) {
          const refs = [...leases].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, epoch]) => ({ id, epoch }));
          const held = await tx.engine.heldLeases(this.owner, refs);
          for (const id of leases.keys()) if (!held.has(id)) stale.add(id);
        }
        dropStale();
        if (newRuns.length > 0) await tx.engine.insertRuns(newRuns);
        if (waits.length > 0) await tx.engine.insertWaits(waits);
        const resolved: NewJournalEntry[] = [];
        for (const resolution of resolutions) {
          // Only the first resolution of a wait counts: an approval and its timeout may race.
          resolution.accepted = await tx.engine.resolveWait(resolution.runId, resolution.stepKey, resolution.resolution);
          if (resolution.accepted) {
            resolved.push(resolution.event);
            if (!this.#runs.has(resolution.runId)) wakeParents.push(resolution.runId);
          }
        }
        const entries = resolved.length > 0 ? journal.concat(resolved) : journal;
        if (entries.length > 0) await tx.engine.appendJournal(entries);
        if (changes.length > 0) await tx.engine.updateRuns(changes);
        const now = this.#clock.now();
        for (const { change, waitingKeys } of releases) {
          // A wait resolved by someone else while we held the run must not be slept through.
          if (waitingKeys.length > 0) {
            const resolvedWaits = await tx.engine.listWaits({ runId: change.id, status: 'resolved' });
            if (resolvedWaits.some((w) => waitingKeys.includes(w.stepKey))) change.wakeAt = now;
          }
        }
        if (releases.length > 0) await tx.engine.updateRuns(releases.map((r) => r.change));
        for (const id of wakeParents) await tx.engine.wakeRun(id, now);
      });
    } catch (error) {
      this.#logger?.error({ err: error }, 'engine: committing step results failed; runs will be retried from their journals');
      this.#fatal = error;
      // The results are lost: drop every held run and give its lease back, so it replays from its journal
      // (its uncommitted steps run again with the same idempotency keys).
      const dropped = [...this.#runs.keys()];
      for (const run of this.#runs.values()) {
        run.done = true;
        clearTimeout(run.wakeTimer);
        for (const controller of run.controllers) controller.abort();
      }
      this.#runs.clear();
      this.#toAdvance.clear();
      await this.#store.engine.releaseLeases(this.owner, dropped).catch(() => {});
      this.poke();
      return;
    }
    this.#stats.staleResultsRefused += stale.size;
    for (const id of stale) {
      const run = this.#runs.get(id);
      if (run) this.#loseLease(run);
    }
    for (const { runId, callback } of afterCommit) if (!stale.has(runId)) callback();
    const advancing = [...this.#toAdvance];
    this.#toAdvance.clear();
    for (const run of advancing) this.#advance(run);
    if (wakeParents.length > 0) this.poke();
    if (this.#runs.size < this.#maxActive && releases.length + changes.length > 0) this.poke();
  }

  async #drain(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const busy = [...this.#runs.values()].some((run) => run.inflight.size > 0 && !run.done);
      if (!busy && !this.#hasBuffered() && !this.#flushing) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.#flushing) await this.#flushing;
    }
  }

  #emitStep(run: ActiveRun, event: NewJournalEntry): void {
    if (!this.#onEvent) return;
    const status = { step_completed: 'completed', step_failed: 'failed', attempt_failed: 'retrying', child_started: 'calling', approval_released: 'released' }[
      event.kind
    ];
    if (status) this.#emit({ type: 'step', runId: run.row.id, key: event.stepKey ?? undefined, status, detail: event.data });
  }

  #emit(event: RunnerEvent): void {
    try {
      this.#onEvent?.(event);
    } catch (error) {
      this.#logger?.warn({ err: error }, 'engine: event listener failed');
    }
  }

  /** The last commit failure, if any (for health reporting). */
  get lastError(): unknown {
    return this.#fatal;
  }
}

/** Thrown inside #perform to turn the attempt into an approval wait instead of a result. */
class GuardedWait extends Error {
  readonly approvalId: string;
  readonly expiresAt: number;
  readonly record: unknown;
  constructor(approvalId: string, expiresAt: number, record: unknown) {
    super(`waiting for approval ${approvalId}`);
    this.approvalId = approvalId;
    this.expiresAt = expiresAt;
    this.record = record;
  }
}

function toEvent(entry: { kind: string; stepKey?: string | null; data: unknown }): JournalEvent {
  return { kind: entry.kind, stepKey: entry.stepKey ?? null, data: entry.data };
}

function parseMs(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  return Number(match[1]) * unit;
}

export function toStepError(error: unknown): StepError {
  if (error instanceof RiposteError) {
    return { code: error.code, message: error.message, retryable: error.retryable, ...(error.details ?? {}) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'engine.action_failed', message, retryable: true };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal, command: { key: string; action: string }, timeoutMs: number | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      const reason = signal.reason as unknown;
      if (reason instanceof RiposteError) reject(reason);
      else
        reject(new RiposteError('engine.step_timeout', `step ${command.key} (${command.action}) did not finish within ${timeoutMs} ms`, { retryable: true }));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Checks and normalises a run's inputs against the playbook's declared inputs; errors name the input. */
export function validateRunInputs(playbook: Playbook, given: unknown): Record<string, DataValue> {
  if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) {
    throw new RiposteError('input.invalid', 'run inputs must be a mapping of input names to values', { status: 400 });
  }
  const raw = (given ?? {}) as Record<string, unknown>;
  const out: Record<string, DataValue> = {};
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(playbook.inputs, name)) {
      throw new RiposteError(
        'input.invalid',
        `input "${name}" is not declared by playbook ${playbook.id} (declared: ${Object.keys(playbook.inputs).join(', ') || 'none'})`,
        {
          status: 400,
        },
      );
    }
  }
  for (const [name, spec] of Object.entries(playbook.inputs)) {
    let value = raw[name];
    if (value === undefined) value = spec.default;
    if (value === undefined) {
      if (spec.required) throw new RiposteError('input.invalid', `input "${name}" is required by playbook ${playbook.id}`, { status: 400 });
      continue;
    }
    const problem = inputTypeProblem(spec.type, value);
    if (problem) throw new RiposteError('input.invalid', `input "${name}" ${problem}`, { status: 400 });
    if (spec.enum && !spec.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
      throw new RiposteError('input.invalid', `input "${name}" must be one of ${spec.enum.map((v) => JSON.stringify(v)).join(', ')}`, { status: 400 });
    }
    out[name] = toPlainData(value);
  }
  return out;
}

function inputTypeProblem(type: string, value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : undefined;
  switch (type) {
    case 'string':
      return text === undefined ? 'must be a string' : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'integer':
      return Number.isInteger(value) ? undefined : 'must be a whole number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? undefined : 'must be a mapping';
    case 'array':
      return Array.isArray(value) ? undefined : 'must be a list';
    case 'ipv4':
      return text !== undefined && isIP(text) === 4 ? undefined : 'must be an IPv4 address';
    case 'ipv6':
      return text !== undefined && isIP(text) === 6 ? undefined : 'must be an IPv6 address';
    case 'ip':
      return text !== undefined && isIP(text) !== 0 ? undefined : 'must be an IP address';
    case 'domain':
      return text !== undefined && /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}\.?$/i.test(text) ? undefined : 'must be a domain name';
    case 'url':
      return text !== undefined && URL.canParse(text) ? undefined : 'must be an absolute URL';
    case 'email':
      return text !== undefined && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text) ? undefined : 'must be an e-mail address';
    case 'hash':
      return text !== undefined && /^([a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64}|[a-f0-9]{128})$/i.test(text)
        ? undefined
        : 'must be an MD5/SHA-1/SHA-256/SHA-512 hex digest';
    default:
      return undefined;
  }
}
