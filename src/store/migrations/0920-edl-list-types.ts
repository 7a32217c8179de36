import { decodeJson } from '../backend.ts';
import type { StoreMigration } from './migration.ts';

/**
 * EDL lists get a type (`ip`, `url`, `domain`, `sender`): a firewall imports a list as one type and drops
 * lines of another, so a list's type is fixed once (by its first entry or by config) and every value is
 * validated against it. Lists served before this migration held addresses only, so they become `ip`.
 *
 * The old `phishing.blocklist` setting (senders and URLs that nothing enforced) moves into the `sender` and
 * `url` lists Riposte now serves, with a 30-day expiry like a fresh phishing block, and the setting goes.
 * Entries also remember the idempotency key of the action that first listed them, so an action's inverse
 * removes only what that action added (a retried step included) and never an entry another block still holds.
 *
 * Values are canonicalised the way the URL and sender lists are (no scheme, lower-case host, no fragment;
 * lower-case addresses); anything that is not a URL or an address is dropped rather than served.
 */
const THIRTY_DAYS = 30 * 86_400_000;
const URL_LIST = 'riposte-urls';
const SENDER_LIST = 'riposte-senders';

function movedUrl(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const url = new URL(text.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return `${url.hostname}${url.pathname === '/' && !url.search ? '' : url.pathname}${url.search}`.slice(0, 255);
  } catch {
    return undefined;
  }
}

function movedSender(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const value = text.trim().toLowerCase();
  return /^[^\s@]+@[a-z0-9.-]+\.[a-z0-9-]+$/.test(value) ? value : undefined;
}

export const edlListTypes: StoreMigration = {
  name: '0920-edl-list-types',
  async up(db, types) {
    await db.schema
      .createTable('edl_lists')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.alterTable('edl_entries').addColumn('created_by_key', 'text').execute();
    const now = Date.now();
    const existing = (await db.selectFrom('edl_entries').select('list').distinct().execute()) as Array<{ list: string }>;
    for (const { list } of existing) await db.insertInto('edl_lists').values({ name: list, type: 'ip', created_at: now }).execute();

    const row = (await db.selectFrom('settings').select('value').where('key', '=', 'phishing.blocklist').executeTakeFirst()) as { value: unknown } | undefined;
    if (!row) return;
    const old = ((typeof row.value === 'string' ? decodeJson(row.value) : row.value) ?? {}) as { senders?: unknown[]; urls?: unknown[] };
    const moves: Array<[string, string | undefined]> = [
      ...(Array.isArray(old.urls) ? old.urls : []).map((u): [string, string | undefined] => [URL_LIST, movedUrl(u)]),
      ...(Array.isArray(old.senders) ? old.senders : []).map((s): [string, string | undefined] => [SENDER_LIST, movedSender(s)]),
    ];
    for (const [list, type] of [
      [URL_LIST, 'url'],
      [SENDER_LIST, 'sender'],
    ] as const) {
      if (!moves.some(([l, v]) => l === list && v !== undefined)) continue;
      const typed = await db.selectFrom('edl_lists').select('name').where('name', '=', list).executeTakeFirst();
      if (!typed) await db.insertInto('edl_lists').values({ name: list, type, created_at: now }).execute();
    }
    for (const [list, value] of moves) {
      if (value === undefined) continue;
      await db
        .insertInto('edl_entries')
        .values({
          list,
          value,
          expires_at: now + THIRTY_DAYS,
          case_id: null,
          run_id: null,
          added_by: 'migration:0920-edl-list-types',
          reason: 'moved from the phishing.blocklist setting',
          added_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['list', 'value']).doNothing())
        .execute();
    }
    await db.deleteFrom('settings').where('key', '=', 'phishing.blocklist').execute();
  },
};
