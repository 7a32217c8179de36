import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type AuthService, permissionsForRoles } from '../auth/index.ts';
import type { CasesService } from '../cases/index.ts';
import { type Actor, type Clock, type Config, describeError, type Logger, RiposteError, systemClock } from '../core/index.ts';
import type { ActionGuard, Engine, GuardOutcome, GuardRequest, GuardVerdict, StepError } from '../engine/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import {
  type AllowLists,
  ApprovalDesk,
  type ApprovalKeyring,
  type ApprovalLinkClaims,
  type ApprovalPrincipal,
  type ApprovalRequest,
  type AssetRecord,
  approvalFromStorage,
  approvalKeyring,
  approvalStorageRecord,
  buildSlackDecisionUpdate,
  type CompiledPolicy,
  CRITICALITIES,
  type Criticality,
  createApprovalLinkToken,
  type DecideResult,
  defaultPolicy,
  escapeSlackText,
  evaluatePolicy,
  formatPolicyIssues,
  openApprovalRequest,
  type PolicyDecision,
  type PolicyInput,
  type PolicyTarget,
  parsePolicyInput,
  parsePolicyYaml,
  parseSlackApprovalClick,
  parseSlackStepClick,
  policyDecisionRecord,
  policyDeniedError,
  type SlackMessage,
  type SlackStepClick,
  targetsFromArguments,
  VERDICTS,
  type Verdict,
  verifyApprovalLinkToken,
  verifyRelease,
  verifySlackRequest,
} from '../policy/index.ts';
import type { Store } from '../store/index.ts';
import { Containment, ROLLBACK_PLAYBOOK_ID } from './containment.ts';

/**
 * Guardrails wired: the runner's ActionGuard built on policy/, and the approval operations the HTTP
 * routes call (decide, edit, break-glass, one-time links, Slack clicks). Every policy decision and every
 * approval decision goes on the case timeline when the run is linked to a case, and always on the
 * audit chain. Approvals opened here are stored with the exact policy input that produced them, so an
 * edit re-checks policy with the same facts and only the arguments changed.
 *
 * Indicator facts come from the step's `with`: `confidence` (0–100), `verdict` (malicious, suspicious,
 * benign, unknown) and `indicator_source`. Blast-radius history counts, per action id, the guarded
 * actions performed in the last hour by any worker (kept in the store).
 */
export interface GuardrailsOptions {
  store: Store;
  config: Config;
  cases: CasesService;
  auth?: AuthService;
  logger: Logger;
  clock?: Clock;
  /**
   * Configured integration instances: the one named by `policy.cmdb_instance` (default `cmdb`) gives
   * each target's asset record (criticality, owner, environment) to policy.
   */
  integrations?: readonly IntegrationInstance[];
}

/** A target's asset record from the CMDB, or undefined when the CMDB does not know it. */
export type AssetLookup = (value: string) => Promise<AssetRecord | undefined>;

const SIGNING_SECRET_SETTING = 'approvals.signing_secret';
const HOUR_MS = 3_600_000;

type StoredApproval = ApprovalRequest & { policy_input?: PolicyInput };

export interface ApprovalView {
  id: string;
  kind: 'policy' | 'step';
  status: string;
  action: string | null;
  run_id: string | null;
  step: string | null;
  case_id: string | null;
  required?: number;
  approvals?: string[];
  expires_at: string | null;
  request?: ApprovalRequest;
}

export class Guardrails {
  readonly desk: ApprovalDesk;
  readonly keys: ApprovalKeyring;
  readonly policy: CompiledPolicy;
  readonly allowLists: AllowLists;
  readonly guard: ActionGuard;
  /** Actions with an inverse that ran: their expiry and rollback (containment.ts). */
  readonly containment: Containment;
  readonly #store: Store;
  readonly #config: Config;
  readonly #cases: CasesService;
  readonly #auth: AuthService | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #engine: Engine | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  /** Why a guarded action was let through (policy rule or approval), until it has run: the containment record's reason. */
  readonly #allowedBecause = new Map<string, string>();
  readonly #assets: AssetLookup | undefined;

  /** The CMDB's record for a hostname or address (policy.cmdb_instance), for callers that stage their own work (hunt remediation). */
  assetOf(value: string): Promise<AssetRecord | undefined> {
    return this.#assets ? this.#assets(value) : Promise.resolve(undefined);
  }

