import { type Kysely, type Selectable, sql, type Updateable } from 'kysely';
import type { Backend } from '../backend.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { CasesTable, Database } from '../schema.ts';
import { chunks, insertChunked } from './chunked.ts';
import { inListChunks, insertRows, placeholders, type RowInsert, runSql, sqlTexts } from './sql-text.ts';

/** A case as stored. The cases module owns what the fields mean; this repository only keeps them. */
export interface CaseRecord {
  id: string;
  number: number;
  title: string;
  description: string;
  severity: string;
  status: string;
  phase: string;
  tlp: string;
  pap: string;
  assignee: string | null;
  tags: string[];
  techniques: string[];
  source: string | null;
  resolution: string | null;
  alertCount: number;
  minutesSaved: number;
  createdAt: number;
  updatedAt: number;
  acknowledgedAt: number | null;
  containedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  acknowledgeDueAt: number | null;
  containDueAt: number | null;
  resolveDueAt: number | null;
}

export type CaseIntakeSummary = Pick<CaseRecord, 'id' | 'number' | 'status' | 'severity' | 'techniques' | 'alertCount' | 'createdAt'>;

export type CasePatch = Partial<Omit<CaseRecord, 'id' | 'number' | 'createdAt'>>;

export interface CaseListFilter {
  status?: string[];
  severity?: string[];
  phase?: string[];
  assignee?: string;
  tag?: string;
  technique?: string;
  /** Full-text query over title and description. */
  text?: string;
  /** Only cases with ids below this one (ids are time-ordered: newest first). */
  before?: string;
  limit: number;
}

export interface TaskRecord {
  id: string;
  caseId: string;
  title: string;
  description: string;
  status: string;
  assignee: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface CommentRecord {
  id: string;
  caseId: string;
  author: unknown;
  body: string;
  createdAt: number;
}

export interface EvidenceRecord {
  id: string;
  caseId: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  description: string;
  uploadedBy: unknown;
  createdAt: number;
}

export interface TimelineRecord {
  id: string;
  caseId: string;
  at: number;
  actor: unknown;
  kind: string;
  summary: string;
  details: unknown;
}

export interface CaseMetricsRecord {
  cases: number;
  acknowledged: number;
  contained: number;
  resolved: number;
  meanAcknowledgeMs: number | null;
  meanContainMs: number | null;
  meanResolveMs: number | null;
  minutesSaved: number;
}

export interface CasesRepository {
  /** Reserves `count` consecutive human-friendly case numbers; returns the first. */
  reserveNumbers(count: number): Promise<number>;
  insert(cases: readonly CaseRecord[]): Promise<void>;
  update(id: string, patch: CasePatch): Promise<boolean>;
  /** alert_count += by, updated_at = at on each case: the hot path when alerts join cases. */
  addAlerts(ids: readonly string[], by: number, at: number): Promise<void>;
  get(id: string): Promise<CaseRecord | undefined>;
  getByNumber(number: number): Promise<CaseRecord | undefined>;
  getMany(ids: readonly string[]): Promise<CaseRecord[]>;
  /** The few fields alert intake needs of the cases its alerts join or repeat into (one narrow query). */
  intakeSummaries(ids: readonly string[]): Promise<CaseIntakeSummary[]>;
  list(filter: CaseListFilter): Promise<CaseRecord[]>;
  metrics(options: { since?: number; until?: number }): Promise<CaseMetricsRecord>;

  linkRun(caseId: string, runId: string, at: number): Promise<boolean>;
  runs(caseId: string): Promise<Array<{ runId: string; linkedAt: number }>>;
  /** Cases a run is linked to (guardrail decisions go on their timelines). */
  casesOfRun(runId: string): Promise<string[]>;

  insertTask(task: TaskRecord): Promise<void>;
  updateTask(id: string, patch: Partial<Omit<TaskRecord, 'id' | 'caseId' | 'createdAt'>>): Promise<boolean>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  tasks(caseId: string): Promise<TaskRecord[]>;

  insertComment(comment: CommentRecord): Promise<void>;
  comments(caseId: string, options: { after?: string; limit: number }): Promise<CommentRecord[]>;

