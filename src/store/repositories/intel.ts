import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { Clock } from '../../core/index.ts';
import { type Backend, decodeJson, encodeJson } from '../backend.ts';
import type { Database } from '../schema.ts';
import { chunks } from './chunked.ts';

/**
 * Threat-intelligence storage behind intel/: STIX objects per TAXII collection with every version kept,
 * the collections and who may use them, TAXII status resources, and indicator sightings.
 *
 * `dateAddedUs` (microseconds) is assigned here, strictly increasing across the database (a PostgreSQL
 * advisory lock serialises writers), so it doubles as the pagination cursor: "everything added after X"
 * is exact, never skipping or repeating an object between pages.
 */
export interface IntelObjectInput {
  id: string;
  type: string;
  specVersion: string;
  /** The STIX version as written in the object (`modified`, else `created`, else the add time). */
  version: string;
  /** The version as microseconds since the epoch (for ordering and `match[version]` comparisons). */
  versionUs: number;
  raw: Record<string, unknown>;
  confidence: number | null;
  tlp: string | null;
  validFrom: number | null;
  validUntil: number | null;
  revoked: boolean;
  /**
   * The object has neither `modified` nor `created` (SCOs, TLP markings): its version is its add time, and
   * since such objects never change, adding one whose id the collection already holds is a duplicate.
   */
  unversioned?: boolean;
}

export interface IntelObjectRecord extends IntelObjectInput {
  collection: string;
  dateAddedUs: number;
}

/** `match[version]` values: the first or last version of each object, every version, or one exact version (µs). */
export type IntelVersionMatch = 'first' | 'last' | 'all' | number;

export interface IntelObjectQuery {
  collection: string;
  /** Only objects whose date added is strictly after this (µs). */
  addedAfterUs?: number;
  ids?: readonly string[];
  types?: readonly string[];
  /** Absent: only the newest spec version held for each object. */
  specVersions?: readonly string[];
  /** Absent: ['last']. */
  versions?: readonly IntelVersionMatch[];
  limit: number;
}

export interface IntelCollectionRecord {
  id: string;
  apiRoot: string;
  title: string;
  description: string | null;
  alias: string | null;
  /** Role or permission names; a caller holding any of them may read (write). */
  readAccess: string[];
  writeAccess: string[];
  createdAt: number;
}

export interface IntelStatusRecord {
  id: string;
  apiRoot: string;
  /** Who made the add request (user id): only they may read the status. */
  owner: string;
  body: Record<string, unknown>;
  createdAt: number;
}

