import { createHash } from 'node:crypto';
import {
  type Actor,
  type Clock,
  invalidInput,
  type Logger,
  newId,
  notFound,
  type Observable,
  parseObservable,
  RiposteError,
  SYSTEM_ACTOR,
  systemClock,
} from '../core/index.ts';
import {
  type AuditRecord,
  type CaseListFilter,
  type CasePatch,
  type CaseRecord,
  type ObservableRecord,
  observableKey,
  type Store,
  type StoreTx,
  type TimelineRecord,
} from '../store/index.ts';
import { type AuditEvent, auditPayload, type ChainVerification, chainEvents, verifyChain } from './audit-chain.ts';
import { type CorrelationKey, type CorrelationRule, correlationKeys, DEFAULT_CORRELATION_RULES } from './correlation.ts';
import { AlertIntake, type IntakeRequest } from './intake.ts';
import {
  CASE_PHASES,
  CASE_STATUSES,
  type CasePhase,
  type CaseStatus,
  type CaseView,
  FINISHED_STATUSES,
  iso,
  maxSeverity,
  type NormalizedAlert,
  type ObservableView,
  PAP_LEVELS,
  type Pap,
  SEVERITIES,
  type Severity,
  TASK_STATUSES,
  type TaskStatus,
  type TimelineEntryView,
  TLP_LEVELS,
  type Tlp,
} from './model.ts';
import { DEFAULT_SLA, dueTimes, type SlaTargets, slaView } from './sla.ts';

export interface CasesServiceOptions {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** ATT&CK catalog lookup, injected by app/ (cases does not import intel). Without it only the id format is checked. */
  techniqueExists?: (id: string) => boolean;
  correlation?: CorrelationRule[];
  sla?: Record<Severity, SlaTargets>;
  /** Largest evidence attachment accepted (bytes). */
  evidenceMaxBytes?: number;
  /** Alerts waiting beyond this are refused with 429 rather than queued without bound. */
  intakeMaxQueue?: number;
  intakeBatchSize?: number;
}

export interface IngestResult {
  alert_id: string;
  case_id: string;
  case_number: number;
  /** new_case: opened a case; joined_case: correlated into an open one; repeat: the same alert sent again. */
  outcome: 'new_case' | 'joined_case' | 'repeat';
  observables: number;
}

/** What other modules (playbook triggers, via app/) may subscribe to. Delivered after commit. */
export type CaseEvent =
  | { type: 'alert.ingested'; alert: NormalizedAlert; result: IngestResult }
  | { type: 'case.created'; case_id: string }
  | { type: 'case.updated'; case_id: string; changes: Record<string, { from: unknown; to: unknown }> };

export interface CaseInput {
  title: string;
  description?: string;
  severity?: Severity;
  status?: CaseStatus;
  phase?: CasePhase;
  tlp?: Tlp;
  pap?: Pap;
  assignee?: string | null;
  tags?: string[];
  techniques?: string[];
  observables?: Array<{ type: string; value: string }>;
}

export type CaseUpdate = Partial<Omit<CaseInput, 'observables'>> & { resolution?: string | null };

export const RESOLUTIONS = ['true_positive', 'benign_positive', 'false_positive', 'duplicate', 'other'] as const;

export interface TaskView {
  id: string;
  case_id: string;
  title: string;
  description: string;
  status: TaskStatus;
  assignee: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface CommentView {
  id: string;
  case_id: string;
  author: Actor;
  body: string;
  created_at: string;
}

export interface EvidenceView {
  id: string;
  case_id: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  description: string;
  uploaded_by: Actor;
  created_at: string;
}

export interface AuditEntryView {
  seq: number;
  time: string;
  actor: Actor;
  action: string;
  target: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

interface Work {
  tx: StoreTx;
  now: number;
  /** Adds a timeline entry to the transaction; returns its id. */
  timeline(caseId: string, actor: Actor, kind: string, summary: string, details?: Record<string, unknown>): string;
  audit(event: AuditEvent): void;
}

const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;
const MAX_TAGS = 50;
const MAX_PAGE = 200;

/**
 * The cases module's one entry point: alert intake with correlation, cases and everything on them, the
 * observable registry and the audit chain. Every change happens in one transaction together with its
 * timeline entry and its audit record, so the three never disagree.
 */
export class CasesService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #techniqueExists: (id: string) => boolean;
  readonly #rules: CorrelationRule[];
  readonly #sla: Record<Severity, SlaTargets>;
  readonly evidenceMaxBytes: number;
  readonly #intake: AlertIntake<IngestResult[]>;
  readonly #listeners = new Set<(event: CaseEvent) => void>();
  #lastPurge = 0;

