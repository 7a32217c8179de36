import type { CasesService } from '../cases/index.ts';
import { type Actor, type Clock, describeError, invalidInput, type Logger, notFound, parseDuration, RiposteError, systemClock } from '../core/index.ts';
import { type Engine, type GuardRequest, Playbook, type RunnerEvent } from '../engine/index.ts';
import { targetsFromArguments } from '../policy/index.ts';
import type { ContainedActionFilter, ContainedActionRecord, ContainedActionStatus, Store } from '../store/index.ts';

/**
 * The containment lifecycle. Every successful action that declares an inverse (block ↔ unblock,
 * isolate ↔ release) is recorded with its exact arguments, the inverse and the inverse's arguments, and an
 * expiry (a `ttl`/`expires_in` argument, or the action's `defaultTtl`). Undoing one — by a person through
 * `riposte actions rollback` / the API, or by the expiry sweeper — is a run of a one-step playbook
 * (`riposte-rollback`) that calls the inverse: so the inverse passes policy like any write action (a
 * denial fails it, an approval requirement holds it for approvers), is journaled, idempotent and survives
 * restarts. The row moves to `rolling_back` in the same transaction that creates that run, which is why
 * two callers (or two workers' sweepers) never run the inverse twice.
 */
export const ROLLBACK_PLAYBOOK_ID = 'riposte-rollback';
/** Who the expiry sweeper acts as (the initiator of the inverse's run). */
export const EXPIRY_ACTOR = 'system:expiry';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export interface ContainedActionView {
  id: string;
  run_id: string;
  step: string;
  case_id: string | null;
  action: string;
  target: string | null;
  arguments: Record<string, unknown>;
  inverse: { action: string; arguments: Record<string, unknown> };
  expires_at: string | null;
  status: ContainedActionStatus;
  performed_by: string;
  reason: string | null;
  rollback: { run_id: string; by: string | null; reason: string | null; error: unknown } | null;
  created_at: string;
  updated_at: string;
}

export interface RollbackResult {
  action: ContainedActionView;
  /** True when this call started the inverse; false when a rollback was already under way. */
  started: boolean;
  /** The run executing the inverse and its state when the call returned. */
  run: { id: string; status: string } | null;
  /** Set when policy holds the inverse for approval: decide it at /api/v1/approvals/{id}. */
  approval_id?: string;
  /** Set when the inverse failed (policy.denied, the vendor refused…). */
  error?: unknown;
}

export interface ContainmentOptions {
  store: Store;
  cases: CasesService;
  logger: Logger;
  clock?: Clock;
}

export class Containment {
  readonly #store: Store;
  readonly #cases: CasesService;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #engine: Engine | undefined;
  #offEvents: (() => void) | undefined;
  /** Rollback runs started by this process: settled as soon as they finish (others by the sweep). */
  readonly #ours = new Map<string, string>();

  constructor(options: ContainmentOptions) {
    this.#store = options.store;
    this.#cases = options.cases;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
  }