export interface SightingTally {
  indicatorId: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface IntelRepository {
  listCollections(apiRoot?: string): Promise<IntelCollectionRecord[]>;
  getCollection(id: string): Promise<IntelCollectionRecord | undefined>;
  putCollection(record: Omit<IntelCollectionRecord, 'createdAt'>): Promise<IntelCollectionRecord>;
  /** Adds objects to a collection; a version already held is left as it is ('duplicate'). */
  addObjects(
    collection: string,
    objects: readonly IntelObjectInput[],
  ): Promise<Array<{ id: string; version: string; outcome: 'added' | 'duplicate'; dateAddedUs: number }>>;
  /** Objects in date-added order; `more` says whether further objects match beyond `limit`. */
  queryObjects(query: IntelObjectQuery): Promise<{ objects: IntelObjectRecord[]; more: boolean }>;
  /** Deletes versions of one object; returns how many versions went. */
  deleteObject(collection: string, id: string, match?: { versions?: readonly IntelVersionMatch[]; specVersions?: readonly string[] }): Promise<number>;
  /** Objects of the given types in every collection, in date-added order after `afterUs` (to load indexes). */
  scanObjects(options: { types?: readonly string[]; afterUs?: number; limit: number }): Promise<IntelObjectRecord[]>;
  countObjects(collection?: string): Promise<number>;
  putStatus(record: Omit<IntelStatusRecord, 'createdAt'>): Promise<void>;
  getStatus(id: string): Promise<IntelStatusRecord | undefined>;
  /** Adds `count` sightings of an indicator seen at `at` (epoch ms); returns the running tally. */
  recordSighting(indicatorId: string, at: number, count?: number): Promise<SightingTally>;
  getSighting(indicatorId: string): Promise<SightingTally | undefined>;
  /** How many cases carry each ATT&CK technique (for coverage). */
  caseTechniqueCounts(): Promise<Array<{ technique: string; cases: number }>>;
}

const OBJECTS_LOCK_KEY = 0x52495458; // "RITX"

interface ObjectRow {
  collection: string;
  id: string;
  version: string;
  version_us: number | string | bigint;
  type: string;
  spec_version: string;
  date_added: number | string | bigint;
  raw: unknown;
  confidence: number | null;
  tlp: string | null;
  valid_from: number | string | bigint | null;
  valid_until: number | string | bigint | null;
  revoked: number;
  latest?: number;
}

const nullableNumber = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

const objectFromRow = (row: ObjectRow): IntelObjectRecord => ({
  collection: row.collection,
  id: row.id,
  version: row.version,
  versionUs: Number(row.version_us),
  type: row.type,
  specVersion: row.spec_version,
  dateAddedUs: Number(row.date_added),
  raw: decodeJson(row.raw),
  confidence: row.confidence === null ? null : Number(row.confidence),
  tlp: row.tlp,
  validFrom: nullableNumber(row.valid_from),
  validUntil: nullableNumber(row.valid_until),
  revoked: Number(row.revoked) === 1,
});

interface CollectionRow {
  id: string;
  api_root: string;
  title: string;
  description: string | null;
  alias: string | null;
  read_access: unknown;
  write_access: unknown;
  created_at: number | string | bigint;
}

const collectionFromRow = (row: CollectionRow): IntelCollectionRecord => ({
  id: row.id,
  apiRoot: row.api_root,
  title: row.title,
  description: row.description,
  alias: row.alias,
  readAccess: decodeJson(row.read_access),
  writeAccess: decodeJson(row.write_access),
  createdAt: Number(row.created_at),
});

type ObjectsEb = ExpressionBuilder<Database & { o: Database['intel_objects'] }, 'o'>;

/** `match[spec_version]` and `match[version]` as one WHERE condition over alias `o`. */
function versionCondition(eb: ObjectsEb, specVersions: readonly string[] | undefined, versions: readonly IntelVersionMatch[]) {
  const conditions = [];
  if (specVersions && specVersions.length > 0) conditions.push(eb('o.spec_version', 'in', [...specVersions]));
  else
    conditions.push(
      eb(
        'o.spec_version',
        '=',
        eb
          .selectFrom('intel_objects as s')
          .select((s) => s.fn.max('s.spec_version').as('v'))
          .whereRef('s.collection', '=', 'o.collection')
          .whereRef('s.id', '=', 'o.id'),
      ),
    );
  if (!versions.includes('all')) {
    const alternatives = versions.map((v) => {
      if (typeof v === 'number') return eb('o.version_us', '=', v);
      const sub = eb
        .selectFrom('intel_objects as v')
        .select((s) => (v === 'last' ? s.fn.max('v.version_us') : s.fn.min('v.version_us')).as('x'))
        .whereRef('v.collection', '=', 'o.collection')
        .whereRef('v.id', '=', 'o.id')
        .where((w) =>
          specVersions && specVersions.length > 0 ? w('v.spec_version', 'in', [...specVersions]) : w('v.spec_version', '=', w.ref('o.spec_version')),
        );
      return eb('o.version_us', '=', sub);
    });
    conditions.push(eb.or(alternatives));
  }
  return eb.and(conditions);
}

export function intelRepository(db: Kysely<Database>, backend: Backend, clock: Clock): IntelRepository {
  const inTransaction = async <T>(work: (tx: Kysely<Database>) => Promise<T>): Promise<T> => (db.isTransaction ? work(db) : db.transaction().execute(work));

  return {
    async listCollections(apiRoot) {
      let query = db.selectFrom('intel_collections').selectAll();
      if (apiRoot !== undefined) query = query.where('api_root', '=', apiRoot);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(collectionFromRow);
    },
    async getCollection(id) {
      const row = await db.selectFrom('intel_collections').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? collectionFromRow(row) : undefined;
    },
    async putCollection(record) {
      await db
        .insertInto('intel_collections')
        .values({
          id: record.id,
          api_root: record.apiRoot,
          title: record.title,
          description: record.description,
          alias: record.alias,
          read_access: encodeJson(record.readAccess),
          write_access: encodeJson(record.writeAccess),
          created_at: clock.now(),
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            api_root: eb.ref('excluded.api_root'),
            title: eb.ref('excluded.title'),
            description: eb.ref('excluded.description'),
            alias: eb.ref('excluded.alias'),
            read_access: eb.ref('excluded.read_access'),
            write_access: eb.ref('excluded.write_access'),
          })),
        )
        .execute();
      return (await this.getCollection(record.id)) as IntelCollectionRecord;
    },

