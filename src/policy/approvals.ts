import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, canonicalJson, newId, RiposteError } from '../core/index.ts';
import type { DecidingRule, PolicyDecision, PolicyReason } from './evaluate-policy.ts';
import type { Impact } from './policy-input.ts';

/**
 * Approvals as pure domain logic: no I/O, time from a Clock, keys passed in. A request is opened when
 * policy says require_approval; decisions are M-of-N by distinct eligible approvers; one rejection is a
 * veto; the people who asked for the action cannot approve it; edited arguments void earlier approvals;
 * an unanswered request resolves to its on_expiry outcome (reject unless the policy said otherwise);
 * an admin can break glass with a reason, which flags the request for review. Every decision is signed
 * (HMAC-SHA256 over approval id, decision, arguments hash, approver, time), and `verifyRelease` — what
 * the runner calls right before acting — recomputes the arguments hash and checks every signature that
 * counts, so arguments altered in storage after approval are refused.
 *
 * Every function returns a new request with `revision` bumped. Storage must save it only if the stored
 * revision is still the one read (compare-and-set): that is what makes "released" happen exactly once
 * when two approvers click at the same moment.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected';
export type DecisionVerb = 'approve' | 'reject' | 'break_glass' | 'expire';
export type ApprovalChannel = 'api' | 'ui' | 'link' | 'slack' | 'teams' | 'email' | 'system';

export interface ApprovalKey {
  /** Key id, stored with each signature so keys can rotate. */
  id: string;
  /** Server secret (at least 32 bytes). */
  secret: string | Uint8Array;
}

export interface ApprovalKeyring {
  /** Signs new decisions and links. */
  current: ApprovalKey;
  /** Still accepted for verification (rotation). */
  previous?: ApprovalKey[];
}

export interface ApprovalPrincipal {
  id: string;
  roles: readonly string[];
  /** Display name for messages. */
  name?: string;
}

export interface EvidenceRef {
  /** e.g. observable, verdict, alert, step_output, case */
  kind: string;
  id: string;
  title?: string;
}

export interface SignedDecision {
  approval_id: string;
  decision: DecisionVerb;
  arguments_hash: string;
  approver: string;
  at: number;
  channel: ApprovalChannel;
  comment?: string;
  /** Mandatory for break_glass. */
  reason?: string;
  key_id: string;
  /** base64url HMAC-SHA256. */
  signature: string;
}

export interface ArgumentEdit {
  editor: string;
  at: number;
  from_hash: string;
  to_hash: string;
  comment?: string;
  /** The policy decision for the edited arguments. */
  policy_rule: string;
}

export interface ApprovalResolution {
  outcome: 'approved' | 'rejected';
  how: 'quorum' | 'rejected' | 'expired' | 'break_glass';
  at: number;
  by: string;
}

export interface ApprovalRequest {
  id: string;
  /** Bumped by every change: storage saves with compare-and-set on it. */
  revision: number;
  status: ApprovalStatus;
  action: { id: string; impact: Impact };
  arguments: Record<string, unknown>;
  /** sha256 (hex) of the RFC 8785 canonical JSON of `arguments`. */
  arguments_hash: string;
  evidence: EvidenceRef[];
  policy: { rule: DecidingRule; reasons: PolicyReason[] };
  /** M: distinct approvals needed. */
  required: number;
  /** Roles allowed to approve. */
  roles: string[];
  page_on_call: boolean;
  created_at: number;
  expires_at: number;
  on_expiry: 'reject' | 'approve';
  requester: string;
  initiator?: string;
  playbook_last_author?: string;
  context: { run_id?: string; step_id?: string; case_id?: string; playbook_id?: string };
  /** Every decision ever made, including ones voided by an edit. */
  decisions: SignedDecision[];
  edits: ArgumentEdit[];
  resolution?: ApprovalResolution;
  /** Break-glass approvals are reviewed afterwards. */
  review_required: boolean;
}

export interface ApprovalContext {
  clock: Clock;
  keys: ApprovalKeyring;
}

export const MIN_KEY_BYTES = 32;

/**
 * A keyring from secrets as configured (the current one first, then retired ones still accepted for
 * verification). Key ids are derived from the secret, so a signature names the key without revealing it.
 */