  constructor(options: CasesServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#techniqueExists = options.techniqueExists ?? (() => true);
    this.#rules = options.correlation ?? DEFAULT_CORRELATION_RULES;
    this.#sla = options.sla ?? DEFAULT_SLA;
    this.evidenceMaxBytes = options.evidenceMaxBytes ?? 25 * 1024 * 1024;
    this.#intake = new AlertIntake<IngestResult[]>({
      maxQueue: options.intakeMaxQueue ?? 10_000,
      batchSize: options.intakeBatchSize ?? 500,
      process: (requests) => this.#ingestBatch(requests),
    });
  }

  /** Subscribes to alert and case events (delivered after the change committed). Returns an unsubscribe. */
  subscribe(listener: (event: CaseEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: CaseEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger?.error({ err: error, event: event.type }, 'case event listener failed');
      }
    }
  }

  async #write<T>(work: (w: Work) => Promise<T>): Promise<T> {
    const now = this.#clock.now();
    return this.#store.transaction(async (tx) => {
      const entries: TimelineRecord[] = [];
      const events: AuditEvent[] = [];
      const w: Work = {
        tx,
        now,
        timeline: (caseId, actor, kind, summary, details = {}) => {
          const id = newId(now);
          entries.push({ id, caseId, at: now, actor: plainActor(actor), kind, summary, details });
          return id;
        },
        audit: (event) => events.push({ ...event, actor: plainActor(event.actor) }),
      };
      const result = await work(w);
      if (entries.length) await tx.cases.appendTimeline(entries);
      if (events.length) {
        // Last in the transaction: the chain lock is held only for the append itself.
        const head = await tx.audit.lockHead();
        await tx.audit.append(chainEvents(head, events, now));
      }
      return result;
    });
  }

  // ------------------------------------------------------------------ alert intake

  /** Intake statistics for /metrics and the overload tests. */
  intakeStats(): { queued: number; maxQueue: number } {
    return this.#intake.stats();
  }

  /**
   * Queues normalised alerts for the next group commit and resolves when they are stored. Refuses with
   * 429 (alerts.overloaded, retryable) when the queue is full: the caller keeps the alert and retries.
   * With `delivery`, the id is recorded in the same transaction; a second use within its lifetime is a
   * replay (409 webhook.replayed).
   */
  ingest(alerts: NormalizedAlert[], options: { actor?: Actor; delivery?: { source: string; id: string; expiresAt: number } } = {}): Promise<IngestResult[]> {
    return this.#intake.submit({ alerts, actor: options.actor ?? SYSTEM_ACTOR, delivery: options.delivery });
  }

  /** Fast replay check before queueing; the authoritative check is inside the ingest transaction. */
  async deliverySeen(source: string, id: string): Promise<boolean> {
    return this.#store.alerts.deliverySeen(source, id, this.#clock.now());
  }

  async purgeExpiredDeliveries(): Promise<number> {
    return this.#store.alerts.purgeDeliveries(this.#clock.now());
  }

  async #ingestBatch(requests: IntakeRequest[]): Promise<Array<IngestResult[] | RiposteError>> {
    const outcome = await this.#write(async (w) => {
      await w.tx.alerts.lockIntake();
      const results: Array<IngestResult[] | RiposteError> = [];
      const accepted: Array<{ request: IntakeRequest; index: number }> = [];
      for (const [index, request] of requests.entries()) {
        if (request.delivery && !(await w.tx.alerts.claimDelivery(request.delivery.source, request.delivery.id, w.now, request.delivery.expiresAt))) {
          results[index] = new RiposteError('webhook.replayed', `delivery ${JSON.stringify(request.delivery.id)} was already received; replays are refused`, {
            status: 409,
          });
        } else {
          results[index] = [];
          accepted.push({ request, index });
        }
      }
      const items = accepted.flatMap(({ request, index }) => request.alerts.map((alert) => ({ alert, actor: request.actor, index })));

      // 1. Repeats of alerts already stored (or earlier in this batch).
      const existing = await w.tx.alerts.findByDedupKeys(items.map((i) => ({ source: i.alert.source, dedupKey: i.alert.dedup_key })));
      // 2. Observables, deduplicated store-wide.
      const fresh = items.filter((i) => !existing.has(dedupOf(i.alert)));
      const sightings = fresh.flatMap((i) => i.alert.observables.map((o) => ({ id: newId(w.now), type: o.type, value: o.value, at: w.now, times: 1 })));
      const observableIds = sightings.length ? await w.tx.observables.recordSightings(sightings) : new Map<string, string>();
      // 3. Correlation: which open cases saw these keys recently.
      const keysByItem = fresh.map((i) => correlationKeys(i.alert, this.#rules));
      const known = new Map<string, { caseId: string; lastSeenAt: number }>();
      for (const rule of this.#rules) {
        const keys = keysByItem.flat().filter((k) => k.rule === rule);
        if (keys.length === 0) continue;
        const found = await w.tx.alerts.correlatedCases(
          keys.map((k) => k.key),
          w.now - rule.window_ms,
          FINISHED_STATUSES,
        );
        for (const f of found) {
          const seen = known.get(f.key);
          if (!seen || seen.lastSeenAt < f.lastSeenAt) known.set(f.key, { caseId: f.caseId, lastSeenAt: f.lastSeenAt });
        }
      }

      const newCases: CaseRecord[] = [];
      const joined = new Map<string, { count: number; severity: Severity; techniques: Set<string> }>();
      const alertRows: Parameters<StoreTx['alerts']['insert']>[0][number][] = [];
      const links: Array<{ caseId: string; observableId: string; at: number; times: number }> = [];
      const touched: Array<{ key: string; caseId: string; at: number }> = [];
      const repeats = new Map<string, { id: string; at: number; times: number }>();
      const batchAlerts = new Map<string, { id: string; caseId: string }>();
      const emitted: CaseEvent[] = [];
      const ingested: Array<{ alert: NormalizedAlert; result: IngestResult }> = [];
      const freshIndex = new Map(fresh.map((item, i) => [item, i]));

      for (const item of items) {
        const { alert, actor } = item;
        const dedup = dedupOf(alert);
        const prior = existing.get(dedup) ?? batchAlerts.get(dedup);
        const out = results[item.index] as IngestResult[];
        if (prior) {
          const repeat = repeats.get(prior.id) ?? { id: prior.id, at: w.now, times: 0 };
          repeat.times++;
          repeats.set(prior.id, repeat);
          // The case number is filled in with everyone else's at the end of the batch.
          const result: IngestResult = {
            alert_id: prior.id,
            case_id: prior.caseId,
            case_number: 0,
            outcome: 'repeat',
            observables: alert.observables.length,
          };
          out.push(result);
          ingested.push({ alert, result });
          w.audit({
            actor,
            action: 'alert.repeated',
            target: `alert:${prior.id}`,
            details: { case_id: prior.caseId, source: alert.source, dedup_key: alert.dedup_key },
          });
          continue;
        }
        const keys: CorrelationKey[] = keysByItem[freshIndex.get(item) as number] ?? [];
        let caseId: string | undefined;
        for (const k of keys) {
          const hit = known.get(k.key);
          if (hit) {
            caseId = hit.caseId;
            break;
          }
        }
        const alertId = newId(w.now);
        const techniques = alert.techniques.filter((t) => this.#techniqueExists(t));
        let outcome: IngestResult['outcome'];
        if (caseId === undefined) {
          caseId = newId(w.now);
          outcome = 'new_case';
          newCases.push(this.#newCaseRecord(caseId, 0, w.now, { ...caseFromAlert(alert), techniques }));
          w.timeline(caseId, actor, 'case.created', `Case opened from ${alert.source} alert "${alert.title}"`, { alert_id: alertId });
          w.audit({ actor, action: 'case.created', target: `case:${caseId}`, details: { from_alert: alertId, severity: alert.severity, title: alert.title } });
          emitted.push({ type: 'case.created', case_id: caseId });
        } else {
          outcome = 'joined_case';
          const newCase = newCases.find((c) => c.id === caseId);
          if (newCase) {
            newCase.alertCount++;
            newCase.severity = maxSeverity(newCase.severity as Severity, alert.severity);
            newCase.techniques = [...new Set([...newCase.techniques, ...techniques])];
          } else {
            const j = joined.get(caseId) ?? { count: 0, severity: 'informational' as Severity, techniques: new Set<string>() };
            j.count++;
            j.severity = maxSeverity(j.severity, alert.severity);
            for (const t of techniques) j.techniques.add(t);
            joined.set(caseId, j);
          }
        }
        for (const k of keys) {
          const seen = known.get(k.key);
          // The window slides in steps of 1% of its length: a hot key is not rewritten on every alert.
          if (seen?.caseId !== caseId || seen.lastSeenAt < w.now - k.rule.window_ms / 100) {
            touched.push({ key: k.key, caseId, at: w.now });
            known.set(k.key, { caseId, lastSeenAt: w.now });
          }
        }
        for (const o of alert.observables) {
          const observableId = observableIds.get(observableKey(o.type, o.value));
          if (observableId) links.push({ caseId, observableId, at: w.now, times: 1 });
        }
        batchAlerts.set(dedup, { id: alertId, caseId });
        alertRows.push({
          id: alertId,
          caseId,
          source: alert.source,
          product: alert.product.name,
          ruleName: alert.rule.name,
          ruleUid: alert.rule.uid,
          title: alert.title,
          severity: alert.severity,
          dedupKey: alert.dedup_key,
          time: alert.time,
          receivedAt: w.now,
          lastSeenAt: w.now,
          count: 1,
          document: alert,
        });
        w.timeline(caseId, actor, 'alert', `${alert.severity} alert from ${alert.product.name}: ${alert.title}`, {
          alert_id: alertId,
          rule: alert.rule.name,
          observables: alert.observables.length,
        });
        w.audit({
          actor,
          action: 'alert.ingested',
          target: `alert:${alertId}`,
          details: { case_id: caseId, outcome, source: alert.source, rule: alert.rule.name, dedup_key: alert.dedup_key },
        });
        const result: IngestResult = { alert_id: alertId, case_id: caseId, case_number: 0, outcome, observables: alert.observables.length };
        out.push(result);
        ingested.push({ alert, result });
      }

      if (newCases.length) {
        const first = await w.tx.cases.reserveNumbers(newCases.length);
        newCases.forEach((c, i) => {
          c.number = first + i;
        });
        await w.tx.cases.insert(newCases);
      }
      // One narrow read serves both the joins (severity, techniques, count) and the case numbers of joins
      // and repeats; the transaction holds the intake lock, so nothing changes these rows in between.
      const numbers = new Map(newCases.map((c) => [c.id, c.number]));
      const referenced = new Set<string>(joined.keys());
      for (const r of results) if (Array.isArray(r)) for (const x of r) if (!numbers.has(x.case_id)) referenced.add(x.case_id);
      const current = new Map((referenced.size ? await w.tx.cases.intakeSummaries([...referenced]) : []).map((c) => [c.id, c]));
      for (const c of current.values()) numbers.set(c.id, c.number);
      if (joined.size) {
        const plainJoins = new Map<number, string[]>();
        for (const [caseId, j] of [...joined.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const c = current.get(caseId);
          if (!c) continue;
          const severity = maxSeverity(c.severity as Severity, j.severity);
          const techniques = [...new Set([...c.techniques, ...j.techniques])];
          if (severity !== c.severity || techniques.length !== c.techniques.length) {
            const patch: CasePatch = { alertCount: c.alertCount + j.count, updatedAt: w.now, techniques };
            if (severity !== c.severity) {
              Object.assign(patch, { severity }, dueTimes(c.createdAt, severity, this.#sla));
              w.timeline(caseId, SYSTEM_ACTOR, 'case.updated', `Severity raised from ${c.severity} to ${severity} by a correlated alert`, {
                changes: { severity: { from: c.severity, to: severity } },
              });
              w.audit({ actor: SYSTEM_ACTOR, action: 'case.updated', target: `case:${caseId}`, details: { severity: { from: c.severity, to: severity } } });
            }
            await w.tx.cases.update(caseId, patch);
          } else {
            plainJoins.set(j.count, [...(plainJoins.get(j.count) ?? []), caseId]);
          }
        }
        // Most joins only bump the alert count: one statement per distinct increment, not one per case.
        for (const [by, ids] of plainJoins) await w.tx.cases.addAlerts(ids, by, w.now);
      }
      await w.tx.alerts.insert(alertRows);
      if (links.length) await w.tx.observables.linkToCases(links);
      if (touched.length) await w.tx.alerts.touchCorrelationKeys(touched);
      if (repeats.size) await w.tx.alerts.recordRepeats([...repeats.values()]);

      for (const r of results) if (Array.isArray(r)) for (const x of r) if (x.case_number === 0) x.case_number = numbers.get(x.case_id) ?? 0;
      return { results, emitted, ingested };
    });
    for (const event of outcome.emitted) this.#emit(event);
    for (const { alert, result } of outcome.ingested) this.#emit({ type: 'alert.ingested', alert, result });
    if (requests.some((r) => r.delivery) && this.#clock.now() - this.#lastPurge > 60_000) {
      // Expired delivery ids are only needed for the skew window; sweep them at most once a minute.
      this.#lastPurge = this.#clock.now();
      this.purgeExpiredDeliveries().catch((error: unknown) => this.#logger?.warn({ err: error }, 'purging expired webhook delivery ids failed'));
    }
    return outcome.results;
  }

  #newCaseRecord(
    id: string,
    number: number,
    now: number,
    input: Required<Omit<CaseInput, 'observables' | 'assignee'>> & { assignee: string | null; source: string | null },
  ): CaseRecord {
    const record: CaseRecord = {
      id,
      number,
      title: input.title,
      description: input.description,
      severity: input.severity,
      status: input.status,
      phase: input.phase,
      tlp: input.tlp,
      pap: input.pap,
      assignee: input.assignee,
      tags: input.tags,
      techniques: input.techniques,
      source: input.source,
      resolution: null,
      alertCount: input.source ? 1 : 0,
      minutesSaved: 0,
      createdAt: now,
      updatedAt: now,
      acknowledgedAt: input.status !== 'new' || input.assignee ? now : null,
      containedAt: null,
      resolvedAt: null,
      closedAt: null,
      ...dueTimes(now, input.severity, this.#sla),
    };
    applyStatusTimes(record, now);
    return record;
  }

  // ------------------------------------------------------------------ cases

  async createCase(input: CaseInput, actor: Actor = SYSTEM_ACTOR): Promise<CaseView> {
    const title = requireText(input.title, 'title', 500);
    const severity = oneOf(input.severity ?? 'medium', SEVERITIES, 'severity');
    const status = oneOf(input.status ?? 'new', CASE_STATUSES, 'status');
    const observables = (input.observables ?? []).map((o, i) => parseObservableAt(o, `observables[${i}]`));
    const record = this.#newCaseRecord(newId(this.#clock.now()), 0, this.#clock.now(), {
      title,
      description: optionalText(input.description, 'description', 100_000) ?? '',
      severity,
      status,
      phase: oneOf(input.phase ?? 'detection_analysis', CASE_PHASES, 'phase'),
      tlp: oneOf(input.tlp ?? 'amber', TLP_LEVELS, 'tlp'),
      pap: oneOf(input.pap ?? 'amber', PAP_LEVELS, 'pap'),
      assignee: input.assignee ? requireText(input.assignee, 'assignee', 200) : null,
      tags: this.#tags(input.tags),
      techniques: this.#techniques(input.techniques),
      source: null,
    });
    await this.#write(async (w) => {
      record.number = await w.tx.cases.reserveNumbers(1);
      await w.tx.cases.insert([record]);
      if (observables.length) await this.#attachObservables(w, record.id, observables);
      w.timeline(record.id, actor, 'case.created', `Case opened by ${actor.name}`, { severity, title });
      w.audit({ actor, action: 'case.created', target: `case:${record.id}`, details: { title, severity, observables: observables.length } });
    });
    this.#emit({ type: 'case.created', case_id: record.id });
    return this.#view(record);
  }

  async #attachObservables(w: Work, caseId: string, observables: Observable[]): Promise<Map<string, string>> {
    const ids = await w.tx.observables.recordSightings(observables.map((o) => ({ id: newId(w.now), type: o.type, value: o.value, at: w.now, times: 1 })));
    await w.tx.observables.linkToCases(
      observables.flatMap((o) => {
        const observableId = ids.get(observableKey(o.type, o.value));
        return observableId ? [{ caseId, observableId, at: w.now, times: 1 }] : [];
      }),
    );
    return ids;
  }

  async addCaseObservables(caseRef: string, input: Array<{ type: string; value: string }>, actor: Actor = SYSTEM_ACTOR): Promise<ObservableView[]> {
    const c = await this.#require(caseRef);
    if (!Array.isArray(input) || input.length === 0) throw invalidInput('observables must be a non-empty array of {type, value}');
    const observables = input.map((o, i) => parseObservableAt(o, `observables[${i}]`));
    await this.#write(async (w) => {
      await this.#attachObservables(w, c.id, observables);
      w.timeline(c.id, actor, 'observables.added', `${observables.length} observable(s) added`, { observables });
      w.audit({ actor, action: 'case.observables_added', target: `case:${c.id}`, details: { observables } });
    });
    const found = await Promise.all(observables.map((o) => this.#store.observables.find(o.type, o.value)));
    return found.flatMap((o) => (o ? [observableView(o)] : []));
  }

  async getCase(ref: string): Promise<CaseView> {
    return this.#view(await this.#require(ref));
  }

  async #require(ref: string, tx: StoreTx | Store = this.#store): Promise<CaseRecord> {
    const found = /^\d{1,15}$/.test(ref) ? await tx.cases.getByNumber(Number(ref)) : await tx.cases.get(ref);
    if (!found) throw notFound('case', ref);
    return found;
  }

  async listCases(query: {
    status?: string[];
    severity?: string[];
    phase?: string[];
    assignee?: string;
    tag?: string;
    technique?: string;
    q?: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ items: CaseView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), MAX_PAGE);
    const filter: CaseListFilter = { limit: limit + 1 };
    if (query.status?.length) filter.status = query.status.map((s, i) => oneOf(s, CASE_STATUSES, `status[${i}]`));
    if (query.severity?.length) filter.severity = query.severity.map((s, i) => oneOf(s, SEVERITIES, `severity[${i}]`));
    if (query.phase?.length) filter.phase = query.phase.map((s, i) => oneOf(s, CASE_PHASES, `phase[${i}]`));
    if (query.assignee) filter.assignee = query.assignee;
    if (query.tag) filter.tag = query.tag;
    if (query.technique) filter.technique = query.technique.toUpperCase();
    if (query.q?.trim()) filter.text = query.q.trim().slice(0, 500);
    if (query.cursor) {
      const before = decodeCursor(query.cursor);
      filter.before = before;
    }
    const rows = await this.#store.cases.list(filter);
    const page = rows.slice(0, limit);
    return { items: page.map((c) => this.#view(c)), next_cursor: rows.length > limit ? encodeCursor(page.at(-1)?.id ?? '') : null };
  }

  async updateCase(ref: string, update: CaseUpdate, actor: Actor = SYSTEM_ACTOR, action = 'case.updated'): Promise<CaseView> {
    const patch: CasePatch = {};
    if (update.title !== undefined) patch.title = requireText(update.title, 'title', 500);
    if (update.description !== undefined) patch.description = optionalText(update.description, 'description', 100_000) ?? '';
    if (update.severity !== undefined) patch.severity = oneOf(update.severity, SEVERITIES, 'severity');
    if (update.status !== undefined) patch.status = oneOf(update.status, CASE_STATUSES, 'status');
    if (update.phase !== undefined) patch.phase = oneOf(update.phase, CASE_PHASES, 'phase');
    if (update.tlp !== undefined) patch.tlp = oneOf(update.tlp, TLP_LEVELS, 'tlp');
    if (update.pap !== undefined) patch.pap = oneOf(update.pap, PAP_LEVELS, 'pap');
    if (update.assignee !== undefined)
      patch.assignee = update.assignee === null || update.assignee === '' ? null : requireText(update.assignee, 'assignee', 200);
    if (update.tags !== undefined) patch.tags = this.#tags(update.tags);
    if (update.techniques !== undefined) patch.techniques = this.#techniques(update.techniques);
    if (update.resolution !== undefined) patch.resolution = update.resolution === null ? null : oneOf(update.resolution, RESOLUTIONS, 'resolution');
    let changes: Record<string, { from: unknown; to: unknown }> = {};
    const updated = await this.#write(async (w) => {
      const current = await this.#require(ref, w.tx);
      changes = {};
      for (const [key, value] of Object.entries(patch) as Array<[keyof CasePatch, unknown]>) {
        const before = current[key];
        if (JSON.stringify(before) !== JSON.stringify(value)) changes[snake(key)] = { from: before, to: value };
      }
      if (Object.keys(changes).length === 0) return current;
      const next: CaseRecord = { ...current, ...patch, updatedAt: w.now };
      if (patch.severity && patch.severity !== current.severity) Object.assign(next, dueTimes(current.createdAt, patch.severity as Severity, this.#sla));
      if (next.acknowledgedAt === null && (next.status !== 'new' || next.assignee)) next.acknowledgedAt = w.now;
      applyStatusTimes(next, w.now, current.status as CaseStatus);
      const { id: _id, number: _n, createdAt: _c, ...rest } = next;
      await w.tx.cases.update(current.id, rest);
      const summary = Object.entries(changes)
        .map(([k, v]) => `${k}: ${display(v.from)} → ${display(v.to)}`)
        .join(', ');
      w.timeline(current.id, actor, action, `${actor.name} changed ${summary}`.slice(0, 1000), { changes });
      w.audit({ actor, action, target: `case:${current.id}`, details: changes });
      return next;
    });
    if (Object.keys(changes).length) this.#emit({ type: 'case.updated', case_id: updated.id, changes });
    return this.#view(updated);
  }

  assignCase(ref: string, assignee: string | null, actor: Actor = SYSTEM_ACTOR): Promise<CaseView> {
    return this.updateCase(ref, { assignee }, actor, 'case.assigned');
  }

  async closeCase(ref: string, input: { resolution: string; summary?: string }, actor: Actor = SYSTEM_ACTOR): Promise<CaseView> {
    const resolution = oneOf(input.resolution, RESOLUTIONS, 'resolution');
    const view = await this.updateCase(ref, { status: 'closed', phase: 'post_incident', resolution }, actor, 'case.closed');
    if (input.summary?.trim()) await this.addComment(view.id, { body: input.summary }, actor);
    return view;
  }

  #view(c: CaseRecord): CaseView {
    return {
      id: c.id,
      number: c.number,
      title: c.title,
      description: c.description,
      severity: c.severity as Severity,
      status: c.status as CaseStatus,
      phase: c.phase as CasePhase,
      tlp: c.tlp as Tlp,
      pap: c.pap as Pap,
      assignee: c.assignee,
      tags: c.tags,
      techniques: c.techniques,
      source: c.source,
      resolution: c.resolution,
      alert_count: c.alertCount,
      minutes_saved: c.minutesSaved,
      created_at: iso(c.createdAt) as string,
      updated_at: iso(c.updatedAt) as string,
      acknowledged_at: iso(c.acknowledgedAt),
      contained_at: iso(c.containedAt),
      resolved_at: iso(c.resolvedAt),
      closed_at: iso(c.closedAt),
      sla: slaView(c, this.#clock.now()),
    };
  }

  #tags(tags: unknown): string[] {
    if (tags === undefined) return [];
    if (!Array.isArray(tags)) throw invalidInput('tags must be an array of strings', { field: 'tags' });
    if (tags.length > MAX_TAGS) throw invalidInput(`tags may hold at most ${MAX_TAGS} entries`, { field: 'tags' });
    return [...new Set(tags.map((t, i) => requireText(t, `tags[${i}]`, 64)))];
  }

  #techniques(techniques: unknown): string[] {
    if (techniques === undefined) return [];
    if (!Array.isArray(techniques)) throw invalidInput('techniques must be an array of ATT&CK technique ids such as T1059.001', { field: 'techniques' });
    return [
      ...new Set(
        techniques.map((t, i) => {
          const id = typeof t === 'string' ? t.trim().toUpperCase() : '';
          if (!TECHNIQUE_ID.test(id))
            throw invalidInput(`techniques[${i}] ${JSON.stringify(t)} is not an ATT&CK technique id (T1234 or T1234.001)`, { field: `techniques[${i}]` });
          if (!this.#techniqueExists(id))
            throw invalidInput(`techniques[${i}] ${id} is not in the ATT&CK Enterprise catalog (or is revoked)`, { field: `techniques[${i}]` });
          return id;
        }),
      ),
    ];
  }

  // ------------------------------------------------------------------ tasks, comments, evidence, runs, timeline

  async addTask(ref: string, input: { title: string; description?: string; assignee?: string | null }, actor: Actor = SYSTEM_ACTOR): Promise<TaskView> {
    const title = requireText(input.title, 'title', 500);
    return this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      const task = {
        id: newId(w.now),
        caseId: c.id,
        title,
        description: optionalText(input.description, 'description', 20_000) ?? '',
        status: 'open',
        assignee: input.assignee ? requireText(input.assignee, 'assignee', 200) : null,
        createdAt: w.now,
        updatedAt: w.now,
        completedAt: null,
      };
      await w.tx.cases.insertTask(task);
      w.timeline(c.id, actor, 'task.created', `Task added: ${title}`, { task_id: task.id });
      w.audit({ actor, action: 'task.created', target: `task:${task.id}`, details: { case_id: c.id, title } });
      return taskView(task);
    });
  }

  async updateTask(
    ref: string,
    taskId: string,
    input: { title?: string; description?: string; status?: string; assignee?: string | null },
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<TaskView> {
    return this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      const task = await w.tx.cases.getTask(taskId);
      if (!task || task.caseId !== c.id) throw notFound('task', taskId);
      const patch: Record<string, unknown> = {};
      if (input.title !== undefined) patch.title = requireText(input.title, 'title', 500);
      if (input.description !== undefined) patch.description = optionalText(input.description, 'description', 20_000) ?? '';
      if (input.status !== undefined) {
        patch.status = oneOf(input.status, TASK_STATUSES, 'status');
        patch.completedAt = patch.status === 'done' || patch.status === 'cancelled' ? (task.completedAt ?? w.now) : null;
      }
      if (input.assignee !== undefined) patch.assignee = input.assignee ? requireText(input.assignee, 'assignee', 200) : null;
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const [key, value] of Object.entries(patch)) {
        const before = (task as unknown as Record<string, unknown>)[key];
        if (before !== value && key !== 'completedAt') changes[key] = { from: before, to: value };
      }
      const next = { ...task, ...patch, updatedAt: w.now };
      if (Object.keys(changes).length === 0) return taskView(task);
      await w.tx.cases.updateTask(task.id, { ...patch, updatedAt: w.now });
      w.timeline(c.id, actor, 'task.updated', `Task "${next.title}" ${Object.keys(changes).join(', ')} changed`, { task_id: task.id, changes });
      w.audit({ actor, action: 'task.updated', target: `task:${task.id}`, details: { case_id: c.id, ...changes } });
      return taskView(next as typeof task);
    });
  }

  async listTasks(ref: string): Promise<TaskView[]> {
    const c = await this.#require(ref);
    return (await this.#store.cases.tasks(c.id)).map(taskView);
  }

  async addComment(ref: string, input: { body: string }, actor: Actor = SYSTEM_ACTOR): Promise<CommentView> {
    const body = requireText(input.body, 'body', 100_000);
    return this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      const comment = { id: newId(w.now), caseId: c.id, author: plainActor(actor), body, createdAt: w.now };
      await w.tx.cases.insertComment(comment);
      w.timeline(c.id, actor, 'comment', `${actor.name} commented`, { comment_id: comment.id, excerpt: body.slice(0, 200) });
      w.audit({ actor, action: 'comment.added', target: `comment:${comment.id}`, details: { case_id: c.id, sha256: sha256(body) } });
      return commentView(comment);
    });
  }

  async listComments(ref: string, options: { after?: string; limit?: number } = {}): Promise<CommentView[]> {
    const c = await this.#require(ref);
    return (await this.#store.cases.comments(c.id, { after: options.after, limit: Math.min(options.limit ?? 100, 500) })).map(commentView);
  }

  async addEvidence(
    ref: string,
    input: { name: string; contentType?: string; description?: string; content: Uint8Array },
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<EvidenceView> {
    const name = requireText(input.name, 'name', 255);
    if (/[/\\]/.test(name) || name.includes('\u0000')) throw invalidInput('name must be a file name without path separators', { field: 'name' });
    if (input.content.byteLength === 0) throw invalidInput('evidence content is empty');
    if (input.content.byteLength > this.evidenceMaxBytes) {
      throw new RiposteError(
        'input.too_large',
        `evidence is ${input.content.byteLength} bytes; the limit is ${this.evidenceMaxBytes} (cases.evidence_max_bytes)`,
        {
          status: 413,
        },
      );
    }
    const digest = createHash('sha256').update(input.content).digest('hex');
    return this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      const record = {
        id: newId(w.now),
        caseId: c.id,
        name,
        contentType: input.contentType?.trim() || 'application/octet-stream',
        size: input.content.byteLength,
        sha256: digest,
        description: optionalText(input.description, 'description', 5000) ?? '',
        uploadedBy: plainActor(actor),
        createdAt: w.now,
      };
      await w.tx.cases.insertEvidence(record, input.content);
      w.timeline(c.id, actor, 'evidence.added', `Evidence added: ${name} (${record.size} bytes, sha256 ${digest.slice(0, 12)}…)`, {
        evidence_id: record.id,
        sha256: digest,
      });
      w.audit({ actor, action: 'evidence.added', target: `evidence:${record.id}`, details: { case_id: c.id, name, size: record.size, sha256: digest } });
      return evidenceView(record);
    });
  }

  async listEvidence(ref: string): Promise<EvidenceView[]> {
    const c = await this.#require(ref);
    return (await this.#store.cases.evidence(c.id)).map(evidenceView);
  }

  async getEvidence(ref: string, evidenceId: string): Promise<{ evidence: EvidenceView; content: Uint8Array }> {
    const c = await this.#require(ref);
    const found = await this.#store.cases.evidenceContent(evidenceId);
    if (!found || found.record.caseId !== c.id) throw notFound('evidence', evidenceId);
    if (createHash('sha256').update(found.content).digest('hex') !== found.record.sha256) {
      throw new RiposteError('evidence.corrupt', `evidence ${evidenceId} no longer matches its recorded sha256`, { status: 500 });
    }
    return { evidence: evidenceView(found.record), content: found.content };
  }

  async linkRun(ref: string, runId: string, actor: Actor = SYSTEM_ACTOR): Promise<void> {
    const id = requireText(runId, 'run_id', 200);
    await this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      if (await w.tx.cases.linkRun(c.id, id, w.now)) {
        w.timeline(c.id, actor, 'run.linked', `Playbook run ${id} linked`, { run_id: id });
        w.audit({ actor, action: 'run.linked', target: `case:${c.id}`, details: { run_id: id } });
      }
    });
  }

  /** Ids of the cases a playbook run is linked to. */
  casesOfRun(runId: string): Promise<string[]> {
    return this.#store.cases.casesOfRun(runId);
  }

  async runsOf(ref: string): Promise<Array<{ run_id: string; linked_at: string }>> {
    const c = await this.#require(ref);
    return (await this.#store.cases.runs(c.id)).map((r) => ({ run_id: r.runId, linked_at: iso(r.linkedAt) as string }));
  }

  /**
   * For other modules (the engine's run steps, approvals, actions): adds an entry to a case's timeline and
   * the audit chain. `minutes_saved` credits the case with analyst time saved by automation.
   */
  async appendTimeline(
    ref: string,
    entry: { kind: string; summary: string; details?: Record<string, unknown>; minutes_saved?: number },
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<TimelineEntryView> {
    const kind = requireText(entry.kind, 'kind', 100);
    const summary = requireText(entry.summary, 'summary', 2000);
    const saved = entry.minutes_saved ?? 0;
    if (!Number.isFinite(saved) || saved < 0) throw invalidInput('minutes_saved must be a non-negative number');
    return this.#write(async (w) => {
      const c = await this.#require(ref, w.tx);
      if (saved > 0) await w.tx.cases.update(c.id, { minutesSaved: c.minutesSaved + saved, updatedAt: w.now });
      const details = { ...(entry.details ?? {}), ...(saved > 0 ? { minutes_saved: saved } : {}) };
      const id = w.timeline(c.id, actor, kind, summary, details);
      w.audit({ actor, action: `timeline.${kind}`, target: `case:${c.id}`, details: { summary, ...details } });
      return { id, at: iso(w.now) as string, actor: plainActor(actor), kind, summary, details };
    });
  }

  async timeline(ref: string, options: { after?: string; limit?: number } = {}): Promise<{ items: TimelineEntryView[]; next_cursor: string | null }> {
    const c = await this.#require(ref);
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
    const rows = await this.#store.cases.timeline(c.id, { after: options.after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        at: iso(r.at) as string,
        actor: r.actor as Actor,
        kind: r.kind,
        summary: r.summary,
        details: r.details as Record<string, unknown>,
      })),
      next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async getAlert(id: string) {
    const a = await this.#store.alerts.get(id);
    if (!a) throw notFound('alert', id);
    return { id: a.id, case_id: a.caseId, received_at: iso(a.receivedAt), count: a.count, last_seen_at: iso(a.lastSeenAt), ...(a.document as NormalizedAlert) };
  }

  async alertsOf(ref: string, options: { after?: string; limit?: number } = {}) {
    const c = await this.#require(ref);
    const rows = await this.#store.alerts.forCase(c.id, { after: options.after, limit: Math.min(options.limit ?? 50, 200) });
    return rows.map((a) => ({ id: a.id, received_at: iso(a.receivedAt), count: a.count, last_seen_at: iso(a.lastSeenAt), ...(a.document as NormalizedAlert) }));
  }

  // ------------------------------------------------------------------ metrics

  async caseMetrics(ref: string) {
    const c = await this.#require(ref);
    const since = (t: number | null) => (t === null ? null : t - c.createdAt);
    return {
      case_id: c.id,
      time_to_acknowledge_ms: since(c.acknowledgedAt),
      time_to_contain_ms: since(c.containedAt),
      time_to_resolve_ms: since(c.resolvedAt),
      minutes_saved: c.minutesSaved,
      sla: slaView(c, this.#clock.now()),
    };
  }

  /** MTTA / MTTC / MTTR (mean minutes from case creation) over cases opened in [since, until). */
  async metrics(options: { since?: number; until?: number } = {}) {
    const m = await this.#store.cases.metrics(options);
    const minutes = (ms: number | null) => (ms === null ? null : Math.round((ms / 60_000) * 10) / 10);
    return {
      since: iso(options.since),
      until: iso(options.until),
      cases: m.cases,
      acknowledged: m.acknowledged,
      contained: m.contained,
      resolved: m.resolved,
      mtta_minutes: minutes(m.meanAcknowledgeMs),
      mttc_minutes: minutes(m.meanContainMs),
      mttr_minutes: minutes(m.meanResolveMs),
      analyst_minutes_saved: Math.round(m.minutesSaved * 10) / 10,
    };
  }

  // ------------------------------------------------------------------ observables

  async getObservable(
    id: string,
  ): Promise<ObservableView & { cases: Array<{ case_id: string; number: number; title: string; status: string; sightings: number }> }> {
    const o = await this.#store.observables.get(id);
    if (!o) throw notFound('observable', id);
    const links = await this.#store.observables.casesOf(o.id, 100);
    const cases = new Map((await this.#store.cases.getMany(links.map((l) => l.caseId))).map((c) => [c.id, c]));
    return {
      ...observableView(o),
      cases: links.flatMap((l) => {
        const c = cases.get(l.caseId);
        return c ? [{ case_id: c.id, number: c.number, title: c.title, status: c.status, sightings: l.sightings }] : [];
      }),
    };
  }

  async findObservable(type: string, value: string) {
    const parsed = parseObservableAt({ type, value }, 'observable');
    const o = await this.#store.observables.find(parsed.type, parsed.value);
    if (!o) throw notFound('observable', `${parsed.type}:${parsed.value}`);
    return this.getObservable(o.id);
  }

  async searchObservables(query: { type?: string; value?: string; prefix?: string; cursor?: string; limit?: number }) {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), MAX_PAGE);
    let value = query.value;
    if (value !== undefined && query.type !== undefined) value = parseObservableAt({ type: query.type, value }, 'value').value;
    const byValue = query.prefix !== undefined;
    let before: string | undefined;
    if (query.cursor) {
      const raw = Buffer.from(query.cursor, 'base64url').toString();
      if (byValue !== raw.startsWith('v:'))
        throw new RiposteError('input.invalid_cursor', 'cursor belongs to a different kind of observable listing; start again without it', { status: 400 });
      before = byValue ? raw.slice(2) : decodeCursor(query.cursor);
    }
    const rows = await this.#store.observables.search({ type: query.type, value, prefix: query.prefix, before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? (byValue ? Buffer.from(`v:${last.value}`).toString('base64url') : encodeCursor(last.id)) : null;
    return { items: page.map(observableView), next_cursor: next };
  }

  async observablesOf(ref: string) {
    const c = await this.#require(ref);
    return (await this.#store.observables.forCase(c.id, 1000)).map((o) => ({ ...observableView(o), case_sightings: o.caseSightings }));
  }

  /** For the intel module (through app/): store an enrichment result and verdict on an observable. */
  async recordEnrichment(
    id: string,
    input: { verdict: string | null; confidence?: number | null; enrichment: Record<string, unknown> },
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<ObservableView> {
    return this.#write(async (w) => {
      const o = await w.tx.observables.get(id);
      if (!o) throw notFound('observable', id);
      await w.tx.observables.setEnrichment(id, { verdict: input.verdict, confidence: input.confidence ?? null, enrichment: input.enrichment, at: w.now });
      w.audit({ actor, action: 'observable.enriched', target: `observable:${id}`, details: { verdict: input.verdict, confidence: input.confidence ?? null } });
      return observableView({ ...o, verdict: input.verdict, confidence: input.confidence ?? null, enrichment: input.enrichment, enrichedAt: w.now });
    });
  }

  // ------------------------------------------------------------------ audit

  /** Appends one record to the audit chain for a change made elsewhere (sign-ins, user and token changes …). */
  async recordAudit(event: AuditEvent): Promise<void> {
    await this.#write(async (w) => {
      w.audit(event);
    });
  }

  async auditList(options: { after?: number; since?: number; limit?: number; action?: string; target?: string; order?: 'asc' | 'desc' } = {}) {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = await this.#store.audit.list({
      afterSeq: options.after,
      sinceAt: options.since,
      action: options.action,
      target: options.target,
      descending: options.order === 'desc',
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { items: page.map(auditView), next_cursor: rows.length > limit ? String(page.at(-1)?.seq) : null };
  }

  verifyAudit(): Promise<ChainVerification> {
    return verifyChain((afterSeq) => this.#store.audit.list({ afterSeq, limit: 2000 }));
  }

  /** Audit records in chain order as JSON-ready objects (the export format: one per line). */
  async *exportAudit(options: { since?: number } = {}): AsyncGenerator<AuditEntryView> {
    let after = 0;
    for (;;) {
      const page = await this.#store.audit.list({ afterSeq: after, sinceAt: options.since, limit: 2000 });
      if (page.length === 0) return;
      for (const record of page) yield auditView(record);
      after = page.at(-1)?.seq ?? after;
    }
  }

  /** Waits for queued alerts to be stored (shutdown). */
  drain(): Promise<void> {
    return this.#intake.drain();
  }
}