  private constructor(options: GuardrailsOptions, keys: ApprovalKeyring, policy: CompiledPolicy, allowLists: AllowLists) {
    this.#assets = cmdbAssetLookup(options.config, options.integrations ?? [], options.logger);
    this.#store = options.store;
    this.#config = options.config;
    this.#cases = options.cases;
    this.#auth = options.auth;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.keys = keys;
    this.policy = policy;
    this.allowLists = allowLists;
    this.desk = new ApprovalDesk({
      clock: this.#clock,
      keys,
      storage: {
        insert: (record) => this.#store.approvals.insert(record),
        get: (id) => this.#store.approvals.get(id),
        update: (record, expected) => this.#store.approvals.update(record, expected),
        listDue: (now, limit) => this.#store.approvals.listDue(now, limit),
        claimOnce: (key, expiresAt) => this.#store.approvals.claimOnce(key, expiresAt),
      },
    });
    this.containment = new Containment({ store: options.store, cases: options.cases, logger: options.logger, clock: this.#clock });
    this.guard = {
      check: (request) => this.#check(request),
      settle: (approvalId) => this.#settle(approvalId),
      release: (approvalId, context) => this.#release(approvalId, context),
      performed: async (request) => {
        await this.#store.approvals.recordGuardedAction({
          id: request.idempotencyKey,
          kind: request.action.id,
          at: this.#clock.now(),
          runId: request.run.id,
        });
        const reason = this.#allowedBecause.get(request.idempotencyKey);
        this.#allowedBecause.delete(request.idempotencyKey);
        await this.containment.record(request, reason);
      },
    };
  }

  static async create(options: GuardrailsOptions): Promise<Guardrails> {
    const keys = approvalKeyring(await signingSecret(options.store, options.config), options.config.approvals.previous_signing_secrets);
    return new Guardrails(options, keys, loadPolicy(options.config), loadAllowLists(options.config));
  }

  /** The engine whose guarded waits approvals resolve (built after the guard, which it needs). */
  attach(engine: Engine): void {
    this.#engine = engine;
    this.containment.attach(engine);
  }

  /** Resolves due approvals to their on_expiry outcome every `approvals.sweep_interval`. */
  startSweeper(): void {
    if (this.#sweeper) return;
    // Containment expiries that passed while nothing was running fire at start, not one interval later.
    void this.containment.sweep();
    this.#sweeper = setInterval(() => {
      void this.sweep();
      void this.containment.sweep();
    }, this.#config.approvals.sweep_interval);
    this.#sweeper.unref();
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.containment.detach();
  }

