/**
 * The desktop's offline replica: one RxDB database (in the app on memory-mapped-storage.ts: RxDB's memory storage,
 * every write persisted to IndexedDB) holding the sync collections of
 * src/shared/sync-protocol.ts that the operator's role may read, plus two local-only collections:
 * `conflicts` (never replicated; see conflicts.ts), `meta` (last successful sync time) and `outbox` (local
 * changes not yet accepted by the server).
 *
 * Schema versions: every collection is created with `migrationStrategies` and the migration-schema plugin, so
 * bumping a schema version migrates stored documents — including local edits not yet pushed — instead of
 * dropping them (tested in database.test.ts).
 */
import {
  addRxPlugin,
  createRxDatabase,
  type MigrationStrategies,
  type RxCollection,
  type RxDatabase,
  type RxJsonSchema,
  type RxStorage,
} from 'rxdb';
import { RxDBCleanupPlugin } from 'rxdb/plugins/cleanup';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import type { OperatorRole } from '../../../shared/operator-role.js';
import { RX_SCHEMAS, SYNC_ACCESS, SYNC_COLLECTIONS, type SyncCollection, type SyncDocMap } from '../../../shared/sync-protocol.js';
import { createConflictHandler, type ConflictRecord } from './conflicts';

addRxPlugin(RxDBMigrationSchemaPlugin);
addRxPlugin(RxDBCleanupPlugin);

/**
 * Deleted documents are purged a day after their deletion (RxDB keeps them otherwise, in memory and on disk, read
 * at every opening): the server's history horizon (SYNC_HISTORY_DAYS) deletes every closed rental and task from
 * the replica once it is old enough, tens of thousands a day at fleet scale. The server is the master of every
 * deletion (a desk never deletes a replicated document; `delete_not_allowed`), so nothing purged is ever pushed.
 */
export const CLEANUP_POLICY = {
  minimumDeletedTime: 24 * 3_600_000,
  runEach: 10 * 60_000,
  awaitReplicationsInSync: false,
  waitForLeadership: false,
} as const;

export interface MetaDoc {
  id: string;
  value: number;
  /** v1: structured state (a collection's bootstrap, bootstrap.ts) */
  data?: Record<string, unknown>;
}

/** A local change not yet accepted by the server (drives the "N local changes waiting" figure). */
export interface OutboxDoc {
  id: string;
  collectionName: string;
  docId: string;
  at: number;
  /**
   * v1: the document as it was before the first local change not yet accepted (no `_meta`/`_rev`). The push sends
   * it as the assumed master state when RxDB has none (a document that arrived by bootstrap, bootstrap.ts).
   */
  base?: Record<string, unknown>;
}

export type ReplicaCollections = { [C in SyncCollection]?: RxCollection<SyncDocMap[C]> } & {
  conflicts: RxCollection<ConflictRecord>;
  meta: RxCollection<MetaDoc>;
  outbox: RxCollection<OutboxDoc>;
};
export type ReplicaDatabase = RxDatabase<ReplicaCollections>;

/** Migration strategies per collection, keyed by the schema version they migrate TO. Empty at v0. */
export const MIGRATIONS: { [C in SyncCollection]: MigrationStrategies } = {
  vehicles: {},
  alerts: {},
  // v1: issuedByName, transitions (optional: v0 documents are valid v1 documents), an index on status
  commands: { 1: (doc: unknown) => doc },
  tasks: {},
  notes: {},
  zones: {},
  // v1: more request kinds (refund, end_rental, block/unblock_customer); v0 documents are valid v1 documents
  requests: { 1: (doc: unknown) => doc, 2: (doc: unknown) => doc /* v2: extend_booking, cancel_booking */ },
  rentals: {},
  customers: {},
};