function dedupOf(alert: NormalizedAlert): string {
  return `${alert.source}\u0000${alert.dedup_key}`;
}

function caseFromAlert(alert: NormalizedAlert) {
  const link = alert.url ? `\n\nSource: ${alert.url}` : '';
  return {
    title: alert.title,
    description: `${alert.description}${link}`.trim(),
    severity: alert.severity,
    status: 'new' as CaseStatus,
    phase: 'detection_analysis' as CasePhase,
    tlp: 'amber' as Tlp,
    pap: 'amber' as Pap,
    assignee: null,
    tags: alert.tags.slice(0, MAX_TAGS),
    techniques: alert.techniques,
    source: alert.source,
  };
}

/** Keeps contained/resolved/closed timestamps in step with the status (first time reached; cleared on reopen). */
function applyStatusTimes(c: CaseRecord, now: number, previous?: CaseStatus): void {
  const rank = CASE_STATUSES.indexOf(c.status as CaseStatus);
  const reached = (s: CaseStatus) => rank >= CASE_STATUSES.indexOf(s);
  if (reached('contained')) c.containedAt ??= now;
  if (reached('resolved')) c.resolvedAt ??= now;
  if (c.status === 'closed') c.closedAt ??= now;
  if (previous && CASE_STATUSES.indexOf(previous) > rank) {
    // Reopened: the clock for what is no longer true starts again.
    if (!reached('resolved')) c.resolvedAt = null;
    if (c.status !== 'closed') c.closedAt = null;
    if (!reached('contained')) c.containedAt = null;
    if (!reached('resolved')) c.resolution = null;
  }
}