  async sweep(): Promise<number> {
    try {
      const resolved = await this.desk.expireDue();
      for (const { request, released } of resolved) {
        await this.#recordDecision(request, { kind: 'system', id: 'system', name: 'system' }, released ? 'expired, approved' : 'expired, rejected');
        await this.#deliver(request, released ? 'released' : 'rejected');
      }
      await this.#store.approvals.pruneOnceKeys(this.#clock.now());
      await this.#store.approvals.pruneGuardedActions(this.#clock.now() - 2 * HOUR_MS);
      return resolved.length;
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'approvals: expiry sweep failed');
      return 0;
    }
  }

  // ------------------------------------------------------------------ the runner's guard

  /** Guarded actions per action id in the last hour, from the store (every worker's actions count). */
  lastHour(): Promise<Record<string, number>> {
    return this.#store.approvals.countGuardedActions(this.#clock.now() - HOUR_MS);
  }

  policyInput(request: Pick<GuardRequest, 'action' | 'arguments' | 'rawInput' | 'run'>, lastHour: Record<string, number>, caseId?: string): PolicyInput {
    const raw = (request.rawInput ?? {}) as Record<string, unknown>;
    const confidence = typeof raw.confidence === 'number' ? raw.confidence : typeof raw.confidence === 'string' ? Number(raw.confidence) : undefined;
    const verdict = typeof raw.verdict === 'string' && (VERDICTS as readonly string[]).includes(raw.verdict) ? raw.verdict : undefined;
    const source = typeof raw.indicator_source === 'string' && raw.indicator_source !== '' ? raw.indicator_source : undefined;
    const asset = assetFact(raw.asset);
    return {
      action: { id: request.action.id, impact: request.action.impact, arguments: request.arguments },
      targets: [...targetsFromArguments(request.arguments), ...(asset ? [asset] : [])],
      ...(confidence !== undefined && Number.isFinite(confidence) && confidence >= 0 && confidence <= 100
        ? { indicator: { confidence, verdict: (verdict ?? 'unknown') as Verdict, ...(source ? { source } : {}) } }
        : {}),
      allow_lists: this.allowLists,
      history: { last_hour: lastHour },
      requester: { id: `playbook:${request.run.playbookId}`, kind: 'playbook' },
      ...(request.run.startedBy ? { initiator: { id: request.run.startedBy, kind: 'user' as const } } : {}),
      run: {
        id: request.run.id,
        playbook_id: request.run.playbookId,
        playbook_version: request.run.playbookVersion,
        ...(caseId ? { case_id: caseId } : {}),
      },
    };
  }

  /** Targets with their CMDB asset records (addresses and host names the CMDB knows). */
  async withAssets(targets: PolicyTarget[]): Promise<PolicyTarget[]> {
    const lookup = this.#assets;
    if (!lookup) return targets;
    return Promise.all(
      targets.map(async (target) => {
        if (target.asset || !['ipv4', 'ipv6', 'host', 'domain'].includes(target.type)) return target;
        const asset = await lookup(target.value);
        return asset ? { ...target, asset } : target;
      }),
    );
  }

  readonly #kindQueues = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier work of the same key in this process has finished. */
  async #serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#kindQueues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    this.#kindQueues.set(key, settled);
    try {
      return await next;
    } finally {
      if (this.#kindQueues.get(key) === settled) this.#kindQueues.delete(key);
    }
  }

  async #check(request: GuardRequest): Promise<GuardVerdict> {
    // The case is on the run row from the moment the run exists; a run linked to a case later (by the API)
    // is found through the case's links.
    const caseId = request.dryRun ? undefined : (request.run.caseId ?? (await this.#cases.casesOfRun(request.run.id))[0]);
    const base = this.policyInput(request, {}, caseId);
    base.targets = await this.withAssets(base.targets ?? []);
    // A rollback is a run that a recorded containment action points to, not any run of that playbook id.
    if (request.run.playbookId === ROLLBACK_PLAYBOOK_ID && (await this.#store.containedActions.getByRollbackRun(request.run.id))) {
      base.action = { ...base.action, rollback: true };
    }
    // Count, decide and (when allowed) count this action in one locked transaction: a wave of concurrent
    // runs cannot all see the count below the blast-radius limit before any of them is recorded.
    // In-process first (one waiter per kind), so a wave never parks a pooled connection per run on the lock.
    const { input, decision } = await this.#serialised(request.dryRun ? `dry:${request.idempotencyKey}` : request.action.id, () =>
      this.#store.transaction(async (tx) => {
        if (!request.dryRun) await tx.approvals.lockGuardedKind(request.action.id);
        const now = this.#clock.now();
        const decidedInput: PolicyInput = { ...base, history: { last_hour: await tx.approvals.countGuardedActions(now - HOUR_MS) } };
        const decided = evaluatePolicy(this.policy, decidedInput);
        if (!request.dryRun && decided.decision === 'allow') {
          await tx.approvals.recordGuardedAction({ id: request.idempotencyKey, kind: request.action.id, at: now, runId: request.run.id });
        }
        return { input: decidedInput, decision: decided };
      }),
    );
    const record = policyDecisionRecord(input, decision);
    if (request.dryRun) {
      if (decision.decision === 'require_approval') return { decision: 'require_approval', approvalId: '(dry-run)', expiresAt: 0, record };
      if (decision.decision === 'deny') return { decision: 'deny', error: stepError(policyDeniedError(input, decision)), record };
      return { decision: 'allow', record };
    }
    let approval: ApprovalRequest | undefined;
    if (decision.decision === 'require_approval') approval = await this.#openApproval(request, input, decision, caseId);
    await this.#recordPolicyDecision(request, record, decision, caseId, approval);
    if (decision.decision === 'allow') {
      if (this.#allowedBecause.size > 10_000) this.#allowedBecause.clear();
      if (request.action.inverse) this.#allowedBecause.set(request.idempotencyKey, `policy ${decision.rule.id}: ${decision.reasons[0]?.text ?? 'allowed'}`);
      return { decision: 'allow', record };
    }
    if (decision.decision === 'deny') return { decision: 'deny', error: stepError(policyDeniedError(input, decision)), record };
    const opened = approval as ApprovalRequest;
    return { decision: 'require_approval', approvalId: opened.id, expiresAt: opened.expires_at, record };
  }

  /** Opens the approval, or finds the one a crashed attempt of this same step opened already. */
  async #openApproval(
    request: GuardRequest,
    input: PolicyInput,
    decision: Extract<PolicyDecision, { decision: 'require_approval' }>,
    caseId: string | undefined,
  ): Promise<ApprovalRequest> {
    for (const existing of await this.#store.approvals.listByRun(request.run.id)) {
      const doc = approvalFromStorage(existing.document);
      if (doc.context.step_id === request.stepKey && doc.status === 'pending') return doc;
    }
    const opened: StoredApproval = {
      ...openApprovalRequest(
        {
          action: { id: request.action.id, impact: request.action.impact },
          arguments: request.arguments,
          decision,
          evidence: input.indicator
            ? [
                {
                  kind: 'indicator',
                  id: input.indicator.source ?? request.stepId,
                  title: `confidence ${input.indicator.confidence}, verdict ${input.indicator.verdict ?? 'unknown'}`,
                },
              ]
            : [],
          requester: input.requester.id,
          ...(request.run.startedBy ? { initiator: request.run.startedBy } : {}),
          ...(request.run.author ? { playbookLastAuthor: request.run.author } : {}),
          context: { run_id: request.run.id, step_id: request.stepKey, playbook_id: request.run.playbookId, ...(caseId ? { case_id: caseId } : {}) },
        },
        this.#clock,
      ),
      policy_input: input,
    };
    if (!(await this.#store.approvals.insert(approvalStorageRecord(opened)))) {
      throw new RiposteError('conflict', `approval ${opened.id} already exists`, { status: 409, retryable: true });
    }
    if (opened.page_on_call) {
      this.#logger.warn({ approval_id: opened.id, action: opened.action.id, run_id: request.run.id }, 'approvals: policy pages the on-call');
      // The page itself is a chained record (`policy.page`): whoever delivers pages (chat, e-mail) reads it from there.
      const actor: Actor = { kind: 'system', id: 'system:policy', name: 'policy' };
      const details = {
        approval_id: opened.id,
        action: opened.action.id,
        run_id: request.run.id,
        rule: opened.policy.rule.id,
        reason: opened.policy.reasons[0]?.text ?? '',
        required: opened.required,
        review_url: this.reviewUrl(opened.id),
      };
      const summary = `On-call paged: ${opened.action.id} needs ${opened.required} approvers (${details.reason})`.slice(0, 2000);
      try {
        if (caseId) await this.#cases.appendTimeline(caseId, { kind: 'policy.page', summary, details }, actor);
        else await this.#cases.recordAudit({ actor, action: 'policy.page', target: `approval:${opened.id}`, details: { summary, ...details } });
      } catch (error) {
        this.#logger.warn({ err: describeError(error), approval_id: opened.id }, 'guardrails: recording a page failed');
      }
    }
    return opened;
  }

  async #settle(approvalId: string): Promise<GuardOutcome> {
    let request = await this.desk.get(approvalId);
    if (request.status === 'pending' && this.#clock.now() >= request.expires_at) {
      await this.sweep();
      request = await this.desk.get(approvalId);
    }
    if (request.status === 'approved') return { status: 'released' };
    if (request.status === 'rejected') return { status: 'rejected', error: rejectionError(request) };
    return { status: 'pending' };
  }

  async #release(approvalId: string, context: { runId: string; stepKey: string }): Promise<{ arguments: Record<string, unknown> }> {
    const request = await this.desk.get(approvalId);
    if (request.context.run_id !== context.runId || request.context.step_id !== context.stepKey) {
      throw new RiposteError('approvals.not_approved', `approval ${approvalId} belongs to another step; refusing to act`, { status: 409 });
    }
    const released = verifyRelease(request, this.keys);
    const by = request.resolution ? `${request.resolution.how} by ${request.resolution.by}` : 'approved';
    if (this.#allowedBecause.size > 10_000) this.#allowedBecause.clear();
    this.#allowedBecause.set(`${context.runId}:${context.stepKey}`, `approval ${approvalId} (${by})`);
    return { arguments: released.arguments };
  }

  // ------------------------------------------------------------------ approvals for the API

  /** The shared inbox: pending policy approvals and open approval steps of playbooks, oldest first. */
  async inbox(): Promise<ApprovalView[]> {
    const policy = (await this.#store.approvals.listPending({ limit: 500 })).map((r) => approvalView(approvalFromStorage(r.document)));
    const steps = this.#engine ? await this.#engine.listApprovals() : [];
    const stepViews: ApprovalView[] = steps
      .filter((w) => typeof (w.request as { approval_id?: unknown } | null)?.approval_id !== 'string')
      .map((w) => ({
        id: `${w.runId}/${w.stepKey}`,
        kind: 'step',
        status: 'pending',
        action: null,
        run_id: w.runId,
        step: w.stepKey,
        case_id: null,
        expires_at: w.wakeAt === null ? null : new Date(w.wakeAt).toISOString(),
      }));
    return [...policy, ...stepViews];
  }

  async get(id: string): Promise<ApprovalView> {
    return approvalView(await this.desk.get(id), true);
  }

  async principalOf(actor: Actor): Promise<ApprovalPrincipal> {
    return { id: actor.name, roles: actor.roles ?? [], name: actor.name };
  }

  async decide(
    id: string,
    approver: ApprovalPrincipal,
    vote: { decision: 'approve' | 'reject'; arguments_hash: string; comment?: string; channel?: 'api' | 'ui' | 'link' | 'slack' },
  ): Promise<DecideResult> {
    const result = await this.desk.decide(id, {
      approver,
      decision: vote.decision,
      arguments_hash: vote.arguments_hash,
      channel: vote.channel ?? 'api',
      ...(vote.comment ? { comment: vote.comment } : {}),
    });
    await this.#afterDecision(result, approver, vote.decision === 'approve' ? 'approved' : 'rejected');
    return result;
  }

  async edit(id: string, editor: ApprovalPrincipal, edit: { arguments: Record<string, unknown>; arguments_hash: string; comment?: string }) {
    const stored = (await this.desk.get(id)) as StoredApproval;
    const base = stored.policy_input;
    const lastHour = await this.lastHour();
    const editedTargets = await this.withAssets(targetsFromArguments(edit.arguments));
    const result = await this.desk.edit(
      id,
      { editor, arguments: edit.arguments, arguments_hash: edit.arguments_hash, ...(edit.comment ? { comment: edit.comment } : {}) },
      (args) =>
        evaluatePolicy(this.policy, {
          ...(base ?? { requester: { id: stored.requester } }),
          action: { ...(base?.action ?? { id: stored.action.id, impact: stored.action.impact }), arguments: args },
          targets: args === edit.arguments ? editedTargets : targetsFromArguments(args),
          allow_lists: this.allowLists,
          history: { last_hour: lastHour },
        } as PolicyInput),
    );
    await this.#recordDecision(result.request, actorFor(editor), `arguments edited (policy: ${result.policy.decision} by ${result.policy.rule.id})`, {
      from_hash: edit.arguments_hash,
      to_hash: result.request.arguments_hash,
    });
    return result;
  }

  async breakGlass(id: string, admin: ApprovalPrincipal, reason: string): Promise<DecideResult> {
    const result = await this.desk.breakGlass(id, { admin, reason, channel: 'api' });
    await this.#afterDecision(result, admin, 'approved by break-glass (flagged for review)');
    return result;
  }

  /** A one-time link for one approver and one decision (for e-mail and Teams messages). */
  async createLink(id: string, approver: string, decision: 'approve' | 'reject', ttlMs?: number): Promise<{ token: string; claims: ApprovalLinkClaims }> {
    const request = await this.desk.get(id);
    return createApprovalLinkToken(
      { approval_id: id, approver, decision, arguments_hash: request.arguments_hash, ttl_ms: ttlMs ?? this.#config.approvals.link_ttl },
      { clock: this.#clock, keys: this.keys },
    );
  }

  /** What a link would do, without spending it (the confirmation page). */
  async previewLink(token: string): Promise<{ claims: ApprovalLinkClaims; request: ApprovalRequest }> {
    const claims = verifyApprovalLinkToken(token, { clock: this.#clock, keys: this.keys });
    return { claims, request: await this.desk.get(claims.approval_id) };
  }

  async useLink(token: string): Promise<DecideResult> {
    const claims = await this.desk.claimLink(token);
    const approver = await this.#userPrincipal(claims.approver);
    return this.decide(claims.approval_id, approver, { decision: claims.decision, arguments_hash: claims.arguments_hash, channel: 'link' });
  }

  /** A Slack button click: signature and replay checked, the Slack user mapped to a Riposte user. */
  async slackInteraction(rawBody: string, headers: Record<string, string | string[] | undefined>): Promise<SlackMessage> {
    const secret = this.#config.slack.signing_secret;
    if (!secret) throw new RiposteError('slack.not_configured', 'Slack interactions are not configured (slack.signing_secret)', { status: 404 });
    await verifySlackRequest({ rawBody, headers, signingSecret: secret, clock: this.#clock, ledger: this.desk.ledger });
    const stepClick = parseSlackStepClick(rawBody);
    if (stepClick) return this.#slackStepDecision(stepClick);
    const click = parseSlackApprovalClick(rawBody);
    const userName = this.#config.slack.users[click.slack_user.id];
    if (!userName) {
      throw new RiposteError('slack.unknown_user', `Slack user ${click.slack_user.id} is not mapped to a Riposte user (slack.users)`, { status: 403 });
    }
    const approver = await this.#userPrincipal(userName);
    const result = await this.decide(click.approval_id, approver, {
      decision: click.decision,
      arguments_hash: click.arguments_hash,
      channel: 'slack',
    });
    return buildSlackDecisionUpdate(result.request, { reviewUrl: this.reviewUrl(result.request.id) });
  }

  /**
   * A click on a playbook approval step's button: decided by the engine as the mapped Riposte user with
   * their roles, so separation of duties (not the run's starter, not the playbook's author) and the step's
   * approvers list hold exactly as through the API; and, as the API route demands, only a user who may
   * decide approvals at all.
   */
  async #slackStepDecision(click: SlackStepClick): Promise<SlackMessage> {
    const userName = this.#config.slack.users[click.slack_user.id];
    if (!userName) {
      throw new RiposteError('slack.unknown_user', `Slack user ${click.slack_user.id} is not mapped to a Riposte user (slack.users)`, { status: 403 });
    }
    const approver = await this.#userPrincipal(userName);
    if (!permissionsForRoles(approver.roles).includes('approvals:decide')) {
      throw new RiposteError('auth.forbidden', `${userName} may not decide approvals (needs permission approvals:decide)`, {
        status: 403,
        details: { permission: 'approvals:decide' },
      });
    }
    if (!this.#engine) throw new RiposteError('engine.unavailable', 'the engine is not attached yet; try again', { status: 503, retryable: true });
    await this.#engine.decide(click.run_id, click.step_key, { decision: click.decision, actor: approver.id, roles: approver.roles });
    const text = `${click.decision === 'approve' ? 'Approved' : 'Rejected'} by ${userName}`;
    // The message itself is updated through the outbox (chat.update) once the run takes the decision.
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: escapeSlackText(text) } }] };
  }

  reviewUrl(id: string): string {
    return `${this.#config.server.public_url ?? `http://${this.#config.server.host}:${this.#config.server.port}`}/approvals/${id}`;
  }

  async #userPrincipal(name: string): Promise<ApprovalPrincipal> {
    if (!this.#auth) return { id: name, roles: [] };
    const user = await this.#auth.getUser(name);
    if ((user as { disabled?: boolean }).disabled) throw new RiposteError('auth.disabled', `user ${name} is disabled`, { status: 403 });
    return { id: user.name, roles: [...user.roles], name: user.name };
  }

  async #afterDecision(result: DecideResult, who: ApprovalPrincipal, what: string): Promise<void> {
    const request = result.request;
    const so_far =
      request.status === 'pending'
        ? ` (${request.decisions.filter((d) => d.decision === 'approve' && d.arguments_hash === request.arguments_hash).length} of ${request.required})`
        : '';
    await this.#recordDecision(request, actorFor(who), `${what}${so_far}`, { signature: result.decision.signature, key_id: result.decision.key_id });
    if (result.released) await this.#deliver(request, 'released');
    else if (result.rejected) await this.#deliver(request, 'rejected');
  }

  /** Tells the engine: the guarded step runs now, or fails. A wait resolved already (expiry raced a click) is fine. */
  async #deliver(request: ApprovalRequest, outcome: 'released' | 'rejected'): Promise<void> {
    const { run_id: runId, step_id: stepKey } = request.context;
    if (!this.#engine || !runId || !stepKey) return;
    try {
      await this.#engine.resolveGuardedApproval(
        runId,
        stepKey,
        outcome === 'released'
          ? { approvalId: request.id, status: 'released' }
          : { approvalId: request.id, status: 'rejected', error: rejectionError(request) },
      );
    } catch (error) {
      if (error instanceof RiposteError && (error.code === 'conflict' || error.code === 'not_found')) return;
      throw error;
    }
  }

  async #recordPolicyDecision(
    request: GuardRequest,
    record: ReturnType<typeof policyDecisionRecord>,
    decision: PolicyDecision,
    caseId: string | undefined,
    approval: ApprovalRequest | undefined,
  ): Promise<void> {
    const actor: Actor = { kind: 'playbook', id: `playbook:${request.run.playbookId}`, name: request.run.playbookId };
    const verb = decision.decision === 'allow' ? 'allowed' : decision.decision === 'deny' ? 'denied' : `needs ${approval?.required ?? 1} approver(s)`;
    const summary = `Policy ${verb} ${request.action.id} on ${record.targets.join(', ') || 'no target'}: ${decision.reasons[0]?.text ?? ''}`.slice(0, 2000);
    const details = { ...(record as unknown as Record<string, unknown>), step: request.stepKey, ...(approval ? { approval_id: approval.id } : {}) };
    try {
      if (caseId) await this.#cases.appendTimeline(caseId, { kind: 'policy.decision', summary, details }, actor);
      else await this.#cases.recordAudit({ actor, action: 'policy.decision', target: `run:${request.run.id}`, details: { summary, ...details } });
    } catch (error) {
      this.#logger.warn({ err: describeError(error), run_id: request.run.id }, 'guardrails: recording a policy decision failed');
    }
  }

  async #recordDecision(request: ApprovalRequest, actor: Actor, what: string, extra: Record<string, unknown> = {}): Promise<void> {
    const summary = `Approval ${request.id} for ${request.action.id}: ${what}`.slice(0, 2000);
    const details = {
      approval_id: request.id,
      action: request.action.id,
      status: request.status,
      arguments_hash: request.arguments_hash,
      run_id: request.context.run_id ?? null,
      step: request.context.step_id ?? null,
      review_required: request.review_required,
      ...extra,
    };
    try {
      if (request.context.case_id) await this.#cases.appendTimeline(request.context.case_id, { kind: 'approval.decision', summary, details }, actor);
      else await this.#cases.recordAudit({ actor, action: 'approval.decision', target: `approval:${request.id}`, details: { summary, ...details } });
    } catch (error) {
      this.#logger.warn({ err: describeError(error), approval_id: request.id }, 'guardrails: recording an approval decision failed');
    }
  }
}

