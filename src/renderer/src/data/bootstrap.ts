/**
 * Fast first sync of an EMPTY collection. RxDB's replication writes every pulled document twice on its way in
 * (the document, and its "assumed master state" in the replication meta instance), each after a read, in one
 * IndexedDB transaction per batch: ~2,000 docs/s on Dexie. A replica that has never synced a collection instead
 * pulls the pages itself (the next page is fetched while the current one is written) and writes only the
 * documents, straight into the collection's storage, in the very shape RxDB's downstream gives a document it
 * inserts — revision height 1 and `_meta.o = {_rev: 1, hash: hash(replication identifier)}`, RxDB's marker for
 * "written by this replication's downstream, its meta write may be missing" (replication-protocol/downstream.ts).
 * Then `replicateRxCollection` starts from where the bootstrap ended:
 *
 * - pull from the bootstrap's last checkpoint (`pull.initialCheckpoint`; RxDB ignores it once it stored its own);
 * - push from a fork checkpoint just after the bootstrapped documents (`push.initialCheckpoint`), so they are never
 *   pushed back: they are all written with `_meta.lwt` = T0 − 2 ms, the checkpoint is (T0 − 1 ms, ''), where T0 is
 *   RxDB's clock when the bootstrap began — every local write from then on (the operator may edit while it runs)
 *   has a later lwt and is pushed;
 * - a later server change to a bootstrapped document is applied normally (the `_meta.o` marker tells RxDB it is
 *   not an unpushed local edit), and RxDB then stores its meta as usual;
 * - the first local edit of a bootstrapped document has no assumed master state in RxDB's meta: the edit's outbox
 *   entry carries the document as it was before the edit (`base`), and the push handler sends that as the
 *   assumed master state (replication.ts), so the server's conflict check sees exactly what the operator saw.
 *
 * Progress is stored after every page (`bootstrap:<collection>` in `meta`): a bootstrap cut off (server gone, app
 * closed) resumes from its last page, keeping its T0. A document that is already there (written by an earlier
 * page, changed on the server since) is updated the way RxDB's downstream would — unless the operator changed it
 * meanwhile: then it is left to RxDB's replication (the edit is pushed against its `base`, and a server change is
 * surfaced as a conflict). Tombstones of documents never written are skipped.
 */
import { now, type RxCollection, type RxStorageInstance } from 'rxdb';
import type { PullResponse } from '../../../shared/sync-protocol.js';
import type { ReplicaDatabase } from './database';

/** RxDB's fork checkpoint on the Dexie, memory and memory-mapped storages: the newest write by (`_meta.lwt`, primary key). */
export interface ForkCheckpoint {
  id: string;
  lwt: number;
}

export interface BootstrapState {
  /** the server checkpoint the bootstrap reached (where RxDB's pull starts) */
  seq: number;
  /** the fork checkpoint just after the bootstrapped documents (where RxDB's push starts) */
  fork: ForkCheckpoint;
  /** documents written */
  docs: number;
  done: boolean;
  /**
   * the answer to the first page (checkpoint 0): every deletion at or below this seq is of a document this replica
   * never held — sent as `floor` on every later pull of the collection, the server leaves those out (a first sync
   * never pages through the history that left the replica)
   */
  floor?: number;
}

export const bootstrapKey = (collection: string): string => `bootstrap:${collection}`;

/** The state of a collection's bootstrap, if it ever ran (completed or not). */
export async function readBootstrap(db: ReplicaDatabase, collection: string): Promise<BootstrapState | undefined> {
  const doc = await db.meta.findOne(bootstrapKey(collection)).exec();
  // (toJSON: the stored JSON — `doc.data` is a Proxy of it, which a storage that clones cannot store back)
  const data = doc?.toJSON().data as BootstrapState | undefined;
  return data && typeof data.seq === 'number' ? data : undefined;
}

/**
 * A new bootstrap of a collection that never had one (readBootstrap said so), or undefined when it may not start:
 * the collection must be empty (deleted documents included) with nothing of it waiting in the outbox. T0 is read
 * before looking, so a local write made meanwhile comes after the push checkpoint.
 */
export async function newBootstrap(db: ReplicaDatabase, collection: RxCollection): Promise<BootstrapState | undefined> {
  const startedAt = now();
  return (await isEmpty(db, collection)) ? { seq: 0, fork: { id: '', lwt: startedAt - 1 }, docs: 0, done: false } : undefined;
}

async function isEmpty(db: ReplicaDatabase, collection: RxCollection): Promise<boolean> {
  const outbox = await db.outbox.findOne({ selector: { collectionName: collection.name } }).exec();
  if (outbox) return false;
  // (the storage's count includes no deleted documents: ask for any document by the changes index instead)
  const any = await collection.storageInstance.getChangedDocumentsSince?.(1, undefined);
  if (any) return any.documents.length === 0;
  return (await collection.count().exec()) === 0;
}

export interface BootstrapOptions {
  /** a new bootstrap (newBootstrap) or the stored state of one to resume (readBootstrap) */
  from: BootstrapState;
  db: ReplicaDatabase;
  collection: RxCollection;
  /** the identifier given to replicateRxCollection (RxDB hashes 'rxdbreplication' + it) */
  replicationIdentifier: string;
  /** one page of the server's pull (`floor`: BootstrapState.floor, once known) */
  fetchPage: (seq: number, limit: number, floor?: number) => Promise<PullResponse<Record<string, unknown>>>;
  pageSize: number;
  /** stop early (the replica is being disposed) */
  cancelled: () => boolean;
}

