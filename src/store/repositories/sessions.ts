import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../../core/index.ts';
import type { Database, SessionsTable } from '../schema.ts';
import { JOINED_USER_COLUMNS, type UserRecord, userFromJoinedRow } from './users.ts';

/** A signed-in UI session as stored: hashes of its cookie and CSRF token, never the values. */
export interface SessionRecord {
  id: string;
  userId: string;
  tokenHash: string;
  csrfHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  clientIp: string | null;
  userAgent: string | null;
}

export interface SessionsRepository {
  insert(session: SessionRecord): Promise<void>;
  /** The session with this cookie hash and its user, in one round trip (this runs on every UI request). */
  byHash(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined>;
  /** Notes activity, at most once per `minIntervalMs`. */
  touch(id: string, minIntervalMs: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** Ends every session of a user (disabled, password changed, roles changed); returns how many. */
  deleteForUser(userId: string): Promise<number>;
  /** Removes sessions past their absolute end or idle longer than `idleMs`; returns how many. */
  deleteExpired(idleMs: number): Promise<number>;
}

function toSessionRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    csrfHash: row.csrf_hash,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    clientIp: row.client_ip,
    userAgent: row.user_agent,
  };
}

export function sessionsRepository(db: Kysely<Database>, clock: Clock): SessionsRepository {
  return {
    async insert(session) {
      await db
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          token_hash: session.tokenHash,
          csrf_hash: session.csrfHash,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
          client_ip: session.clientIp,
          user_agent: session.userAgent,
        })
        .execute();
    },
    async byHash(tokenHash) {
      const row = await db
        .selectFrom('sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .selectAll('s')
        .select(JOINED_USER_COLUMNS)
        .where('s.token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const user = userFromJoinedRow(row);
      return { session: toSessionRecord(row), user };
    },
    async touch(id, minIntervalMs) {
      const now = clock.now();
      await db
        .updateTable('sessions')
        .set({ last_seen_at: now })
        .where('id', '=', id)
        .where('last_seen_at', '<=', now - minIntervalMs)
        .execute();
    },
    async delete(id) {
      const result = await db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deleteForUser(userId) {
      const result = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async deleteExpired(idleMs) {
      const now = clock.now();
      const result = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - idleMs)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