function actorFor(principal: ApprovalPrincipal): Actor {
  return { kind: 'user', id: principal.id, name: principal.name ?? principal.id, roles: [...principal.roles] };
}

function stepError(error: RiposteError): StepError {
  return { code: error.code, message: error.message, retryable: false, ...(error.details ?? {}) };
}

function rejectionError(request: ApprovalRequest): StepError {
  const how = request.resolution?.how;
  if (how === 'expired') {
    return {
      code: 'policy.approval_expired',
      message: `approval ${request.id} for ${request.action.id} expired unanswered and was rejected`,
      approval_id: request.id,
    };
  }
  const by = request.resolution?.by ?? 'an approver';
  const comment = [...request.decisions].reverse().find((d) => d.decision === 'reject')?.comment;
  return {
    code: 'policy.approval_rejected',
    message: `approval ${request.id} for ${request.action.id} was rejected by ${by}${comment ? `: ${comment}` : ''}`,
    approval_id: request.id,
  };
}

function approvalView(request: ApprovalRequest, full = false): ApprovalView {
  const approvals = [
    ...new Set(request.decisions.filter((d) => d.decision === 'approve' && d.arguments_hash === request.arguments_hash).map((d) => d.approver)),
  ];
  return {
    id: request.id,
    kind: 'policy',
    status: request.status,
    action: request.action.id,
    run_id: request.context.run_id ?? null,
    step: request.context.step_id ?? null,
    case_id: request.context.case_id ?? null,
    required: request.required,
    approvals,
    expires_at: new Date(request.expires_at).toISOString(),
    ...(full ? { request: (({ policy_input: _omit, ...rest }: StoredApproval) => rest)(request as StoredApproval) as ApprovalRequest } : {}),
  };
}

