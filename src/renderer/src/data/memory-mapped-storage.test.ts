import { IDBDatabase as FakeIDBDatabase, IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRxDatabase,
  fillWithDefaultSettings,
  now,
  prepareQuery,
  normalizeMangoQuery,
  type RxDocumentData,
  type RxJsonSchema,
  type RxStorageInstance,
} from 'rxdb';
import type { TaskDoc } from '../../../shared/sync-protocol.js';
import { taskDoc } from '../testing/fixtures';
import { openReplicaDatabase, type ReplicaDatabase } from './database';
import { getRxStorageMemoryMapped } from './memory-mapped-storage';

interface Item {
  id: string;
  n: number;
}
type Stored = RxDocumentData<Item>;

const RAW_SCHEMA: RxJsonSchema<Item> = {
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: { id: { type: 'string', maxLength: 50 }, n: { type: 'integer', minimum: 0, maximum: 1_000_000, multipleOf: 1 } },
  required: ['id', 'n'],
  indexes: ['n'],
};
const SCHEMA = fillWithDefaultSettings<Item>(RAW_SCHEMA);

let open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => undefined);
  open = [];
});

/** A storage on an IndexedDB of its own (fake-indexeddb: a fresh one per test, read directly below). */
function fixture() {
  const indexedDB = new IDBFactory();
  const storage = getRxStorageMemoryMapped({ indexedDB });
  const instance = async (collectionName = 'items', schema: RxJsonSchema<Stored> = SCHEMA) => {
    const i = (await storage.createStorageInstance<Item>({
      databaseInstanceToken: 'tok',
      databaseName: 'db1',
      collectionName,
      schema,
      options: {},
      multiInstance: false,
      devMode: false,
    })) as RxStorageInstance<Item, unknown, unknown>;
    open.push(i);
    return i;
  };
  /** What IndexedDB holds for a collection, read with the raw API (not through the storage). */
  const persisted = async (collectionName = 'items'): Promise<Stored[]> => {
    const idb = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(`rxdb-mmap-db1--0--${collectionName}`);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      if (!idb.objectStoreNames.contains('documents')) return [];
      return await new Promise<Stored[]>((resolve, reject) => {
        const r = idb.transaction('documents').objectStore('documents').getAll();
        r.onsuccess = () => resolve(r.result as Stored[]);
        r.onerror = () => reject(r.error);
      });
    } finally {
      idb.close();
    }
  };
  return { indexedDB, storage, instance, persisted };
}

let lwt = now();
const doc = (id: string, n: number, extra: Partial<Stored> = {}): Stored => ({
  id,
  n,
  _deleted: false,
  _attachments: {},
  _rev: '1-a',
  _meta: { lwt: (lwt += 1) },
  ...extra,
});

const all = (i: RxStorageInstance<Item, unknown, unknown>) =>
  i.query(prepareQuery(i.schema, normalizeMangoQuery(i.schema, { selector: {}, sort: [{ id: 'asc' }] })));

