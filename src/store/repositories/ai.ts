import { type Kysely, type Selectable, sql } from 'kysely';
import { decodeJson, encodeJson } from '../backend.ts';
import type { AiInteractionsTable, Database, PlaybookDraftsTable } from '../schema.ts';

/** One exchange with the model, as stored: the prompt and raw answer are already secret-redacted. */
export interface AiInteractionRecord {
  id: string;
  /** The case it was about (null for a playbook draft). */
  caseId: string | null;
  kind: string;
  model: string;
  actor: unknown;
  status: 'ok' | 'error' | 'refused';
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  injection: unknown;
  withheld: unknown;
  output: unknown;
  /** The messages sent (redacted). */
  request: unknown;
  responseText: string | null;
  error: unknown;
  createdAt: number;
}

export interface PlaybookDraftRecord {
  id: string;
  title: string;
  description: string;
  yaml: string;
  valid: boolean;
  issues: unknown;
  status: 'draft';
  createdBy: string;
  createdAt: number;
  interactionId: string;
}

export interface AiUsage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export interface AiRepository {
  insertInteraction(record: AiInteractionRecord): Promise<void>;
  getInteraction(id: string): Promise<AiInteractionRecord | undefined>;
  /** Newest first. */
  interactionsOfCase(caseId: string, limit?: number): Promise<AiInteractionRecord[]>;
  /** What was spent: for one case (all time), or for everything since a time (the daily budget). */
  usage(filter: { caseId?: string; since?: number }): Promise<AiUsage>;
  insertDraft(record: PlaybookDraftRecord): Promise<void>;
  getDraft(id: string): Promise<PlaybookDraftRecord | undefined>;
  /** Newest first. */
  listDrafts(limit?: number): Promise<PlaybookDraftRecord[]>;
}

function interactionFrom(row: Selectable<AiInteractionsTable>): AiInteractionRecord {
  return {
    id: row.id,
    caseId: row.case_id,
    kind: row.kind,
    model: row.model,
    actor: decodeJson(row.actor),
    status: row.status as AiInteractionRecord['status'],
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    latencyMs: Number(row.latency_ms),
    injection: decodeJson(row.injection),
    withheld: decodeJson(row.withheld),
    output: row.output === null ? null : decodeJson(row.output),
    request: decodeJson(row.request),
    responseText: row.response_text,
    error: row.error === null ? null : decodeJson(row.error),
    createdAt: Number(row.created_at),
  };
}

function draftFrom(row: Selectable<PlaybookDraftsTable>): PlaybookDraftRecord {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    yaml: row.yaml,
    valid: Number(row.valid) === 1,
    issues: decodeJson(row.issues),
    status: 'draft',
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    interactionId: row.interaction_id,
  };
}

export function aiRepository(db: Kysely<Database>): AiRepository {
  return {
    async insertInteraction(r) {
      await db
        .insertInto('ai_interactions')
        .values({
          id: r.id,
          case_id: r.caseId,
          kind: r.kind,
          model: r.model,
          actor: encodeJson(r.actor),
          status: r.status,
          prompt_tokens: r.promptTokens,
          completion_tokens: r.completionTokens,
          latency_ms: r.latencyMs,
          injection: encodeJson(r.injection),
          withheld: encodeJson(r.withheld),
          output: r.output === null || r.output === undefined ? null : encodeJson(r.output),
          request: encodeJson(r.request),
          response_text: r.responseText,
          error: r.error === null || r.error === undefined ? null : encodeJson(r.error),
          created_at: r.createdAt,
        })
        .execute();
    },
    async getInteraction(id) {
      const row = await db.selectFrom('ai_interactions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? interactionFrom(row) : undefined;
    },
    async interactionsOfCase(caseId, limit = 100) {
      const rows = await db
        .selectFrom('ai_interactions')
        .selectAll()
        .where('case_id', '=', caseId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(interactionFrom);
    },
    async usage(filter) {
      let query = db
        .selectFrom('ai_interactions')
        .select([
          sql<number>`count(*)`.as('requests'),
          sql<number | null>`sum(prompt_tokens)`.as('prompt_tokens'),
          sql<number | null>`sum(completion_tokens)`.as('completion_tokens'),
        ]);
      if (filter.caseId !== undefined) query = query.where('case_id', '=', filter.caseId);
      if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
      const row = await query.executeTakeFirst();
      return { requests: Number(row?.requests ?? 0), promptTokens: Number(row?.prompt_tokens ?? 0), completionTokens: Number(row?.completion_tokens ?? 0) };
    },
    async insertDraft(d) {
      await db
        .insertInto('playbook_drafts')
        .values({
          id: d.id,
          title: d.title,
          description: d.description,
          yaml: d.yaml,
          valid: d.valid ? 1 : 0,
          issues: encodeJson(d.issues),
          status: d.status,
          created_by: d.createdBy,
          created_at: d.createdAt,
          interaction_id: d.interactionId,
        })
        .execute();
    },
    async getDraft(id) {
      const row = await db.selectFrom('playbook_drafts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? draftFrom(row) : undefined;
    },
    async listDrafts(limit = 100) {
      const rows = await db.selectFrom('playbook_drafts').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(draftFrom);
    },
  };
}
