import { z } from 'zod';
import type { CasesService } from '../cases/index.ts';
import { type Actor, type Clock, parseDuration, RiposteError, systemClock } from '../core/index.ts';
import { type ActionDefinition, defineAction } from '../engine/index.ts';
import type { EdlEntryRecord, Store } from '../store/index.ts';
import { EDL_TYPES, type EdlType, edlIpValue, edlValueFor, guessEdlType } from './edl-values.ts';

/**
 * The External Dynamic List Riposte serves itself: firewalls (PAN-OS, FortiGate, Check Point …) poll
 * `GET /edl/<list>` and block whatever it lists, so blocking needs no firewall credentials in Riposte.
 * `edl.block_ip` adds an address or range with an expiry (the entry simply stops being served when it
 * expires), `edl.unblock_ip` removes it. Both go on the case timeline and the audit chain.
 */
export const DEFAULT_EDL_LIST = 'riposte-block';
const LIST_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_TTL_MS = 365 * 86_400_000;

export const EdlListName = z.string().regex(LIST_NAME, 'must be 1–64 lowercase letters, digits, - or _');

/** An address or CIDR range in canonical form (kept for callers of the IP-only EDL). */
export const edlValue = edlIpValue;

/** The list each type goes to when a caller names none; these names are typed without any configuration. */
export const DEFAULT_EDL_LISTS: Readonly<Record<EdlType, string>> = {
  ip: DEFAULT_EDL_LIST,
  url: 'riposte-urls',
  domain: 'riposte-domains',
  sender: 'riposte-senders',
};