    async addObjects(collection, objects) {
      if (objects.length === 0) return [];
      return inTransaction(async (tx) => {
        if (backend === 'postgres') await sql`select pg_advisory_xact_lock(${OBJECTS_LOCK_KEY})`.execute(tx);
        const held = new Set<string>();
        /** Per id, the (spec version, version) of the row flagged latest, and where it lives. */
        const best = new Map<string, { spec: string; us: number; row?: { latest: number } }>();
        for (const part of chunks([...new Set(objects.map((o) => o.id))], 500)) {
          const rows = await tx
            .selectFrom('intel_objects')
            .select(['id', 'version', 'spec_version', 'version_us', 'latest'])
            .where('collection', '=', collection)
            .where('id', 'in', part)
            .execute();
          for (const row of rows) {
            held.add(`${row.id}\u0000${row.version}`);
            held.add(row.id);
            if (Number(row.latest) === 1) best.set(row.id, { spec: row.spec_version, us: Number(row.version_us) });
          }
        }
        const demoted = new Set<string>();
        const last = await tx
          .selectFrom('intel_objects')
          .select((eb) => eb.fn.max('date_added').as('last'))
          .executeTakeFirst();
        let next = Math.max(clock.now() * 1000, Number(last?.last ?? 0) + 1);
        const results: Array<{ id: string; version: string; outcome: 'added' | 'duplicate'; dateAddedUs: number }> = [];
        const rows = [];
        for (const o of objects) {
          const key = `${o.id}\u0000${o.version}`;
          if (held.has(key) || (o.unversioned === true && held.has(o.id))) {
            results.push({ id: o.id, version: o.version, outcome: 'duplicate', dateAddedUs: 0 });
            continue;
          }
          held.add(key);
          held.add(o.id);
          const dateAdded = next++;
          results.push({ id: o.id, version: o.version, outcome: 'added', dateAddedUs: dateAdded });
          const current = best.get(o.id);
          const isLatest = current === undefined || o.specVersion > current.spec || (o.specVersion === current.spec && o.versionUs > current.us);
          const row = {
            collection,
            id: o.id,
            version: o.version,
            version_us: o.versionUs,
            type: o.type,
            spec_version: o.specVersion,
            date_added: dateAdded,
            raw: encodeJson(o.raw),
            confidence: o.confidence,
            tlp: o.tlp,
            valid_from: o.validFrom,
            valid_until: o.validUntil,
            revoked: o.revoked ? 1 : 0,
            latest: isLatest ? 1 : 0,
          };
          if (isLatest) {
            if (current?.row) current.row.latest = 0;
            else if (current) demoted.add(o.id);
            best.set(o.id, { spec: o.specVersion, us: o.versionUs, row });
          }
          rows.push(row);
        }
        for (const part of chunks([...demoted], 500))
          await tx
            .updateTable('intel_objects')
            .set({ latest: 0 })
            .where('collection', '=', collection)
            .where('id', 'in', part)
            .where('latest', '=', 1)
            .execute();
        for (const part of chunks(rows, 500)) await tx.insertInto('intel_objects').values(part).execute();
        // After a bulk load PostgreSQL's statistics still describe the old table and it picks bitmap scan +
        // sort for page queries (cost grows with the collection) instead of walking the date_added index.
        if (backend === 'postgres' && rows.length >= 1000) await sql`analyze intel_objects`.execute(tx);
        return results;
      });
    },

    async queryObjects(query) {
      const versions = query.versions && query.versions.length > 0 ? query.versions : (['last'] as const);
      let q = db.selectFrom('intel_objects as o').selectAll('o').where('o.collection', '=', query.collection);
      if (query.addedAfterUs !== undefined) q = q.where('o.date_added', '>', query.addedAfterUs);
      if (query.ids && query.ids.length > 0) q = q.where('o.id', 'in', [...query.ids]);
      if (query.types && query.types.length > 0) q = q.where('o.type', 'in', [...query.types]);
      // The default (last version of the newest spec version) is a flag kept at write time, so a page is an
      // ordered index walk that stops after `limit` rows whatever the collection's size.
      if (versions.length === 1 && versions[0] === 'last' && !(query.specVersions && query.specVersions.length > 0)) q = q.where('o.latest', '=', 1);
      else q = q.where((eb) => versionCondition(eb, query.specVersions, versions));
      const rows = await q
        .orderBy('o.date_added')
        .limit(query.limit + 1)
        .execute();
      const more = rows.length > query.limit;
      return { objects: rows.slice(0, query.limit).map(objectFromRow), more };
    },

