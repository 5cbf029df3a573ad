/**
 * Carries a replica that this computer still holds on RxDB's Dexie storage (the desk's storage before the
 * memory-mapped one) over to the memory-mapped storage, whole: every storage instance RxDB made for the database —
 * its internal store (collection schemas, connected storages), every collection at every schema version it holds
 * (documents, tombstones, `_meta`/`_rev` as they are), and every replication meta instance (checkpoints and the
 * assumed master state of each document) — so that the first open on the new storage is the same replica: local
 * changes not yet accepted by the server are still waiting and are pushed against the state the operator saw,
 * and replication resumes from its checkpoints (nothing pulled again from the start, nothing lost offline).
 *
 * Crash-safe by order: the new storage's internal store is written last, with a marker document; only then is the
 * Dexie internal store deleted (the marker of "still to carry over"), then the other Dexie databases. A copy cut
 * off before its end is wiped and done again; one cut off after it only finishes the deletions.
 *
 * A computer that already opened a memory-mapped replica beside the Dexie one (a desk that ran the first build
 * with the new storage) keeps the memory-mapped one — it is what the operator worked on since; the Dexie one is
 * deleted when nothing of it waits to be sent — unless the memory-mapped one has no local change waiting and the
 * Dexie one does: then the Dexie replica, with its waiting changes, replaces it. If both hold waiting changes the
 * Dexie replica is left as it is and the reason is returned (logged by open.ts).
 */
import {
  getChangedDocumentsSince,
  INTERNAL_CONTEXT_COLLECTION,
  INTERNAL_STORAGE_NAME,
  INTERNAL_STORE_SCHEMA,
  randomToken,
  type RxDocumentData,
  type RxJsonSchema,
  type RxStorage,
  type RxStorageInstance,
} from 'rxdb';

export type CarryOverResult =
  /** nothing on Dexie for this replica (leftovers of a finished carry-over, if any, deleted) */
  | { kind: 'none' }
  | { kind: 'carried'; instances: number; documents: number }
  /** the memory-mapped replica stays; the Dexie one is left untouched (why) */
  | { kind: 'left'; reason: string };

export interface CarryOverOptions {
  /** RxDB's Dexie storage on `idb` (asked for only when this computer holds a replica on it) */
  legacy: () => RxStorage<unknown, unknown> | Promise<RxStorage<unknown, unknown>>;
  /** the memory-mapped storage on `idb` */
  target: RxStorage<unknown, unknown>;
  idb: IDBFactory;
  /** documents per read and write (default 1,000) */
  batchSize?: number;
  /** tests: called after each instance is copied (a throw stops the copy there, as a crash would) */
  afterInstance?: (collectionName: string) => void;
}

/** The internal store's document of the new storage that says "this replica was carried over completely". */
const MARKER_KEY = 'fleetdesk-carried-over-from-dexie';
const MARKER_ID = `OTHER|${MARKER_KEY}`;

type Schema = RxJsonSchema<RxDocumentData<unknown>>;
/** RxDB's internal store schema, typed as any other schema here (its documents are read as {@link InternalDoc}) */
const INTERNAL_SCHEMA = INTERNAL_STORE_SCHEMA as unknown as Schema;

interface InstanceRef {
  collectionName: string;
  schema: Schema;
}

type InternalDoc = RxDocumentData<{
  id: string;
  key: string;
  context: string;
  data: {
    name?: string;
    schema?: Schema;
    connectedStorages?: InstanceRef[];
  } & Record<string, unknown>;
}>;

/** The IndexedDB database names of one replica on each storage (RxDB's Dexie storage and memory-mapped-storage.ts). */
const prefixOf = (kind: 'dexie' | 'mmap', db: string) => `rxdb-${kind}-${db}--`;
const storeName = (kind: 'dexie' | 'mmap', db: string, version: number, collection: string) =>
  `${prefixOf(kind, db)}${version}--${collection}`;

export async function carryOverDexieReplica(dbName: string, opts: CarryOverOptions): Promise<CarryOverResult> {
  const existing = await databaseNames(opts.idb);
  const dexie = existing.filter((n) => n.startsWith(prefixOf('dexie', dbName)));
  if (dexie.length === 0) return { kind: 'none' };
  const internalName = storeName('dexie', dbName, INTERNAL_STORE_SCHEMA.version, INTERNAL_STORAGE_NAME);
  if (!dexie.includes(internalName)) {
    // a carry-over that was cut off while deleting: what is left is no longer part of any replica
    await deleteAll(opts.idb, dexie);
    return { kind: 'none' };
  }
  const legacyStorage = await opts.legacy();
  const mapped = existing.filter((n) => n.startsWith(prefixOf('mmap', dbName)));
  if (mapped.includes(storeName('mmap', dbName, INTERNAL_STORE_SCHEMA.version, INTERNAL_STORAGE_NAME))) {
    const target = await readReplica(opts.target, dbName, opts.batchSize);
    // copied completely before (only the deletions were cut off), or nothing on Dexie waits to be sent: the
    // memory-mapped replica is the one to keep
    const legacy = target.marker ? undefined : await readReplica(legacyStorage, dbName, opts.batchSize);
    if (!legacy || legacy.waiting === 0) {
      await deleteAll(opts.idb, [internalName, ...dexie]);
      return { kind: 'none' };
    }
    if (target.waiting > 0)
      return {
        kind: 'left',
        reason:
          `both storages hold local changes not yet sent (memory-mapped ${target.waiting}, Dexie ${legacy.waiting}): ` +
          `the memory-mapped replica is used; the Dexie one is kept in IndexedDB (${internalName}…) untouched`,
      };
  }
  // nothing of the new storage worth keeping (a copy cut off, or a replica with nothing waiting): start clean
  await deleteAll(opts.idb, mapped);
  const copied = await copyReplica(dbName, legacyStorage, new Set(dexie), opts);
  await deleteAll(opts.idb, [internalName, ...dexie]);
  return { kind: 'carried', ...copied };
}