  insertEvidence(evidence: EvidenceRecord, content: Uint8Array): Promise<void>;
  evidence(caseId: string): Promise<EvidenceRecord[]>;
  evidenceContent(id: string): Promise<{ record: EvidenceRecord; content: Uint8Array } | undefined>;

  appendTimeline(entries: readonly TimelineRecord[]): Promise<void>;
  timeline(caseId: string, options: { after?: string; limit: number }): Promise<TimelineRecord[]>;

  /** Bulk loading for imports and benchmarks: no timeline, no audit, one multi-row INSERT per chunk. */
  bulkInsert(data: { cases: readonly CaseRecord[] }): Promise<void>;
  /** Refreshes the query planner's statistics (after a bulk load; autovacuum / optimize do it over time). */
  refreshStatistics(): Promise<void>;
}

function toRecord(row: Selectable<CasesTable>): CaseRecord {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    number: Number(row.number),
    title: row.title,
    description: row.description,
    severity: row.severity,
    status: row.status,
    phase: row.phase,
    tlp: row.tlp,
    pap: row.pap,
    assignee: row.assignee,
    tags: decodeJson<string[]>(row.tags),
    techniques: decodeJson<string[]>(row.techniques),
    source: row.source,
    resolution: row.resolution,
    alertCount: Number(row.alert_count),
    minutesSaved: Number(row.minutes_saved),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    acknowledgedAt: n(row.acknowledged_at),
    containedAt: n(row.contained_at),
    resolvedAt: n(row.resolved_at),
    closedAt: n(row.closed_at),
    acknowledgeDueAt: n(row.acknowledge_due_at),
    containDueAt: n(row.contain_due_at),
    resolveDueAt: n(row.resolve_due_at),
  };
}

const COLUMNS: Record<keyof CasePatch, keyof CasesTable> = {
  title: 'title',
  description: 'description',
  severity: 'severity',
  status: 'status',
  phase: 'phase',
  tlp: 'tlp',
  pap: 'pap',
  assignee: 'assignee',
  tags: 'tags',
  techniques: 'techniques',
  source: 'source',
  resolution: 'resolution',
  alertCount: 'alert_count',
  minutesSaved: 'minutes_saved',
  updatedAt: 'updated_at',
  acknowledgedAt: 'acknowledged_at',
  containedAt: 'contained_at',
  resolvedAt: 'resolved_at',
  closedAt: 'closed_at',
  acknowledgeDueAt: 'acknowledge_due_at',
  containDueAt: 'contain_due_at',
  resolveDueAt: 'resolve_due_at',
};

function toRow(c: CaseRecord) {
  return {
    id: c.id,
    number: c.number,
    title: c.title,
    description: c.description,
    severity: c.severity,
    status: c.status,
    phase: c.phase,
    tlp: c.tlp,
    pap: c.pap,
    assignee: c.assignee,
    tags: encodeJson(c.tags),
    techniques: encodeJson(c.techniques),
    source: c.source,
    resolution: c.resolution,
    alert_count: c.alertCount,
    minutes_saved: c.minutesSaved,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    acknowledged_at: c.acknowledgedAt,
    contained_at: c.containedAt,
    resolved_at: c.resolvedAt,
    closed_at: c.closedAt,
    acknowledge_due_at: c.acknowledgeDueAt,
    contain_due_at: c.containDueAt,
    resolve_due_at: c.resolveDueAt,
  };
}

/** Words only (letters, digits, _), lower-cased: nothing a search engine could read as syntax. */
function searchWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 16);
}

/** Turns what a person types into an FTS5 query that cannot be a syntax error: every word must match, the last as a prefix. */
function ftsQuery(text: string): string | undefined {
  const words = searchWords(text);
  if (words.length === 0) return undefined;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ');
}

const TIMELINE_APPEND: RowInsert = {
  key: 'case_timeline.append',
  table: 'case_timeline',
  columns: ['id', 'case_id', 'at', 'actor', 'kind', 'summary', 'details'],
  pgTypes: ['text', 'text', 'bigint', 'jsonb', 'text', 'text', 'jsonb'],
};