/** The configured signing secret, or the one generated on first start and kept in the settings store. */
async function signingSecret(store: Store, config: Config): Promise<string> {
  if (config.approvals.signing_secret) return config.approvals.signing_secret;
  const stored = await store.settings.get<string>(SIGNING_SECRET_SETTING);
  if (typeof stored === 'string' && Buffer.byteLength(stored) >= 32) return stored;
  const generated = randomBytes(32).toString('base64url');
  await store.settings.set(SIGNING_SECRET_SETTING, generated);
  // Two processes starting together: whichever write landed last is the key everyone uses.
  return (await store.settings.get<string>(SIGNING_SECRET_SETTING)) ?? generated;
}

/**
 * The CMDB lookup policy uses: the configured instance named by `policy.cmdb_instance`, if there is one.
 * When the CMDB cannot answer (file unreadable, service down) the target counts as critical, so the
 * action goes to a person rather than through unchecked.
 */
function cmdbAssetLookup(config: Config, instances: readonly IntegrationInstance[], logger: Logger): AssetLookup | undefined {
  const name = config.policy.cmdb_instance;
  const instance = instances.find((i) => i.name === name);
  if (!instance) return undefined;
  if (!instance.actionNames().includes('lookup')) {
    throw new RiposteError(
      'config.invalid',
      `policy.cmdb_instance names ${name}, a ${instance.integration.id} instance without a lookup action; name a cmdb instance`,
    );
  }
  return async (value) => {
    try {
      const answer = (await instance.run('lookup', { value }, { idempotencyKey: `policy-asset:${value}` })) as {
        found?: boolean;
        asset?: { name?: string | null; owner?: string | null; criticality?: string | null; environment?: string | null } | null;
      };
      if (!answer.found || !answer.asset?.criticality) return undefined;
      const asset = answer.asset;
      return {
        criticality: asset.criticality as AssetRecord['criticality'],
        ...(asset.name ? { name: asset.name } : {}),
        ...(asset.owner ? { owner: asset.owner } : {}),
        ...(asset.environment ? { environment: asset.environment } : {}),
      };
    } catch (error) {
      logger.warn({ err: describeError(error), instance: name }, 'guardrails: CMDB lookup failed; treating the target as critical');
      return { name: `unknown (CMDB ${name} did not answer)`, criticality: 'critical' };
    }
  };
}

