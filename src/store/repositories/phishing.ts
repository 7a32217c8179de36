import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database, PhishingAnalysesTable, PhishingReportsTable } from '../schema.ts';

/** A user's report as received: the raw bytes stay, so nothing is lost when analysis fails. */
export interface PhishingReportRecord {
  id: string;
  /** Where it came in: api, cli, graph, imap. */
  source: string;
  reporter: string;
  filename: string;
  size: number;
  sha256: string;
  status: 'received' | 'analysed' | 'failed';
  error: { code: string; message: string } | null;
  /** The mailbox message id for polled reports (so a message is taken once). */
  externalId: string | null;
  receivedAt: number;
}

export interface PhishingAnalysisRecord {
  id: string;
  reportId: string;
  caseId: string;
  location: string;
  verdict: string;
  score: number;
  result: unknown;
  createdAt: number;
}

export interface PhishingReporterRecord {
  caseId: string;
  reporter: string;
  reports: number;
  firstReportedAt: number;
  lastReportedAt: number;
}

export interface PhishingRepository {
  insertReport(record: Omit<PhishingReportRecord, 'status' | 'error'> & { content: Uint8Array }): Promise<void>;
  markReport(id: string, status: PhishingReportRecord['status'], error?: { code: string; message: string } | null): Promise<void>;
  getReport(id: string): Promise<PhishingReportRecord | undefined>;
  reportContent(id: string): Promise<Uint8Array | undefined>;
  /** True when a polled mailbox message was already taken in. */
  hasExternal(source: string, externalId: string): Promise<boolean>;
  listReports(options?: { limit?: number; before?: number }): Promise<PhishingReportRecord[]>;
  insertAnalysis(record: PhishingAnalysisRecord): Promise<void>;
  getAnalysis(id: string): Promise<PhishingAnalysisRecord | undefined>;
  analysesOfReport(reportId: string): Promise<PhishingAnalysisRecord[]>;
  analysesOfCase(caseId: string): Promise<PhishingAnalysisRecord[]>;
  /** The case already holding any of these cluster keys (the oldest key's case wins). */
  caseForKeys(keys: string[]): Promise<string | undefined>;
  /** Records keys for a case; keys already held by another case keep theirs. */
  addKeys(caseId: string, keys: string[]): Promise<void>;
  /** Records a reporter on a case (counts repeats). */
  addReporter(caseId: string, reporter: string): Promise<void>;
  reportersOf(caseId: string): Promise<PhishingReporterRecord[]>;
}

function reportFrom(row: Omit<Selectable<PhishingReportsTable>, 'content'>): PhishingReportRecord {
  return {
    id: row.id,
    source: row.source,
    reporter: row.reporter,
    filename: row.filename,
    size: Number(row.size),
    sha256: row.sha256,
    status: row.status as PhishingReportRecord['status'],
    error: row.error === null ? null : decodeJson(row.error),
    externalId: row.external_id,
    receivedAt: Number(row.received_at),
  };
}

function analysisFrom(row: Selectable<PhishingAnalysesTable>): PhishingAnalysisRecord {
  return {
    id: row.id,
    reportId: row.report_id,
    caseId: row.case_id,
    location: row.location,
    verdict: row.verdict,
    score: Number(row.score),
    result: decodeJson(row.result),
    createdAt: Number(row.created_at),
  };
}

const REPORT_COLUMNS = ['id', 'source', 'reporter', 'filename', 'size', 'sha256', 'status', 'error', 'external_id', 'received_at'] as const;

export function phishingRepository(db: Kysely<Database>, clock: Clock): PhishingRepository {
  return {
    async insertReport(r) {
      await db
        .insertInto('phishing_reports')
        .values({
          id: r.id,
          source: r.source,
          reporter: r.reporter,
          filename: r.filename,
          size: r.size,
          sha256: r.sha256,
          content: r.content,
          status: 'received',
          error: null,
          external_id: r.externalId,
          received_at: r.receivedAt,
        })
        .execute();
    },
    async markReport(id, status, error = null) {
      await db
        .updateTable('phishing_reports')
        .set({ status, error: error === null ? null : encodeJson(error) })
        .where('id', '=', id)
        .execute();
    },
    async getReport(id) {
      const row = await db.selectFrom('phishing_reports').select(REPORT_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? reportFrom(row) : undefined;
    },
    async reportContent(id) {
      const row = await db.selectFrom('phishing_reports').select('content').where('id', '=', id).executeTakeFirst();
      return row ? new Uint8Array(row.content) : undefined;
    },
    async hasExternal(source, externalId) {
      const row = await db.selectFrom('phishing_reports').select('id').where('source', '=', source).where('external_id', '=', externalId).executeTakeFirst();
      return row !== undefined;
    },
    async listReports(options = {}) {
      let query = db.selectFrom('phishing_reports').select(REPORT_COLUMNS);
      if (options.before !== undefined) query = query.where('received_at', '<', options.before);
      const rows = await query
        .orderBy('received_at', 'desc')
        .orderBy('id', 'desc')
        .limit(options.limit ?? 50)
        .execute();
      return rows.map(reportFrom);
    },
    async insertAnalysis(a) {
      await db
        .insertInto('phishing_analyses')
        .values({
          id: a.id,
          report_id: a.reportId,
          case_id: a.caseId,
          location: a.location,
          verdict: a.verdict,
          score: a.score,
          result: encodeJson(a.result),
          created_at: a.createdAt,
        })
        .execute();
    },
    async getAnalysis(id) {
      const row = await db.selectFrom('phishing_analyses').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? analysisFrom(row) : undefined;
    },
    async analysesOfReport(reportId) {
      const rows = await db.selectFrom('phishing_analyses').selectAll().where('report_id', '=', reportId).orderBy('created_at').orderBy('id').execute();
      return rows.map(analysisFrom);
    },
    async analysesOfCase(caseId) {
      const rows = await db.selectFrom('phishing_analyses').selectAll().where('case_id', '=', caseId).orderBy('created_at').orderBy('id').execute();
      return rows.map(analysisFrom);
    },
    async caseForKeys(keys) {
      if (keys.length === 0) return undefined;
      const row = await db
        .selectFrom('phishing_cluster_keys')
        .select('case_id')
        .where('key', 'in', keys)
        .orderBy('created_at')
        .orderBy('key')
        .limit(1)
        .executeTakeFirst();
      return row?.case_id;
    },
    async addKeys(caseId, keys) {
      const now = clock.now();
      for (const key of new Set(keys)) {
        await db
          .insertInto('phishing_cluster_keys')
          .values({ key, case_id: caseId, created_at: now })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute();
      }
    },
    async addReporter(caseId, reporter) {
      const now = clock.now();
      await db
        .insertInto('phishing_reporters')
        .values({ case_id: caseId, reporter, reports: 1, first_reported_at: now, last_reported_at: now })
        .onConflict((oc) =>
          oc.columns(['case_id', 'reporter']).doUpdateSet((eb) => ({ reports: eb('phishing_reporters.reports', '+', 1), last_reported_at: now })),
        )
        .execute();
    },
    async reportersOf(caseId) {
      const rows = await db
        .selectFrom('phishing_reporters')
        .selectAll()
        .where('case_id', '=', caseId)
        .orderBy('first_reported_at')
        .orderBy('reporter')
        .execute();
      return rows.map((r) => ({
        caseId: r.case_id,
        reporter: r.reporter,
        reports: Number(r.reports),
        firstReportedAt: Number(r.first_reported_at),
        lastReportedAt: Number(r.last_reported_at),
      }));
    },
  };
}