    async deleteObject(collection, id, match = {}) {
      const versions = match.versions && match.versions.length > 0 ? match.versions : (['all'] as const);
      return inTransaction(async (tx) => {
        const doomed = await tx
          .selectFrom('intel_objects as o')
          .select(['o.version'])
          .where('o.collection', '=', collection)
          .where('o.id', '=', id)
          .where((eb) =>
            match.specVersions && match.specVersions.length > 0
              ? versionCondition(eb, match.specVersions, versions)
              : versions.includes('all')
                ? eb.lit(true)
                : versionCondition(eb, undefined, versions),
          )
          .execute();
        if (doomed.length === 0) return 0;
        const result = await tx
          .deleteFrom('intel_objects')
          .where('collection', '=', collection)
          .where('id', '=', id)
          .where(
            'version',
            'in',
            doomed.map((d) => d.version),
          )
          .executeTakeFirst();
        await tx.updateTable('intel_objects').set({ latest: 0 }).where('collection', '=', collection).where('id', '=', id).where('latest', '=', 1).execute();
        const next = await tx
          .selectFrom('intel_objects')
          .select('version')
          .where('collection', '=', collection)
          .where('id', '=', id)
          .orderBy('spec_version', 'desc')
          .orderBy('version_us', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (next)
          await tx
            .updateTable('intel_objects')
            .set({ latest: 1 })
            .where('collection', '=', collection)
            .where('id', '=', id)
            .where('version', '=', next.version)
            .execute();
        return Number(result.numDeletedRows);
      });
    },

    async scanObjects(options) {
      let q = db.selectFrom('intel_objects').selectAll();
      if (options.types && options.types.length > 0) q = q.where('type', 'in', [...options.types]);
      if (options.afterUs !== undefined) q = q.where('date_added', '>', options.afterUs);
      const rows = await q.orderBy('date_added').limit(options.limit).execute();
      return rows.map(objectFromRow);
    },

    async countObjects(collection) {
      let q = db.selectFrom('intel_objects').select((eb) => eb.fn.countAll().as('n'));
      if (collection !== undefined) q = q.where('collection', '=', collection);
      const row = await q.executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async putStatus(record) {
      await db
        .insertInto('intel_statuses')
        .values({ id: record.id, api_root: record.apiRoot, owner: record.owner, body: encodeJson(record.body), created_at: clock.now() })
        .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ body: eb.ref('excluded.body') })))
        .execute();
    },
    async getStatus(id) {
      const row = await db.selectFrom('intel_statuses').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { id: row.id, apiRoot: row.api_root, owner: row.owner, body: decodeJson(row.body), createdAt: Number(row.created_at) } : undefined;
    },

    async recordSighting(indicatorId, at, count = 1) {
      await db
        .insertInto('intel_sightings')
        .values({ indicator_id: indicatorId, count, first_seen: at, last_seen: at })
        .onConflict((oc) =>
          oc.column('indicator_id').doUpdateSet({
            count: sql`intel_sightings.count + excluded.count`,
            first_seen: sql`case when excluded.first_seen < intel_sightings.first_seen then excluded.first_seen else intel_sightings.first_seen end`,
            last_seen: sql`case when excluded.last_seen > intel_sightings.last_seen then excluded.last_seen else intel_sightings.last_seen end`,
          }),
        )
        .execute();
      return (await this.getSighting(indicatorId)) as SightingTally;
    },
    async getSighting(indicatorId) {
      const row = await db.selectFrom('intel_sightings').selectAll().where('indicator_id', '=', indicatorId).executeTakeFirst();
      return row ? { indicatorId: row.indicator_id, count: Number(row.count), firstSeen: Number(row.first_seen), lastSeen: Number(row.last_seen) } : undefined;
    },
    async caseTechniqueCounts() {
      const rows = await db
        .selectFrom('case_techniques')
        .select(['technique', (eb) => eb.fn.countAll().as('n')])
        .groupBy('technique')
        .orderBy('technique')
        .execute();
      return rows.map((r) => ({ technique: r.technique, cases: Number(r.n) }));
    },
  };
}