  attach(engine: Engine): void {
    this.#offEvents?.();
    this.#engine = engine;
    this.#offEvents = engine.onEvent((event: RunnerEvent) => {
      if (event.type !== 'run' || !FINISHED.has(event.status)) return;
      const id = this.#ours.get(event.runId);
      if (id === undefined) return;
      this.#ours.delete(event.runId);
      void this.#settleById(id).catch((error) => this.#logger.warn({ err: describeError(error), id }, 'containment: settling a rollback failed'));
    });
  }

  detach(): void {
    this.#offEvents?.();
    this.#offEvents = undefined;
  }

  /** After a guarded action ran: remember how to undo it. Rollback runs' own inverses are not recorded. */
  async record(request: GuardRequest, reason: string | undefined): Promise<void> {
    if (!request.action.inverse || request.dryRun || request.run.playbookId === ROLLBACK_PLAYBOOK_ID) return;
    const now = this.#clock.now();
    const args = request.arguments;
    const ttl = ttlOf(args) ?? (request.action.defaultTtl === undefined ? undefined : parseDuration(request.action.defaultTtl));
    const target = targetsFromArguments(args)
      .map((t) => t.value)
      .join(', ');
    const record = {
      id: request.idempotencyKey,
      runId: request.run.id,
      stepKey: request.stepKey,
      // A run linked to a case after it started (through the API) is found through the link.
      caseId: request.run.caseId ?? (await this.#cases.casesOfRun(request.run.id))[0] ?? null,
      action: request.action.id,
      target: target === '' ? null : target,
      arguments: args,
      inverseAction: request.action.inverse,
      inverseArguments: request.inverseArguments ?? args,
      expiresAt: ttl === undefined ? null : now + ttl,
      performedBy: request.run.startedBy ?? `playbook:${request.run.playbookId}`,
      reason: reason ?? null,
    };
    if (!(await this.#store.containedActions.insert(record))) return;
    const expires = record.expiresAt === null ? 'no expiry' : `expires ${new Date(record.expiresAt).toISOString()}`;
    await this.#note(
      record.caseId,
      { kind: 'playbook', id: `playbook:${request.run.playbookId}`, name: request.run.playbookId },
      'containment.recorded',
      `${record.action} on ${record.target ?? 'no target'} is in effect (${expires}); undo: riposte actions rollback ${record.id}`,
      { contained_action_id: record.id, run_id: record.runId, inverse: record.inverseAction, expires_at: record.expiresAt },
    );
  }

  async list(filter: ContainedActionFilter = {}): Promise<ContainedActionView[]> {
    return (await this.#store.containedActions.list(filter)).map(view);
  }

  async get(id: string): Promise<ContainedActionView> {
    return view(await this.#require(id));
  }

  /**
   * Undoes an action through its inverse, as `actor` for `reason`. The inverse runs as a playbook run and
   * passes policy; with `waitMs` the call waits that long for it to finish or to be held for approval.
   * A second call while a rollback is under way starts nothing; after it finished it is a 409.
   */
  async rollback(id: string, request: { actor: string; reason: string; waitMs?: number; onStarted?: (runId: string) => void }): Promise<RollbackResult> {
    const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
    if (reason.length < 3) throw invalidInput('reason is required: say why the action is undone (at least 3 characters)');
    if (reason.length > 500) throw invalidInput('reason must be at most 500 characters');
    const row = await this.#require(id);
    if (row.status === 'rolled_back' || row.status === 'expired') {
      throw new RiposteError(
        'containment.already_rolled_back',
        `action ${id} was already undone (${row.status}, by ${row.rollbackBy ?? 'unknown'} in run ${row.rollbackRunId ?? '?'}); its inverse does not run again`,
        { status: 409, details: { status: row.status, rollback_run_id: row.rollbackRunId } },
      );
    }
    let runId: string | undefined;
    if (row.status !== 'rolling_back') runId = await this.#startInverse(row, request.actor, reason, ['active', 'rollback_failed']);
    const started = runId !== undefined;
    if (runId !== undefined) request.onStarted?.(runId);
    if (started) {
      await this.#note(
        row.caseId,
        userActor(request.actor),
        'containment.rollback_requested',
        `${request.actor} asked to undo ${row.action} on ${row.target ?? 'no target'}: ${reason}`,
        {
          contained_action_id: row.id,
          rollback_run_id: runId,
          reason,
        },
      );
    }
    const current = await this.#require(id);
    const rollbackRun = current.rollbackRunId;
    if (rollbackRun && request.waitMs && request.waitMs > 0 && this.#engine) {
      await this.#engine.waitForRun(rollbackRun, request.waitMs, { untilWaiting: true });
    }
    return this.#result(await this.#settleById(id), started);
  }

  /**
   * One sweep: starts the inverse of every active action whose expiry has passed (each once, whichever
   * worker gets there first), and settles rollbacks whose runs have finished. Returns how many of each.
   */
  async sweep(limit = 100): Promise<{ expired: number; settled: number }> {
    let expired = 0;
    let settled = 0;
    try {
      const now = this.#clock.now();
      for (const row of await this.#store.containedActions.listDue(now, limit)) {
        const runId = await this.#startInverse(row, EXPIRY_ACTOR, `expired at ${new Date(row.expiresAt ?? now).toISOString()}`, ['active']);
        if (runId === undefined) continue;
        expired++;
        await this.#note(
          row.caseId,
          { kind: 'system', id: EXPIRY_ACTOR, name: 'containment expiry' },
          'containment.expiry',
          `${row.action} on ${row.target ?? 'no target'} expired: running ${row.inverseAction}`,
          { contained_action_id: row.id, rollback_run_id: runId, expires_at: row.expiresAt },
        );
      }
      for (const row of await this.#store.containedActions.listRollingBack()) {
        const after = await this.#settle(row);
        if (after.status !== 'rolling_back') settled++;
      }
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'containment: sweep failed');
    }
    return { expired, settled };
  }

  async #startInverse(row: ContainedActionRecord, actor: string, reason: string, from: ContainedActionStatus[]): Promise<string | undefined> {
    const engine = this.#requireEngine();
    const playbook = rollbackPlaybook(row);
    const runId = await engine.startRunIf(
      playbook,
      { arguments: row.inverseArguments },
      { startedBy: actor, ...(row.caseId ? { caseId: row.caseId } : {}) },
      (tx, newRunId) => tx.containedActions.beginRollback(row.id, from, { runId: newRunId, by: actor, reason }),
    );
    if (runId !== undefined) this.#ours.set(runId, row.id);
    return runId;
  }

  async #settleById(id: string): Promise<ContainedActionRecord> {
    return this.#settle(await this.#require(id));
  }

  /** A rolling-back row whose run has finished gets its final status (once), with a timeline entry. */
  async #settle(row: ContainedActionRecord): Promise<ContainedActionRecord> {
    if (row.status !== 'rolling_back' || !row.rollbackRunId) return row;
    const run = await this.#store.engine.getRun(row.rollbackRunId);
    if (run === undefined) {
      // The run is part of the same transaction as the status change, so this only happens if someone deleted it.
      await this.#store.containedActions.finishRollback(row.id, row.rollbackRunId, {
        status: 'rollback_failed',
        error: { code: 'containment.run_missing', message: `rollback run ${row.rollbackRunId} does not exist` },
      });
      return this.#require(row.id);
    }
    if (!FINISHED.has(run.status)) return row;
    const expiry = row.rollbackBy === EXPIRY_ACTOR;
    const status = run.status === 'succeeded' ? (expiry ? 'expired' : 'rolled_back') : 'rollback_failed';
    const error = run.status === 'succeeded' ? undefined : (run.error ?? { code: 'engine.cancelled', message: `rollback run ${run.id} was cancelled` });
    if (await this.#store.containedActions.finishRollback(row.id, row.rollbackRunId, { status, ...(error === undefined ? {} : { error }) })) {
      const what =
        status === 'rollback_failed'
          ? `undoing ${row.action} on ${row.target ?? 'no target'} failed: ${(error as { message?: string } | null)?.message ?? 'unknown error'}`
          : `${row.action} on ${row.target ?? 'no target'} was undone by ${row.inverseAction}${expiry ? ' (expired)' : ` (asked by ${row.rollbackBy})`}`;
      await this.#note(
        row.caseId,
        expiry ? { kind: 'system', id: EXPIRY_ACTOR, name: 'containment expiry' } : userActor(row.rollbackBy ?? 'unknown'),
        `containment.${status}`,
        what,
        { contained_action_id: row.id, rollback_run_id: row.rollbackRunId, ...(error === undefined ? {} : { error }) },
      );
    }
    return this.#require(row.id);
  }

  async #result(row: ContainedActionRecord, started: boolean): Promise<RollbackResult> {
    const result: RollbackResult = { action: view(row), started, run: null };
    if (!row.rollbackRunId) return result;
    const run = await this.#store.engine.getRun(row.rollbackRunId);
    result.run = run ? { id: run.id, status: run.status } : null;
    if (run?.status === 'waiting') {
      const waits = await this.#store.engine.listWaits({ runId: run.id, status: 'open' });
      const approvalId = waits.map((w) => (w.request as { approval_id?: unknown } | null)?.approval_id).find((a) => typeof a === 'string');
      if (typeof approvalId === 'string') result.approval_id = approvalId;
    }
    if (row.status === 'rollback_failed') result.error = row.rollbackError;
    return result;
  }

  async #require(id: string): Promise<ContainedActionRecord> {
    const row = await this.#store.containedActions.get(id);
    if (row === undefined) throw notFound('contained action', id);
    return row;
  }

  #requireEngine(): Engine {
    if (!this.#engine) throw new RiposteError('containment.unavailable', 'the engine is not attached; rollbacks cannot run here', { status: 503 });
    return this.#engine;
  }

  /** On the case timeline (which also chains it into the audit log), or on the audit log alone. */
  async #note(caseId: string | null, actor: Actor, kind: string, summary: string, details: Record<string, unknown>): Promise<void> {
    try {
      if (caseId) await this.#cases.appendTimeline(caseId, { kind, summary: summary.slice(0, 2000), details }, actor);
      else
        await this.#cases.recordAudit({
          actor,
          action: kind,
          target: `contained_action:${String(details.contained_action_id)}`,
          details: { summary, ...details },
        });
    } catch (error) {
      this.#logger.warn({ err: describeError(error), kind }, 'containment: recording on the case/audit chain failed');
    }
  }
}

