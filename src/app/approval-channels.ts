import { createHash } from 'node:crypto';
import type { CasesService } from '../cases/index.ts';
import { type Actor, type Clock, type Config, describeError, type Logger, RiposteError, systemClock } from '../core/index.ts';
import type { Engine } from '../engine/index.ts';
import { createGuardedHttpClient, createSmtpSender, type GuardedHttpClient, retryAfterMs, type SmtpSender } from '../integrations/sdk/index.ts';
import {
  type ApprovalRequest,
  approvalFromStorage,
  buildApprovalEmail,
  buildApprovalOutcomeEmail,
  buildOnCallPageEmail,
  buildSlackApprovalMessage,
  buildSlackDecisionUpdate,
  buildSlackOnCallPage,
  buildSlackStepApprovalMessage,
  buildStepApprovalEmail,
  buildStepApprovalOutcomeEmail,
  buildTeamsApprovalCard,
  buildTeamsDecisionCard,
  buildTeamsOnCallCard,
  buildTeamsStepApprovalCard,
  buildTeamsStepDecisionCard,
  excludedApprovers,
  summarizeApproval,
} from '../policy/index.ts';
import type { ApprovalRecord, OutboxEntry, OutboxRecord, RunRow, Store, UserRecord, WaitRow } from '../store/index.ts';
import { isStepApprovalWait, stepApprovalFacts, stepApprovalOutcome, stepApprovalRecipients, stepApprovalSubject } from './step-approval-messages.ts';

/**
 * Approval requests delivered where approvers are: Slack (interactive message, updated in place after
 * every decision), Microsoft Teams (Adaptive Card, plus a follow-up card per decision), e-mail (each
 * listed approver gets their own one-time links; a follow-up when resolved), and the on-call page that
 * policy asks for on a blast-radius hit (Slack, Teams, e-mail, PagerDuty Events API v2).
 *
 * Durability: the messages an approval change owes are written to the store's outbox in the same
 * transaction as the change itself (the approvals repository handed to Guardrails is wrapped, so the
 * approval code needs no hook). A deliverer sends due rows under a lease, retries what failed for a
 * transient reason (honouring Retry-After), gives up on permanent failures (unknown channel, revoked
 * token) and notes every give-up on the case timeline or the audit log. A channel that is down never
 * blocks or fails the approval itself. Messages are rendered when sent, from the approval as it is then.
 *
 * Delivery is at least once: a crash after a channel accepted a message but before the row was marked
 * sent re-sends it. Slack updates are idempotent (chat.update of the same message); e-mails carry a
 * Message-ID derived from the row, so a re-send is recognisably the same message.
 *
 * A playbook's own `approval:` step (not a policy approval) is announced on the same channels. The engine
 * knows nothing of channels, so the trigger is reconciled rather than hooked: every delivery pass lists the
 * open step-approval waits and enqueues an "announce" row per run and step key (its id is the idempotency
 * key, so any number of processes and restarts enqueue it once); the runner's `waiting` event only makes
 * that quicker. Delivering the announce row reads the wait and run, and enqueues the requests (Slack, Teams,
 * one e-mail per person who may decide it) and a "watch" row that looks at the wait again until it is
 * resolved, then enqueues the follow-ups (Slack chat.update, Teams card, e-mail). The runner's step and run
 * events and the pass's own listing make follow-ups prompt; the watch row makes them certain.
 */
export interface ApprovalLinks {
  createLink(id: string, approver: string, decision: 'approve' | 'reject'): Promise<{ token: string }>;
  reviewUrl(id: string): string;
}

export interface ApprovalChannelsOptions {
  config: Config;
  logger: Logger;
  cases?: CasesService;
  clock?: Clock;
  /** Replaceable in tests (a short backoff). */
  backoffMs?: (attempt: number) => number;
}

type Channel = 'slack' | 'teams' | 'email' | 'pagerduty';
type Topic = 'approval.request' | 'approval.update' | 'oncall.page' | 'oncall.resolve' | StepTopic;
type StepTopic = 'step.announce' | 'step.request' | 'step.watch' | 'step.update';

interface Payload {
  approval_id: string;
  revision: number;
  /** E-mail: the Riposte user the message is for. */
  recipient?: string;
  /** Follow-ups describe the approval as it was at this revision. */
  snapshot?: ApprovalRequest;
}

/** A row about a playbook's approval step. */
interface StepPayload {
  run_id: string;
  step_key: string;
  /** E-mail: the Riposte user the message is for. */
  recipient?: string;
}

const SYSTEM: Actor = { kind: 'system', id: 'system', name: 'approval channels' };
const BATCH = 20;
const KICK_DELAY_MS = 15;
/** Delivered messages are kept this long in the outbox (longer than any approval or step wait lasts). */
const OUTBOX_KEEP_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Slack's answers that will not change by retrying. */
const SLACK_PERMANENT = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'channel_not_found',
  'is_archived',
  'not_in_channel',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'invalid_blocks',
  'invalid_arguments',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'team_access_not_granted',
]);

class WaitForRequest extends Error {}
/** Not a failure: look at this row again at `at` (a step approval still open, a wait not committed yet). */
class LookAgain extends Error {
  readonly at: number;
  constructor(at: number, why: string) {
    super(why);
    this.at = at;
  }
}
/** How long an announce row looks for the engine's wait row every 250 ms (then every recheck interval). */
const ANNOUNCE_PATIENCE_MS = 60_000;
const FINISHED_RUN = new Set(['succeeded', 'failed', 'cancelled']);