const IpOrRange = z.string().superRefine((value, ctx) => {
  try {
    edlIpValue(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

export const Ttl = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30m, 24h or 7d' });
  else if (ms > MAX_TTL_MS) ctx.addIssue({ code: 'custom', message: 'must be at most 365d (a block without end is a permanent rule, not a response)' });
});

/** Facts the policy reads from a guarded step's `with` (see app/guardrails.ts); accepted so playbooks can pass them. */
const PolicyFacts = {
  confidence: z.number().min(0).max(100).optional(),
  verdict: z.string().optional(),
  indicator_source: z.string().optional(),
  /** The CMDB record of the asset the block protects or affects (critical → approval); null when unknown. */
  asset: z.record(z.string(), z.unknown()).nullable().optional(),
};

export const EdlBlockInput = z
  .object({
    ip: IpOrRange,
    list: EdlListName.default(DEFAULT_EDL_LIST),
    /** How long the entry is served; after that the firewall drops it on its next poll. */
    ttl: Ttl.default('24h'),
    reason: z.string().max(1000).optional(),
    /** Case id or number to record on; by default the case the run is linked to. */
    case: z.string().optional(),
    ...PolicyFacts,
  })
  .strict();

/**
 * Not strict on purpose: a rollback may call the inverse with the block's own arguments (ttl, confidence …),
 * which are ignored here.
 */
export const EdlUnblockInput = z.object({
  ip: IpOrRange,
  list: EdlListName.default(DEFAULT_EDL_LIST),
  reason: z.string().max(1000).optional(),
  case: z.string().optional(),
});

export interface EdlEntryView {
  list: string;
  value: string;
  expires_at: string | null;
  case_id: string | null;
  run_id: string | null;
  added_by: string;
  reason: string | null;
  added_at: string;
}

export function edlEntryView(e: EdlEntryRecord): EdlEntryView {
  return {
    list: e.list,
    value: e.value,
    expires_at: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(),
    case_id: e.caseId,
    run_id: e.runId,
    added_by: e.addedBy,
    reason: e.reason,
    added_at: new Date(e.addedAt).toISOString(),
  };
}

export interface EdlAddInput {
  /** The value to list (an address, URL, domain or sender, per the list's type). */
  value: string;
  /** The list's type when it is new; must match a list that already has one. Guessed from the value otherwise. */
  type?: EdlType;
  /** Default: the default list of the type (riposte-block for ip). */
  list?: string;
  ttlMs: number | null;
  reason?: string;
  caseId?: string | null;
  runId?: string | null;
  /** The idempotency key of the action adding it, remembered while the entry lives (see `ownedBy`). */
  actionKey?: string;
}

/** What the EDL route and CLI use: the lists as firewalls see them, and adds/removes (audited). */
export class EdlService {
  readonly #store: Store;
  readonly #cases: CasesService | undefined;
  readonly #clock: Clock;
  readonly #configured: Readonly<Record<string, EdlType>>;

  constructor(options: { store: Store; cases?: CasesService; clock?: Clock; listTypes?: Readonly<Record<string, EdlType>> }) {
    this.#store = options.store;
    this.#cases = options.cases;
    this.#clock = options.clock ?? systemClock;
    this.#configured = options.listTypes ?? {};
  }

  /** The list as served: one value per line, expired entries left out, newline-terminated. */
  async render(list: string): Promise<string> {
    const name = EdlListName.safeParse(list);
    if (!name.success) throw new RiposteError('input.invalid', `EDL name ${JSON.stringify(list)} ${name.error.issues[0]?.message}`, { status: 400 });
    const entries = await this.#store.edl.active(name.data, this.#clock.now());
    return entries.map((e) => `${e.value}\n`).join('');
  }

  async entries(list: string): Promise<EdlEntryView[]> {
    return (await this.#store.edl.entries(EdlListName.parse(list))).map(edlEntryView);
  }

  lists(): Promise<string[]> {
    return this.#store.edl.lists();
  }

  /** The type a list is fixed to: by config, by being one of the default lists, or by its first entry. */
  async typeOf(list: string): Promise<EdlType | undefined> {
    const name = EdlListName.parse(list);
    const fixed = this.#configured[name] ?? defaultListType(name) ?? (await this.#store.edl.listType(name));
    return fixed === undefined ? undefined : (fixed as EdlType);
  }

  async add(input: EdlAddInput, actor: Actor): Promise<{ entry: EdlEntryView; created: boolean; owned: boolean }> {
    const list = EdlListName.parse(input.list ?? DEFAULT_EDL_LISTS[input.type ?? 'ip']);
    const declared = await this.typeOf(list);
    if (declared !== undefined && input.type !== undefined && declared !== input.type) throw typeMismatch(list, declared, input.type);
    const type = declared ?? input.type ?? guessEdlType(input.value);
    const value = edlValueFor(type, input.value);
    const fixed = await this.#store.edl.fixListType(list, type);
    // Two first entries of different types racing for a new list: the loser is refused, never mixed in.
    if (fixed !== type) throw typeMismatch(list, fixed as EdlType, type);
    // A case named by number (an operator's `--case 42`) is stored by id, like the ones playbooks pass.
    const caseId = input.caseId && this.#cases ? (await this.#cases.getCase(input.caseId)).id : (input.caseId ?? null);
    const { entry, created, previous } = await this.#store.edl.put({
      list,
      value,
      expiresAt: input.ttlMs === null ? null : this.#clock.now() + input.ttlMs,
      caseId,
      runId: input.runId ?? null,
      addedBy: actor.name,
      reason: input.reason ?? null,
      createdByKey: input.actionKey ?? null,
    });
    const view = edlEntryView(entry);
    await this.#record(actor, 'edl.added', `${value} added to ${type} EDL ${list}${view.expires_at ? ` until ${view.expires_at}` : ''}`, view, caseId);
    // The action that first listed it owns it: a retry of that same action still does, a later block does not.
    const owned = created || (input.actionKey !== undefined && previous?.createdByKey === input.actionKey);
    return { entry: view, created, owned };
  }

  async remove(
    input: { value: string; type?: EdlType; list?: string; reason?: string; caseId?: string | null },
    actor: Actor,
  ): Promise<{ removed: boolean; value: string; list: string }> {
    const list = EdlListName.parse(input.list ?? DEFAULT_EDL_LISTS[input.type ?? 'ip']);
    const type = (await this.typeOf(list)) ?? input.type ?? guessEdlType(input.value);
    let value: string;
    try {
      value = edlValueFor(type, input.value);
    } catch {
      // A value the list would refuse today may still be on it (moved by a migration): remove it as written.
      value = input.value.trim();
    }
    const removed = await this.#store.edl.remove(list, value);
    if (removed) {
      const caseId = input.caseId ?? removed.caseId;
      await this.#record(actor, 'edl.removed', `${value} removed from EDL ${list}${input.reason ? `: ${input.reason}` : ''}`, edlEntryView(removed), caseId);
    }
    return { removed: removed !== undefined, value, list };
  }

  async #record(actor: Actor, kind: string, summary: string, entry: EdlEntryView, caseId: string | null | undefined): Promise<void> {
    if (!this.#cases) return;
    const details = { ...entry } as unknown as Record<string, unknown>;
    if (caseId) await this.#cases.appendTimeline(caseId, { kind, summary, details }, actor);
    else await this.#cases.recordAudit({ actor, action: kind, target: `edl:${entry.list}`, details: { summary, ...details } });
  }
}

function defaultListType(list: string): EdlType | undefined {
  return EDL_TYPES.find((type) => DEFAULT_EDL_LISTS[type] === list);
}

function typeMismatch(list: string, has: EdlType, wanted: EdlType): RiposteError {
  return new RiposteError('edl.list_type_mismatch', `EDL ${list} is a ${has} list; a ${wanted} cannot go on it (firewalls import a list as one type)`, {
    status: 409,
    details: { field: 'list', list, type: has },
  });
}

export interface ResponseDeps {
  store: Store;
  cases: CasesService;
  clock?: Clock;
  /** Configured list types (config `edl.lists`). */
  listTypes?: Readonly<Record<string, EdlType>>;
}

/** Resolves the case an action records on: the one named in `case`, else the one the run is linked to. */
export async function caseOfRun(cases: CasesService, runId: string, given: string | undefined): Promise<string | undefined> {
  if (given !== undefined && given.trim() !== '') return (await cases.getCase(given.trim())).id;
  return (await cases.casesOfRun(runId))[0];
}

export function playbookActor(runId: string): Actor {
  return { kind: 'playbook', id: `run:${runId}`, name: `playbook run ${runId}` };
}

/** `edl.block_ip` (destructive, inverse `edl.unblock_ip`) and `edl.unblock_ip`. */
export function edlActions(deps: () => ResponseDeps): ActionDefinition[] {
  const service = () => {
    const d = deps();
    return {
      d,
      edl: new EdlService({ store: d.store, cases: d.cases, ...(d.clock ? { clock: d.clock } : {}), ...(d.listTypes ? { listTypes: d.listTypes } : {}) }),
    };
  };
  const block = defineAction({
    id: 'edl.block_ip',
    title: 'Block an IP or range through the EDL Riposte serves to firewalls',
    description: 'Adds the address to GET /edl/<list> until the TTL passes; the firewall polling the list blocks it.',
    impact: 'destructive',
    inverse: 'edl.unblock_ip',
    input: EdlBlockInput,
    output: z.object({ list: z.string(), value: z.string(), expires_at: z.string().nullable(), created: z.boolean(), case_id: z.string().nullable() }),
    async run(input, context) {
      const { d, edl } = service();
      const caseId = (await caseOfRun(d.cases, context.runId, input.case)) ?? null;
      const ttlMs = parseDuration(input.ttl) as number;
      const { entry, created } = await edl.add(
        { value: input.ip, type: 'ip', list: input.list, ttlMs, ...(input.reason ? { reason: input.reason } : {}), caseId, runId: context.runId },
        playbookActor(context.runId),
      );
      return { list: entry.list, value: entry.value, expires_at: entry.expires_at, created, case_id: caseId };
    },
    describeEffect: (input) => `add ${input.ip} to EDL ${input.list} for ${input.ttl}`,
  });
  const unblock = defineAction({
    id: 'edl.unblock_ip',
    title: 'Remove an IP or range from the EDL Riposte serves',
    impact: 'write',
    input: EdlUnblockInput,
    output: z.object({ list: z.string(), value: z.string(), removed: z.boolean() }),
    async run(input, context) {
      const { d, edl } = service();
      const caseId = (await caseOfRun(d.cases, context.runId, input.case)) ?? null;
      return edl.remove(
        { value: input.ip, type: 'ip', list: input.list, ...(input.reason ? { reason: input.reason } : {}), caseId },
        playbookActor(context.runId),
      );
    },
    describeEffect: (input) => `remove ${input.ip} from EDL ${input.list}`,
  });
  return [block, unblock] as ActionDefinition[];
}