/** v1: `refusal` (the server refused the change: code and reason), told apart from real conflicts. */
const CONFLICTS_SCHEMA: RxJsonSchema<ConflictRecord> = {
  version: 1,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: 300 },
    collectionName: { type: 'string', maxLength: 40 },
    docId: { type: 'string', maxLength: 100 },
    local: { type: 'object' },
    master: { type: 'object' },
    reason: { type: 'string' },
    at: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000, multipleOf: 1 },
    resolved: { type: 'boolean' },
    refusal: {
      type: 'object',
      properties: { code: { type: 'string', maxLength: 100 }, message: { type: 'string', maxLength: 1000 } },
      required: ['code', 'message'],
    },
  },
  required: ['id', 'collectionName', 'docId', 'local', 'master', 'reason', 'at', 'resolved'],
};

/** v0 → v1: a v0 entry whose reason says the server rejected the change becomes a refusal. */
export function migrateConflictV1(doc: ConflictRecord): ConflictRecord {
  const prefix = 'rejected by the server: ';
  if (doc.refusal || !doc.reason.startsWith(prefix)) return doc;
  return { ...doc, refusal: { code: 'refused', message: doc.reason.slice(prefix.length).slice(0, 1000) } };
}

const META_SCHEMA: RxJsonSchema<MetaDoc> = {
  version: 1,
  primaryKey: 'id',
  type: 'object',
  properties: { id: { type: 'string', maxLength: 100 }, value: { type: 'number' }, data: { type: 'object' } },
  required: ['id', 'value'],
};

const OUTBOX_SCHEMA: RxJsonSchema<OutboxDoc> = {
  version: 1,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: 200 },
    collectionName: { type: 'string', maxLength: 40 },
    docId: { type: 'string', maxLength: 100 },
    at: { type: 'number' },
    base: { type: 'object' },
  },
  required: ['id', 'collectionName', 'docId', 'at'],
};

/** Collections this role may read (SYNC_ACCESS); the only ones created and replicated. */
export function readableCollections(role: OperatorRole): SyncCollection[] {
  return SYNC_COLLECTIONS.filter((c) => SYNC_ACCESS[c].read.includes(role));
}

export interface OpenReplicaOptions {
  name: string;
  storage: RxStorage<unknown, unknown>;
  role: OperatorRole;
  /** tests: replace a collection's schema / strategies (a later version) */
  schemas?: Partial<Record<SyncCollection, object>>;
  migrations?: Partial<Record<SyncCollection, MigrationStrategies>>;
}

export async function openReplicaDatabase(opts: OpenReplicaOptions): Promise<ReplicaDatabase> {
  const db = await createRxDatabase<ReplicaCollections>({
    name: opts.name,
    storage: opts.storage,
    multiInstance: false,
    closeDuplicates: true,
    cleanupPolicy: CLEANUP_POLICY,
  });
  try {
    const record = async (c: ConflictRecord) => {
      await db.conflicts.insert(c);
    };
    const creators: Record<string, object> = {
      conflicts: { schema: CONFLICTS_SCHEMA, migrationStrategies: { 1: migrateConflictV1 }, autoMigrate: true },
      // v1 of both only adds an optional field: v0 documents are valid v1 documents (unsynced edits kept)
      meta: { schema: META_SCHEMA, migrationStrategies: { 1: (doc: unknown) => doc }, autoMigrate: true },
      outbox: { schema: OUTBOX_SCHEMA, migrationStrategies: { 1: (doc: unknown) => doc }, autoMigrate: true },
    };
    for (const c of readableCollections(opts.role)) {
      creators[c] = {
        schema: opts.schemas?.[c] ?? RX_SCHEMAS[c],
        migrationStrategies: opts.migrations?.[c] ?? MIGRATIONS[c],
        autoMigrate: true,
        conflictHandler: createConflictHandler(c, record, async (docId) => {
          await (await db.outbox.findOne(`${c}/${docId}`).exec())?.remove();
        }),
      };
    }
    await db.addCollections(creators as never);
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}