export function approvalKeyring(current: string | Uint8Array, previous: Array<string | Uint8Array> = []): ApprovalKeyring {
  const key = (secret: string | Uint8Array, which: string): ApprovalKey => {
    if (Buffer.byteLength(secret) < MIN_KEY_BYTES) {
      throw new RiposteError('approvals.weak_key', `the ${which} approval signing key must be at least ${MIN_KEY_BYTES} bytes`, { status: 500 });
    }
    return { id: createHash('sha256').update('riposte/approval-key-id/v1').update(secret).digest('hex').slice(0, 16), secret };
  };
  return { current: key(current, 'current'), previous: previous.map((secret, i) => key(secret, `previous[${i}]`)) };
}

function approvalError(code: string, message: string, status: number, details?: Record<string, unknown>): RiposteError {
  return new RiposteError(code, message, { status, details });
}

export function hashArguments(args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(args)).digest('hex');
}

const purposeKeys = new WeakMap<ApprovalKey, Map<string, Buffer>>();

/** A key per purpose, so a decision signature can never be replayed as a link token or vice versa. */
function derivedKey(key: ApprovalKey, purpose: string): Buffer {
  let byPurpose = purposeKeys.get(key);
  if (!byPurpose) {
    byPurpose = new Map();
    purposeKeys.set(key, byPurpose);
  }
  let derived = byPurpose.get(purpose);
  if (!derived) {
    derived = createHmac('sha256', key.secret).update(`riposte/${purpose}/v1`).digest();
    byPurpose.set(purpose, derived);
  }
  return derived;
}

function keyById(keys: ApprovalKeyring, id: string): ApprovalKey | undefined {
  if (keys.current.id === id) return keys.current;
  return keys.previous?.find((k) => k.id === id);
}

function mac(key: ApprovalKey, purpose: string, data: string): Buffer {
  return createHmac('sha256', derivedKey(key, purpose)).update(data).digest();
}

