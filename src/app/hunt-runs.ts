import { randomUUID } from 'node:crypto';
import { type HuntDefinition, huntQueries } from '../analyzers/index.ts';
import type { CasesService } from '../cases/index.ts';
import { type Actor, describeError, type Logger, notFound, RiposteError, SYSTEM_ACTOR, tryNormalizeObservable } from '../core/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';

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
 * Runs live in memory (the case is the durable record of what was found and done).
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
}

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

export class HuntRuns {
  private readonly runs = new Map<string, HuntRunView>();
  private readonly instances = new Map<string, IntegrationInstance>();
  private readonly approvalWaiters = new Map<string, () => void>();
  private readonly options: HuntRunsOptions;
  private readonly now: () => number;

  constructor(options: HuntRunsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  list(): HuntRunView[] {
    return [...this.runs.values()].map((r) => structuredClone(r));
  }

  get(id: string): HuntRunView {
    const run = this.runs.get(id);
    if (!run) throw notFound('hunt', id);
    return structuredClone(run);
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
    };
    this.runs.set(view.id, view);
    this.instances.set(view.id, options.edr);
    const done = this.execute(view, definition, options).then(
      () => this.get(view.id),
      (error) => {
        view.status = 'failed';
        view.errors.push(describeError(error));
        view.finished_at = new Date(this.now()).toISOString();
        return this.get(view.id);
      },
    );
    return { view: this.get(view.id), done };
  }

  /** Starts and waits. */
  async run(definition: HuntDefinition, options: HuntStartOptions): Promise<HuntRunView> {
    return this.start(definition, options).done;
  }

