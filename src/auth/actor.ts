import type { Permission, Role } from './permissions.ts';

/**
 * Who is calling, as every module sees it once the server has authenticated a request: a person
 * signed in through the UI (`user`) or a script holding an API token (`token`). Audit records and
 * case timelines name the actor by `name` and keep `userId` (and `tokenId`) for the record.
 */
export interface Actor {
  kind: 'user' | 'token';
  /** The user's id for `user`, the token's id for `token`. */
  id: string;
  /** The person behind the call (the token's owner for `token`). */
  userId: string;
  /** The user name. */
  name: string;
  roles: Role[];
  /** What this caller may do: the roles' permissions, narrowed to the token's scopes for `token`. */
  permissions: readonly Permission[];
  /** For `token`: the token's label. */
  tokenName?: string;
  /** For `user`: the UI session, so sign-out can end exactly this one. */
  sessionId?: string;
}

export function hasPermission(actor: Pick<Actor, 'permissions'>, permission: string): boolean {
  return (actor.permissions as readonly string[]).includes(permission);
}