/** Every instance of the replica, internal store last (with the marker): the copy is complete once it is there. */
async function copyReplica(
  dbName: string,
  legacy: RxStorage<unknown, unknown>,
  dexie: ReadonlySet<string>,
  opts: CarryOverOptions,
): Promise<{ instances: number; documents: number }> {
  const internal = await allDocs<InternalDoc>(legacy, dbName, INTERNAL_STORAGE_NAME, INTERNAL_SCHEMA, opts.batchSize);
  const refs: InstanceRef[] = [];
  for (const doc of internal) {
    if (doc._deleted || doc.context !== INTERNAL_CONTEXT_COLLECTION || !doc.data.name || !doc.data.schema) continue;
    refs.push({ collectionName: doc.data.name, schema: doc.data.schema });
    for (const c of doc.data.connectedStorages ?? []) refs.push(c);
  }
  let documents = 0;
  let instances = 0;
  for (const ref of refs) {
    // an instance RxDB listed but never created (a replication that never started) has nothing to carry
    if (!dexie.has(storeName('dexie', dbName, ref.schema.version, ref.collectionName))) continue;
    const docs = await allDocs(legacy, dbName, ref.collectionName, ref.schema, opts.batchSize);
    await writeAll(opts.target, dbName, ref.collectionName, ref.schema, docs, opts.batchSize);
    documents += docs.length;
    instances += 1;
    opts.afterInstance?.(ref.collectionName);
  }
  const marker = {
    id: MARKER_ID,
    key: MARKER_KEY,
    context: 'OTHER',
    data: { at: Date.now() },
    _deleted: false,
    _attachments: {},
    _rev: '1-fleetdesk',
    _meta: { lwt: Date.now() },
  } as unknown as InternalDoc;
  await writeAll(opts.target, dbName, INTERNAL_STORAGE_NAME, INTERNAL_SCHEMA, [...internal, marker], opts.batchSize);
  return { instances: instances + 1, documents: documents + internal.length };
}

/** What a replica on `storage` holds: its carry-over marker and how many local changes wait in its outbox. */
async function readReplica(storage: RxStorage<unknown, unknown>, dbName: string, batchSize?: number) {
  const internal = await allDocs<InternalDoc>(storage, dbName, INTERNAL_STORAGE_NAME, INTERNAL_SCHEMA, batchSize);
  const marker = internal.some((d) => d.id === MARKER_ID && !d._deleted);
  let waiting = 0;
  for (const doc of internal) {
    if (doc._deleted || doc.context !== INTERNAL_CONTEXT_COLLECTION || doc.data.name !== 'outbox' || !doc.data.schema) continue;
    waiting += (await allDocs(storage, dbName, 'outbox', doc.data.schema, batchSize)).filter((d) => !d._deleted).length;
  }
  return { marker, waiting };
}

function instanceParams(dbName: string, collectionName: string, schema: Schema) {
  return {
    databaseName: dbName,
    collectionName,
    schema,
    options: {},
    multiInstance: false,
    databaseInstanceToken: randomToken(10),
    devMode: false,
  };
}

async function allDocs<T = unknown>(
  storage: RxStorage<unknown, unknown>,
  dbName: string,
  collectionName: string,
  schema: Schema,
  batchSize = 1_000,
): Promise<Array<RxDocumentData<T>>> {
  const instance = (await storage.createStorageInstance(instanceParams(dbName, collectionName, schema) as never)) as RxStorageInstance<
    T,
    unknown,
    unknown
  >;
  try {
    const out: Array<RxDocumentData<T>> = [];
    let checkpoint: unknown;
    for (;;) {
      const page = await getChangedDocumentsSince(instance, batchSize, checkpoint);
      out.push(...page.documents);
      if (page.documents.length < batchSize) return out;
      checkpoint = page.checkpoint;
    }
  } finally {
    await instance.close();
  }
}

async function writeAll(
  storage: RxStorage<unknown, unknown>,
  dbName: string,
  collectionName: string,
  schema: Schema,
  docs: Array<RxDocumentData<unknown>>,
  batchSize = 1_000,
): Promise<void> {
  const instance = await storage.createStorageInstance<unknown>(instanceParams(dbName, collectionName, schema) as never);
  try {
    for (let i = 0; i < docs.length; i += batchSize) {
      const result = await instance.bulkWrite(
        docs.slice(i, i + batchSize).map((document) => ({ document })),
        'fleetdesk-dexie-carry-over',
      );
      if (result.error.length > 0)
        throw new Error(`carrying the replica over: ${result.error.length} documents of ${collectionName} could not be written`);
    }
  } finally {
    await instance.close();
  }
}

/** Every IndexedDB database of this origin (none where the runtime cannot list them: nothing to carry over then). */
async function databaseNames(idb: IDBFactory): Promise<string[]> {
  if (typeof idb.databases !== 'function') return [];
  return (await idb.databases()).flatMap((d) => (d.name ? [d.name] : []));
}

async function deleteAll(idb: IDBFactory, names: string[]): Promise<void> {
  for (const name of new Set(names)) {
    await new Promise<void>((resolve, reject) => {
      const req = idb.deleteDatabase(name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error ?? new Error(`cannot delete IndexedDB database ${name}`));
    });
  }
}