describe('memory-mapped storage', () => {
  it('a write resolves once it is in IndexedDB, as RxDB stores it, and a reopened instance loads it', async () => {
    const f = fixture();
    const a = await f.instance();
    const written = doc('x1', 1, { _meta: { lwt: 5, o: 'kept' } as never });
    expect((await a.bulkWrite([{ document: written }, { document: doc('x2', 2) }], 'test')).error).toEqual([]);
    // no wait: resolved means persisted
    const stored = await f.persisted();
    expect(stored.find((d) => d.id === 'x1')).toEqual(written);
    expect(stored).toHaveLength(2);

    await a.close();
    const b = await f.instance();
    expect((await all(b)).documents.map((d) => d.id)).toEqual(['x1', 'x2']);
    expect((await b.findDocumentsById(['x1'], false))[0]).toEqual(written);
  });

  it('bulkWrite resolves only after its IndexedDB transaction completed', async () => {
    const f = fixture();
    const a = await f.instance();
    const order: string[] = [];
    // instrumentation of the third party: every readwrite transaction says when it completes
    const transaction = FakeIDBDatabase.prototype.transaction;
    FakeIDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = transaction.apply(this, args);
      if (args[1] === 'readwrite') tx.addEventListener('complete', () => order.push('committed'));
      return tx;
    } as typeof transaction;
    try {
      await a.bulkWrite([{ document: doc('o1', 1) }], 'test');
      order.push('resolved');
    } finally {
      FakeIDBDatabase.prototype.transaction = transaction;
    }
    expect(order).toEqual(['committed', 'resolved']);
  });

  it('stores a document holding a Proxy (the value of an RxDocument getter) as its JSON', async () => {
    const f = fixture();
    const a = await f.instance();
    const nested = new Proxy({ seq: 3, fork: { id: '', lwt: 1 } }, {});
    const written = { ...doc('p1', 1), data: nested } as Stored;
    expect((await a.bulkWrite([{ document: written }], 'test')).error).toEqual([]);
    expect((await f.persisted())[0]).toEqual({ ...written, data: { seq: 3, fork: { id: '', lwt: 1 } } });
  });

  it('a conflicting write is refused (409 with the document in the database) and nothing of it is persisted', async () => {
    const f = fixture();
    const a = await f.instance();
    const first = doc('c1', 1);
    await a.bulkWrite([{ document: first }], 'test');
    const stale = { ...first, _rev: '0-zz' };
    const result = await a.bulkWrite([{ previous: stale, document: { ...first, n: 99, _rev: '2-b' } }, { document: doc('c2', 2) }], 'test');
    expect(result.error).toHaveLength(1);
    expect(result.error[0]).toMatchObject({ status: 409, documentId: 'c1', documentInDb: first });
    const stored = await f.persisted();
    expect(stored.find((d) => d.id === 'c1')?.n).toBe(1);
    expect(stored.map((d) => d.id).sort()).toEqual(['c1', 'c2']);
  });

  it('a write IndexedDB does not take is rejected and changes nothing in memory', async () => {
    const f = fixture();
    const a = await f.instance();
    await a.bulkWrite([{ document: doc('k1', 1) }], 'test');
    // the database deleted underneath (another connection, the browser clearing storage): ours is closed
    await new Promise<void>((resolve, reject) => {
      const r = f.indexedDB.deleteDatabase('rxdb-mmap-db1--0--items');
      r.onsuccess = () => resolve();
      r.onerror = () => reject(r.error);
    });
    const events: unknown[] = [];
    const sub = a.changeStream().subscribe((e) => events.push(e));
    await expect(a.bulkWrite([{ document: doc('k2', 2) }], 'test')).rejects.toThrow();
    sub.unsubscribe();
    expect(events).toEqual([]);
    expect(await a.findDocumentsById(['k2'], true)).toEqual([]);
    expect((await all(a)).documents.map((d) => d.id)).toEqual(['k1']);
  });

  it('emits each change once it is durable, with RxDB checkpoints; getChangedDocumentsSince includes tombstones', async () => {
    const f = fixture();
    const a = await f.instance();
    const bulks: Array<{ ids: string[]; checkpoint: unknown }> = [];
    const sub = a.changeStream().subscribe((b) => bulks.push({ ids: b.events.map((e) => e.documentId), checkpoint: b.checkpoint }));
    const d1 = doc('e1', 1);
    const d2 = doc('e2', 2);
    await a.bulkWrite([{ document: d1 }, { document: d2 }], 'test');
    const gone = { ...d1, _deleted: true, _rev: '2-b', _meta: { lwt: (lwt += 1) } };
    await a.bulkWrite([{ previous: d1, document: gone }], 'test');
    sub.unsubscribe();
    expect(bulks).toEqual([
      { ids: ['e1', 'e2'], checkpoint: { id: 'e2', lwt: d2._meta.lwt } },
      { ids: ['e1'], checkpoint: { id: 'e1', lwt: gone._meta.lwt } },
    ]);
    const page1 = await a.getChangedDocumentsSince!(1);
    expect(page1.documents.map((d) => d.id)).toEqual(['e2']);
    const page2 = await a.getChangedDocumentsSince!(10, page1.checkpoint);
    expect(page2.documents).toEqual([gone]);
    expect((await a.getChangedDocumentsSince!(10, page2.checkpoint)).documents).toEqual([]);
  });

  it('cleanup purges old tombstones from IndexedDB and memory, and keeps recent ones and live documents', async () => {
    const f = fixture();
    const a = await f.instance();
    const old = doc('t-old', 1, { _deleted: true, _meta: { lwt: now() - 60_000 } });
    const recent = doc('t-new', 2, { _deleted: true });
    await a.bulkWrite([{ document: old }, { document: recent }, { document: doc('live', 3) }], 'test');
    expect(await a.cleanup(30_000)).toBe(true);
    expect((await f.persisted()).map((d) => d.id).sort()).toEqual(['live', 't-new']);
    expect((await a.findDocumentsById(['t-old', 't-new', 'live'], true)).map((d) => d.id).sort()).toEqual(['live', 't-new']);
    await a.close();
    const b = await f.instance();
    expect((await b.findDocumentsById(['t-old', 't-new', 'live'], true)).map((d) => d.id).sort()).toEqual(['live', 't-new']);
  });

  it('a second instance of the same collection in one window shares the first one (state, writes, events)', async () => {
    const f = fixture();
    const a = await f.instance();
    const b = await f.instance();
    const seen: string[] = [];
    const sub = b.changeStream().subscribe((e) => seen.push(...e.events.map((x) => x.documentId)));
    await a.bulkWrite([{ document: doc('s1', 1) }], 'test');
    expect((await b.findDocumentsById(['s1'], false)).map((d) => d.id)).toEqual(['s1']);
    expect(seen).toEqual(['s1']);
    sub.unsubscribe();
    // b's write against a stale state conflicts, as in one instance
    expect((await b.bulkWrite([{ document: doc('s1', 5) }], 'test')).error[0]?.status).toBe(409);
    await a.close();
    await b.bulkWrite([{ document: doc('s2', 2) }], 'test');
    expect((await f.persisted()).map((d) => d.id).sort()).toEqual(['s1', 's2']);
  });

  it('an instance opened while the last other one closes gets a working mapping', async () => {
    const f = fixture();
    const a = await f.instance();
    await a.bulkWrite([{ document: doc('m1', 1) }], 'test');
    const opening = f.instance();
    await a.close();
    const b = await opening;
    await b.bulkWrite([{ document: doc('m2', 2) }], 'test');
    expect((await all(b)).documents.map((d) => d.id)).toEqual(['m1', 'm2']);
    expect((await f.persisted()).map((d) => d.id).sort()).toEqual(['m1', 'm2']);
  });

  it('a reopening right after a close sees the writes the close waited for', async () => {
    const f = fixture();
    const a = await f.instance();
    const docs = Array.from({ length: 500 }, (_, i) => doc(`w${String(i).padStart(4, '0')}`, i));
    const writing = a.bulkWrite(
      docs.map((document) => ({ document })),
      'test',
    );
    const closing = a.close();
    const b = await f.instance();
    expect((await writing).error).toEqual([]);
    await closing;
    expect((await all(b)).documents).toHaveLength(500);
  });

  it('refuses attachments and multiInstance clearly, and writes after close', async () => {
    const f = fixture();
    await expect(f.instance('files', { ...SCHEMA, attachments: {} })).rejects.toThrow(/attachments are not supported/);
    await expect(
      f.storage.createStorageInstance<Item>({
        databaseInstanceToken: 't',
        databaseName: 'db1',
        collectionName: 'items',
        schema: SCHEMA,
        options: {},
        multiInstance: true,
        devMode: false,
      }),
    ).rejects.toThrow(/multiInstance is not supported/);
    const a = await f.instance();
    await a.close();
    expect(() => a.bulkWrite([{ document: doc('z', 1) }], 'test')).toThrow(/closed/);
  });

  it('remove() deletes the collection from IndexedDB', async () => {
    const f = fixture();
    const a = await f.instance();
    await a.bulkWrite([{ document: doc('r1', 1) }], 'test');
    await a.remove();
    expect((await f.indexedDB.databases()).map((d) => d.name)).not.toContain('rxdb-mmap-db1--0--items');
    const b = await f.instance();
    expect((await all(b)).documents).toEqual([]);
  });
});

