import { randomUUID } from 'node:crypto';
import { type HuntDefinition, huntQueries, SigmaRuleSet } from '../analyzers/index.ts';
import type { CasesService } from '../cases/index.ts';
import { type Actor, describeError, type Logger, notFound, RiposteError, SYSTEM_ACTOR, tryNormalizeObservable } from '../core/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import type { HuntStepRecord, NewHuntStep, Store } from '../store/index.ts';
import { registryEvent, rtrRegistryKeys } from './hunt-crowdstrike.ts';

/**
 * Hunt runs: a hunt definition fanned out across the fleet through one configured EDR instance, the hits
 * put on ONE case per hunt (per-host evidence with the key, value and data as found, the hunt's ATT&CK
 * techniques on the case), then staged, reversible remediation of the confirmed hosts:
 *
 * - fan-out: Defender answers one advanced hunting query for the whole fleet (its telemetry includes
 *   offline machines); Fleet is asked host by host in chunks, several chunks at a time, and the hosts that
 *   did not answer (offline) are asked again every `retryIntervalMs` until the hunt expires. Every call goes
 *   through the instance, so the vendor's rate limit (token bucket, 429 + Retry-After) is honoured.
 * - remediation: evidence is on the case before anything changes; waves are 1 canary host, then 10% of the
 *   rest, then the rest; each wave is verified by re-querying its hosts. A critical host (per the asset
 *   lookup, e.g. the CMDB) waits for one approval, a wave of more than `twoApproversAbove` hosts for two
 *   distinct approvers. When a wave's failures pass `failureThreshold`, remediation halts and the wave's
 *   completed changes are rolled back with each action's inverse (the deletion's inverse writes the
 *   captured data back). Every step is on the case timeline and the audit chain.
 *
 * With a store, runs are durable (docs/hunting.md, "Restarts"): the view is written at every checkpoint,
 * every host command is put on the run's step ledger before it is sent and again when it is answered, and
 * the process driving a run holds a lease on it. A process that starts finds runs nobody drives any more
 * (`resumeOrphans`) and continues them: commands that may have been in flight are checked by re-querying
 * the host before anything is sent again, so no host is remediated twice; a wave that waited for approval
 * waits again, and an approval given by any process continues it. Without a store (tests, benchmarks of
 * the bare logic) runs live in memory.
 */
export type EdrKind = 'defender' | 'crowdstrike' | 'fleetdm';
export type Criticality = 'low' | 'medium' | 'high' | 'critical';

export interface HuntSighting {
  /** The EDR's host id (Defender machine id, Fleet host id as text, Falcon aid). */
  host_id: string;
  hostname: string;
  key: string;
  value: string;
  type: string;
  data: string;
}

export interface WaveHost {
  host_id: string;
  hostname: string;
  criticality: Criticality;
  sightings: HuntSighting[];
  status: 'planned' | 'waiting_approval' | 'remediated' | 'verified' | 'failed' | 'rolled_back' | 'rollback_failed' | 'skipped';
  error?: string;
}

export interface WaveView {
  index: number;
  name: string;
  hosts: WaveHost[];
  status: 'planned' | 'waiting_approval' | 'running' | 'verified' | 'halted' | 'skipped';
  approvals_required: number;
  approved_by: string[];
  failures: number;
  /** The change ticket opened for this wave (when a ticketing instance is configured). */
  ticket?: WaveTicket | null;
}

export interface WaveTicket {
  instance: string;
  /** Jira issue key or ServiceNow incident number. */
  key: string;
  url: string | null;
  /** The vendor's record id when it is not the key (ServiceNow sys_id). */
  id?: string;
}

export interface HuntRunView {
  id: string;
  status: 'running' | 'completed' | 'expired' | 'failed';
  edr: { kind: EdrKind; instance: string };
  definition: { id: string; title: string; source: string; attack: string[] };
  case_id: string | null;
  dry_run: boolean;
  progress: { targeted: number; answered: number; pending: number; hosts_hit: number; sightings: number };
  sightings: HuntSighting[];
  remediation: {
    status: 'not_started' | 'planned' | 'running' | 'waiting_approval' | 'completed' | 'halted';
    waves: WaveView[];
    message: string | null;
  };
  errors: string[];
  started_at: string;
  finished_at: string | null;
  /** How many times a process took the run over after the one driving it stopped (restart, crash). */
  resumes: number;
}

export interface HuntStartOptions {
  edr: IntegrationInstance;
  dryRun?: boolean;
  /** The hunt stops retrying offline hosts at this point (default 10 minutes from the start). */
  expiresInMs?: number;
  retryIntervalMs?: number;
  /** Hosts per live query (Fleet). */
  chunkSize?: number;
  /** Live queries in flight at once. */
  concurrency?: number;
  actor?: Actor;
  onProgress?(view: HuntRunView): void;
  /** The request the definition came from, stored so another process can run the fan-out again. */
  request?: unknown;
}

export interface RemediationOptions {
  /** Share of a wave's hosts that may fail before remediation halts and rolls back (default 0.2). */
  failureThreshold?: number;
  /** A wave of more hosts than this needs two distinct approvers (default 25). */
  twoApproversAbove?: number;
  /** Share of the remaining hosts in the second wave (default 0.1). */
  secondWaveShare?: number;
  concurrency?: number;
  actor?: Actor;
}

export interface HuntRunsOptions {
  cases: CasesService;
  logger: Logger;
  /** Asset criticality for a hostname (the CMDB); unknown hosts are `medium`. */
  criticality?(hostname: string): Promise<Criticality | undefined>;
  now?: () => number;
  /** Makes runs durable (view, step ledger, lease); without it they live in this process's memory. */
  store?: Store;
  /** This process's lease owner id (default: a fresh one). */
  owner?: string;
  /** How long a lease lasts without a heartbeat (default 30 s); another process takes over after that. */
  leaseMs?: number;
  /** How often a wave waiting for approval looks for approvals given by other processes (default 2 s). */
  approvalPollMs?: number;
  /** The EDR instance of that name, for a run continued by a process that did not start it. */
  instance?(name: string): Promise<IntegrationInstance | undefined>;
  /** Rebuilds the hunt definition from the request a run was started with (a fan-out cut short is run again). */
  definitionFrom?(request: unknown): HuntDefinition;
  /** The ticketing instance (jira, servicenow_incident) each remediation wave opens a change ticket in, if any. */
  ticketing?(): Promise<IntegrationInstance | undefined>;
}

/** What a run needs besides its view to be continued elsewhere; stored beside the view. */
interface StoredOptions {
  request?: unknown;
  start?: { expiresAt: number; retryIntervalMs?: number; chunkSize?: number; concurrency?: number };
  actor?: Actor;
  /** `hunt`: this class drives the waves; `playbook`: an engine run does, one `remediateWave` at a time. */
  mode?: 'hunt' | 'playbook';
  remediation?: Omit<RemediationOptions, 'actor'>;
}

type Completed = { host: WaveHost; action: string; input: Record<string, unknown>; output: unknown };