export async function bootstrapCollection(opts: BootstrapOptions): Promise<BootstrapState> {
  const { db, collection } = opts;
  const hash = await collection.database.hashFunction(`rxdbreplication${opts.replicationIdentifier}`);
  // the raw storage instance: RxDB's wrapper would replace `_meta` and `_rev` of an insert with its own
  const wrapped = collection.storageInstance as RxStorageInstance<Record<string, unknown>, unknown, unknown> & {
    originalStorageInstance?: RxStorageInstance<Record<string, unknown>, unknown, unknown>;
  };
  const storage = wrapped.originalStorageInstance ?? wrapped;
  const state: BootstrapState = { ...opts.from };
  if (state.done) return state;
  const lwt = state.fork.lwt - 1;
  const save = () => db.meta.upsert({ id: bootstrapKey(collection.name), value: state.seq, data: { ...state } });
  await save();

  // Pages are fetched one after another (each starts at the checkpoint of the one before) into a small buffer while
  // the writer takes whatever has arrived — several pages in one IndexedDB transaction when it falls behind.
  const buffer: Array<PullResponse<Record<string, unknown>>> = [];
  let fetching = true;
  let fetchError: unknown;
  // one waiter at a time: the fetcher waits only while the buffer is full, the writer only while it is empty
  let signal: () => void = () => undefined;
  const changed = () => new Promise<void>((resolve) => (signal = resolve));
  const fetcher = (async () => {
    let seq = state.seq;
    for (;;) {
      while (buffer.length >= MAX_BUFFERED_PAGES && !opts.cancelled()) await changed();
      if (opts.cancelled()) return;
      const page = await opts.fetchPage(seq, opts.pageSize, state.floor);
      // (kept with the state once its page is written: a resumed bootstrap still has it)
      if (seq === 0 && typeof page.floor === 'number') state.floor ??= page.floor;
      buffer.push(page);
      signal();
      if (page.documents.length < opts.pageSize || page.checkpoint.seq <= seq) return;
      seq = page.checkpoint.seq;
    }
  })().then(
    () => (fetching = false),
    (err: unknown) => {
      fetching = false;
      fetchError = err ?? new Error('fetch failed');
    },
  );

  while (!opts.cancelled()) {
    if (buffer.length === 0) {
      if (!fetching) break;
      await Promise.race([changed(), fetcher]);
      continue;
    }
    const pages = buffer.splice(0, buffer.length);
    signal(); // room in the buffer
    const documents = pages.flatMap((p) => p.documents);
    const page = { documents, checkpoint: pages.at(-1)!.checkpoint };
    const rows: Array<{ document: Record<string, unknown>; previous?: Record<string, unknown> }> = [];
    for (const doc of page.documents)
      rows.push({
        document: { ...doc, _deleted: !!doc._deleted, _attachments: {}, _rev: `1-${hash}`, _meta: { lwt, o: { _rev: 1, hash } } },
      });
    const primary = collection.schema.primaryPath as string;
    const inserts = rows.filter((r) => !r.document._deleted);
    // documents already there: written by an earlier page (changed on the server since), or a tombstone of one
    const existing: Record<string, unknown>[] = [];
    if (inserts.length > 0) {
      const result = await collection.database.lockedRun(() => storage.bulkWrite(inserts as never, 'fleetdesk-bootstrap'));
      for (const e of result.error) {
        const inDb = e.status === 409 ? (e as { documentInDb?: Record<string, unknown> }).documentInDb : undefined;
        if (!inDb) throw new Error(`bootstrap of ${collection.name}: a document could not be written (status ${e.status})`);
        existing.push(inDb);
      }
      state.docs += inserts.length - result.error.length;
    }
    const tombstones = rows.filter((r) => r.document._deleted).map((r) => String(r.document[primary]));
    if (tombstones.length > 0) existing.push(...((await storage.findDocumentsById(tombstones, true)) as Record<string, unknown>[]));
    if (existing.length > 0) {
      const byId = new Map(rows.map((r) => [String(r.document[primary]), r.document]));
      const updates: Array<{ previous: Record<string, unknown>; document: Record<string, unknown> }> = [];
      for (const inDb of existing) {
        if (!untouched(inDb, hash)) continue; // changed by the operator since: RxDB's replication takes it from here
        const height = revisionHeight(inDb._rev) + 1;
        updates.push({
          previous: inDb,
          document: { ...byId.get(String(inDb[primary]))!, _rev: `${height}-${hash}`, _meta: { lwt, o: { _rev: height, hash } } },
        });
      }
      if (updates.length > 0) {
        const again = await collection.database.lockedRun(() => storage.bulkWrite(updates as never, 'fleetdesk-bootstrap'));
        if (again.error.length > 0)
          throw new Error(`bootstrap of ${collection.name}: ${again.error.length} documents changed while being written`);
      }
    }
    state.seq = Math.max(state.seq, page.checkpoint.seq);
    state.done = !fetching && fetchError === undefined && buffer.length === 0;
    await save();
  }
  await fetcher;
  if (fetchError !== undefined && !opts.cancelled()) throw fetchError;
  if (!opts.cancelled() && !state.done) {
    state.done = true;
    await save();
  }
  return state;
}

/** Pages fetched ahead of the writer at most (memory: 1,000 documents each). */
const MAX_BUFFERED_PAGES = 10;

const revisionHeight = (rev: unknown): number => Number.parseInt(String(rev), 10) || 0;

/** Written by this replication (downstream or bootstrap) and not changed locally since. */
function untouched(doc: Record<string, unknown>, hash: string): boolean {
  const o = (doc._meta as { o?: { _rev?: number; hash?: string } } | undefined)?.o;
  return !!o && o.hash === hash && o._rev === revisionHeight(doc._rev);
}