  private async execute(view: HuntRunView, definition: HuntDefinition, options: HuntStartOptions): Promise<void> {
    const actor = options.actor ?? SYSTEM_ACTOR;
    const expiresAt = this.now() + (options.expiresInMs ?? 600_000);
    const report = () => {
      view.progress.sightings = view.sightings.length;
      view.progress.hosts_hit = new Set(view.sightings.map((s) => s.host_id)).size;
      options.onProgress?.(structuredClone(view));
    };
    if (view.edr.kind === 'defender') await this.huntDefender(view, definition, options.edr, report);
    else if (view.edr.kind === 'fleetdm') await this.huntFleet(view, definition, options, expiresAt, report);
    else
      throw new RiposteError(
        'hunt.unsupported_edr',
        'CrowdStrike has no query language for registry hunts through RTR across a fleet; hunt with defender or fleetdm and remediate with crowdstrike',
        { status: 422 },
      );
    view.status = view.progress.pending > 0 ? 'expired' : 'completed';
    view.finished_at = new Date(this.now()).toISOString();
    report();
    if (view.dry_run || view.sightings.length === 0) return;
    await this.openCase(view, definition, actor);
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
    const view = this.mustGet(huntId);
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

  /** Records an approval of a wave; a wave needing two approvers needs two different people. */
  async approve(huntId: string, waveIndex: number, actor: Actor): Promise<WaveView> {
    const view = this.mustGet(huntId);
    const wave = view.remediation.waves[waveIndex];
    if (!wave) throw notFound('wave', String(waveIndex));
    if (wave.status !== 'waiting_approval' && wave.status !== 'planned')
      throw new RiposteError('hunt.not_waiting', `wave ${wave.name} is ${wave.status}, not waiting for approval`, { status: 409 });
    if (!wave.approved_by.includes(actor.id)) wave.approved_by.push(actor.id);
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

  /** Staged remediation of the hunt's hosts: waves, approvals, verification, halt and rollback. */
  /** Plans the waves and records the plan on the case (once). */
  private async begin(huntId: string, options: RemediationOptions): Promise<HuntRunView> {
    const view = this.mustGet(huntId);
    if (!view.case_id) throw new RiposteError('hunt.nothing_to_remediate', 'the hunt has no case (no sightings, or it was a dry run)', { status: 409 });
    if (view.remediation.waves.length > 0) return view;
    view.remediation.waves = await this.plan(huntId, options);
    view.remediation.status = 'running';
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
    const view = await this.begin(huntId, options);
    const caseId = view.case_id as string;
    const actor = options.actor ?? SYSTEM_ACTOR;
    const timeline = (kind: string, summary: string, details: Record<string, unknown> = {}) =>
      this.options.cases.appendTimeline(caseId, { kind, summary, details: { hunt_id: huntId, ...details } }, actor);
    for (const wave of view.remediation.waves) {
      if (wave.approvals_required > wave.approved_by.length) {
        wave.status = 'waiting_approval';
        view.remediation.status = 'waiting_approval';
        for (const h of wave.hosts) if (h.criticality === 'critical') h.status = 'waiting_approval';
        await timeline('hunt.approval_requested', `Wave ${wave.name} waits for ${wave.approvals_required} approver(s)`, {
          wave: wave.name,
          critical_hosts: wave.hosts.filter((h) => h.criticality === 'critical').map((h) => h.hostname),
        });
        while (wave.approved_by.length < wave.approvals_required) {
          await new Promise<void>((resolve) => this.approvalWaiters.set(`${huntId}:${wave.index}`, resolve));
        }
        this.approvalWaiters.delete(`${huntId}:${wave.index}`);
        view.remediation.status = 'running';
      }
      if (await this.executeWave(huntId, wave, options)) return this.get(huntId);
    }
    await this.finish(huntId, actor);
    return this.get(huntId);
  }

  /**
   * One wave, for a playbook that stages the rollout itself (`hunt.remediate_wave`): the engine's policy has
   * already decided approvals for the step (its `hosts` are the policy targets). A wave after a halted one
   * is skipped; the last wave completing completes the remediation.
   */
  async remediateWave(
    huntId: string,
    index: number,
    options: RemediationOptions = {},
  ): Promise<{ wave: WaveView; halted: boolean; remediation: HuntRunView['remediation'] }> {
    const view = await this.begin(huntId, options);
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
  }

  private async finish(huntId: string, actor: Actor): Promise<void> {
    const view = this.mustGet(huntId);
    view.remediation.status = 'completed';
    view.remediation.message = `Remediated and verified ${view.remediation.waves.reduce((n, w) => n + w.hosts.filter((h) => h.status === 'verified').length, 0)} host(s)`;
    await this.options.cases.appendTimeline(
      view.case_id as string,
      { kind: 'hunt.remediation_completed', summary: view.remediation.message, details: { hunt_id: huntId } },
      actor,
    );
  }

  /** Deletes the wave's values, verifies by re-query; past the threshold, rolls the wave back. True when halted. */
  private async executeWave(huntId: string, wave: WaveView, options: RemediationOptions): Promise<boolean> {
    const view = this.mustGet(huntId);
    const edr = this.instances.get(huntId) as IntegrationInstance;
    const caseId = view.case_id as string;
    const actor = options.actor ?? SYSTEM_ACTOR;
    const cases = this.options.cases;
    const threshold = options.failureThreshold ?? 0.2;
    const timeline = (kind: string, summary: string, details: Record<string, unknown> = {}) =>
      cases.appendTimeline(caseId, { kind, summary, details: { hunt_id: huntId, ...details } }, actor);
    wave.status = 'running';
    const completed: Array<{ host: WaveHost; action: string; input: Record<string, unknown>; output: unknown }> = [];
    await pool(wave.hosts, options.concurrency ?? 8, async (host) => {
      for (const s of host.sightings) {
        const input = this.deleteInput(view.edr.kind, s);
        try {
          const output = await edr.run('delete_registry_value', input, { idempotencyKey: `${huntId}:${host.host_id}:${s.key}:${s.value}` });
          completed.push({ host, action: 'delete_registry_value', input, output });
          host.status = 'remediated';
        } catch (error) {
          host.status = 'failed';
          host.error = describeError(error);
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
    const still = await this.requery(
      view,
      edr,
      wave.hosts.filter((h) => h.status === 'remediated'),
    );
    for (const h of wave.hosts) {
      if (h.status !== 'remediated') continue;
      if (still.has(h.host_id)) {
        h.status = 'failed';
        h.error = 're-query still finds the value';
      } else h.status = 'verified';
    }
    wave.failures = wave.hosts.filter((h) => h.status === 'failed').length;
    await timeline(
      'hunt.wave_done',
      `Wave ${wave.name}: ${wave.hosts.length - wave.failures} of ${wave.hosts.length} host(s) remediated and verified by re-query`,
      { wave: wave.name, failed: wave.hosts.filter((h) => h.status === 'failed').map((h) => ({ host: h.hostname, error: h.error })) },
    );
    if (wave.failures / wave.hosts.length > threshold) {
      wave.status = 'halted';
      let rolledBack = 0;
      const rollbackErrors: string[] = [];
      for (const done of completed) {
        const spec = edr.action(done.action);
        if (!spec.inverse) continue;
        const args = spec.inverseInput ? spec.inverseInput(spec.input.parse(done.input), done.output) : done.input;
        try {
          await edr.run(spec.inverse, args, { idempotencyKey: `${huntId}:rollback:${done.host.host_id}:${String(done.input.value_name)}` });
          if (done.host.status !== 'rollback_failed') done.host.status = 'rolled_back';
          rolledBack++;
        } catch (error) {
          done.host.status = 'rollback_failed';
          done.host.error = `rollback failed: ${describeError(error)}`;
          rollbackErrors.push(`${done.host.hostname}: ${describeError(error)}`);
        }
      }
      for (const later of view.remediation.waves.slice(wave.index + 1)) {
        later.status = 'skipped';
        for (const h of later.hosts) h.status = 'skipped';
      }
      view.remediation.status = 'halted';
      view.remediation.message = `Halted: ${wave.failures} of ${wave.hosts.length} host(s) failed in wave ${wave.name} (threshold ${Math.round(threshold * 100)}%); rolled back ${rolledBack} change(s) with their inverse${rollbackErrors.length ? `; rollback failed on ${rollbackErrors.join(', ')}` : ''}`;
      await timeline('hunt.remediation_halted', view.remediation.message, { wave: wave.name, rolled_back: rolledBack, rollback_errors: rollbackErrors });
      await cases.recordAudit({
        actor,
        action: 'hunt.rollback',
        target: `case:${caseId}`,
        details: { hunt_id: huntId, wave: wave.name, rolled_back: rolledBack },
      });
      return true;
    }
    wave.status = 'verified';
    return false;
  }

  private deleteInput(kind: EdrKind, s: HuntSighting): Record<string, unknown> {
    const base = { key: s.key, value_name: s.value, type: ['REG_SZ', 'REG_EXPAND_SZ', 'REG_DWORD'].includes(s.type) ? s.type : 'REG_SZ', data: s.data };
    if (kind === 'defender') return { machine_id: s.host_id, ...base };
    if (kind === 'fleetdm') return { host_id: Number(s.host_id), ...base };
    return { host_id: s.host_id, ...base };
  }

  /** Host ids among `hosts` whose hunted values are still present. */
  private async requery(view: HuntRunView, edr: IntegrationInstance, hosts: WaveHost[]): Promise<Set<string>> {
    const still = new Set<string>();
    if (hosts.length === 0) return still;
    const wanted = new Set(hosts.flatMap((h) => h.sightings.map((s) => `${s.host_id}\u0000${s.key.toLowerCase()}\u0000${s.value.toLowerCase()}`)));
    const mark = (hostId: string, key: string, value: string) => {
      if (wanted.has(`${hostId}\u0000${key.toLowerCase()}\u0000${value.toLowerCase()}`)) still.add(hostId);
    };
    if (view.edr.kind === 'fleetdm') {
      const ids = hosts.map((h) => Number(h.host_id));
      const keys = [...new Set(hosts.flatMap((h) => h.sightings.map((s) => s.key)))];
      const sql = `SELECT key, name FROM registry WHERE ${keys.map((k) => `key = '${k.replace(/'/g, "''")}'`).join(' OR ')};`;
      const out = (await edr.run('live_query', { query: sql, host_ids: ids }, { idempotencyKey: `${view.id}:verify:${randomUUID()}` })) as {
        results: Array<{ host_id: number; rows: Array<Record<string, unknown>> }>;
      };
      for (const r of out.results) for (const row of r.rows) mark(String(r.host_id), String(row.key), String(row.name));
    } else if (view.edr.kind === 'defender') {
      const ids = hosts.map((h) => `"${h.host_id}"`).join(', ');
      const query = `DeviceRegistryEvents\n| where DeviceId in (${ids})`;
      const out = (await edr.run('advanced_hunting', { query }, { idempotencyKey: `${view.id}:verify:${randomUUID()}` })) as {
        results: Array<Record<string, unknown>>;
      };
      for (const r of out.results) mark(String(r.DeviceId), String(r.RegistryKey), String(r.RegistryValueName));
    }
    return still;
  }

  private mustGet(id: string): HuntRunView {
    const run = this.runs.get(id);
    if (!run) throw notFound('hunt', id);
    return run;
  }
}