export class ApprovalChannels {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #cases: CasesService | undefined;
  readonly #clock: Clock;
  readonly #http: GuardedHttpClient;
  readonly #backoff: (attempt: number) => number;
  #store: Store | undefined;
  #links: ApprovalLinks | undefined;
  #smtp: SmtpSender | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #again = false;
  #started = false;
  /** Open step approvals seen by the last pass (subject → run id and step key). */
  #openSteps = new Map<string, { runId: string; stepKey: string }>();
  #lastStepSweep = 0;

  constructor(options: ApprovalChannelsOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.#cases = options.cases;
    this.#clock = options.clock ?? systemClock;
    this.#http = createGuardedHttpClient({
      allow: options.config.integrations.http_allow,
      timeoutMs: options.config.approvals.delivery.timeout,
      maxResponseBytes: 1024 * 1024,
    });
    this.#backoff = options.backoffMs ?? ((attempt) => Math.min(600_000, 2_000 * 2 ** Math.max(0, attempt - 1)));
  }

  /** Whether any approval channel or on-call destination is configured. */
  get enabled(): boolean {
    const { channels, on_call } = this.#config.approvals;
    return Boolean(channels.slack || channels.teams || channels.email || on_call.slack || on_call.teams || on_call.email || on_call.pagerduty);
  }

  /** Whether playbook approval steps are announced (the approver channels; on-call paging is policy's alone). */
  get stepsEnabled(): boolean {
    const { channels } = this.#config.approvals;
    return Boolean(channels.slack || channels.teams || channels.email);
  }

  /** How often an open step approval's watch row looks at it again (runner events usually come first). */
  get #recheckMs(): number {
    return this.#config.approvals.delivery.poll_interval * 12;
  }

  /**
   * Makes announcements and follow-ups of step approvals prompt in the process that runs them (the
   * delivery pass's reconciliation works without it). Returns the unsubscribe.
   */
  watchEngine(engine: Pick<Engine, 'onEvent'>): () => void {
    if (!this.stepsEnabled) return () => {};
    return engine.onEvent((event) => {
      const store = this.#store;
      if (!store) return;
      const detail = (event.detail ?? {}) as { kind?: unknown; approval_id?: unknown };
      if (event.type === 'step' && event.key !== undefined && event.status === 'waiting' && detail.kind === 'approval' && detail.approval_id === undefined) {
        // Emitted before the runner commits the wait: the announce row waits for it (LookAgain).
        const open = { runId: event.runId, stepKey: event.key };
        store.notifications
          .enqueue([this.#announceEntry(event.runId, event.key)])
          .then((n) => {
            this.#openSteps.set(stepApprovalSubject(open.runId, open.stepKey), open);
            if (n > 0) this.kick();
          })
          .catch((error: unknown) =>
            this.#logger.warn({ err: describeError(error), run_id: event.runId }, 'approval channels: enqueuing a step approval failed'),
          );
        return;
      }
      const settled = (runId: string, stepKey: string) =>
        void this.#settleStep(store, runId, stepKey).catch((error: unknown) =>
          this.#logger.warn({ err: describeError(error), run_id: runId }, 'approval channels: following up a step approval failed'),
        );
      if (event.type === 'step' && event.key !== undefined && event.status !== 'waiting') {
        const subject = stepApprovalSubject(event.runId, event.key);
        if (this.#openSteps.has(subject)) settled(event.runId, event.key);
      } else if (event.type === 'run' && ['cancelled', 'failed', 'succeeded'].includes(event.status)) {
        for (const open of this.#openSteps.values()) if (open.runId === event.runId) settled(open.runId, open.stepKey);
      }
    });
  }

  /**
   * The store Guardrails should use: identical, except that saving an approval also writes the messages
   * it owes into the outbox, in the same transaction. Without channels configured, the store itself.
   */
  storeWithOutbox(store: Store): Store {
    this.#store = store;
    if (!this.enabled) return store;
    const approvals = {
      ...store.approvals,
      insert: async (record: ApprovalRecord) => {
        const entries = this.#entries(record, 'created');
        if (entries.length === 0) return store.approvals.insert(record);
        const inserted = await store.transaction(async (tx) => {
          if (!(await tx.approvals.insert(record))) return false;
          await tx.notifications.enqueue(entries);
          return true;
        });
        if (inserted) this.kick();
        return inserted;
      },
      update: async (record: ApprovalRecord, expectedRevision: number) => {
        const entries = this.#entries(record, 'changed');
        if (entries.length === 0) return store.approvals.update(record, expectedRevision);
        const updated = await store.transaction(async (tx) => {
          if (!(await tx.approvals.update(record, expectedRevision))) return false;
          await tx.notifications.enqueue(entries);
          return true;
        });
        if (updated) this.kick();
        return updated;
      },
    };
    return new Proxy(store, {
      get(target, property) {
        if (property === 'approvals') return approvals;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** How links in messages are made (Guardrails owns the signing keys). */
  attach(links: ApprovalLinks): void {
    this.#links = links;
  }

  /**
   * Delivers at once what is enqueued, and every `approvals.delivery.poll_interval` what is due again.
   * Hourly, messages sent or given up more than OUTBOX_KEEP_MS ago are dropped from the outbox (the case
   * timeline and the audit chain keep the record of what was delivered).
   */
  start(): void {
    if (!this.enabled || this.#timer) return;
    this.#started = true;
    this.#timer = setInterval(() => this.kick(), this.#config.approvals.delivery.poll_interval);
    this.#timer.unref();
    this.#pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
    this.kick();
  }

  /** Drops delivered and given-up messages older than OUTBOX_KEEP_MS; returns how many. */
  async prune(): Promise<number> {
    if (!this.#store) return 0;
    try {
      return await this.#store.notifications.prune(this.#clock.now() - OUTBOX_KEEP_MS);
    } catch (error) {
      this.#logger.warn({ err: error }, 'approval channels: pruning the outbox failed; trying again in an hour');
      return 0;
    }
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearInterval(this.#timer);
    clearInterval(this.#pruneTimer);
    this.#timer = undefined;
    this.#pruneTimer = undefined;
    await this.#draining;
  }

  /** Asks for a delivery pass soon (coalesced: one pass at a time). */
  kick(): void {
    // Nothing is sent before start(): links need attach(), and a process that only enqueues (tests) must not send.
    if (!this.#started || !this.#store || !this.#links) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = (async () => {
      // A short pause first: the decision that enqueued this lets its released action start before the
      // deliverer competes for the database (SQLite has one writer), and a burst of changes goes in one pass.
      await new Promise((resolve) => setTimeout(resolve, KICK_DELAY_MS));
      do {
        this.#again = false;
        await this.sweepStepApprovals();
        const handled = await this.deliverDue();
        if (handled === BATCH) this.#again = true;
      } while (this.#again && this.#started);
    })().finally(() => {
      this.#draining = undefined;
    });
  }

  /** One pass: claims due messages and sends them. Never throws; returns how many it handled. */
  async deliverDue(): Promise<number> {
    const store = this.#store;
    if (!store) return 0;
    try {
      const now = this.#clock.now();
      // The lease outlasts the slowest send (an SMTP exchange has several timeouts in a row).
      const rows = await store.notifications.claimDue(now, now + this.#config.approvals.delivery.timeout * 6, BATCH);
      await Promise.all(rows.map((row) => this.#deliver(store, row)));
      return rows.length;
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'approval channels: delivery pass failed');
      return 0;
    }
  }

  /**
   * Reconciles open step approvals with the outbox (at most once per poll interval unless `force`): each
   * open one gets its announce row (a no-op when it has one), each one that closed since the last pass its
   * follow-ups. Never throws.
   */
  async sweepStepApprovals(force = false): Promise<void> {
    const store = this.#store;
    if (!store || !this.stepsEnabled) return;
    const now = this.#clock.now();
    if (!force && now - this.#lastStepSweep < this.#config.approvals.delivery.poll_interval) return;
    this.#lastStepSweep = now;
    try {
      const open = (await store.engine.listWaits({ kind: 'approval', status: 'open', limit: 5000 })).filter(isStepApprovalWait);
      const current = new Map(open.map((w) => [stepApprovalSubject(w.runId, w.stepKey), { runId: w.runId, stepKey: w.stepKey }]));
      const fresh = [...current].filter(([subject]) => !this.#openSteps.has(subject)).map(([, w]) => this.#announceEntry(w.runId, w.stepKey));
      const closed = [...this.#openSteps].filter(([subject]) => !current.has(subject)).map(([, w]) => w);
      if (fresh.length > 0 && (await store.notifications.enqueue(fresh)) > 0) this.#again = true;
      // Only once enqueued: a failed pass leaves them fresh for the next one.
      this.#openSteps = current;
      for (const w of closed) await this.#settleStep(store, w.runId, w.stepKey);
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'approval channels: reconciling step approvals failed');
    }
  }

  #announceEntry(runId: string, stepKey: string): OutboxEntry {
    const subject = stepApprovalSubject(runId, stepKey);
    return {
      id: `${subject}/announce`,
      topic: 'step.announce',
      channel: 'riposte',
      subject,
      payload: { run_id: runId, step_key: stepKey } satisfies StepPayload,
    };
  }

  /** A resolved step approval owes one follow-up per request planned for it (enqueued once, by id). */
  async #settleStep(store: Store, runId: string, stepKey: string): Promise<boolean> {
    const wait = await store.engine.getWait(runId, stepKey);
    if (!wait || wait.status === 'open') return false;
    const subject = stepApprovalSubject(runId, stepKey);
    const requests = (await store.notifications.listBySubject(subject)).filter((r) => r.topic === 'step.request');
    const entries = requests.map((r) => ({
      id: r.id.replace('/request/', '/decided/'),
      topic: 'step.update',
      channel: r.channel,
      subject,
      payload: r.payload,
    }));
    this.#openSteps.delete(subject);
    if (entries.length > 0 && (await store.notifications.enqueue(entries)) > 0) this.kick();
    return true;
  }

  // ------------------------------------------------------------------ what each change owes

  #entries(record: ApprovalRecord, change: 'created' | 'changed'): OutboxEntry[] {
    try {
      const doc = approvalFromStorage(record.document);
      return change === 'created' ? this.#requestEntries(doc) : this.#updateEntries(doc);
    } catch (error) {
      // Never let a message problem stop the approval from being saved.
      this.#logger.warn({ err: describeError(error), approval_id: record.id }, 'approval channels: cannot plan messages for this approval');
      return [];
    }
  }

  #requestEntries(doc: ApprovalRequest): OutboxEntry[] {
    const { channels, on_call } = this.#config.approvals;
    const entry = (suffix: string, topic: Topic, channel: Channel, extra: Partial<Payload> = {}): OutboxEntry => ({
      id: `${doc.id}/${suffix}`,
      topic,
      channel,
      subject: doc.id,
      payload: { approval_id: doc.id, revision: doc.revision, ...extra } satisfies Payload,
    });
    const out: OutboxEntry[] = [];
    if (channels.slack) out.push(entry('request/slack', 'approval.request', 'slack'));
    if (channels.teams) out.push(entry('request/teams', 'approval.request', 'teams'));
    if (channels.email) {
      const excluded = new Set(excludedApprovers(doc).map((e) => e.id));
      for (const user of Object.keys(channels.email.to)) {
        if (!excluded.has(user)) out.push(entry(`request/email/${user}`, 'approval.request', 'email', { recipient: user }));
      }
    }
    if (doc.page_on_call) {
      if (on_call.slack) out.push(entry('page/slack', 'oncall.page', 'slack'));
      if (on_call.teams) out.push(entry('page/teams', 'oncall.page', 'teams'));
      if (on_call.email) out.push(entry('page/email', 'oncall.page', 'email'));
      if (on_call.pagerduty) out.push(entry('page/pagerduty', 'oncall.page', 'pagerduty'));
    }
    return out;
  }

  #updateEntries(doc: ApprovalRequest): OutboxEntry[] {
    const { channels, on_call } = this.#config.approvals;
    const resolved = doc.status !== 'pending';
    const lastEdit = doc.edits.at(-1);
    const lastDecision = doc.decisions.at(-1);
    // An edit voids the links already mailed (they are bound to the old arguments): mail fresh ones.
    const edited = !resolved && lastEdit !== undefined && (lastDecision === undefined || lastEdit.at >= lastDecision.at);
    const entry = (suffix: string, topic: Topic, channel: Channel, extra: Partial<Payload> = {}): OutboxEntry => ({
      id: `${doc.id}/r${doc.revision}/${suffix}`,
      topic,
      channel,
      subject: doc.id,
      payload: { approval_id: doc.id, revision: doc.revision, ...extra } satisfies Payload,
    });
    const out: OutboxEntry[] = [];
    if (channels.slack) out.push(entry('slack', 'approval.update', 'slack'));
    if (channels.teams) out.push(entry('teams', 'approval.update', 'teams', { snapshot: doc }));
    if (channels.email && (resolved || edited)) {
      const excluded = new Set(excludedApprovers(doc).map((e) => e.id));
      for (const user of Object.keys(channels.email.to)) {
        if (excluded.has(user)) continue;
        out.push(entry(`email/${user}`, resolved ? 'approval.update' : 'approval.request', 'email', { recipient: user, snapshot: doc }));
      }
    }
    // An edit can raise the requirement to paging; the page's ids are fixed, so an earlier page is not repeated.
    if (!resolved && doc.page_on_call) out.push(...this.#requestEntries(doc).filter((e) => e.topic === 'oncall.page'));
    if (resolved && doc.page_on_call && on_call.pagerduty) {
      out.push({ ...entry('pagerduty', 'oncall.resolve', 'pagerduty'), id: `${doc.id}/resolve/pagerduty` });
    }
    return out;
  }

  // ------------------------------------------------------------------ delivery

  async #deliver(store: Store, row: OutboxRecord): Promise<void> {
    const lease = row.leaseUntil as number;
    const payload = row.payload as Payload;
    try {
      const result = await this.#send(store, row, payload);
      await store.notifications.markSent(row.id, result, lease);
      if ((row.topic === 'approval.request' || row.topic === 'step.request') && row.channel === 'slack') this.#again = true;
      if (row.topic === 'step.announce' || row.topic === 'step.watch') this.#again = true;
    } catch (error) {
      if (error instanceof LookAgain) {
        await store.notifications.reschedule(row.id, error.at, error.message, lease, false);
        if (error.at - this.#clock.now() < this.#config.approvals.delivery.poll_interval)
          setTimeout(() => this.kick(), Math.max(0, error.at - this.#clock.now()) + 10).unref();
        return;
      }
      if (error instanceof WaitForRequest) {
        // The message to update is not posted yet: not a failure, look again shortly.
        await store.notifications.reschedule(row.id, this.#clock.now() + 250, 'waiting for the request message to be posted', lease, false);
        setTimeout(() => this.kick(), 300).unref();
        return;
      }
      const problem = error instanceof RiposteError ? error : new RiposteError('channel.failed', describeError(error), { retryable: true });
      const retryAfter = (problem.details as { retry_after_ms?: number } | undefined)?.retry_after_ms;
      const message = `${problem.code}: ${problem.message}`;
      if (problem.retryable && row.attempts < this.#config.approvals.delivery.max_attempts) {
        const at = this.#clock.now() + Math.max(retryAfter ?? 0, this.#backoff(row.attempts));
        await store.notifications.reschedule(row.id, at, message, lease).catch(() => false);
        this.#logger.info(
          { outbox_id: row.id, channel: row.channel, attempt: row.attempts, retry_at: new Date(at).toISOString(), code: problem.code },
          'approval channels: will retry',
        );
        if (retryAfter !== undefined || at - this.#clock.now() < this.#config.approvals.delivery.poll_interval) {
          setTimeout(() => this.kick(), Math.max(0, at - this.#clock.now()) + 10).unref();
        }
        return;
      }
      await store.notifications.markFailed(row.id, message, lease).catch(() => false);
      if (problem.code !== 'channel.skipped') await this.#noteFailure(store, row, payload, problem);
    }
  }

  async #noteFailure(store: Store, row: OutboxRecord, payload: Payload, problem: RiposteError): Promise<void> {
    const where = this.#describe(row);
    this.#logger.warn({ outbox_id: row.id, channel: row.channel, code: problem.code, attempts: row.attempts }, `approval channels: gave up on ${where}`);
    if (!this.#cases) return;
    if (row.topic.startsWith('step.')) return this.#noteStepFailure(store, row, where, problem);
    try {
      const stored = await store.approvals.get(payload.approval_id);
      const caseId = stored?.caseId ?? null;
      const summary = `Could not send approval ${payload.approval_id} (${row.topic}) to ${where} after ${row.attempts} attempt(s): ${problem.message}`.slice(
        0,
        2000,
      );
      const details = {
        approval_id: payload.approval_id,
        outbox_id: row.id,
        channel: row.channel,
        topic: row.topic,
        code: problem.code,
        attempts: row.attempts,
      };
      if (caseId) await this.#cases.appendTimeline(caseId, { kind: 'approval.channel_failed', summary, details }, SYSTEM);
      else
        await this.#cases.recordAudit({
          actor: SYSTEM,
          action: 'approval.channel_failed',
          target: `approval:${payload.approval_id}`,
          details: { summary, ...details },
        });
    } catch (error) {
      this.#logger.warn({ err: describeError(error), outbox_id: row.id }, 'approval channels: recording a delivery failure failed');
    }
  }

  async #noteStepFailure(store: Store, row: OutboxRecord, where: string, problem: RiposteError): Promise<void> {
    const { run_id, step_key } = row.payload as StepPayload;
    try {
      const run = await store.engine.getRun(run_id);
      const summary =
        `Could not send approval step ${step_key} of run ${run_id} (${row.topic}) to ${where} after ${row.attempts} attempt(s): ${problem.message}`.slice(
          0,
          2000,
        );
      const details = { run_id, step: step_key, outbox_id: row.id, channel: row.channel, topic: row.topic, code: problem.code, attempts: row.attempts };
      if (run?.caseId) await this.#cases?.appendTimeline(run.caseId, { kind: 'approval.channel_failed', summary, details }, SYSTEM);
      else await this.#cases?.recordAudit({ actor: SYSTEM, action: 'approval.channel_failed', target: `run:${run_id}`, details: { summary, ...details } });
    } catch (error) {
      this.#logger.warn({ err: describeError(error), outbox_id: row.id }, 'approval channels: recording a delivery failure failed');
    }
  }

  /** Where a row goes, safe to show (no token, no webhook signature). */
  #describe(row: OutboxRecord): string {
    const onCall = row.topic.startsWith('oncall.');
    const target = onCall ? this.#config.approvals.on_call : this.#config.approvals.channels;
    if (row.channel === 'slack') return `Slack channel ${target.slack?.channel ?? '?'}`;
    if (row.channel === 'teams') {
      const url = target.teams?.webhook_url;
      return `the Teams webhook at ${url ? new URL(url).host : '?'}`;
    }
    if (row.channel === 'pagerduty') return 'PagerDuty';
    if (row.channel === 'riposte') return 'Riposte itself';
    const recipient = (row.payload as Payload).recipient;
    return recipient ? `e-mail to ${recipient}` : 'the on-call e-mail';
  }

  async #approval(store: Store, id: string): Promise<ApprovalRequest> {
    const stored = await store.approvals.get(id);
    if (!stored) throw new RiposteError('not_found', `approval ${id} no longer exists`);
    return approvalFromStorage(stored.document);
  }

  #reviewUrl(id: string): string {
    if (!this.#links) throw new RiposteError('channel.not_ready', 'approval channels are not attached to the approvals service yet', { retryable: true });
    return this.#links.reviewUrl(id);
  }

  async #send(store: Store, row: OutboxRecord, payload: Payload): Promise<unknown> {
    if (row.topic.startsWith('step.')) return this.#sendStep(store, row, row.payload as StepPayload);
    const { channels, on_call } = this.#config.approvals;
    const id = payload.approval_id;
    const reviewUrl = this.#reviewUrl(id);
    switch (`${row.topic}:${row.channel}`) {
      case 'approval.request:slack': {
        const current = await this.#approval(store, id);
        const message = current.status === 'pending' ? buildSlackApprovalMessage(current, { reviewUrl }) : buildSlackDecisionUpdate(current, { reviewUrl });
        return this.#postSlack(channels.slack?.channel, message);
      }
      case 'approval.update:slack': {
        const posted = await store.notifications.get(`${id}/request/slack`);
        if (posted?.status === 'pending') throw new WaitForRequest();
        const at = posted?.result as { channel?: string; ts?: string } | null | undefined;
        if (!at?.channel || !at.ts) {
          // The failed request was noted already; one note per later decision would only be noise.
          throw new RiposteError('channel.skipped', 'the Slack approval message was never posted, so there is nothing to update', { retryable: false });
        }
        // Always the latest state: an update that arrives late cannot roll the message back.
        const current = await this.#approval(store, id);
        const update = buildSlackDecisionUpdate(current, { reviewUrl });
        await this.#slack('chat.update', { channel: at.channel, ts: at.ts, text: update.text, blocks: update.blocks });
        return { channel: at.channel, ts: at.ts, revision: current.revision };
      }
      case 'oncall.page:slack': {
        const page = buildSlackOnCallPage(await this.#approval(store, id), { reviewUrl });
        return this.#postSlack(on_call.slack?.channel, page);
      }
      case 'approval.request:teams':
        return this.#teams(channels.teams?.webhook_url, buildTeamsApprovalCard(await this.#approval(store, id), { reviewUrl }));
      case 'approval.update:teams':
        return this.#teams(channels.teams?.webhook_url, buildTeamsDecisionCard(payload.snapshot ?? (await this.#approval(store, id)), { reviewUrl }));
      case 'oncall.page:teams':
        return this.#teams(on_call.teams?.webhook_url, buildTeamsOnCallCard(await this.#approval(store, id), { reviewUrl }));
      case 'approval.request:email':
        return this.#requestEmail(store, row, payload, reviewUrl);
      case 'approval.update:email': {
        const user = payload.recipient as string;
        const address = channels.email?.to[user];
        if (!address) throw new RiposteError('channel.rejected', `${user} is no longer listed in approvals.channels.email.to`);
        const mail = buildApprovalOutcomeEmail(payload.snapshot ?? (await this.#approval(store, id)), { reviewUrl });
        const first = messageId(`${id}/request/email/${user}`);
        return this.#mail({ to: [address], ...mail, messageId: messageId(row.id), inReplyTo: first, references: [first] });
      }
      case 'oncall.page:email': {
        const mail = buildOnCallPageEmail(await this.#approval(store, id), { reviewUrl });
        return this.#mail({ to: on_call.email?.to ?? [], ...mail, messageId: messageId(row.id) });
      }
      case 'oncall.page:pagerduty':
      case 'oncall.resolve:pagerduty':
        return this.#pagerDuty(store, row, id, reviewUrl);
      default:
        throw new RiposteError('channel.rejected', `no sender for ${row.topic} on ${row.channel}`);
    }
  }

  // ------------------------------------------------------------------ playbook approval steps

  #baseUrl(): string {
    const { public_url, host, port } = this.#config.server;
    return (public_url ?? `http://${host}:${port}`).replace(/\/+$/, '');
  }

  async #stepState(store: Store, payload: StepPayload): Promise<{ wait: WaitRow; run: RunRow } | undefined> {
    const [wait, run] = await Promise.all([store.engine.getWait(payload.run_id, payload.step_key), store.engine.getRun(payload.run_id)]);
    return wait && run && isStepApprovalWait(wait) ? { wait, run } : undefined;
  }

  async #users(store: Store): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    for (let afterName: string | undefined; ; ) {
      const page = await store.users.list({ limit: 500, ...(afterName ? { afterName } : {}) });
      users.push(...page);
      if (page.length < 500) return users;
      afterName = page.at(-1)?.name;
    }
  }

  async #sendStep(store: Store, row: OutboxRecord, payload: StepPayload): Promise<unknown> {
    const { channels } = this.#config.approvals;
    const subject = stepApprovalSubject(payload.run_id, payload.step_key);
    const state = await this.#stepState(store, payload);
    const now = this.#clock.now();
    if (row.topic === 'step.announce') {
      if (!state) {
        // The runner announces the wait a moment before it commits it (or a worker that lost its lease parks it again later).
        const [run, wait] = await Promise.all([store.engine.getRun(payload.run_id), store.engine.getWait(payload.run_id, payload.step_key)]);
        if (!run || FINISHED_RUN.has(run.status) || (wait && !isStepApprovalWait(wait))) return { skipped: 'no such approval step' };
        throw new LookAgain(now + (now - row.createdAt < ANNOUNCE_PATIENCE_MS ? 250 : this.#recheckMs), 'waiting for the approval step to be stored');
      }
      if (state.wait.status !== 'open') return { skipped: 'already decided' };
      // A pruned announce row re-enqueued later must not announce again: the watch row outlives it while open.
      if (await store.notifications.get(`${subject}/watch`)) return { skipped: 'already announced' };
      const entry = (suffix: string, topic: StepTopic, channel: Channel | 'riposte', extra: Partial<StepPayload> = {}, notBefore?: number): OutboxEntry => ({
        id: `${subject}/${suffix}`,
        topic,
        channel,
        subject,
        payload: { run_id: payload.run_id, step_key: payload.step_key, ...extra } satisfies StepPayload,
        ...(notBefore === undefined ? {} : { notBefore }),
      });
      const out: OutboxEntry[] = [];
      if (channels.slack) out.push(entry('request/slack', 'step.request', 'slack'));
      if (channels.teams) out.push(entry('request/teams', 'step.request', 'teams'));
      const recipients = channels.email ? stepApprovalRecipients({ ...state, users: await this.#users(store), addresses: channels.email.to }) : [];
      for (const user of recipients) out.push(entry(`request/email/${user}`, 'step.request', 'email', { recipient: user }));
      out.push(entry('watch', 'step.watch', 'riposte', {}, now + this.#recheckMs));
      // One transaction: the watch row (checked above) never exists without the requests it watches.
      await store.transaction((tx) => tx.notifications.enqueue(out));
      this.#openSteps.set(subject, { runId: payload.run_id, stepKey: payload.step_key });
      return { announced: out.length - 1, email: recipients };
    }
    if (!state) return { skipped: 'no such approval step' };
    const facts = stepApprovalFacts(state.wait, state.run, this.#baseUrl());
    const outcome = stepApprovalOutcome(state.wait, state.run.status);
    switch (`${row.topic}:${row.channel}`) {
      case 'step.watch:riposte':
        if (!outcome) throw new LookAgain(now + this.#recheckMs, 'still open');
        await this.#settleStep(store, payload.run_id, payload.step_key);
        return { settled: outcome.status };
      case 'step.request:slack': {
        const message = buildSlackStepApprovalMessage(facts, outcome, { buttons: this.#slackButtons });
        return this.#postSlack(channels.slack?.channel, message);
      }
      case 'step.request:teams':
        return this.#teams(channels.teams?.webhook_url, buildTeamsStepApprovalCard(facts));
      case 'step.request:email': {
        if (outcome) return { skipped: `already ${outcome.status}` };
        const address = this.#address(payload.recipient);
        return this.#mail({ to: [address], ...buildStepApprovalEmail(facts), messageId: messageId(row.id) });
      }
      case 'step.update:slack': {
        const posted = await store.notifications.get(`${subject}/request/slack`);
        if (posted?.status === 'pending') throw new WaitForRequest();
        const at = posted?.result as { channel?: string; ts?: string } | null | undefined;
        if (!at?.channel || !at.ts)
          throw new RiposteError('channel.skipped', 'the Slack message was never posted, so there is nothing to update', { retryable: false });
        const update = buildSlackStepApprovalMessage(facts, outcome, { buttons: this.#slackButtons });
        await this.#slack('chat.update', { channel: at.channel, ts: at.ts, text: update.text, blocks: update.blocks });
        return { channel: at.channel, ts: at.ts };
      }
      case 'step.update:teams':
        if ((await store.notifications.get(`${subject}/request/teams`))?.status === 'pending') throw new WaitForRequest();
        if (!outcome) return { skipped: 'still open' };
        return this.#teams(channels.teams?.webhook_url, buildTeamsStepDecisionCard(facts, outcome));
      case 'step.update:email': {
        const request = await store.notifications.get(row.id.replace('/decided/', '/request/'));
        if (request?.status === 'pending') throw new WaitForRequest();
        const sent = request?.result as { message_id?: string } | null | undefined;
        if (!outcome || request?.status !== 'sent' || !sent?.message_id) return { skipped: 'no request was mailed' };
        const first = messageId(request.id);
        return this.#mail({
          to: [this.#address(payload.recipient)],
          ...buildStepApprovalOutcomeEmail(facts, outcome),
          messageId: messageId(row.id),
          inReplyTo: first,
          references: [first],
        });
      }
      default:
        throw new RiposteError('channel.rejected', `no sender for ${row.topic} on ${row.channel}`);
    }
  }

  /** Approve/Reject buttons on step messages only when clicks can be verified (Guardrails.slackInteraction). */
  get #slackButtons(): boolean {
    return Boolean(this.#config.slack.signing_secret);
  }

  #address(user: string | undefined): string {
    const address = user ? this.#config.approvals.channels.email?.to[user] : undefined;
    if (!address) throw new RiposteError('channel.rejected', `${user} is no longer listed in approvals.channels.email.to`);
    return address;
  }

  async #requestEmail(store: Store, row: OutboxRecord, payload: Payload, reviewUrl: string): Promise<unknown> {
    const user = payload.recipient as string;
    const address = this.#config.approvals.channels.email?.to[user];
    if (!address) throw new RiposteError('channel.rejected', `${user} is no longer listed in approvals.channels.email.to`);
    const current = await this.#approval(store, payload.approval_id);
    if (current.status !== 'pending') return { skipped: `approval already ${current.status}` };
    const links = this.#links as ApprovalLinks;
    // Links are made at send time, so they are bound to the arguments the e-mail shows and live their full TTL.
    const [approve, reject] = await Promise.all([links.createLink(current.id, user, 'approve'), links.createLink(current.id, user, 'reject')]);
    const base = reviewUrl.replace(/\/approvals\/[^/]*$/, '');
    const linkUrl = (token: string) => `${base}/api/v1/approval-links?token=${encodeURIComponent(token)}`;
    const mail = buildApprovalEmail(current, { reviewUrl, approveUrl: linkUrl(approve.token), rejectUrl: linkUrl(reject.token) });
    return this.#mail({ to: [address], ...mail, messageId: messageId(row.id) });
  }

  async #mail(message: { to: readonly string[]; subject: string; text: string; html: string; messageId: string; inReplyTo?: string; references?: string[] }) {
    const smtp = this.#config.email.smtp;
    if (!smtp) throw new RiposteError('channel.not_configured', 'e-mail channels need email.smtp (host, from)', { retryable: false });
    this.#smtp ??= createSmtpSender(
      {
        host: smtp.host,
        port: smtp.port,
        security: smtp.security,
        ...(smtp.username ? { username: smtp.username, password: smtp.password ?? '' } : {}),
        from: smtp.from,
        verifyCertificate: smtp.verify_certificate,
        timeoutMs: this.#config.approvals.delivery.timeout,
      },
      { allow: this.#config.integrations.http_allow },
    );
    const sent = await this.#smtp.send(message);
    return { message_id: sent.messageId, accepted: sent.accepted, rejected: sent.rejected };
  }

  /** Posts a message to a channel; the answer's channel and ts are what later updates edit. */
  async #postSlack(channel: string | undefined, message: { text: string; blocks: unknown }): Promise<{ channel: string; ts: string }> {
    const answer = await this.#slack('chat.postMessage', { channel, text: message.text, blocks: message.blocks, unfurl_links: false });
    return { channel: answer.channel, ts: answer.ts };
  }

  async #slack(method: 'chat.postMessage' | 'chat.update', body: Record<string, unknown>): Promise<{ channel: string; ts: string }> {
    const token = this.#config.slack.bot_token;
    if (!token) throw new RiposteError('channel.not_configured', 'Slack channels need slack.bot_token (RIPOSTE_SLACK_BOT_TOKEN)', { retryable: false });
    const response = await this.#http.request({
      method: 'POST',
      url: `${this.#config.slack.api_url.replace(/\/$/, '')}/${method}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
    });
    const limited = () =>
      new RiposteError('channel.rate_limited', `Slack ${method} is rate limited (ratelimited)`, {
        retryable: true,
        details: { retry_after_ms: retryAfterMs(response.headers, this.#clock.now()) ?? 30_000 },
      });
    if (response.status === 429) throw limited();
    if (response.status >= 500) throw new RiposteError('channel.unavailable', `Slack ${method} answered HTTP ${response.status}`, { retryable: true });
    let answer: { ok?: boolean; error?: string; channel?: string; ts?: string };
    try {
      answer = response.json() as typeof answer;
    } catch {
      throw new RiposteError('channel.bad_response', `Slack ${method} answered HTTP ${response.status} without JSON`, { retryable: response.status !== 404 });
    }
    if (answer.ok !== true) {
      const code = typeof answer.error === 'string' ? answer.error.slice(0, 100) : 'unknown_error';
      if (code === 'ratelimited' || code === 'rate_limited') throw limited();
      const permanent = SLACK_PERMANENT.has(code);
      throw new RiposteError(permanent ? 'channel.rejected' : 'channel.unavailable', `Slack ${method} refused: ${code}`, { retryable: !permanent });
    }
    return { channel: String(answer.channel ?? body.channel), ts: String(answer.ts ?? body.ts) };
  }

  async #teams(url: string | undefined, card: unknown): Promise<unknown> {
    if (!url) throw new RiposteError('channel.not_configured', 'no Teams webhook URL is configured', { retryable: false });
    const host = new URL(url).host;
    const response = await this.#http.request({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(card) });
    const text = response.text().slice(0, 300);
    // Classic webhooks answer 200 "1"; some throttling comes back as 200 with the error in the text.
    if ((response.status === 200 && !/HTTP error 429/i.test(text)) || response.status === 202) return { status: response.status };
    if (response.status === 429 || /HTTP error 429/i.test(text)) {
      throw new RiposteError('channel.rate_limited', `the Teams webhook at ${host} is rate limited`, {
        retryable: true,
        details: { retry_after_ms: retryAfterMs(response.headers, this.#clock.now()) ?? 30_000 },
      });
    }
    if (response.status >= 500)
      throw new RiposteError('channel.unavailable', `the Teams webhook at ${host} answered HTTP ${response.status}`, { retryable: true });
    throw new RiposteError('channel.rejected', `the Teams webhook at ${host} refused the card: HTTP ${response.status} ${text.replace(/\s+/g, ' ')}`, {
      retryable: false,
    });
  }

  async #pagerDuty(store: Store, row: OutboxRecord, id: string, reviewUrl: string): Promise<unknown> {
    const pd = this.#config.approvals.on_call.pagerduty;
    if (!pd) throw new RiposteError('channel.not_configured', 'approvals.on_call.pagerduty is not configured', { retryable: false });
    const dedupKey = `riposte-approval-${id}`;
    let event: Record<string, unknown>;
    if (row.topic === 'oncall.resolve') {
      const page = await store.notifications.get(`${id}/page/pagerduty`);
      if (page?.status === 'pending') throw new WaitForRequest();
      if (page?.status !== 'sent') return { skipped: 'no incident was opened' };
      event = { routing_key: pd.routing_key, event_action: 'resolve', dedup_key: dedupKey };
    } else {
      const current = await this.#approval(store, id);
      const s = summarizeApproval(current, 500);
      event = {
        routing_key: pd.routing_key,
        event_action: 'trigger',
        dedup_key: dedupKey,
        payload: {
          summary: `Riposte: ${current.action.id} held for ${current.required} approvers (${s.reasons[0] ?? 'blast radius'})`.slice(0, 1024),
          source: 'riposte',
          severity: 'critical',
          component: current.action.id,
          group: current.context.playbook_id ?? 'approvals',
          class: 'approval.page_on_call',
          custom_details: {
            approval_id: id,
            reasons: s.reasons,
            required: current.required,
            expires_at: s.expiresAtIso,
            case_id: current.context.case_id ?? null,
          },
        },
        client: 'Riposte',
        client_url: reviewUrl,
        links: [{ href: reviewUrl, text: 'Review the approval in Riposte' }],
      };
    }
    const response = await this.#http.request({
      method: 'POST',
      url: `${pd.url.replace(/\/$/, '')}/v2/enqueue`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    if (response.status === 202 || response.status === 200) return { dedup_key: dedupKey, event_action: event.event_action };
    if (response.status === 429) {
      throw new RiposteError('channel.rate_limited', 'PagerDuty is throttling events', {
        retryable: true,
        details: { retry_after_ms: retryAfterMs(response.headers, this.#clock.now()) ?? 30_000 },
      });
    }
    if (response.status >= 500) throw new RiposteError('channel.unavailable', `PagerDuty answered HTTP ${response.status}`, { retryable: true });
    throw new RiposteError('channel.rejected', `PagerDuty refused the event: HTTP ${response.status} ${response.text().slice(0, 200).replace(/\s+/g, ' ')}`, {
      retryable: false,
    });
  }
}

/** A stable Message-ID per outbox row: a re-sent e-mail is recognisably the same message. */
function messageId(rowId: string): string {
  return `<${createHash('sha256').update(rowId).digest('hex').slice(0, 32)}@riposte.approvals>`;
}