/** `ttl` or `expires_in` (a duration such as 24h, or seconds as a number), or `ttl_hours`/`ttl_minutes`/`ttl_seconds`. */
export function ttlOf(args: Record<string, unknown>): number | undefined {
  for (const key of ['ttl', 'expires_in']) {
    const value = args[key];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * 1000;
    if (typeof value === 'string' && value.trim() !== '') {
      const text = value.trim();
      const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
      if (ms !== undefined && ms > 0) return ms;
    }
  }
  const units: Array<[string, number]> = [
    ['ttl_hours', 3_600_000],
    ['ttl_minutes', 60_000],
    ['ttl_seconds', 1000],
  ];
  for (const [key, unit] of units) {
    const value = args[key];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * unit;
  }
  return undefined;
}

/** The one-step playbook that runs an inverse with the recorded arguments (passed as an input, never templated). */
export function rollbackPlaybook(row: Pick<ContainedActionRecord, 'id' | 'action' | 'inverseAction' | 'inverseArguments'>): Playbook {
  const withArgs = Object.fromEntries(Object.keys(row.inverseArguments).map((key) => [key, `{{ inputs.arguments[${JSON.stringify(key)}] }}`]));
  return Playbook.parse({
    id: ROLLBACK_PLAYBOOK_ID,
    version: 1,
    title: `Undo ${row.action} (${row.id})`,
    inputs: { arguments: { type: 'object', required: true } },
    steps: [{ id: 'inverse', action: row.inverseAction, with: withArgs }],
  }) as Playbook;
}

function userActor(name: string): Actor {
  return { kind: 'user', id: name, name };
}

function view(row: ContainedActionRecord): ContainedActionView {
  return {
    id: row.id,
    run_id: row.runId,
    step: row.stepKey,
    case_id: row.caseId,
    action: row.action,
    target: row.target,
    arguments: row.arguments,
    inverse: { action: row.inverseAction, arguments: row.inverseArguments },
    expires_at: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    status: row.status,
    performed_by: row.performedBy,
    reason: row.reason,
    rollback: row.rollbackRunId ? { run_id: row.rollbackRunId, by: row.rollbackBy, reason: row.rollbackReason, error: row.rollbackError } : null,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}