function plainActor(actor: Actor): Actor {
  return actor.roles ? { kind: actor.kind, id: actor.id, name: actor.name, roles: actor.roles } : { kind: actor.kind, id: actor.id, name: actor.name };
}

function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidInput(`${field} is required and must be non-empty text`, { field });
  if (value.length > max) throw invalidInput(`${field} must be at most ${max} characters (got ${value.length})`, { field });
  return value.trim();
}

function optionalText(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidInput(`${field} must be text`, { field });
  if (value.length > max) throw invalidInput(`${field} must be at most ${max} characters (got ${value.length})`, { field });
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalidInput(`${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`, { field });
}

function parseObservableAt(o: { type: unknown; value: unknown }, at: string): Observable {
  try {
    return parseObservable(o);
  } catch (error) {
    if (error instanceof RiposteError) throw new RiposteError('input.invalid', `${at}: ${error.message}`, { status: 400, details: { field: at } });
    throw error;
  }
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function display(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none';
  return String(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^[0-9a-f-]{36}$/.test(id))
    throw new RiposteError('input.invalid_cursor', 'cursor is not one this server issued (pass next_cursor back unchanged, or start again without one)', {
      status: 400,
      details: { field: 'cursor' },
    });
  return id;
}

function taskView(t: {
  id: string;
  caseId: string;
  title: string;
  description: string;
  status: string;
  assignee: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}): TaskView {
  return {
    id: t.id,
    case_id: t.caseId,
    title: t.title,
    description: t.description,
    status: t.status as TaskStatus,
    assignee: t.assignee,
    created_at: iso(t.createdAt) as string,
    updated_at: iso(t.updatedAt) as string,
    completed_at: iso(t.completedAt),
  };
}

function commentView(c: { id: string; caseId: string; author: unknown; body: string; createdAt: number }): CommentView {
  return { id: c.id, case_id: c.caseId, author: c.author as Actor, body: c.body, created_at: iso(c.createdAt) as string };
}

function evidenceView(e: {
  id: string;
  caseId: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  description: string;
  uploadedBy: unknown;
  createdAt: number;
}): EvidenceView {
  return {
    id: e.id,
    case_id: e.caseId,
    name: e.name,
    content_type: e.contentType,
    size: e.size,
    sha256: e.sha256,
    description: e.description,
    uploaded_by: e.uploadedBy as Actor,
    created_at: iso(e.createdAt) as string,
  };
}

export function observableView(o: ObservableRecord): ObservableView {
  return {
    id: o.id,
    type: o.type as ObservableView['type'],
    value: o.value,
    first_seen_at: iso(o.firstSeenAt) as string,
    last_seen_at: iso(o.lastSeenAt) as string,
    sightings: o.sightings,
    verdict: o.verdict,
    confidence: o.confidence,
    enrichment: o.enrichment,
    enriched_at: iso(o.enrichedAt),
  };
}

function auditView(r: AuditRecord): AuditEntryView {
  return { ...(auditPayload(r) as Omit<AuditEntryView, 'hash'>), hash: r.hash };
}
