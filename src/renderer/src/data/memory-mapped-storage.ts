/**
 * The replica's storage: a memory-mapped RxStorage. Every read, query, count, change stream and checkpoint is
 * served by RxDB's free memory storage (rxdb/plugins/storage-memory); every write is also persisted to IndexedDB —
 * the documents as RxDB stores them (`_meta`, `_rev`, `_deleted` included), one object store per collection keyed
 * by primary key, no secondary index — and `bulkWrite` resolves only once that IndexedDB transaction completed.
 * Opening a collection loads its persisted documents into memory.
 *
 * Why: RxDB's Dexie storage keeps RxDB's indexes in IndexedDB and reads every document before writing it; a first
 * sync of 50,000 documents took 3.5–4.8× a raw IndexedDB put of the same documents (issue 12, bar 5). Here a write
 * costs one put per document in one transaction, and the indexes live in memory (RxDB's own, kept by the memory
 * storage). The price: every document of the replica is held in the renderer's memory, and opening reads them all.
 *
 * The rules it keeps:
 * - Each write is serialized per collection: checked against the memory state (RxDB's `categorizeBulkWriteRows`,
 *   the conflict rules every storage uses), persisted, then applied to memory (which emits the change event). A
 *   failed IndexedDB transaction rejects the write and changes nothing in memory. Reads never wait for writes; they
 *   see a write once it is durable.
 * - Single instance (the replica is `multiInstance: false`): in one window, opening a collection that is already
 *   open shares the open one (the same memory state, the same write queue, like the memory storage itself); a
 *   reopening after a close waits for the close's writes. Another window of the same origin holding it is refused
 *   (Web Locks, where the runtime has them) — two in-memory copies would overwrite each other's writes.
 * - `cleanup()` purges old tombstones from IndexedDB first, then from memory, with the same time bound.
 * - No attachments: a schema with `attachments` is refused when the collection is created.
 * - Schema versions: each version of a collection is its own IndexedDB database, so RxDB's migration (which reads the
 *   old version's storage and removes it) and `db.remove()` (which removes every storage) work unchanged.
 */
import {
  categorizeBulkWriteRows,
  getChangedDocumentsSince,
  getPrimaryFieldOfPrimaryKey,
  normalizeMangoQuery,
  now,
  prepareQuery,
  RXDB_VERSION,
  type BulkWriteRow,
  type EventBulk,
  type PreparedQuery,
  type RxDocumentData,
  type RxJsonSchema,
  type RxStorage,
  type RxStorageBulkWriteResponse,
  type RxStorageChangeEvent,
  type RxStorageCountResult,
  type RxStorageDefaultCheckpoint,
  type RxStorageInstance,
  type RxStorageInstanceCreationParams,
  type RxStorageQueryResult,
} from 'rxdb';
import { getRxStorageMemory, type MemoryStorageInternals, type RxStorageMemory } from 'rxdb/plugins/storage-memory';
import type { Observable } from 'rxjs';

export interface MemoryMappedSettings {
  /** tests: fake-indexeddb (default: the global `indexedDB`) */
  indexedDB?: IDBFactory;
  /** prefix of the IndexedDB database names (default `rxdb-mmap-`) */
  databaseNamePrefix?: string;
}

export interface MemoryMappedInternals {
  /** the IndexedDB database holding this collection's documents */
  indexedDbName: string;
}

type Checkpoint = RxStorageDefaultCheckpoint;
const STORE = 'documents';
const LOAD_CONTEXT = 'memory-mapped-load';

/** What instances of one collection (one schema version) in this window share. */
interface Mapped {
  name: string;
  idb: IDBDatabase;
  /** a memory storage of its own: its state lives exactly as long as this mapping */
  memory: RxStorageMemory;
  /** writes of this collection, one after another */
  queue: Promise<unknown>;
  refs: number;
  releaseLock: () => void;
}

const OPEN = new Map<string, Promise<Mapped>>();
/** mappings being closed: a reopening waits until their writes are done and the connection is closed */
const CLOSING = new Map<string, Promise<void>>();