function sameMac(expected: Buffer, presented: string): boolean {
  const given = Buffer.from(presented, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function decisionPayload(d: Pick<SignedDecision, 'approval_id' | 'decision' | 'arguments_hash' | 'approver' | 'at' | 'reason'>): string {
  return canonicalJson({
    approval_id: d.approval_id,
    decision: d.decision,
    arguments_hash: d.arguments_hash,
    approver: d.approver,
    at: d.at,
    reason: d.reason,
  });
}

export function signDecision(unsigned: Omit<SignedDecision, 'key_id' | 'signature'>, keys: ApprovalKeyring): SignedDecision {
  const signature = mac(keys.current, 'approval-decision', decisionPayload(unsigned)).toString('base64url');
  return { ...unsigned, key_id: keys.current.id, signature };
}

/** True when the decision's signature matches its fields under a known key. */
export function verifyDecisionSignature(decision: SignedDecision, keys: ApprovalKeyring): boolean {
  const key = keyById(keys, decision.key_id);
  if (!key || typeof decision.signature !== 'string') return false;
  return sameMac(mac(key, 'approval-decision', decisionPayload(decision)), decision.signature);
}

export interface OpenApprovalParams {
  id?: string;
  action: { id: string; impact: Impact };
  arguments: Record<string, unknown>;
  /** The policy decision that asked for approval. */
  decision: Extract<PolicyDecision, { decision: 'require_approval' }>;
  evidence?: EvidenceRef[];
  requester: string;
  initiator?: string;
  playbookLastAuthor?: string;
  context?: ApprovalRequest['context'];
}

export function openApprovalRequest(params: OpenApprovalParams, clock: Clock): ApprovalRequest {
  const now = clock.now();
  const { approval } = params.decision;
  return {
    id: params.id ?? newId(now),
    revision: 1,
    status: 'pending',
    action: params.action,
    arguments: params.arguments,
    arguments_hash: hashArguments(params.arguments),
    evidence: params.evidence ?? [],
    policy: { rule: params.decision.rule, reasons: params.decision.reasons },
    required: approval.approvers,
    roles: [...approval.roles],
    page_on_call: approval.page_on_call,
    created_at: now,
    expires_at: now + approval.expires_after_ms,
    on_expiry: approval.on_expiry,
    requester: params.requester,
    initiator: params.initiator,
    playbook_last_author: params.playbookLastAuthor,
    context: params.context ?? {},
    decisions: [],
    edits: [],
    review_required: false,
  };
}

/** Ids that may not approve: whoever asked for the action, started the run, or last wrote the playbook. */
export function excludedApprovers(request: ApprovalRequest): Array<{ id: string; as: string }> {
  const out: Array<{ id: string; as: string }> = [{ id: request.requester, as: 'the requester' }];
  if (request.initiator) out.push({ id: request.initiator, as: "the run's initiator" });
  if (request.playbook_last_author) out.push({ id: request.playbook_last_author, as: "the playbook's last author" });
  return out;
}

function assertOpen(request: ApprovalRequest, now: number): void {
  if (request.status !== 'pending') {
    throw approvalError(
      'approvals.already_resolved',
      `approval ${request.id} is already ${request.status} (${request.resolution?.how ?? 'resolved'}); no further decisions count`,
      409,
    );
  }
  if (now >= request.expires_at) {
    throw approvalError(
      'approvals.expired',
      `approval ${request.id} expired at ${new Date(request.expires_at).toISOString()}; it resolves to ${request.on_expiry}`,
      410,
    );
  }
}

function assertEligible(request: ApprovalRequest, who: ApprovalPrincipal): void {
  const excluded = excludedApprovers(request).find((e) => e.id === who.id);
  if (excluded) {
    throw approvalError('approvals.separation_of_duties', `${who.id} is ${excluded.as} of this action and cannot approve it; another approver must`, 403, {
      role: excluded.as,
    });
  }
  if (!who.roles.some((role) => request.roles.includes(role))) {
    throw approvalError('approvals.role_not_allowed', `${who.id} has none of the roles allowed to approve this action (${request.roles.join(', ')})`, 403);
  }
}

/** Distinct approvers whose approval counts: for the current arguments hash, not voided. */
export function countedApprovers(request: ApprovalRequest): string[] {
  const seen = new Set<string>();
  for (const d of request.decisions) if (d.decision === 'approve' && d.arguments_hash === request.arguments_hash) seen.add(d.approver);
  return [...seen];
}

export interface Vote {
  approver: ApprovalPrincipal;
  decision: 'approve' | 'reject';
  /** The arguments hash the approver was shown: a decision on stale arguments is refused. */
  arguments_hash: string;
  channel: ApprovalChannel;
  comment?: string;
}

export interface DecideResult {
  request: ApprovalRequest;
  decision: SignedDecision;
  /** True exactly for the decision that completed the quorum: the runner releases the action now. */
  released: boolean;
  /** True when this decision rejected the request. */
  rejected: boolean;
}

/**
 * Records one approver's decision. Throws with a stable code when it cannot count:
 * approvals.already_resolved, approvals.expired, approvals.arguments_changed,
 * approvals.separation_of_duties, approvals.role_not_allowed, approvals.duplicate_approver.
 * Rejection is always accepted from an eligible role, even from the requester (withdrawing is safe).
 */
export function decideApproval(request: ApprovalRequest, vote: Vote, ctx: ApprovalContext): DecideResult {
  const now = ctx.clock.now();
  assertOpen(request, now);
  if (vote.arguments_hash !== request.arguments_hash) {
    throw approvalError(
      'approvals.arguments_changed',
      `the arguments of approval ${request.id} changed since they were shown (hash ${vote.arguments_hash.slice(0, 12)}…, now ${request.arguments_hash.slice(0, 12)}…); review them again`,
      409,
    );
  }
  if (vote.decision === 'approve') {
    assertEligible(request, vote.approver);
    if (countedApprovers(request).includes(vote.approver.id)) {
      throw approvalError(
        'approvals.duplicate_approver',
        `${vote.approver.id} already approved ${request.id}; ${request.required} distinct approvers are needed`,
        409,
      );
    }
  } else if (!vote.approver.roles.some((role) => request.roles.includes(role)) && !excludedApprovers(request).some((e) => e.id === vote.approver.id)) {
    throw approvalError(
      'approvals.role_not_allowed',
      `${vote.approver.id} has none of the roles allowed to decide this action (${request.roles.join(', ')})`,
      403,
    );
  }
  const decision = signDecision(
    {
      approval_id: request.id,
      decision: vote.decision,
      arguments_hash: request.arguments_hash,
      approver: vote.approver.id,
      at: now,
      channel: vote.channel,
      comment: vote.comment,
    },
    ctx.keys,
  );
  const next: ApprovalRequest = { ...request, revision: request.revision + 1, decisions: [...request.decisions, decision] };
  if (vote.decision === 'reject') {
    next.status = 'rejected';
    next.resolution = { outcome: 'rejected', how: 'rejected', at: now, by: vote.approver.id };
    return { request: next, decision, released: false, rejected: true };
  }
  const released = countedApprovers(next).length >= next.required;
  if (released) {
    next.status = 'approved';
    next.resolution = { outcome: 'approved', how: 'quorum', at: now, by: vote.approver.id };
  }
  return { request: next, decision, released, rejected: false };
}

export interface ArgumentEditParams {
  editor: ApprovalPrincipal;
  arguments: Record<string, unknown>;
  /** The hash the editor was shown. */
  arguments_hash: string;
  comment?: string;
}

/**
 * An approver changes the arguments (e.g. shortens a block's TTL). `recheck` evaluates policy for the
 * edited arguments; a deny refuses the edit (approvals.edit_denied), an approval requirement can only
 * raise the bar (more approvers, the page kept). Approvals given for the old arguments stop counting.
 */
export function editApprovalArguments(
  request: ApprovalRequest,
  edit: ArgumentEditParams,
  recheck: (args: Record<string, unknown>) => PolicyDecision,
  ctx: Pick<ApprovalContext, 'clock'>,
): { request: ApprovalRequest; policy: PolicyDecision } {
  const now = ctx.clock.now();
  assertOpen(request, now);
  assertEligible(request, edit.editor);
  if (edit.arguments_hash !== request.arguments_hash) {
    throw approvalError(
      'approvals.arguments_changed',
      `the arguments of approval ${request.id} changed since they were shown; review them again before editing`,
      409,
    );
  }
  const toHash = hashArguments(edit.arguments);
  if (toHash === request.arguments_hash) throw approvalError('approvals.edit_unchanged', 'the edited arguments are identical to the current ones', 400);
  const policy = recheck(edit.arguments);
  if (policy.decision === 'deny') {
    throw approvalError('approvals.edit_denied', `policy denies the edited arguments: ${policy.reasons.map((r) => r.text).join('; ')}`, 403, {
      rule: policy.rule.id,
    });
  }
  const next: ApprovalRequest = {
    ...request,
    revision: request.revision + 1,
    arguments: edit.arguments,
    arguments_hash: toHash,
    edits: [
      ...request.edits,
      { editor: edit.editor.id, at: now, from_hash: request.arguments_hash, to_hash: toHash, comment: edit.comment, policy_rule: policy.rule.id },
    ],
  };
  if (policy.decision === 'require_approval') {
    next.required = Math.max(request.required, policy.approval.approvers);
    next.page_on_call = request.page_on_call || policy.approval.page_on_call;
    next.policy = { rule: policy.rule, reasons: policy.reasons };
  }
  return { request: next, policy };
}

/**
 * Resolves a request whose time is up: its on_expiry outcome, recorded as a signed `expire` decision by
 * `system`. Returns the request unchanged (changed: false) when it is not pending or not yet due.
 */
export function expireApproval(request: ApprovalRequest, ctx: ApprovalContext): { request: ApprovalRequest; changed: boolean; released: boolean } {
  const now = ctx.clock.now();
  if (request.status !== 'pending' || now < request.expires_at) return { request, changed: false, released: false };
  const decision = signDecision(
    {
      approval_id: request.id,
      decision: 'expire',
      arguments_hash: request.arguments_hash,
      approver: 'system',
      at: now,
      channel: 'system',
      reason: `expired; on_expiry ${request.on_expiry}`,
    },
    ctx.keys,
  );
  const approved = request.on_expiry === 'approve';
  return {
    request: {
      ...request,
      revision: request.revision + 1,
      status: approved ? 'approved' : 'rejected',
      decisions: [...request.decisions, decision],
      resolution: { outcome: approved ? 'approved' : 'rejected', how: 'expired', at: now, by: 'system' },
    },
    changed: true,
    released: approved,
  };
}

export const BREAK_GLASS_MIN_REASON = 10;

/**
 * An admin approves alone in an emergency. The reason is mandatory (at least 10 characters), the
 * decision is signed like any other, and the request is flagged for review afterwards.
 */
export function breakGlass(
  request: ApprovalRequest,
  params: { admin: ApprovalPrincipal; reason: string; channel?: ApprovalChannel },
  ctx: ApprovalContext,
): DecideResult {
  const now = ctx.clock.now();
  assertOpen(request, now);
  if (!params.admin.roles.includes('admin')) {
    throw approvalError('approvals.break_glass_forbidden', `${params.admin.id} is not an admin; only admins can break glass`, 403);
  }
  const reason = params.reason.trim();
  if (reason.length < BREAK_GLASS_MIN_REASON) {
    throw approvalError(
      'approvals.reason_required',
      `break-glass needs a reason of at least ${BREAK_GLASS_MIN_REASON} characters saying why it cannot wait for approvers`,
      400,
    );
  }
  const decision = signDecision(
    {
      approval_id: request.id,
      decision: 'break_glass',
      arguments_hash: request.arguments_hash,
      approver: params.admin.id,
      at: now,
      channel: params.channel ?? 'api',
      reason,
    },
    ctx.keys,
  );
  return {
    request: {
      ...request,
      revision: request.revision + 1,
      status: 'approved',
      review_required: true,
      decisions: [...request.decisions, decision],
      resolution: { outcome: 'approved', how: 'break_glass', at: now, by: params.admin.id },
    },
    decision,
    released: true,
    rejected: false,
  };
}

/**
 * What the runner calls right before performing an approved action: re-derives everything from the
 * stored record instead of trusting its status. Returns the arguments to run with, or throws
 * approvals.not_approved, approvals.arguments_altered (stored arguments differ from the signed hash) or
 * approvals.bad_signature (a counted decision was forged or changed).
 */
export function verifyRelease(
  request: ApprovalRequest,
  keys: ApprovalKeyring,
): { arguments: Record<string, unknown>; arguments_hash: string; how: ApprovalResolution['how'] } {
  if (request.status !== 'approved' || !request.resolution) {
    throw approvalError('approvals.not_approved', `approval ${request.id} is ${request.status}, not approved`, 409);
  }
  if (hashArguments(request.arguments) !== request.arguments_hash) {
    throw approvalError(
      'approvals.arguments_altered',
      `the arguments of approval ${request.id} no longer match the hash that was approved; refusing to act`,
      409,
    );
  }
  const forCurrent = request.decisions.filter((d) => d.arguments_hash === request.arguments_hash && d.approval_id === request.id);
  for (const d of forCurrent) {
    if (!verifyDecisionSignature(d, keys)) {
      throw approvalError('approvals.bad_signature', `decision by ${d.approver} on approval ${request.id} has an invalid signature; refusing to act`, 409);
    }
  }
  const how = request.resolution.how;
  if (how === 'quorum') {
    const excluded = new Set(excludedApprovers(request).map((e) => e.id));
    const approvers = new Set(forCurrent.filter((d) => d.decision === 'approve' && !excluded.has(d.approver)).map((d) => d.approver));
    if (approvers.size < request.required) {
      throw approvalError(
        'approvals.not_approved',
        `approval ${request.id} has ${approvers.size} valid approval(s) for its current arguments; ${request.required} are needed`,
        409,
      );
    }
  } else if (how === 'break_glass') {
    if (!forCurrent.some((d) => d.decision === 'break_glass' && (d.reason?.length ?? 0) >= BREAK_GLASS_MIN_REASON)) {
      throw approvalError('approvals.not_approved', `approval ${request.id} claims break-glass without a signed break-glass decision`, 409);
    }
  } else if (how === 'expired') {
    if (request.on_expiry !== 'approve' || !forCurrent.some((d) => d.decision === 'expire')) {
      throw approvalError('approvals.not_approved', `approval ${request.id} expired without an approve-on-expiry policy`, 409);
    }
  } else {
    throw approvalError('approvals.not_approved', `approval ${request.id} was rejected`, 409);
  }
  if (forCurrent.some((d) => d.decision === 'reject')) {
    throw approvalError('approvals.not_approved', `approval ${request.id} carries a rejection for its current arguments`, 409);
  }
  return { arguments: request.arguments, arguments_hash: request.arguments_hash, how };
}

// ---------------------------------------------------------------- one-time signed links

/** Remembers single-use keys (link nonces, Slack request signatures) until they expire. */
export interface OnceLedger {
  /** True the first time `key` is claimed; false if it was claimed before (a replay). */
  claim(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/** In-process ledger for tests and single-process use; storage-backed ledgers do the same with a unique key. */
export class MemoryOnceLedger implements OnceLedger {
  readonly #seen = new Map<string, number>();
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  claim(key: string, expiresAt: number): boolean {
    const now = this.#clock.now();
    if (this.#seen.size > 10_000) for (const [k, until] of this.#seen) if (until <= now) this.#seen.delete(k);
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    this.#seen.set(key, expiresAt);
    return true;
  }
}

export interface ApprovalLinkClaims {
  approval_id: string;
  approver: string;
  decision: 'approve' | 'reject';
  arguments_hash: string;
  expires_at: number;
  /** Single-use id: the endpoint claims it in a OnceLedger before acting. */
  nonce: string;
}

export const LINK_MAX_TTL_MS = 24 * 3_600_000;
export const LINK_DEFAULT_TTL_MS = 15 * 60_000;

/**
 * A short-lived link token for one approver to make one decision on one approval, e.g. for e-mail or
 * Teams: `v1.<key id>.<claims>.<mac>`, all base64url. It binds the arguments hash, so an edit
 * invalidates links sent before it.
 */
export function createApprovalLinkToken(
  claims: Omit<ApprovalLinkClaims, 'nonce' | 'expires_at'> & { nonce?: string; ttl_ms?: number },
  ctx: ApprovalContext,
): { token: string; claims: ApprovalLinkClaims } {
  const ttl = claims.ttl_ms ?? LINK_DEFAULT_TTL_MS;
  if (ttl <= 0 || ttl > LINK_MAX_TTL_MS) throw approvalError('input.invalid', `approval link ttl must be between 1 ms and 24h; got ${ttl} ms`, 400);
  const full: ApprovalLinkClaims = {
    approval_id: claims.approval_id,
    approver: claims.approver,
    decision: claims.decision,
    arguments_hash: claims.arguments_hash,
    expires_at: ctx.clock.now() + ttl,
    nonce: claims.nonce ?? newId(ctx.clock.now()),
  };
  const body = Buffer.from(canonicalJson(full)).toString('base64url');
  const keyId = Buffer.from(ctx.keys.current.id).toString('base64url');
  const signature = mac(ctx.keys.current, 'approval-link', `v1.${keyId}.${body}`).toString('base64url');
  return { token: `v1.${keyId}.${body}.${signature}`, claims: full };
}

/**
 * Checks a link token's signature and expiry (approvals.link_invalid, approvals.link_expired). It does
 * not enforce single use: the caller claims `claims.nonce` in its OnceLedger (see `claimApprovalLink`).
 */
export function verifyApprovalLinkToken(token: string, ctx: ApprovalContext): ApprovalLinkClaims {
  const invalid = (why: string) => approvalError('approvals.link_invalid', `approval link is invalid: ${why}`, 401);
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') throw invalid('not a Riposte approval link token');
  const [, keyIdPart, body, signature] = parts as [string, string, string, string];
  const key = keyById(ctx.keys, Buffer.from(keyIdPart, 'base64url').toString());
  if (!key) throw invalid('signed with an unknown key');
  if (!sameMac(mac(key, 'approval-link', `v1.${keyIdPart}.${body}`), signature)) throw invalid('signature does not match');
  let claims: ApprovalLinkClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as ApprovalLinkClaims;
  } catch {
    throw invalid('claims are not JSON');
  }
  if (ctx.clock.now() >= claims.expires_at) {
    throw approvalError('approvals.link_expired', `approval link expired at ${new Date(claims.expires_at).toISOString()}; ask for a new one`, 410);
  }
  return claims;
}

/** Verifies a link token and spends it: a second use fails with approvals.link_used. */
export async function claimApprovalLink(token: string, ctx: ApprovalContext, ledger: OnceLedger): Promise<ApprovalLinkClaims> {
  const claims = verifyApprovalLinkToken(token, ctx);
  if (!(await ledger.claim(`approval-link:${claims.nonce}`, claims.expires_at))) {
    throw approvalError('approvals.link_used', 'this approval link was already used; each link works once', 409);
  }
  return claims;
}

// ---------------------------------------------------------------- storage mapping

/**
 * The columns the approvals store indexes, beside the whole request as a document. Structurally the
 * store's ApprovalRecord (policy/ does not import store/; app/ passes one to the other).
 */
export function approvalStorageRecord(request: ApprovalRequest) {
  return {
    id: request.id,
    revision: request.revision,
    status: request.status,
    runId: request.context.run_id ?? null,
    caseId: request.context.case_id ?? null,
    actionId: request.action.id,
    createdAt: request.created_at,
    expiresAt: request.expires_at,
    reviewRequired: request.review_required,
    document: request as unknown,
  };
}

/** The request back from its stored document; refuses documents that are not approval requests. */
export function approvalFromStorage(document: unknown): ApprovalRequest {
  const doc = document as Partial<ApprovalRequest> | null;
  if (
    doc === null ||
    typeof doc !== 'object' ||
    typeof doc.id !== 'string' ||
    typeof doc.revision !== 'number' ||
    typeof doc.arguments_hash !== 'string' ||
    !Array.isArray(doc.decisions) ||
    !doc.action
  ) {
    throw new RiposteError('approvals.corrupt', 'stored approval document is not an approval request', { status: 500 });
  }
  return doc as ApprovalRequest;
}
