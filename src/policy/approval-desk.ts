import { type Clock, notFound, RiposteError } from '../core/index.ts';
import {
  type ApprovalKeyring,
  type ApprovalLinkClaims,
  type ApprovalRequest,
  type ArgumentEditParams,
  approvalFromStorage,
  approvalStorageRecord,
  breakGlass,
  claimApprovalLink,
  type DecideResult,
  decideApproval,
  editApprovalArguments,
  expireApproval,
  type OnceLedger,
  type OpenApprovalParams,
  openApprovalRequest,
  type Vote,
} from './approvals.ts';
import type { PolicyDecision } from './evaluate-policy.ts';

/**
 * The approval operations as the API, the link endpoint, the Slack endpoint and the expiry sweeper need
 * them: each reads the request, applies the pure domain function and saves with compare-and-set on
 * `revision`, retrying when someone else saved first. Storage is an interface (the store's `approvals`
 * repository satisfies it), so this stays free of SQL and testable in memory.
 */
export type ApprovalStorageRecord = ReturnType<typeof approvalStorageRecord>;

export interface ApprovalStorage {
  insert(record: ApprovalStorageRecord): Promise<boolean>;
  get(id: string): Promise<{ revision: number; document: unknown } | undefined>;
  /** Saves only if the stored revision is still `expectedRevision`; false otherwise. */
  update(record: ApprovalStorageRecord, expectedRevision: number): Promise<boolean>;
  /** Pending requests whose expiry is at or before `now`. */
  listDue(now: number, limit?: number): Promise<Array<{ id: string }>>;
  /** Single-use keys (link nonces, Slack signatures): true the first time while live. */
  claimOnce(key: string, expiresAt: number): Promise<boolean>;
}

export interface ApprovalDeskOptions {
  storage: ApprovalStorage;
  clock: Clock;
  keys: ApprovalKeyring;
  /** Compare-and-set attempts before giving up with a retryable conflict (default 20). */
  maxAttempts?: number;
}

export class ApprovalDesk {
  readonly #storage: ApprovalStorage;
  readonly #clock: Clock;
  readonly #keys: ApprovalKeyring;
  readonly #maxAttempts: number;
  /** For verifySlackRequest and claimApprovalLink. */
  readonly ledger: OnceLedger;

  constructor(options: ApprovalDeskOptions) {
    this.#storage = options.storage;
    this.#clock = options.clock;
    this.#keys = options.keys;
    this.#maxAttempts = options.maxAttempts ?? 20;
    this.ledger = { claim: (key, expiresAt) => options.storage.claimOnce(key, expiresAt) };
  }

  async open(params: OpenApprovalParams): Promise<ApprovalRequest> {
    const request = openApprovalRequest(params, this.#clock);
    if (!(await this.#storage.insert(approvalStorageRecord(request)))) {
      throw new RiposteError('conflict', `approval ${request.id} already exists`, { status: 409 });
    }
    return request;
  }

  async get(id: string): Promise<ApprovalRequest> {
    const stored = await this.#storage.get(id);
    if (!stored) throw notFound('approval', id);
    return approvalFromStorage(stored.document);
  }

  /** Reads, applies `change`, saves if nobody saved in between; otherwise re-reads and applies again. */
  async #mutate<T extends { request: ApprovalRequest }>(id: string, change: (current: ApprovalRequest) => T): Promise<T> {
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const current = await this.get(id);
      const result = change(current);
      if (result.request === current) return result;
      if (await this.#storage.update(approvalStorageRecord(result.request), current.revision)) return result;
    }
    throw new RiposteError('conflict', `approval ${id} kept changing while deciding; try again`, { status: 409, retryable: true });
  }

  /** One approver's decision. `released` is true for exactly one caller per request, ever. */
  decide(id: string, vote: Vote): Promise<DecideResult> {
    return this.#mutate(id, (current) => decideApproval(current, vote, { clock: this.#clock, keys: this.#keys }));
  }

  edit(
    id: string,
    edit: ArgumentEditParams,
    recheck: (args: Record<string, unknown>) => PolicyDecision,
  ): Promise<{ request: ApprovalRequest; policy: PolicyDecision }> {
    return this.#mutate(id, (current) => editApprovalArguments(current, edit, recheck, { clock: this.#clock }));
  }

  breakGlass(id: string, params: Parameters<typeof breakGlass>[1]): Promise<DecideResult> {
    return this.#mutate(id, (current) => breakGlass(current, params, { clock: this.#clock, keys: this.#keys }));
  }

  /**
   * Resolves every due request to its on_expiry outcome. Returns the ones this call resolved (another
   * sweeper or a last-second decision may have resolved others first).
   */
  async expireDue(limit = 100): Promise<Array<{ request: ApprovalRequest; released: boolean }>> {
    const out: Array<{ request: ApprovalRequest; released: boolean }> = [];
    for (const { id } of await this.#storage.listDue(this.#clock.now(), limit)) {
      const result = await this.#mutate(id, (current) => expireApproval(current, { clock: this.#clock, keys: this.#keys }));
      if (result.changed) out.push({ request: result.request, released: result.released });
    }
    return out;
  }

  /** Verifies a one-time link token and spends its nonce. */
  claimLink(token: string): Promise<ApprovalLinkClaims> {
    return claimApprovalLink(token, { clock: this.#clock, keys: this.#keys }, this.ledger);
  }
}