export function getRxStorageMemoryMapped(settings: MemoryMappedSettings = {}): RxStorage<MemoryMappedInternals, MemoryMappedSettings> {
  return {
    name: 'fleetdesk-memory-mapped',
    rxdbVersion: RXDB_VERSION,
    async createStorageInstance<RxDocType>(params: RxStorageInstanceCreationParams<RxDocType, MemoryMappedSettings>) {
      if (params.schema.attachments)
        throw new Error(`memory-mapped storage: attachments are not supported (collection ${params.collectionName})`);
      if (params.multiInstance)
        throw new Error(
          `memory-mapped storage: multiInstance is not supported (database ${params.databaseName}): open it with multiInstance: false`,
        );
      const factory = settings.indexedDB ?? globalThis.indexedDB;
      if (!factory) throw new Error('memory-mapped storage: no IndexedDB in this runtime');
      const name = `${settings.databaseNamePrefix ?? 'rxdb-mmap-'}${params.databaseName}--${params.schema.version}--${params.collectionName}`;
      const primaryPath = getPrimaryFieldOfPrimaryKey(params.schema.primaryKey) as string;
      let mapped: Mapped;
      for (;;) {
        let opening = OPEN.get(name);
        if (!opening) {
          const created = openMapping(name, factory, primaryPath, params);
          OPEN.set(name, created);
          created.catch(() => OPEN.get(name) === created && OPEN.delete(name));
          opening = created;
        }
        mapped = await opening;
        // its last instance may have closed it meanwhile: then open it again (after that close)
        if (OPEN.get(name) === opening) break;
      }
      mapped.refs += 1;
      try {
        const memory = (await mapped.memory.createStorageInstance(params)) as RxStorageInstance<
          RxDocType,
          MemoryStorageInternals<RxDocType>,
          object,
          Checkpoint
        >;
        return new MemoryMappedStorageInstance<RxDocType>(params, mapped, memory, primaryPath, factory);
      } catch (err) {
        await release(mapped);
        throw err;
      }
    },
  };
}

async function openMapping<RxDocType>(
  name: string,
  factory: IDBFactory,
  primaryPath: string,
  params: RxStorageInstanceCreationParams<RxDocType, MemoryMappedSettings>,
): Promise<Mapped> {
  await CLOSING.get(name);
  const releaseLock = await exclusiveLock(name);
  let idb: IDBDatabase | undefined;
  try {
    idb = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: primaryPath });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error(`memory-mapped storage: cannot open ${name}`));
      req.onblocked = () => reject(new Error(`memory-mapped storage: ${name} is held by another connection`));
    });
    const db = idb;
    // a database deleted by another connection (or the browser) closes ours: writes then fail, they never vanish
    db.onversionchange = () => db.close();
    const docs = await new Promise<Array<RxDocumentData<RxDocType>>>((resolve, reject) => {
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
      req.onsuccess = () => resolve(req.result as Array<RxDocumentData<RxDocType>>);
      req.onerror = () => reject(req.error ?? new Error(`memory-mapped storage: cannot read ${name}`));
    });
    const memory: RxStorageMemory = { ...getRxStorageMemory(), collectionStates: new Map() };
    if (docs.length > 0) {
      // loaded into the memory state through a first instance (its close keeps the state: it belongs to the mapping)
      const loader = await memory.createStorageInstance<RxDocType>({ ...params, options: {} });
      const result = await loader.bulkWrite(
        docs.map((document) => ({ document })),
        LOAD_CONTEXT,
      );
      await loader.close();
      if (result.error.length > 0)
        throw new Error(`memory-mapped storage: ${result.error.length} stored documents of ${name} could not be loaded`);
    }
    return { name, idb: db, memory, queue: Promise.resolve(), refs: 0, releaseLock };
  } catch (err) {
    idb?.close();
    releaseLock();
    throw err;
  }
}

/** The replica is open in another window of this origin (two in-memory copies would overwrite each other's writes). */
export class ReplicaInUseError extends Error {
  constructor(readonly storageName: string) {
    super(`memory-mapped storage: ${storageName} is open in another window; the replica can be open in one window at a time`);
    this.name = 'ReplicaInUseError';
  }
}

