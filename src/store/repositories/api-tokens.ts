import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { ApiTokensTable, Database } from '../schema.ts';
import { JOINED_USER_COLUMNS, type UserRecord, userFromJoinedRow } from './users.ts';

/** An API token as stored: its hash, never the token. */
export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  scopes: string[];
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface ApiTokensRepository {
  insert(token: ApiTokenRecord): Promise<void>;
  /** The token with this hash and its owner, in one round trip (this runs on every API request). */
  byHash(tokenHash: string): Promise<{ token: ApiTokenRecord; owner: UserRecord } | undefined>;
  byId(id: string): Promise<ApiTokenRecord | undefined>;
  /** Newest first; all users' tokens when userId is undefined. */
  list(options?: { userId?: string }): Promise<ApiTokenRecord[]>;
  /** Marks it revoked; false if it does not exist or was already revoked. */
  revoke(id: string): Promise<boolean>;
  /** Notes use, at most once per `minIntervalMs`, so busy tokens don't turn every read into a write. */
  touch(id: string, minIntervalMs: number): Promise<void>;
}

function toApiTokenRecord(row: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    tokenHash: row.token_hash,
    scopes: decodeJson<string[]>(row.scopes),
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

export function apiTokensRepository(db: Kysely<Database>, clock: Clock): ApiTokensRepository {
  return {
    async insert(token) {
      await db
        .insertInto('api_tokens')
        .values({
          id: token.id,
          user_id: token.userId,
          name: token.name,
          token_hash: token.tokenHash,
          scopes: encodeJson(token.scopes),
          created_at: token.createdAt,
          created_by: token.createdBy,
          expires_at: token.expiresAt,
          revoked_at: token.revokedAt,
          last_used_at: token.lastUsedAt,
        })
        .execute();
    },
    async byHash(tokenHash) {
      const row = await db
        .selectFrom('api_tokens as t')
        .innerJoin('users as u', 'u.id', 't.user_id')
        .selectAll('t')
        .select(JOINED_USER_COLUMNS)
        .where('t.token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const owner = userFromJoinedRow(row);
      return { token: toApiTokenRecord(row), owner };
    },
    async byId(id) {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toApiTokenRecord(row);
    },
    async list(options = {}) {
      let query = db.selectFrom('api_tokens').selectAll().orderBy('id', 'desc');
      if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
      return (await query.execute()).map(toApiTokenRecord);
    },
    async revoke(id) {
      const result = await db
        .updateTable('api_tokens')
        .set({ revoked_at: clock.now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async touch(id, minIntervalMs) {
      const now = clock.now();
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - minIntervalMs)]))
        .execute();
    },
  };
}
