import { type Kysely, type Selectable, sql } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { decodeJson, encodeJson } from '../backend.ts';
import type { Database, UsersTable } from '../schema.ts';

/** A local account as stored. Role names are plain strings here; the auth module gives them meaning. */
export interface UserRecord {
  id: string;
  name: string;
  roles: string[];
  passwordHash: string | null;
  disabledAt: number | null;
  failedLogins: number;
  lockedUntil: number | null;
  lastLoginAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export type UserChanges = Partial<Pick<UserRecord, 'roles' | 'passwordHash' | 'disabledAt' | 'failedLogins' | 'lockedUntil' | 'lastLoginAt'>>;

export interface UsersRepository {
  /** Inserts unless the name is taken; returns false when it is (no exception to catch per backend). */
  insert(user: UserRecord): Promise<boolean>;
  byName(name: string): Promise<UserRecord | undefined>;
  byId(id: string): Promise<UserRecord | undefined>;
  /** Users ordered by name, starting after the given name (keyset pagination). */
  list(options?: { afterName?: string; limit?: number }): Promise<UserRecord[]>;
  count(): Promise<number>;
  update(id: string, changes: UserChanges): Promise<boolean>;
  /**
   * Counts one failed sign-in atomically (concurrent attempts cannot lose increments) and locks the
   * account once `threshold` consecutive failures are reached. A lock that has already run out starts
   * the count afresh. Returns the state after the update, or undefined when the user does not exist.
   */
  recordFailedLogin(id: string, threshold: number, lockMs: number): Promise<{ failedLogins: number; lockedUntil: number | null } | undefined>;
  /** Clears the failure count and lock and notes the time of this sign-in. */
  recordLogin(id: string): Promise<void>;
}

export function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    name: row.name,
    roles: decodeJson<string[]>(row.roles),
    passwordHash: row.password_hash,
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    failedLogins: Number(row.failed_logins),
    lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
    lastLoginAt: row.last_login_at === null ? null : Number(row.last_login_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The owner's columns when a token or session query joins `users as u` (one round trip per request). */
export const JOINED_USER_COLUMNS = [
  'u.name as u_name',
  'u.roles as u_roles',
  'u.password_hash as u_password_hash',
  'u.disabled_at as u_disabled_at',
  'u.failed_logins as u_failed_logins',
  'u.locked_until as u_locked_until',
  'u.last_login_at as u_last_login_at',
  'u.created_at as u_created_at',
  'u.updated_at as u_updated_at',
] as const;

export function userFromJoinedRow(row: { user_id: string } & { [K in keyof Omit<UsersTable, 'id'> as `u_${K}`]: Selectable<UsersTable>[K] }): UserRecord {
  return toUserRecord({
    id: row.user_id,
    name: row.u_name,
    roles: row.u_roles,
    password_hash: row.u_password_hash,
    disabled_at: row.u_disabled_at,
    failed_logins: row.u_failed_logins,
    locked_until: row.u_locked_until,
    last_login_at: row.u_last_login_at,
    created_at: row.u_created_at,
    updated_at: row.u_updated_at,
  });
}

export function usersRepository(db: Kysely<Database>, clock: Clock): UsersRepository {
  return {
    async insert(user) {
      const result = await db
        .insertInto('users')
        .values({
          id: user.id,
          name: user.name,
          roles: encodeJson(user.roles),
          password_hash: user.passwordHash,
          disabled_at: user.disabledAt,
          failed_logins: user.failedLogins,
          locked_until: user.lockedUntil,
          last_login_at: user.lastLoginAt,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async byName(name) {
      const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toUserRecord(row);
    },
    async byId(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toUserRecord(row);
    },
    async list(options = {}) {
      let query = db.selectFrom('users').selectAll().orderBy('name');
      if (options.afterName !== undefined) query = query.where('name', '>', options.afterName);
      if (options.limit !== undefined) query = query.limit(options.limit);
      return (await query.execute()).map(toUserRecord);
    },
    async count() {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async update(id, changes) {
      const values: Partial<Record<keyof UsersTable, unknown>> = { updated_at: clock.now() };
      if (changes.roles !== undefined) values.roles = encodeJson(changes.roles);
      if (changes.passwordHash !== undefined) values.password_hash = changes.passwordHash;
      if (changes.disabledAt !== undefined) values.disabled_at = changes.disabledAt;
      if (changes.failedLogins !== undefined) values.failed_logins = changes.failedLogins;
      if (changes.lockedUntil !== undefined) values.locked_until = changes.lockedUntil;
      if (changes.lastLoginAt !== undefined) values.last_login_at = changes.lastLoginAt;
      const result = await db
        .updateTable('users')
        .set(values as never)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async recordFailedLogin(id, threshold, lockMs) {
      const now = clock.now();
      const lockRanOut = sql<boolean>`(locked_until is not null and locked_until <= ${now})`;
      const next = sql<number>`(case when ${lockRanOut} then 1 else failed_logins + 1 end)`;
      const row = await db
        .updateTable('users')
        .set({
          failed_logins: next,
          locked_until: sql<number | null>`(case when ${next} >= ${threshold} then ${now + lockMs} when ${lockRanOut} then null else locked_until end)`,
          updated_at: now,
        })
        .where('id', '=', id)
        .returning(['failed_logins', 'locked_until'])
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return { failedLogins: Number(row.failed_logins), lockedUntil: row.locked_until === null ? null : Number(row.locked_until) };
    },
    async recordLogin(id) {
      const now = clock.now();
      await db.updateTable('users').set({ failed_logins: 0, locked_until: null, last_login_at: now, updated_at: now }).where('id', '=', id).execute();
    },
  };
}