/** One window at a time per collection (Web Locks; a runtime without them — Node tests — has one realm anyway). */
async function exclusiveLock(name: string): Promise<() => void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return () => undefined;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const got = await new Promise<boolean>((resolve, reject) => {
    locks
      .request(`fleetdesk-memory-mapped:${name}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? held : undefined;
      })
      .catch(reject);
  });
  if (!got) throw new ReplicaInUseError(name);
  return release;
}

/** One instance less; the last one closes the mapping once its writes are done. */
async function release(mapped: Mapped): Promise<void> {
  mapped.refs -= 1;
  if (mapped.refs > 0) return;
  OPEN.delete(mapped.name);
  const closing = mapped.queue.then(
    () => undefined,
    () => undefined,
  );
  const done = closing.then(() => {
    mapped.idb.close();
    mapped.releaseLock();
    mapped.memory.collectionStates.clear(); // the documents in memory go with the mapping
  });
  CLOSING.set(mapped.name, done);
  await done;
  if (CLOSING.get(mapped.name) === done) CLOSING.delete(mapped.name);
}

function idbRequest(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('memory-mapped storage: IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('memory-mapped storage: IndexedDB transaction aborted'));
  });
}

/**
 * An RxDB document is JSON; one holding an object IndexedDB cannot clone (a value read from an RxDocument's
 * property getter is a Proxy of the stored JSON) is stored as its JSON.
 */
function put(store: IDBObjectStore, doc: unknown): void {
  try {
    store.put(doc);
  } catch (err) {
    if ((err as { name?: string }).name !== 'DataCloneError') throw err;
    store.put(JSON.parse(JSON.stringify(doc)));
  }
}

export class MemoryMappedStorageInstance<RxDocType> implements RxStorageInstance<
  RxDocType,
  MemoryMappedInternals,
  MemoryMappedSettings,
  Checkpoint
> {
  readonly databaseName: string;
  readonly collectionName: string;
  readonly schema: Readonly<RxJsonSchema<RxDocumentData<RxDocType>>>;
  readonly options: Readonly<MemoryMappedSettings>;
  readonly internals: Readonly<MemoryMappedInternals>;
  private closed: Promise<void> | undefined;

  constructor(
    params: RxStorageInstanceCreationParams<RxDocType, MemoryMappedSettings>,
    private readonly mapped: Mapped,
    memory: RxStorageInstance<RxDocType, MemoryStorageInternals<RxDocType>, object, Checkpoint>,
    private readonly primaryPath: string,
    private readonly factory: IDBFactory,
  ) {
    this.databaseName = params.databaseName;
    this.collectionName = params.collectionName;
    this.schema = params.schema;
    this.options = params.options;
    this.internals = { indexedDbName: mapped.name };
    this.memory = memory;
  }

  /** the memory instance while open: dropped on close, so a closed instance RxDB still references holds no documents */
  private memory: RxStorageInstance<RxDocType, MemoryStorageInternals<RxDocType>, object, Checkpoint> | undefined;

  /** `queued`: a write accepted before a close began (the close waits for it) */
  private live(queued = false): RxStorageInstance<RxDocType, MemoryStorageInternals<RxDocType>, object, Checkpoint> {
    if ((this.closed && !queued) || !this.memory) throw new Error(`memory-mapped storage: ${this.mapped.name} is closed`);
    return this.memory;
  }

  /** Runs after every earlier write of this collection (in any instance of it), whatever their outcome. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.mapped.queue.then(task, task);
    this.mapped.queue = run.catch(() => undefined);
    return run;
  }

  bulkWrite(rows: BulkWriteRow<RxDocType>[], context: string): Promise<RxStorageBulkWriteResponse<RxDocType>> {
    this.live();
    return this.serialized(async () => {
      const memory = this.live(true);
      const ids = rows.map((r) => (r.document as Record<string, unknown>)[this.primaryPath] as string);
      const inMemory = await memory.findDocumentsById(ids, true);
      const docsInDb = new Map(inMemory.map((d) => [(d as Record<string, unknown>)[this.primaryPath] as string, d]));
      const categorized = categorizeBulkWriteRows(this, this.primaryPath as never, docsInDb, rows, context);
      const writes = categorized.bulkInsertDocs.length + categorized.bulkUpdateDocs.length;
      if (writes > 0) {
        const tx = this.mapped.idb.transaction(STORE, 'readwrite', { durability: 'default' });
        const done = idbRequest(tx);
        const store = tx.objectStore(STORE);
        for (const row of categorized.bulkInsertDocs) put(store, row.document);
        for (const row of categorized.bulkUpdateDocs) put(store, row.document);
        await done;
      }
      // durable: now the memory state (the same checks against the same state give the same result) and the event
      const result = await memory.bulkWrite(rows, context);
      if (result.error.length !== categorized.errors.length)
        throw new Error(`memory-mapped storage: ${this.mapped.name} changed during a write (memory and IndexedDB disagree)`);
      return result;
    });
  }

  findDocumentsById(ids: string[], withDeleted: boolean): Promise<Array<RxDocumentData<RxDocType>>> {
    return this.live().findDocumentsById(ids, withDeleted);
  }

  query(preparedQuery: PreparedQuery<RxDocType>): Promise<RxStorageQueryResult<RxDocType>> {
    return this.live().query(preparedQuery);
  }

  count(preparedQuery: PreparedQuery<RxDocType>): Promise<RxStorageCountResult> {
    return this.live().count(preparedQuery);
  }

  /** RxDB's changes index (`_meta.lwt`, primary key), deleted documents included, from memory (RxDB's own query). */
  getChangedDocumentsSince(
    limit: number,
    checkpoint?: Checkpoint,
  ): Promise<{ documents: Array<RxDocumentData<RxDocType>>; checkpoint: Checkpoint }> {
    return getChangedDocumentsSince(this.live(), limit, checkpoint);
  }

  getAttachmentData(documentId: string, attachmentId: string): Promise<never> {
    return Promise.reject(
      new Error(`memory-mapped storage: attachments are not supported (${this.collectionName}/${documentId}/${attachmentId})`),
    );
  }

  changeStream(): Observable<EventBulk<RxStorageChangeEvent<RxDocType>, Checkpoint>> {
    return this.live().changeStream();
  }

  /** Tombstones older than `minimumDeletedTime` ms: purged from IndexedDB, then from memory (the same bound). */
  cleanup(minimumDeletedTime: number): Promise<boolean> {
    this.live();
    return this.serialized(async () => {
      const memory = this.live(true);
      const startedAt = now();
      const bound = startedAt - minimumDeletedTime;
      const query = prepareQuery<RxDocType>(
        this.schema,
        normalizeMangoQuery<RxDocType>(this.schema, {
          selector: { _deleted: { $eq: true }, '_meta.lwt': { $lte: bound } } as never,
          index: ['_deleted', '_meta.lwt', this.primaryPath],
        }),
      );
      const { documents } = await memory.query(query);
      if (documents.length > 0) {
        const tx = this.mapped.idb.transaction(STORE, 'readwrite', { durability: 'default' });
        const done = idbRequest(tx);
        const store = tx.objectStore(STORE);
        for (const doc of documents) store.delete((doc as Record<string, unknown>)[this.primaryPath] as string);
        await done;
      }
      // the memory storage's bound is its own now() − minimumDeletedTime: shifted so it is the bound used above
      return memory.cleanup(minimumDeletedTime + (now() - startedAt));
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.mapped.queue;
      await this.memory?.close();
      this.memory = undefined;
      await release(this.mapped);
    })();
    return this.closed;
  }

  /** The collection's documents gone: from memory, and its IndexedDB database deleted. */
  async remove(): Promise<void> {
    const memory = this.live();
    this.closed = (async () => {
      await this.mapped.queue;
      await memory.remove();
      this.memory = undefined;
      await release(this.mapped);
    })();
    await this.closed;
    await new Promise<void>((resolve, reject) => {
      const req = this.factory.deleteDatabase(this.mapped.name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error ?? new Error(`memory-mapped storage: cannot delete ${this.mapped.name}`));
    });
  }
}