function kindOf(instance: IntegrationInstance): EdrKind {
  const id = instance.integration.id;
  if (id === 'defender' || id === 'crowdstrike' || id === 'fleetdm') return id;
  throw new RiposteError('hunt.unsupported_edr', `integration ${id} (instance ${instance.name}) cannot run hunts; use defender, crowdstrike or fleetdm`, {
    status: 422,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/** Waves: 1 canary, then `share` of the rest (at least 1), then the rest. Pure, so dry-run shows the real plan. */
export function planWaves<H>(hosts: H[], share = 0.1): Array<{ name: string; hosts: H[] }> {
  if (hosts.length === 0) return [];
  const waves = [{ name: 'canary', hosts: hosts.slice(0, 1) }];
  const rest = hosts.slice(1);
  if (rest.length === 0) return waves;
  const second = Math.max(1, Math.ceil(rest.length * share));
  waves.push({ name: `${Math.round(share * 100)}%`, hosts: rest.slice(0, second) });
  if (rest.length > second) waves.push({ name: 'rest', hosts: rest.slice(second) });
  return waves;
}

const valueKey = (hostId: string, key: string, value: string) => `${hostId}\u0000${key.toLowerCase()}\u0000${value.toLowerCase()}`;
const deleteStepKey = (host: WaveHost, s: HuntSighting) => `delete:${host.host_id}:${s.key}:${s.value}`;
const rollbackStepKey = (host: WaveHost, s: HuntSighting) => `rollback:${host.host_id}:${s.key}:${s.value}`;

export class HuntRuns {
  private readonly runs = new Map<string, HuntRunView>();
  private readonly instances = new Map<string, IntegrationInstance>();
  private readonly approvalWaiters = new Map<string, () => void>();
  /** Runs this process drives now (holds the lease on). */
  private readonly driving = new Map<string, number>();
  /** Each run's document writes, one after another, so an older view never lands after a newer one. */
  private readonly writes = new Map<string, Promise<unknown>>();
  private readonly options: HuntRunsOptions;
  private readonly now: () => number;
  private readonly store: Store | undefined;
  readonly owner: string;
  private readonly leaseMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private orphanScan: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(options: HuntRunsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.store = options.store;
    this.owner = options.owner ?? `hunts-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** The runs this process holds in memory (started or driven here). */
  list(): HuntRunView[] {
    return [...this.runs.values()].map((r) => structuredClone(r));
  }

  /** A run this process holds in memory (started or driven here); `load` also finds stored ones. */
  get(id: string): HuntRunView {
    const run = this.runs.get(id);
    if (!run) throw notFound('hunt', id);
    return structuredClone(run);
  }

  /** Every run, newest first: stored ones, with this process's live view of those it drives. */
  async listAll(limit = 200): Promise<HuntRunView[]> {
    if (!this.store) return this.list().reverse();
    const records = await this.store.hunts.list(limit);
    return records.map((r) => {
      const live = this.driving.has(r.id) ? this.runs.get(r.id) : undefined;
      return structuredClone(live ?? withDefaults(r.view as HuntRunView));
    });
  }

  /** One run, wherever it is driven (approvals given elsewhere included). */
  async load(id: string): Promise<HuntRunView> {
    const live = this.runs.get(id);
    if (live && (this.driving.has(id) || !this.store)) return structuredClone(live);
    const record = await this.store?.hunts.get(id);
    if (!record) {
      if (live) return structuredClone(live);
      throw notFound('hunt', id);
    }
    const view = withDefaults(record.view as HuntRunView);
    applyApprovals(view, await this.store?.hunts.steps(id));
    return view;
  }

  /** Starts a hunt in the background; the view's progress updates as hosts answer. */
  start(definition: HuntDefinition, options: HuntStartOptions): { view: HuntRunView; done: Promise<HuntRunView> } {
    const kind = kindOf(options.edr);
    const view: HuntRunView = {
      id: randomUUID(),
      status: 'running',
      edr: { kind, instance: options.edr.name },
      definition: { id: definition.id, title: definition.title, source: definition.source, attack: definition.attack.map((t) => t.id) },
      case_id: null,
      dry_run: options.dryRun ?? false,
      progress: { targeted: 0, answered: 0, pending: 0, hosts_hit: 0, sightings: 0 },
      sightings: [],
      remediation: { status: 'not_started', waves: [], message: null },
      errors: [],
      started_at: new Date(this.now()).toISOString(),
      finished_at: null,
      resumes: 0,
    };
    this.runs.set(view.id, view);
    this.instances.set(view.id, options.edr);
    const stored: StoredOptions = {
      ...(options.request !== undefined ? { request: options.request } : {}),
      start: {
        expiresAt: this.now() + (options.expiresInMs ?? 600_000),
        ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
        ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      },
      ...(options.actor ? { actor: options.actor } : {}),
    };
    const created = this.store
      ? this.store.hunts
          .create(
            view.id,
            { status: view.status, remediationStatus: view.remediation.status, view, options: stored },
            { owner: this.owner, expiresAt: this.now() + this.leaseMs },
          )
          .then(() => this.drive(view.id))
      : Promise.resolve();
    const done = created
      .then(() => this.execute(view, definition, options, stored.start?.expiresAt as number))
      .then(
        () => this.get(view.id),
        (error) => this.failed(view, error),
      )
      .finally(() => this.letGo(view.id));
    return { view: this.get(view.id), done };
  }

  /** Starts and waits. */
  async run(definition: HuntDefinition, options: HuntStartOptions): Promise<HuntRunView> {
    return this.start(definition, options).done;
  }

  private async failed(view: HuntRunView, error: unknown): Promise<HuntRunView> {
    if (isLeaseLost(error)) return this.get(view.id);
    view.status = 'failed';
    view.errors.push(describeError(error));
    view.finished_at = new Date(this.now()).toISOString();
    await this.persist(view).catch(() => {});
    return this.get(view.id);
  }

  private async execute(view: HuntRunView, definition: HuntDefinition, options: HuntStartOptions, expiresAt: number): Promise<void> {
    const actor = options.actor ?? SYSTEM_ACTOR;
    const report = () => {
      view.progress.sightings = view.sightings.length;
      view.progress.hosts_hit = new Set(view.sightings.map((s) => s.host_id)).size;
      options.onProgress?.(structuredClone(view));
      void this.persist(view).catch(() => {});
    };
    if (view.edr.kind === 'defender') await this.huntDefender(view, definition, options.edr, report);
    else if (view.edr.kind === 'fleetdm') await this.huntFleet(view, definition, options, expiresAt, report);
    else await this.huntCrowdStrike(view, definition, options, expiresAt, report);
    const status = view.progress.pending > 0 ? 'expired' : 'completed';
    report();
    // The run stays `running` (in the store) until its case is open: a fan-out cut short is run again whole.
    if (!view.dry_run && view.sightings.length > 0) await this.openCase(view, definition, actor);
    view.status = status;
    view.finished_at = new Date(this.now()).toISOString();
    await this.persist(view);
  }

  private async huntDefender(view: HuntRunView, definition: HuntDefinition, edr: IntegrationInstance, report: () => void): Promise<void> {
    const kql = huntQueries(definition).find((q) => q.target === 'kql');
    if (!kql || !('query' in kql))
      throw new RiposteError('hunt.unsupported', `the hunt cannot be expressed in KQL: ${kql && 'error' in kql ? kql.error : 'no query'}`);
    const machines = (await edr.run('list_machines', {}, { idempotencyKey: `${view.id}:machines` })) as { machines: Array<{ id: string }> };
    view.progress.targeted = machines.machines.length;
    const out = (await edr.run('advanced_hunting', { query: kql.query }, { idempotencyKey: `${view.id}:kql` })) as {
      results: Array<Record<string, unknown>>;
    };
    view.progress.answered = machines.machines.length;
    view.sightings = out.results.map((r) => ({
      host_id: String(r.DeviceId),
      hostname: String(r.DeviceName ?? '').split('.')[0] as string,
      key: String(r.RegistryKey ?? ''),
      value: String(r.RegistryValueName ?? ''),
      type: ({ String: 'REG_SZ', ExpandString: 'REG_EXPAND_SZ', Dword: 'REG_DWORD' } as Record<string, string>)[String(r.RegistryValueType)] ?? 'REG_SZ',
      data: String(r.RegistryValueData ?? ''),
    }));
    report();
  }

  private async fleetQuery(view: HuntRunView, definition: HuntDefinition, edr: IntegrationInstance, hostIds: number[], chunkSize: number, concurrency: number) {
    const sql = huntQueries(definition).find((q) => q.target === 'osquery');
    if (!sql || !('query' in sql))
      throw new RiposteError('hunt.unsupported', `the hunt cannot be expressed in osquery SQL: ${sql && 'error' in sql ? sql.error : 'no query'}`);
    const chunks: number[][] = [];
    for (let i = 0; i < hostIds.length; i += chunkSize) chunks.push(hostIds.slice(i, i + chunkSize));
    const answered: Array<{ host_id: number; rows: Array<Record<string, unknown>> }> = [];
    const missing: number[] = [];
    let n = 0;
    await pool(chunks, concurrency, async (chunk) => {
      const out = (await edr.run('live_query', { query: sql.query, host_ids: chunk }, { idempotencyKey: `${view.id}:q${n++}` })) as {
        results: Array<{ host_id: number; rows: Array<Record<string, unknown>> }>;
        missing: number[];
      };
      answered.push(...out.results);
      missing.push(...out.missing);
    });
    return { answered, missing };
  }

  private async huntFleet(view: HuntRunView, definition: HuntDefinition, options: HuntStartOptions, expiresAt: number, report: () => void): Promise<void> {
    const edr = options.edr;
    const hosts = (await edr.run('list_hosts', { per_page: 1000 }, { idempotencyKey: `${view.id}:hosts` })) as {
      hosts: Array<{ id: number; display_name: string; hostname: string }>;
    };
    const names = new Map(hosts.hosts.map((h) => [h.id, h.display_name || h.hostname]));
    view.progress.targeted = hosts.hosts.length;
    let pending = hosts.hosts.map((h) => h.id);
    for (;;) {
      const { answered, missing } = await this.fleetQuery(view, definition, edr, pending, options.chunkSize ?? 500, options.concurrency ?? 4);
      for (const r of answered)
        for (const row of r.rows)
          view.sightings.push({
            host_id: String(r.host_id),
            hostname: names.get(r.host_id) ?? String(r.host_id),
            key: String(row.key ?? ''),
            value: String(row.name ?? ''),
            type: String(row.type ?? 'REG_SZ'),
            data: String(row.data ?? ''),
          });
      view.progress.answered += answered.length;
      pending = missing;
      view.progress.pending = pending.length;
      report();
      if (pending.length === 0 || this.now() + (options.retryIntervalMs ?? 30_000) > expiresAt) return;
      await sleep(options.retryIntervalMs ?? 30_000);
    }
  }

  /**
   * Falcon: `reg query` through RTR batch sessions (up to 10,000 hosts each). The user hives loaded on each
   * host come first (`reg query HKU`), then every key the hunt names, machine keys once per batch, user keys
   * once per hive; what comes back is matched with the hunt's Sigma rule here. Hosts that are offline do not
   * answer and are asked again every `retryIntervalMs` until the hunt expires, as with Fleet.
   */
  private async huntCrowdStrike(
    view: HuntRunView,
    definition: HuntDefinition,
    options: HuntStartOptions,
    expiresAt: number,
    report: () => void,
  ): Promise<void> {
    const edr = options.edr;
    const keys = rtrRegistryKeys(definition);
    const rules = new SigmaRuleSet([definition.rule]);
    const hosts = (await edr.run('list_hosts', {}, { idempotencyKey: `${view.id}:hosts` })) as { hosts: Array<{ id: string; hostname: string }> };
    const names = new Map(hosts.hosts.map((h) => [h.id, h.hostname]));
    view.progress.targeted = hosts.hosts.length;
    let pending = hosts.hosts.map((h) => h.id);
    let n = 0;
    type Answer = { aid: string; complete: boolean; values: Array<{ key: string; name: string; type: string; data: string }>; subkeys: string[] };
    const query = async (hostIds: string[], key: string) => {
      const out: Answer[] = [];
      for (let i = 0; i < hostIds.length; i += 10_000) {
        const answer = (await edr.run(
          'reg_query',
          { host_ids: hostIds.slice(i, i + 10_000), key, queue_offline: false },
          { idempotencyKey: `${view.id}:rtr${n++}` },
        )) as {
          hosts: Answer[];
        };
        out.push(...answer.hosts);
      }
      return out;
    };
    for (;;) {
      const hives = await query(pending, 'HKU');
      const answered = hives.filter((h) => h.complete);
      const answeredIds = answered.map((h) => h.aid);
      const found: HuntSighting[] = [];
      const collect = (results: Answer[]) => {
        for (const r of results)
          for (const v of r.values)
            if (rules.matching(registryEvent(v.key, v)).length > 0)
              found.push({ host_id: r.aid, hostname: names.get(r.aid) ?? r.aid, key: v.key, value: v.name, type: v.type, data: v.data });
      };
      for (const key of keys.filter((k) => k.scope === 'machine')) if (answeredIds.length > 0) collect(await query(answeredIds, `HKLM\\${key.path}`));
      const userKeys = keys.filter((k) => k.scope === 'user');
      const perHive = answered.flatMap((h) =>
        h.subkeys.filter((sub) => /\\S-1-5-21-[\d-]+$/i.test(sub)).flatMap((sub) => userKeys.map((k) => ({ aid: h.aid, key: `${sub}\\${k.path}` }))),
      );
      await pool(perHive, options.concurrency ?? 8, async (q) => collect(await query([q.aid], q.key)));
      view.sightings.push(...found);
      view.progress.answered += answered.length;
      pending = hives.filter((h) => !h.complete).map((h) => h.aid);
      view.progress.pending = pending.length;
      report();
      if (pending.length === 0 || this.now() + (options.retryIntervalMs ?? 30_000) > expiresAt) return;
      await sleep(options.retryIntervalMs ?? 30_000);
    }
  }

  private async openCase(view: HuntRunView, definition: HuntDefinition, actor: Actor): Promise<void> {
    const cases = this.options.cases;
    const hosts = [...new Set(view.sightings.map((s) => s.hostname))];
    const created = await cases.createCase(
      {
        title: `Hunt: ${definition.title} (${hosts.length} host${hosts.length === 1 ? '' : 's'})`,
        description: `Hunt ${view.id} through ${view.edr.instance} (${view.edr.kind}), from a ${definition.source} definition.`,
        severity: 'high',
        tags: ['hunt', `hunt:${view.id}`],
        techniques: view.definition.attack,
        // A host name an attacker made invalid (spaces, markup) must not stop the case from opening: it stays
        // in the evidence and on the hunt, just not in the observable registry.
        observables: hosts.filter((h) => tryNormalizeObservable('hostname', h) !== undefined).map((h) => ({ type: 'hostname', value: h })),
      },
      actor,
    );
    view.case_id = created.id;
    await this.persist(view);
    const byHost = new Map<string, HuntSighting[]>();
    for (const s of view.sightings) byHost.set(s.hostname, [...(byHost.get(s.hostname) ?? []), s]);
    for (const [host, sightings] of byHost) {
      // Evidence before any change: the exact key, value and data as the EDR reported them.
      await cases.addEvidence(
        created.id,
        {
          name: `hunt-${host}.json`,
          contentType: 'application/json',
          description: `Registry values found on ${host} (${view.definition.attack.join(', ')})`,
          content: new TextEncoder().encode(JSON.stringify({ hunt: view.id, edr: view.edr, host, sightings }, null, 2)),
        },
        actor,
      );
    }
    await cases.appendTimeline(
      created.id,
      {
        kind: 'hunt.completed',
        summary: `Hunt found ${view.sightings.length} value(s) on ${hosts.length} of ${view.progress.targeted} hosts (${view.progress.pending} did not answer before expiry)`,
        details: { hunt_id: view.id, progress: view.progress, techniques: view.definition.attack },
      },
      actor,
    );
    await cases.recordAudit({ actor, action: 'hunt.run', target: `case:${created.id}`, details: { hunt_id: view.id, edr: view.edr, hosts: hosts.length } });
  }

  /** The remediation plan (what a dry-run shows): hosts by wave, with criticality and approvals needed. */
  async plan(huntId: string, options: RemediationOptions = {}): Promise<WaveView[]> {
    const view = await this.load(huntId);
    if (view.remediation.waves.length > 0 && Object.keys(options).length === 0) return view.remediation.waves;
    return this.planFor(view, options);
  }

  private async planFor(view: HuntRunView, options: RemediationOptions): Promise<WaveView[]> {
    const byHost = new Map<string, HuntSighting[]>();
    for (const s of view.sightings) byHost.set(s.host_id, [...(byHost.get(s.host_id) ?? []), s]);
    const hosts: WaveHost[] = [];
    for (const [hostId, sightings] of byHost) {
      const hostname = (sightings[0] as HuntSighting).hostname;
      hosts.push({ host_id: hostId, hostname, criticality: (await this.options.criticality?.(hostname)) ?? 'medium', sightings, status: 'planned' });
    }
    // The canary should be an ordinary host: critical servers go last, never first.
    hosts.sort((a, b) => Number(a.criticality === 'critical') - Number(b.criticality === 'critical') || a.hostname.localeCompare(b.hostname));
    return planWaves(hosts, options.secondWaveShare ?? 0.1).map((w, index) => ({
      index,
      name: w.name,
      hosts: w.hosts,
      status: 'planned',
      approvals_required: w.hosts.length > (options.twoApproversAbove ?? 25) ? 2 : w.hosts.some((h) => h.criticality === 'critical') ? 1 : 0,
      approved_by: [],
      failures: 0,
    }));
  }

  /**
   * Records an approval of a wave; a wave needing two approvers needs two different people. Any process
   * may approve: the approval goes on the run's step ledger, where the process driving the run finds it.
   */
  async approve(huntId: string, waveIndex: number, actor: Actor): Promise<WaveView> {
    const driven = this.driving.has(huntId) || !this.store;
    const view = driven ? this.mustGet(huntId) : await this.load(huntId);
    const wave = view.remediation.waves[waveIndex];
    if (!wave) throw notFound('wave', String(waveIndex));
    if (wave.status !== 'waiting_approval' && wave.status !== 'planned')
      throw new RiposteError('hunt.not_waiting', `wave ${wave.name} is ${wave.status}, not waiting for approval`, { status: 409 });
    await this.store?.hunts.addStep({
      huntId,
      key: `approve:${waveIndex}:${actor.id}`,
      kind: 'approve',
      wave: waveIndex,
      hostId: null,
      status: 'done',
      data: { actor },
    });
    if (!wave.approved_by.includes(actor.id)) wave.approved_by.push(actor.id);
    if (driven) await this.persist(view).catch(() => {});
    if (view.case_id)
      await this.options.cases.appendTimeline(
        view.case_id,
        {
          kind: 'hunt.approval',
          summary: `${actor.name} approved wave ${wave.name} (${wave.approved_by.length}/${wave.approvals_required})`,
          details: { hunt_id: huntId },
        },
        actor,
      );
    await this.options.cases.recordAudit({ actor, action: 'hunt.wave_approved', target: `hunt:${huntId}`, details: { wave: wave.name } });
    this.approvalWaiters.get(`${huntId}:${waveIndex}`)?.();
    return structuredClone(wave);
  }

  /**
   * Takes the run over for this process (the lease) with its stored view and options; refuses when another
   * process drives it. Without a store, the run must be in memory.
   */
  private async takeOver(huntId: string): Promise<{ view: HuntRunView; stored: StoredOptions }> {
    if (!this.store || this.driving.has(huntId)) return { view: this.mustGet(huntId), stored: this.storedOptions.get(huntId) ?? {} };
    if (!(await this.store.hunts.claim(huntId, this.owner, this.now(), this.leaseMs))) {
      if (!(await this.store.hunts.get(huntId))) throw notFound('hunt', huntId);
      throw new RiposteError('hunt.busy', `hunt ${huntId} is driven by another process`, { status: 409, retryable: true });
    }
    const record = await this.store.hunts.get(huntId);
    if (!record) throw notFound('hunt', huntId);
    const view = withDefaults(record.view as HuntRunView);
    applyApprovals(view, await this.store.hunts.steps(huntId));
    this.runs.set(huntId, view);
    this.storedOptions.set(huntId, record.options as StoredOptions);
    this.drive(huntId);
    return { view, stored: record.options as StoredOptions };
  }

  private readonly storedOptions = new Map<string, StoredOptions>();

  /** Plans the waves and records the plan on the case (once). */
  private async begin(huntId: string, options: RemediationOptions, mode: 'hunt' | 'playbook'): Promise<HuntRunView> {
    const { view, stored } = await this.takeOver(huntId);
    if (!view.case_id) throw new RiposteError('hunt.nothing_to_remediate', 'the hunt has no case (no sightings, or it was a dry run)', { status: 409 });
    if (view.remediation.waves.length > 0) return view;
    view.remediation.waves = await this.planFor(view, options);
    view.remediation.status = 'running';
    const { actor, ...tuning } = options;
    const next: StoredOptions = { ...stored, mode, remediation: tuning, ...(actor ? { actor } : {}) };
    this.storedOptions.set(huntId, next);
    await this.persist(view, next);
    await this.options.cases.appendTimeline(
      view.case_id,
      {
        kind: 'hunt.remediation_planned',
        summary: `Remediation planned in ${view.remediation.waves.length} wave(s): ${view.remediation.waves.map((w) => `${w.name} ${w.hosts.length}`).join(', ')}`,
        details: { hunt_id: huntId, waves: view.remediation.waves.map((w) => ({ name: w.name, hosts: w.hosts.map((h) => h.hostname) })) },
      },
      options.actor ?? SYSTEM_ACTOR,
    );
    return view;
  }

  /** Staged remediation of the hunt's hosts: waves, approvals, verification, halt and rollback. */
  async remediate(huntId: string, options: RemediationOptions = {}): Promise<HuntRunView> {
    try {
      const view = await this.begin(huntId, options, 'hunt');
      await this.driveWaves(view, options);
      return this.get(huntId);
    } catch (error) {
      if (isLeaseLost(error) || this.stopping) return this.get(huntId);
      throw error;
    } finally {
      this.letGo(huntId);
    }
  }

  private async driveWaves(view: HuntRunView, options: RemediationOptions): Promise<void> {
    const huntId = view.id;
    const actor = options.actor ?? SYSTEM_ACTOR;
    const timeline = (kind: string, summary: string, details: Record<string, unknown> = {}) =>
      this.options.cases.appendTimeline(view.case_id as string, { kind, summary, details: { hunt_id: huntId, ...details } }, actor);
    for (const wave of view.remediation.waves) {
      if (wave.status === 'verified' || wave.status === 'skipped') continue;
      if (wave.status === 'halted') return;
      if (wave.status !== 'running' && wave.approvals_required > wave.approved_by.length) {
        if (wave.status !== 'waiting_approval') {
          wave.status = 'waiting_approval';
          view.remediation.status = 'waiting_approval';
          for (const h of wave.hosts) if (h.criticality === 'critical') h.status = 'waiting_approval';
          await this.persist(view);
          await timeline('hunt.approval_requested', `Wave ${wave.name} waits for ${wave.approvals_required} approver(s)`, {
            wave: wave.name,
            critical_hosts: wave.hosts.filter((h) => h.criticality === 'critical').map((h) => h.hostname),
          });
        }
        await this.awaitApprovals(view, wave);
        view.remediation.status = 'running';
      }
      if (await this.executeWave(huntId, wave, options)) return;
    }
    await this.finish(huntId, actor);
  }

  /** Waits until the wave has its approvals: from this process at once, from others through the ledger. */
  private async awaitApprovals(view: HuntRunView, wave: WaveView): Promise<void> {
    const key = `${view.id}:${wave.index}`;
    while (wave.approved_by.length < wave.approvals_required) {
      if (this.stopping) throw leaseLost(view.id);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.approvalWaiters.set(key, resolve);
        if (this.store) timer = setTimeout(resolve, this.options.approvalPollMs ?? 2000);
      });
      clearTimeout(timer);
      if (this.store) {
        const before = wave.approved_by.length;
        applyApprovals(view, await this.store.hunts.steps(view.id));
        if (wave.approved_by.length !== before) await this.persist(view);
      }
    }
    this.approvalWaiters.delete(key);
  }

  /**
   * One wave, for a playbook that stages the rollout itself (`hunt.remediate_wave`): the engine's policy has
   * already decided approvals for the step (its `hosts` are the policy targets). A wave after a halted one
   * is skipped; the last wave completing completes the remediation. The engine retries the step after a
   * crash; the ledger makes that retry continue the wave rather than start it again.
   */
  async remediateWave(
    huntId: string,
    index: number,
    options: RemediationOptions = {},
  ): Promise<{ wave: WaveView; halted: boolean; remediation: HuntRunView['remediation'] }> {
    try {
      const view = await this.begin(huntId, options, 'playbook');
      const wave = view.remediation.waves[index];
      if (!wave) throw notFound('wave', String(index));
      if (view.remediation.status === 'halted' || wave.status === 'skipped') {
        return { wave: structuredClone(wave), halted: true, remediation: structuredClone(view.remediation) };
      }
      if (wave.status === 'verified' || wave.status === 'halted')
        return { wave: structuredClone(wave), halted: wave.status === 'halted', remediation: structuredClone(view.remediation) };
      const halted = await this.executeWave(huntId, wave, options);
      if (!halted && view.remediation.waves.every((w) => w.status === 'verified')) await this.finish(huntId, options.actor ?? SYSTEM_ACTOR);
      return { wave: structuredClone(wave), halted, remediation: structuredClone(view.remediation) };
    } finally {
      this.letGo(huntId);
    }
  }

  private async finish(huntId: string, actor: Actor): Promise<void> {
    const view = this.mustGet(huntId);
    view.remediation.status = 'completed';
    view.remediation.message = `Remediated and verified ${view.remediation.waves.reduce((n, w) => n + w.hosts.filter((h) => h.status === 'verified').length, 0)} host(s)`;
    await this.persist(view);
    await this.options.cases.appendTimeline(
      view.case_id as string,
      { kind: 'hunt.remediation_completed', summary: view.remediation.message, details: { hunt_id: huntId } },
      actor,
    );
  }

  /** The run's step ledger by key (empty without a store). */
  private async ledger(huntId: string): Promise<Map<string, HuntStepRecord>> {
    return new Map((await this.store?.hunts.steps(huntId))?.map((s) => [s.key, s]) ?? []);
  }

  private async step(step: NewHuntStep): Promise<void> {
    await this.store?.hunts.putStep(step);
  }

  /**
   * Deletes the wave's values, verifies by re-query; past the threshold, rolls the wave back. True when halted.
   * Continues a wave another process started: a command the ledger shows answered is not sent again, one
   * that may have been in flight is checked by re-query first (gone: it landed), and a wave that was already
   * rolling back only finishes its rollback.
   */
  private async executeWave(huntId: string, wave: WaveView, options: RemediationOptions): Promise<boolean> {
    const view = this.mustGet(huntId);
    const edr = await this.edrFor(view);
    const caseId = view.case_id as string;
    const actor = options.actor ?? SYSTEM_ACTOR;
    const cases = this.options.cases;
    const threshold = options.failureThreshold ?? 0.2;
    const timeline = (kind: string, summary: string, details: Record<string, unknown> = {}) =>
      cases.appendTimeline(caseId, { kind, summary, details: { hunt_id: huntId, ...details } }, actor);
    const steps = await this.ledger(huntId);
    const continuing = wave.status === 'running';
    const completed: Completed[] = [];
    const rollingBack = continuing && [...steps.values()].some((s) => s.kind === 'rollback' && s.wave === wave.index);
    if (!rollingBack) {
      wave.status = 'running';
      await this.persist(view);
      await this.openWaveTicket(view, wave, steps, actor);
      const inFlight = wave.hosts.filter((h) => h.sightings.some((s) => steps.get(deleteStepKey(h, s))?.status === 'sending'));
      // Sent by a process that stopped before the answer came: ask the EDR before sending anything again.
      const present = inFlight.length > 0 ? await this.presentValues(view, edr, inFlight) : { still: new Set<string>(), answered: new Set<string>() };
      if (continuing)
        await timeline(
          'hunt.wave_resumed',
          `Wave ${wave.name} continued by another process: ${inFlight.length} host(s) with a command in flight re-checked by re-query`,
          { wave: wave.name, in_flight: inFlight.map((h) => h.hostname) },
        );
      await pool(wave.hosts, options.concurrency ?? 8, async (host) => {
        delete host.error;
        for (const s of host.sightings) {
          const input = this.deleteInput(view.edr.kind, s);
          const key = deleteStepKey(host, s);
          const previous = steps.get(key);
          const ledgerStep = { huntId, key, kind: 'delete' as const, wave: wave.index, hostId: host.host_id };
          if (previous?.status === 'sending' && !present.answered.has(host.host_id)) {
            // Not sent again (it may have landed) and not claimed done: the host's state is unknown.
            host.status = 'failed';
            host.error = 'a command may have been sent before the restart and the host did not answer the re-query; not sent again';
            return;
          }
          if (previous?.status === 'done' || (previous?.status === 'sending' && !present.still.has(valueKey(host.host_id, s.key, s.value)))) {
            if (previous.status === 'sending') await this.step({ ...ledgerStep, status: 'done', data: { input, confirmed_by: 're-query' } });
            completed.push({ host, action: 'delete_registry_value', input, output: previous.data.output });
            host.status = 'remediated';
            continue;
          }
          if (previous?.status === 'failed') {
            host.status = 'failed';
            host.error = String(previous.data.error ?? 'failed');
            return;
          }
          await this.step({ ...ledgerStep, status: 'sending', data: { input } });
          try {
            const output = await edr.run('delete_registry_value', input, { idempotencyKey: `${huntId}:${host.host_id}:${s.key}:${s.value}` });
            await this.step({ ...ledgerStep, status: 'done', data: { input, output: output ?? null } });
            completed.push({ host, action: 'delete_registry_value', input, output });
            host.status = 'remediated';
          } catch (error) {
            if (this.stopping) throw error;
            host.status = 'failed';
            host.error = describeError(error);
            await this.step({ ...ledgerStep, status: 'failed', data: { input, error: host.error } });
            return;
          }
        }
      });
      await cases.recordAudit({
        actor,
        action: 'hunt.remediate_wave',
        target: `case:${caseId}`,
        details: { hunt_id: huntId, wave: wave.name, hosts: wave.hosts.map((h) => ({ host: h.hostname, status: h.status, error: h.error ?? null })) },
      });
      // Verify by re-query: a host whose value is still there failed, whatever the EDR said.
      const { still, answered } = await this.presentValues(
        view,
        edr,
        wave.hosts.filter((h) => h.status === 'remediated'),
      );
      for (const h of wave.hosts) {
        if (h.status !== 'remediated') continue;
        if (h.sightings.some((s) => still.has(valueKey(h.host_id, s.key, s.value)))) {
          h.status = 'failed';
          h.error = 're-query still finds the value';
        } else if (!answered.has(h.host_id)) {
          // The EDR reported the removal but the host went quiet: remediated, not verified.
          h.error = 'did not answer the verification re-query (offline?): remediated but not verified';
        } else h.status = 'verified';
      }
      wave.failures = wave.hosts.filter((h) => h.status === 'failed').length;
      const verified = wave.hosts.filter((h) => h.status === 'verified').length;
      const unverified = wave.hosts.filter((h) => h.status === 'remediated').length;
      await timeline(
        'hunt.wave_done',
        `Wave ${wave.name}: ${verified} of ${wave.hosts.length} host(s) remediated and verified by re-query${unverified > 0 ? `, ${unverified} remediated but not verified (no answer to the re-query)` : ''}`,
        { wave: wave.name, failed: wave.hosts.filter((h) => h.status === 'failed').map((h) => ({ host: h.hostname, error: h.error })) },
      );
      if (wave.failures / wave.hosts.length <= threshold) {
        wave.status = 'verified';
        await this.persist(view);
        await this.reportWaveTicket(view, wave, steps, actor);
        return false;
      }
      // Written before the first inverse is sent: a process continuing this wave only finishes the rollback.
      await this.persist(view);
    } else {
      for (const host of wave.hosts)
        for (const s of host.sightings) {
          const previous = steps.get(deleteStepKey(host, s));
          if (previous?.status === 'done')
            completed.push({ host, action: 'delete_registry_value', input: previous.data.input as Record<string, unknown>, output: previous.data.output });
        }
    }
    wave.status = 'halted';
    const rollingBackHosts = [...new Set(completed.map((c) => c.host))].filter((h) =>
      h.sightings.some((s) => steps.get(rollbackStepKey(h, s))?.status === 'sending'),
    );
    // A restore that may have been in flight: present again means it landed.
    const restored = rollingBackHosts.length > 0 ? (await this.presentValues(view, edr, rollingBackHosts)).still : new Set<string>();
    let rolledBack = 0;
    const rollbackErrors: string[] = [];
    for (const done of completed) {
      const spec = edr.action(done.action);
      if (!spec.inverse) continue;
      const sighting = done.host.sightings.find((s) => s.key === done.input.key && s.value === done.input.value_name) as HuntSighting;
      const key = rollbackStepKey(done.host, sighting);
      const previous = steps.get(key);
      const ledgerStep = { huntId, key, kind: 'rollback' as const, wave: wave.index, hostId: done.host.host_id };
      if (previous?.status === 'done' || (previous?.status === 'sending' && restored.has(valueKey(done.host.host_id, sighting.key, sighting.value)))) {
        if (done.host.status !== 'rollback_failed') done.host.status = 'rolled_back';
        rolledBack++;
        continue;
      }
      if (previous?.status === 'failed') {
        done.host.status = 'rollback_failed';
        done.host.error = String(previous.data.error);
        rollbackErrors.push(`${done.host.hostname}: ${String(previous.data.error).replace(/^rollback failed: /, '')}`);
        continue;
      }
      const args = spec.inverseInput ? spec.inverseInput(spec.input.parse(done.input), done.output) : done.input;
      await this.step({ ...ledgerStep, status: 'sending', data: { input: args } });
      try {
        await edr.run(spec.inverse, args, { idempotencyKey: `${huntId}:rollback:${done.host.host_id}:${String(done.input.value_name)}` });
        await this.step({ ...ledgerStep, status: 'done', data: { input: args } });
        if (done.host.status !== 'rollback_failed') done.host.status = 'rolled_back';
        rolledBack++;
      } catch (error) {
        if (this.stopping) throw error;
        done.host.status = 'rollback_failed';
        done.host.error = `rollback failed: ${describeError(error)}`;
        await this.step({ ...ledgerStep, status: 'failed', data: { input: args, error: done.host.error } });
        rollbackErrors.push(`${done.host.hostname}: ${describeError(error)}`);
      }
    }
    for (const later of view.remediation.waves.slice(wave.index + 1)) {
      later.status = 'skipped';
      for (const h of later.hosts) h.status = 'skipped';
    }
    view.remediation.status = 'halted';
    view.remediation.message = `Halted: ${wave.failures} of ${wave.hosts.length} host(s) failed in wave ${wave.name} (threshold ${Math.round(threshold * 100)}%); rolled back ${rolledBack} change(s) with their inverse${rollbackErrors.length ? `; rollback failed on ${rollbackErrors.join(', ')}` : ''}`;
    await this.persist(view);
    await timeline('hunt.remediation_halted', view.remediation.message, { wave: wave.name, rolled_back: rolledBack, rollback_errors: rollbackErrors });
    await this.reportWaveTicket(view, wave, steps, actor);
    await cases.recordAudit({
      actor,
      action: 'hunt.rollback',
      target: `case:${caseId}`,
      details: { hunt_id: huntId, wave: wave.name, rolled_back: rolledBack },
    });
    return true;
  }

  /**
   * Change management sees every wave: one ticket per wave naming the hosts and the change, opened before
   * the first command is sent, and the verification result added when the wave ends. The ledger makes both
   * happen once across restarts (a ticket whose creation was in flight when a process died is opened again:
   * a duplicate ticket rather than a missing one). A ticketing failure is put on the case and does not hold
   * the remediation back.
   */
  private async openWaveTicket(view: HuntRunView, wave: WaveView, steps: Map<string, HuntStepRecord>, actor: Actor): Promise<void> {
    const key = `ticket:${wave.index}`;
    const previous = steps.get(key);
    if (previous?.status === 'done') {
      wave.ticket = previous.data.ticket as WaveTicket;
      return;
    }
    const instance = await this.options.ticketing?.();
    if (!instance) return;
    const hosts = wave.hosts.map((h) => `${h.hostname}${h.criticality === 'critical' ? ' (critical)' : ''}`);
    const values = [...new Set(wave.hosts.flatMap((h) => h.sightings.map((s) => `${s.key}\\${s.value}`)))];
    const summary = `Hunt remediation, wave ${wave.name}: ${wave.hosts.length} host(s) — ${view.definition.title}`.slice(0, 150);
    const description = [
      `Riposte hunt ${view.id} (case ${view.case_id}), ${view.definition.attack.join(', ') || 'no ATT&CK technique'}, through ${view.edr.instance} (${view.edr.kind}).`,
      `Change: delete the registry value(s) ${values.join(', ')} on each host; the captured data is kept for rollback.`,
      `Wave ${wave.index + 1} of ${view.remediation.waves.length} (${wave.name})${wave.approved_by.length ? `, approved by ${wave.approved_by.join(', ')}` : ''}.`,
      `Hosts (${hosts.length}): ${hosts.join(', ')}`,
      'Verification: re-query of each host after the change; the result is added here when the wave ends.',
    ].join('\n\n');
    const step = { huntId: view.id, key, kind: 'ticket' as const, wave: wave.index, hostId: null };
    await this.step({ ...step, status: 'sending', data: { instance: instance.name } });
    try {
      let ticket: WaveTicket;
      if (instance.integration.id === 'servicenow_incident') {
        const out = (await instance.run(
          'create_incident',
          { short_description: summary, description, urgency: 2, impact: wave.hosts.some((h) => h.criticality === 'critical') ? 1 : 2, category: 'security' },
          { idempotencyKey: `${view.id}:${key}` },
        )) as { sys_id: string; number: string; url?: string };
        ticket = { instance: instance.name, key: out.number, url: out.url ?? null, id: out.sys_id };
      } else {
        const out = (await instance.run(
          'create_ticket',
          { summary, description, labels: ['riposte', 'hunt-remediation', `hunt-${view.id}`, `wave-${wave.index}`] },
          { idempotencyKey: `${view.id}:${key}` },
        )) as { key: string; url: string };
        ticket = { instance: instance.name, key: out.key, url: out.url };
      }
      wave.ticket = ticket;
      await this.step({ ...step, status: 'done', data: { instance: instance.name, ticket } });
      await this.persist(view);
      await this.options.cases.appendTimeline(
        view.case_id as string,
        {
          kind: 'hunt.wave_ticket',
          summary: `Wave ${wave.name}: change ticket ${ticket.key} opened in ${instance.name}`,
          details: { hunt_id: view.id, wave: wave.name, ticket },
        },
        actor,
      );
    } catch (error) {
      await this.step({ ...step, status: 'failed', data: { instance: instance.name, error: describeError(error) } });
      await this.options.cases.appendTimeline(
        view.case_id as string,
        {
          kind: 'hunt.wave_ticket_failed',
          summary: `Wave ${wave.name}: no change ticket (${describeError(error)})`,
          details: { hunt_id: view.id, wave: wave.name },
        },
        actor,
      );
    }
  }

  /** Adds the wave's outcome (verified by re-query, failures, halt and rollback) to its ticket, once. */
  private async reportWaveTicket(view: HuntRunView, wave: WaveView, steps: Map<string, HuntStepRecord>, actor: Actor): Promise<void> {
    const ticket = wave.ticket ?? (steps.get(`ticket:${wave.index}`)?.data.ticket as WaveTicket | undefined);
    if (!ticket) return;
    const key = `ticket_result:${wave.index}`;
    if (steps.get(key)?.status === 'done') return;
    const instance = await this.options.ticketing?.();
    if (!instance || instance.name !== ticket.instance) return;
    const verified = wave.hosts.filter((h) => h.status === 'verified');
    const others = wave.hosts.filter((h) => h.status !== 'verified');
    const text = [
      wave.status === 'verified'
        ? `Wave ${wave.name} done: ${verified.length} of ${wave.hosts.length} host(s) remediated and verified by re-query (the value is gone).`
        : `Wave ${wave.name} HALTED: ${wave.failures} of ${wave.hosts.length} host(s) failed; the wave's changes were rolled back. ${view.remediation.message ?? ''}`,
      ...(others.length > 0 ? [`Not verified: ${others.map((h) => `${h.hostname} ${h.status}${h.error ? ` (${h.error})` : ''}`).join(', ')}`] : []),
    ].join('\n\n');
    const step = { huntId: view.id, key, kind: 'ticket' as const, wave: wave.index, hostId: null };
    try {
      if (instance.integration.id === 'servicenow_incident') {
        await instance.run(
          'update_incident',
          { sys_id: ticket.id, work_notes: text, ...(wave.status === 'verified' ? { state: 6, close_code: 'Solved (Permanently)', close_notes: text } : {}) },
          { idempotencyKey: `${view.id}:${key}` },
        );
      } else await instance.run('comment', { key: ticket.key, body: text }, { idempotencyKey: `${view.id}:${key}` });
      await this.step({ ...step, status: 'done', data: { ticket } });
    } catch (error) {
      await this.options.cases.appendTimeline(
        view.case_id as string,
        {
          kind: 'hunt.wave_ticket_failed',
          summary: `Wave ${wave.name}: the result could not be added to ${ticket.key} (${describeError(error)})`,
          details: { hunt_id: view.id, wave: wave.name },
        },
        actor,
      );
    }
  }

  /**
   * Continues the runs no live process drives (this process's start after a crash or restart, or another
   * process that died): a fan-out cut short is run again (it only reads), a remediation continues where its
   * ledger says. Remediations staged by a playbook are left to the engine, which retries its step.
   */
  async resumeOrphans(): Promise<string[]> {
    if (!this.store || this.stopping) return [];
    const resumed: string[] = [];
    for (const record of await this.store.hunts.listOrphaned(this.now())) {
      if (this.driving.has(record.id)) continue;
      const stored = record.options as StoredOptions;
      const remediating = record.remediationStatus === 'running' || record.remediationStatus === 'waiting_approval';
      if (remediating && stored.mode === 'playbook') continue;
      if (!remediating && (stored.request === undefined || !this.options.definitionFrom)) {
        // Nothing to run it again from: say so rather than leave it `running` for ever.
        if (await this.store.hunts.claim(record.id, this.owner, this.now(), this.leaseMs)) {
          const view = withDefaults(record.view as HuntRunView);
          this.runs.set(record.id, view);
          this.drive(record.id);
          await this.failed(view, new RiposteError('hunt.interrupted', 'the process running this hunt stopped before it finished; run the hunt again'));
          this.letGo(record.id);
        }
        continue;
      }
      let taken: { view: HuntRunView; stored: StoredOptions };
      try {
        taken = await this.takeOver(record.id);
      } catch {
        continue;
      }
      resumed.push(record.id);
      const { view } = taken;
      view.resumes += 1;
      this.options.logger.info({ hunt: view.id, remediation: view.remediation.status }, 'hunt: continuing a run another process left');
      const work = remediating ? this.continueRemediation(view, stored) : this.continueFanOut(view, stored);
      void work
        .catch((error) => {
          if (!isLeaseLost(error) && !this.stopping)
            this.options.logger.error({ hunt: view.id, error: describeError(error) }, 'hunt: continuing the run failed');
        })
        .finally(() => this.letGo(view.id));
    }
    return resumed;
  }

  private async continueRemediation(view: HuntRunView, stored: StoredOptions): Promise<void> {
    const options: RemediationOptions = { ...stored.remediation, ...(stored.actor ? { actor: stored.actor } : {}) };
    await this.persist(view);
    if (view.case_id)
      await this.options.cases.appendTimeline(
        view.case_id,
        {
          kind: 'hunt.resumed',
          summary: `Remediation continued by another process (${view.remediation.waves.filter((w) => w.status === 'verified').length} of ${view.remediation.waves.length} wave(s) done)`,
          details: { hunt_id: view.id, waves: view.remediation.waves.map((w) => ({ name: w.name, status: w.status })) },
        },
        stored.actor ?? SYSTEM_ACTOR,
      );
    await this.driveWaves(view, options);
  }

  private async continueFanOut(view: HuntRunView, stored: StoredOptions): Promise<void> {
    const definition = (this.options.definitionFrom as NonNullable<HuntRunsOptions['definitionFrom']>)(stored.request);
    const edr = await this.edrFor(view);
    view.sightings = [];
    view.progress = { targeted: 0, answered: 0, pending: 0, hosts_hit: 0, sightings: 0 };
    await this.persist(view);
    try {
      await this.execute(
        view,
        definition,
        {
          edr,
          dryRun: view.dry_run,
          ...(stored.start?.retryIntervalMs !== undefined ? { retryIntervalMs: stored.start.retryIntervalMs } : {}),
          ...(stored.start?.chunkSize !== undefined ? { chunkSize: stored.start.chunkSize } : {}),
          ...(stored.start?.concurrency !== undefined ? { concurrency: stored.start.concurrency } : {}),
          ...(stored.actor ? { actor: stored.actor } : {}),
        },
        stored.start?.expiresAt ?? this.now(),
      );
    } catch (error) {
      await this.failed(view, error);
    }
  }

  /**
   * Resumes orphaned runs now and then every lease period (a process that died elsewhere). `exclusive`: the
   * embedded single-process store, where every lease left over is the previous process's.
   */
  async startResuming(options: { exclusive?: boolean } = {}): Promise<void> {
    if (!this.store || this.orphanScan) return;
    if (options.exclusive) await this.store.hunts.takeOverAllLeases(this.owner);
    this.orphanScan = setInterval(() => {
      this.resumeOrphans().catch((error) => this.options.logger.warn({ error: describeError(error) }, 'hunt: looking for runs to continue failed'));
    }, this.leaseMs);
    this.orphanScan.unref();
    await this.resumeOrphans();
  }

  /** Stops driving: waits end, leases are handed back so another process (or the next start) continues at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.orphanScan);
    clearInterval(this.heartbeat);
    for (const wake of this.approvalWaiters.values()) wake();
    if (this.store && this.driving.size > 0) await this.store.hunts.releaseLeases(this.owner, [...this.driving.keys()]).catch(() => {});
    this.driving.clear();
  }

  private drive(huntId: string): void {
    this.driving.set(huntId, (this.driving.get(huntId) ?? 0) + 1);
    if (!this.store || this.heartbeat) return;
    this.heartbeat = setInterval(
      () => {
        if (this.driving.size === 0) return;
        this.store?.hunts
          .extendLeases(this.owner, [...this.driving.keys()], this.now() + this.leaseMs)
          .catch((error) => this.options.logger.warn({ error: describeError(error) }, 'hunt: renewing leases failed'));
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    this.heartbeat.unref();
  }

  /** One driver of the run is done; the last one hands the lease back. */
  private letGo(huntId: string): void {
    const count = (this.driving.get(huntId) ?? 0) - 1;
    if (count > 0) {
      this.driving.set(huntId, count);
      return;
    }
    if (!this.driving.delete(huntId) || !this.store || this.stopping) return;
    const release = () => this.store?.hunts.releaseLeases(this.owner, [huntId]);
    void (this.writes.get(huntId) ?? Promise.resolve())
      .catch(() => {})
      .then(release)
      .catch(() => {});
  }

  /** Writes the run's view (and options) to the store, in order, only while this process holds its lease. */
  private persist(view: HuntRunView, options?: StoredOptions): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    const snapshot = structuredClone(view);
    const previous = this.writes.get(view.id) ?? Promise.resolve();
    const write = previous
      .catch(() => {})
      .then(async () => {
        const ok = await store.hunts.update(
          view.id,
          { status: snapshot.status, remediationStatus: snapshot.remediation.status, view: snapshot, ...(options ? { options } : {}) },
          this.owner,
        );
        if (!ok) throw leaseLost(view.id);
      });
    this.writes.set(view.id, write);
    return write;
  }

  private async edrFor(view: HuntRunView): Promise<IntegrationInstance> {
    const known = this.instances.get(view.id);
    if (known) return known;
    const found = await this.options.instance?.(view.edr.instance);
    if (!found)
      throw new RiposteError('hunt.no_edr', `hunt ${view.id} ran through instance ${JSON.stringify(view.edr.instance)}, which is no longer configured`, {
        status: 422,
      });
    this.instances.set(view.id, found);
    return found;
  }

  private deleteInput(kind: EdrKind, s: HuntSighting): Record<string, unknown> {
    const base = { key: s.key, value_name: s.value, type: ['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD'].includes(s.type) ? s.type : 'REG_SZ', data: s.data };
    if (kind === 'defender') return { machine_id: s.host_id, ...base };
    if (kind === 'fleetdm') return { host_id: Number(s.host_id), ...base };
    return { host_id: s.host_id, ...base };
  }

  /** Host ids among `hosts` whose hunted values are still present. */

  /** Which of the hosts' hunted values are still there (`valueKey`s), by asking the EDR again. */
  /**
   * Which of the hosts' sighted values are still there, by re-query, and which hosts answered at all: a host
   * that did not answer (offline) proves nothing either way. The Defender data lake answers for every device.
   */
  private async presentValues(view: HuntRunView, edr: IntegrationInstance, hosts: WaveHost[]): Promise<ReQuery> {
    const still = new Set<string>();
    const answered = new Set<string>();
    if (hosts.length === 0) return { still, answered };
    const wanted = new Set(hosts.flatMap((h) => h.sightings.map((s) => valueKey(s.host_id, s.key, s.value))));
    const mark = (hostId: string, key: string, value: string) => {
      const k = valueKey(hostId, key, value);
      if (wanted.has(k)) still.add(k);
    };
    if (view.edr.kind === 'fleetdm') {
      const ids = hosts.map((h) => Number(h.host_id));
      const keys = [...new Set(hosts.flatMap((h) => h.sightings.map((s) => s.key)))];
      const sql = `SELECT key, name FROM registry WHERE ${keys.map((k) => `key = '${k.replace(/'/g, "''")}'`).join(' OR ')};`;
      const out = (await edr.run('live_query', { query: sql, host_ids: ids }, { idempotencyKey: `${view.id}:verify:${randomUUID()}` })) as {
        results: Array<{ host_id: number; rows: Array<Record<string, unknown>>; error?: string | null }>;
      };
      for (const r of out.results) {
        if (r.error) continue;
        answered.add(String(r.host_id));
        for (const row of r.rows) mark(String(r.host_id), String(row.key), String(row.name));
      }
    } else if (view.edr.kind === 'crowdstrike') {
      const queries = hosts.flatMap((h) => [...new Set(h.sightings.map((s) => s.key))].map((key) => ({ aid: h.host_id, key })));
      await pool(queries, 8, async (q) => {
        const out = (await edr.run(
          'reg_query',
          { host_ids: [q.aid], key: q.key, queue_offline: false },
          { idempotencyKey: `${view.id}:verify:${randomUUID()}` },
        )) as {
          hosts: Array<{ aid: string; values: Array<{ key: string; name: string }> }>;
        };
        for (const r of out.hosts) {
          answered.add(r.aid);
          for (const v of r.values) mark(r.aid, v.key, v.name);
        }
      });
    } else if (view.edr.kind === 'defender') {
      const ids = hosts.map((h) => `"${h.host_id}"`).join(', ');
      const query = `DeviceRegistryEvents\n| where DeviceId in (${ids})`;
      const out = (await edr.run('advanced_hunting', { query }, { idempotencyKey: `${view.id}:verify:${randomUUID()}` })) as {
        results: Array<Record<string, unknown>>;
      };
      for (const r of out.results) mark(String(r.DeviceId), String(r.RegistryKey), String(r.RegistryValueName));
      for (const h of hosts) answered.add(h.host_id);
    }
    return { still, answered };
  }

  private mustGet(id: string): HuntRunView {
    const run = this.runs.get(id);
    if (!run) throw notFound('hunt', id);
    return run;
  }
}

/** A verification re-query: values still present (by valueKey) and the hosts that answered at all. */
interface ReQuery {
  still: Set<string>;
  answered: Set<string>;
}

/** Views stored before a field was added get its default. */
function withDefaults(view: HuntRunView): HuntRunView {
  return { ...view, resumes: view.resumes ?? 0 };
}

/** Approvals on the ledger (given by any process) into the waves' `approved_by`. */
function applyApprovals(view: HuntRunView, steps: readonly HuntStepRecord[] | undefined): void {
  for (const step of steps ?? []) {
    if (step.kind !== 'approve') continue;
    const wave = view.remediation.waves[step.wave];
    const actor = (step.data.actor as Actor | undefined)?.id;
    if (wave && actor && !wave.approved_by.includes(actor)) wave.approved_by.push(actor);
  }
}

function leaseLost(huntId: string): RiposteError {
  return new RiposteError('hunt.lease_lost', `hunt ${huntId} is now driven by another process`, { status: 409 });
}

function isLeaseLost(error: unknown): boolean {
  return error instanceof RiposteError && error.code === 'hunt.lease_lost';
}