/**
 * The asset an action affects, when the step passes its CMDB record as `asset` (e.g. the internal server an
 * alerting external IP talks to): it becomes a target, so critical-asset rules see it. Null fields from
 * the CMDB are dropped; anything without a known criticality is ignored.
 */
function assetFact(value: unknown): PolicyTarget | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const criticality = record.criticality;
  if (typeof criticality !== 'string' || !(CRITICALITIES as readonly string[]).includes(criticality)) return undefined;
  const text = (key: string) => (typeof record[key] === 'string' && record[key] !== '' ? (record[key] as string) : undefined);
  const asset: NonNullable<PolicyTarget['asset']> = { criticality: criticality as Criticality };
  for (const key of ['id', 'name', 'owner', 'environment'] as const) {
    const v = text(key);
    if (v !== undefined) asset[key] = v;
  }
  const label = text('hostname') ?? text('name') ?? text('ip') ?? text('id') ?? 'asset';
  return { type: 'host', value: label, asset };
}

function loadPolicy(config: Config): CompiledPolicy {
  const file = config.policy.file;
  if (!file) return defaultPolicy();
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RiposteError('config.invalid', `policy.file ${path} cannot be read: ${(error as Error).message}`);
  }
  const result = parsePolicyYaml(text);
  if (!result.policy) throw new RiposteError('config.invalid', `policy.file is not a valid policy:\n${formatPolicyIssues(path, result.issues)}`);
  return result.policy;
}

