import type { StoreMigration } from './migration.ts';

/**
 * Threat-intelligence storage: STIX objects by TAXII collection (every version kept, raw JSON as received
 * so custom properties survive), the TAXII collections with who may read and write them, the status
 * resources of TAXII add requests, and indicator sightings. `date_added` is in microseconds and strictly
 * increasing per database, so TAXII pagination by `added_after` never skips or repeats an object.
 */
export const DEFAULT_TAXII_COLLECTION_ID = '365fed99-08fa-4c1b-b8e4-c3a3a8d2f5a1';

export const intelObjects: StoreMigration = {
  name: '0700-intel-objects',
  async up(db, types) {
    await db.schema
      .createTable('intel_collections')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('api_root', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('alias', 'text')
      .addColumn('read_access', types.json, (c) => c.notNull())
      .addColumn('write_access', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('intel_collections_by_root').on('intel_collections').columns(['api_root', 'id']).execute();

    await db.schema
      .createTable('intel_objects')
      .addColumn('collection', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('version_us', types.bigint, (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('spec_version', 'text', (c) => c.notNull())
      .addColumn('date_added', types.bigint, (c) => c.notNull())
      .addColumn('raw', types.json, (c) => c.notNull())
      .addColumn('confidence', 'integer')
      .addColumn('tlp', 'text')
      .addColumn('valid_from', types.bigint)
      .addColumn('valid_until', types.bigint)
      .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
      // 1 on the one row per (collection, id) that TAXII serves by default: newest spec version, then last version.
      .addColumn('latest', 'integer', (c) => c.notNull().defaultTo(1))
      .addPrimaryKeyConstraint('intel_objects_pk', ['collection', 'id', 'version'])
      .execute();
    await db.schema.createIndex('intel_objects_by_added').on('intel_objects').columns(['collection', 'date_added']).execute();
    await db.schema.createIndex('intel_objects_latest_by_added').on('intel_objects').columns(['collection', 'latest', 'date_added']).execute();
    await db.schema.createIndex('intel_objects_by_id_version').on('intel_objects').columns(['collection', 'id', 'version_us']).execute();
    await db.schema.createIndex('intel_objects_by_type').on('intel_objects').columns(['type', 'date_added']).execute();

    await db.schema
      .createTable('intel_statuses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('api_root', 'text', (c) => c.notNull())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('body', types.json, (c) => c.notNull())
      .addColumn('created_at', types.bigint, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('intel_sightings')
      .addColumn('indicator_id', 'text', (c) => c.primaryKey())
      .addColumn('count', types.bigint, (c) => c.notNull())
      .addColumn('first_seen', types.bigint, (c) => c.notNull())
      .addColumn('last_seen', types.bigint, (c) => c.notNull())
      .execute();

    // A fresh install serves one API root ("default") with one collection that intel:read / intel:write holders use.
    await db
      .insertInto('intel_collections')
      .values({
        id: DEFAULT_TAXII_COLLECTION_ID,
        api_root: 'default',
        title: 'Riposte intelligence',
        description: 'Indicators and findings shared by this Riposte instance',
        alias: 'riposte-intel',
        read_access: JSON.stringify(['intel:read']),
        write_access: JSON.stringify(['intel:write']),
        created_at: 0,
      })
      .execute();
  },
};