const task = (id: string, note: string): TaskDoc => taskDoc({ id, note });

describe('the replica on the memory-mapped storage', () => {
  it('keeps an offline edit and its outbox entry across a restart (close, open again: loaded from IndexedDB)', async () => {
    const f = fixture();
    const name = `mm${Date.now()}`;
    const first: ReplicaDatabase = await openReplicaDatabase({ name, storage: f.storage, role: 'dispatcher' });
    await first.tasks!.insert(task('t1', 'seats dirty'));
    await first.outbox.insert({ id: 'tasks/t1', collectionName: 'tasks', docId: 't1', at: 1 });
    await (await first.tasks!.findOne('t1').exec())!.patch({ note: 'seats and boot dirty' });
    await first.close();

    const second = await openReplicaDatabase({ name, storage: f.storage, role: 'dispatcher' });
    open.push(second);
    expect((await second.tasks!.findOne('t1').exec())?.note).toBe('seats and boot dirty');
    expect(await second.outbox.count().exec()).toBe(1);
    // queries over RxDB's indexes work on the loaded state
    expect(await second.tasks!.count({ selector: { status: 'open' } }).exec()).toBe(1);
  });

  it('opening the same database twice in one window closes the first (closeDuplicates) and the second has its data', async () => {
    const f = fixture();
    const name = `mm${Date.now()}d`;
    const first = await openReplicaDatabase({ name, storage: f.storage, role: 'dispatcher' });
    await first.tasks!.insert(task('t2', 'x'));
    const second = await openReplicaDatabase({ name, storage: f.storage, role: 'dispatcher' });
    open.push(second);
    expect(first.closed).toBe(true);
    expect((await second.tasks!.findOne('t2').exec())?.note).toBe('x');
  });

  it('db.remove() deletes every IndexedDB database of the replica', async () => {
    const f = fixture();
    const db = await createRxDatabase({ name: `mm${Date.now()}r`, storage: f.storage, multiInstance: false });
    await db.addCollections({ items: { schema: RAW_SCHEMA } });
    await db.items!.insert({ id: 'i1', n: 1 });
    expect((await f.indexedDB.databases()).length).toBeGreaterThan(1);
    await db.remove();
    expect(await f.indexedDB.databases()).toEqual([]);
  });
});