export function casesRepository(db: Kysely<Database>, backend: Backend): CasesRepository {
  const texts = sqlTexts(backend);
  const insertCases = async (cases: readonly CaseRecord[]) => {
    await insertChunked(db, 'cases', cases.map(toRow));
    const tags = cases.flatMap((c) => [...new Set(c.tags)].map((tag) => ({ case_id: c.id, tag })));
    const techniques = cases.flatMap((c) => [...new Set(c.techniques)].map((technique) => ({ case_id: c.id, technique })));
    await insertChunked(db, 'case_tags', tags);
    await insertChunked(db, 'case_techniques', techniques);
  };

  return {
    async reserveNumbers(count) {
      const row = await db
        .updateTable('counters')
        .set((eb) => ({ value: eb('value', '+', count) }))
        .where('name', '=', 'case_number')
        .returning('value')
        .executeTakeFirstOrThrow();
      return Number(row.value) - count + 1;
    },
    insert: insertCases,
    bulkInsert: ({ cases }) => insertCases(cases),
    async refreshStatistics() {
      if (backend === 'postgres') await sql`analyze cases, case_tags, case_techniques, observables, case_observables`.execute(db);
      else await sql`analyze`.execute(db);
    },
    async update(id, patch) {
      const set: Updateable<CasesTable> = {};
      for (const [key, value] of Object.entries(patch) as Array<[keyof CasePatch, unknown]>) {
        if (value === undefined) continue;
        const column = COLUMNS[key];
        (set as Record<string, unknown>)[column] = key === 'tags' || key === 'techniques' ? encodeJson(value) : value;
      }
      if (Object.keys(set).length === 0) return true;
      const result = await db.updateTable('cases').set(set).where('id', '=', id).executeTakeFirst();
      if (patch.tags) {
        await db.deleteFrom('case_tags').where('case_id', '=', id).execute();
        await insertChunked(
          db,
          'case_tags',
          [...new Set(patch.tags)].map((tag) => ({ case_id: id, tag })),
        );
      }
      if (patch.techniques) {
        await db.deleteFrom('case_techniques').where('case_id', '=', id).execute();
        await insertChunked(
          db,
          'case_techniques',
          [...new Set(patch.techniques)].map((technique) => ({ case_id: id, technique })),
        );
      }
      return Number(result.numUpdatedRows) > 0;
    },
    async addAlerts(ids, by, at) {
      for (const part of inListChunks([...ids].sort())) {
        await runSql(
          db,
          texts.text(
            `cases.add_alerts:${part.length}`,
            () => `update cases set alert_count = alert_count + ?, updated_at = ? where id in (${placeholders(part.length)})`,
          ),
          [by, at, ...part],
        );
      }
    },
    async intakeSummaries(ids) {
      const out: CaseIntakeSummary[] = [];
      for (const part of inListChunks([...new Set(ids)])) {
        const rows = await runSql<{
          id: string;
          number: number | bigint;
          status: string;
          severity: string;
          techniques: string;
          alert_count: number | bigint;
          created_at: number | bigint;
        }>(
          db,
          texts.text(
            `cases.intake_summaries:${part.length}`,
            () => `select id, number, status, severity, techniques, alert_count, created_at from cases where id in (${placeholders(part.length)})`,
          ),
          part,
        );
        for (const r of rows) {
          out.push({
            id: r.id,
            number: Number(r.number),
            status: r.status,
            severity: r.severity,
            techniques: decodeJson<string[]>(r.techniques),
            alertCount: Number(r.alert_count),
            createdAt: Number(r.created_at),
          });
        }
      }
      return out;
    },
    async get(id) {
      const row = await db.selectFrom('cases').selectAll('cases').where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },
    async getByNumber(number) {
      const row = await db.selectFrom('cases').selectAll('cases').where('number', '=', number).executeTakeFirst();
      return row && toRecord(row);
    },
    async getMany(ids) {
      const out: CaseRecord[] = [];
      for (const part of chunks(ids, 500)) {
        const rows = await db.selectFrom('cases').selectAll('cases').where('id', 'in', part).execute();
        out.push(...rows.map(toRecord));
      }
      return out;
    },
    async list(filter) {
      let query = db.selectFrom('cases').selectAll('cases');
      if (filter.status?.length) query = query.where('cases.status', 'in', filter.status);
      if (filter.severity?.length) query = query.where('cases.severity', 'in', filter.severity);
      if (filter.phase?.length) query = query.where('cases.phase', 'in', filter.phase);
      if (filter.assignee !== undefined) query = query.where('cases.assignee', '=', filter.assignee);
      if (filter.tag !== undefined) {
        const tag = filter.tag;
        query = query.where('cases.id', 'in', (eb) => eb.selectFrom('case_tags').select('case_tags.case_id').where('case_tags.tag', '=', tag));
      }
      if (filter.technique !== undefined) {
        const technique = filter.technique;
        query = query.where('cases.id', 'in', (eb) =>
          eb.selectFrom('case_techniques').select('case_techniques.case_id').where('case_techniques.technique', '=', technique),
        );
      }
      if (filter.text !== undefined) {
        if (backend === 'postgres') {
          const words = searchWords(filter.text);
          if (words.length === 0) return [];
          const tsquery = words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ');
          query = query.where(sql<boolean>`cases.search @@ to_tsquery('simple', ${tsquery})`);
        } else {
          const match = ftsQuery(filter.text);
          if (match === undefined) return [];
          // Driven from the FTS index in rowid order (= insertion order, which follows the time-ordered ids),
          // so a common word stops after one page instead of collecting every match first. The rowid is
          // SQLite's implicit one: after a VACUUM, run `insert into cases_fts(cases_fts) values('rebuild')`.
          let fts = query.innerJoin('cases_fts', 'cases_fts.rowid', 'cases.rowid').where(sql<boolean>`cases_fts match ${match}`);
          if (filter.before !== undefined) {
            const before = filter.before;
            fts = fts.where('cases_fts.rowid', '<', (eb) => eb.selectFrom('cases as c2').select('c2.rowid').where('c2.id', '=', before));
          }
          const rows = await fts.orderBy('cases_fts.rowid', 'desc').limit(filter.limit).execute();
          return rows.map(toRecord);
        }
      }
      if (filter.before !== undefined) query = query.where('cases.id', '<', filter.before);
      const rows = await query.orderBy('cases.id', 'desc').limit(filter.limit).execute();
      return rows.map(toRecord);
    },
    async metrics({ since, until }) {
      let query = db
        .selectFrom('cases')
        .select([
          sql<number>`count(*)`.as('cases'),
          sql<number>`count(acknowledged_at)`.as('acknowledged'),
          sql<number>`count(contained_at)`.as('contained'),
          sql<number>`count(resolved_at)`.as('resolved'),
          sql<number | null>`avg(acknowledged_at - created_at)`.as('mtta'),
          sql<number | null>`avg(contained_at - created_at)`.as('mttc'),
          sql<number | null>`avg(resolved_at - created_at)`.as('mttr'),
          sql<number | null>`sum(minutes_saved)`.as('saved'),
        ]);
      if (since !== undefined) query = query.where('created_at', '>=', since);
      if (until !== undefined) query = query.where('created_at', '<', until);
      const row = await query.executeTakeFirstOrThrow();
      const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      return {
        cases: Number(row.cases),
        acknowledged: Number(row.acknowledged),
        contained: Number(row.contained),
        resolved: Number(row.resolved),
        meanAcknowledgeMs: num(row.mtta),
        meanContainMs: num(row.mttc),
        meanResolveMs: num(row.mttr),
        minutesSaved: num(row.saved) ?? 0,
      };
    },

    async linkRun(caseId, runId, at) {
      const result = await db
        .insertInto('case_runs')
        .values({ case_id: caseId, run_id: runId, linked_at: at })
        .onConflict((oc) => oc.columns(['case_id', 'run_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async casesOfRun(runId) {
      const rows = await db.selectFrom('case_runs').select(['case_id']).where('run_id', '=', runId).orderBy('linked_at').execute();
      return rows.map((r) => r.case_id);
    },
    async runs(caseId) {
      const rows = await db.selectFrom('case_runs').select(['run_id', 'linked_at']).where('case_id', '=', caseId).orderBy('linked_at').execute();
      return rows.map((r) => ({ runId: r.run_id, linkedAt: Number(r.linked_at) }));
    },

    async insertTask(t) {
      await db
        .insertInto('case_tasks')
        .values({
          id: t.id,
          case_id: t.caseId,
          title: t.title,
          description: t.description,
          status: t.status,
          assignee: t.assignee,
          created_at: t.createdAt,
          updated_at: t.updatedAt,
          completed_at: t.completedAt,
        })
        .execute();
    },
    async updateTask(id, patch) {
      const set: Record<string, unknown> = {};
      const names: Record<string, string> = {
        title: 'title',
        description: 'description',
        status: 'status',
        assignee: 'assignee',
        updatedAt: 'updated_at',
        completedAt: 'completed_at',
      };
      for (const [key, value] of Object.entries(patch)) if (value !== undefined && names[key]) set[names[key]] = value;
      const result = await db.updateTable('case_tasks').set(set).where('id', '=', id).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async getTask(id) {
      const row = await db.selectFrom('case_tasks').selectAll().where('id', '=', id).executeTakeFirst();
      return row && taskRecord(row);
    },
    async tasks(caseId) {
      const rows = await db.selectFrom('case_tasks').selectAll().where('case_id', '=', caseId).orderBy('id').execute();
      return rows.map(taskRecord);
    },

    async insertComment(c) {
      await db
        .insertInto('case_comments')
        .values({ id: c.id, case_id: c.caseId, author: encodeJson(c.author), body: c.body, created_at: c.createdAt })
        .execute();
    },
    async comments(caseId, { after, limit }) {
      let query = db.selectFrom('case_comments').selectAll().where('case_id', '=', caseId);
      if (after) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map((r) => ({ id: r.id, caseId: r.case_id, author: decodeJson(r.author), body: r.body, createdAt: Number(r.created_at) }));
    },

    async insertEvidence(e, content) {
      await db
        .insertInto('case_evidence')
        .values({
          id: e.id,
          case_id: e.caseId,
          name: e.name,
          content_type: e.contentType,
          size: e.size,
          sha256: e.sha256,
          description: e.description,
          uploaded_by: encodeJson(e.uploadedBy),
          created_at: e.createdAt,
          content,
        })
        .execute();
    },
    async evidence(caseId) {
      const rows = await db
        .selectFrom('case_evidence')
        .select(['id', 'case_id', 'name', 'content_type', 'size', 'sha256', 'description', 'uploaded_by', 'created_at'])
        .where('case_id', '=', caseId)
        .orderBy('id')
        .execute();
      return rows.map(evidenceRecord);
    },
    async evidenceContent(id) {
      const row = await db.selectFrom('case_evidence').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      return { record: evidenceRecord(row), content: new Uint8Array(row.content) };
    },

    async appendTimeline(entries) {
      const values: unknown[] = [];
      for (const e of entries) values.push(e.id, e.caseId, e.at, encodeJson(e.actor), e.kind, e.summary, encodeJson(e.details));
      await insertRows(db, backend, TIMELINE_APPEND, values);
    },
    async timeline(caseId, { after, limit }) {
      let query = db.selectFrom('case_timeline').selectAll().where('case_id', '=', caseId);
      if (after) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map((r) => ({
        id: r.id,
        caseId: r.case_id,
        at: Number(r.at),
        actor: decodeJson(r.actor),
        kind: r.kind,
        summary: r.summary,
        details: decodeJson(r.details),
      }));
    },
  };
}

function taskRecord(r: Selectable<Database['case_tasks']>): TaskRecord {
  return {
    id: r.id,
    caseId: r.case_id,
    title: r.title,
    description: r.description,
    status: r.status,
    assignee: r.assignee,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
  };
}

function evidenceRecord(r: Omit<Selectable<Database['case_evidence']>, 'content'>): EvidenceRecord {
  return {
    id: r.id,
    caseId: r.case_id,
    name: r.name,
    contentType: r.content_type,
    size: Number(r.size),
    sha256: r.sha256,
    description: r.description,
    uploadedBy: decodeJson(r.uploaded_by),
    createdAt: Number(r.created_at),
  };
}