function loadAllowLists(config: Config): AllowLists {
  const merged: Record<string, unknown[]> = { cidrs: [], domains: [], partners: [], warning_list_hits: [] };
  const add = (lists: unknown, from: string) => {
    if (lists === undefined || lists === null) return;
    if (typeof lists !== 'object' || Array.isArray(lists)) throw new RiposteError('config.invalid', `${from} must be a mapping of allow-lists`);
    for (const [key, value] of Object.entries(lists as Record<string, unknown>)) {
      if (!(key in merged)) throw new RiposteError('config.invalid', `${from}.${key} is not an allow-list (cidrs, domains, partners, warning_list_hits)`);
      if (!Array.isArray(value)) throw new RiposteError('config.invalid', `${from}.${key} must be a list`);
      merged[key]?.push(...value);
    }
  };
  add(config.policy.allow_lists, 'policy.allow_lists');
  if (config.policy.allow_lists_file) {
    const path = resolve(config.policy.allow_lists_file);
    try {
      add(parseYaml(readFileSync(path, 'utf8')), `policy.allow_lists_file (${path})`);
    } catch (error) {
      if (error instanceof RiposteError) throw error;
      throw new RiposteError('config.invalid', `policy.allow_lists_file ${path} cannot be read: ${(error as Error).message}`);
    }
  }
  const { issues } = parsePolicyInput({ action: { id: 'config.check', impact: 'write' }, requester: { id: 'config' }, allow_lists: merged });
  if (issues.length > 0) {
    const first = issues[0] as { path: Array<string | number>; message: string };
    throw new RiposteError('config.invalid', `policy.allow_lists.${first.path.slice(1).join('.')}: ${first.message}`);
  }
  return merged as AllowLists;
}

export type { SlackMessage };
