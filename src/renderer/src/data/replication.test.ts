/** The replica against an in-memory fake of the sync endpoints (RxDB memory storage; the multiplexed SSE stream). */
import { afterEach, describe, expect, it } from 'vitest';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import type { RxStorage } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { RX_SCHEMAS, type PushRow } from '../../../shared/sync-protocol.js';
import { alertDoc, rentalDoc } from '../testing/fixtures';
import { ReplicaActions } from './actions';
import { openReplicaDatabase, type OpenReplicaOptions, type ReplicaDatabase } from './database';
import { carryOverDexieReplica } from './dexie-carry-over';
import { getRxStorageMemoryMapped } from './memory-mapped-storage';
import { Replica } from './replication';

type Doc = Record<string, unknown> & { id: string };

/** Pull/push per collection with a sequence checkpoint; a push whose assumed master is stale returns the master. */
function fakeServer() {
  let seq = 0;
  const docs = new Map<string, { doc: Doc; seq: number }>();
  const headers: Array<Record<string, string>> = [];
  const streamUrls: string[] = [];
  const streams = new Set<{ collections: string[]; ctrl: ReadableStreamDefaultController<Uint8Array> }>();
  let down = false;
  /** pulls of a collection answered before its pulls fail (a bootstrap cut off mid-way) */
  const pullsLeft = new Map<string, number>();
  const pushes: Array<{ collection: string; rows: PushRow<Doc>[] }> = [];
  const pulls: Array<{ collection: string; checkpoint: number; floor?: number }> = [];
  /** deletions a pull answered (a client starting from nothing should get none of those made before it began) */
  let deletionsSent = 0;
  /** a domain rule of the server: a refused row is answered with the master and `syncRejection` */
  let refuse: (c: string, doc: Doc) => { code: string; message: string } | undefined = () => undefined;
  const enc = new TextEncoder();
  const write = (c: string, doc: Doc) => {
    const entry = { doc: { ...doc, updatedAt: Date.now() }, seq: ++seq };
    docs.set(`${c}/${doc.id}`, entry);
    for (const s of streams) {
      if (s.collections.includes(c))
        s.ctrl.enqueue(enc.encode(`event: ${c}\ndata: ${JSON.stringify({ documents: [entry.doc], checkpoint: { seq: entry.seq } })}\n\n`));
    }
  };
  const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
    if (down) throw new TypeError('Failed to fetch');
    headers.push({ ...(init?.headers as Record<string, string>) });
    const url = new URL(String(input));
    if (url.pathname === '/sync/v1/stream') {
      streamUrls.push(url.search);
      const collections = (url.searchParams.get('collections') ?? '').split(',');
      let entry: { collections: string[]; ctrl: ReadableStreamDefaultController<Uint8Array> } | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(ctrl) {
          entry = { collections, ctrl };
          streams.add(entry);
          ctrl.enqueue(enc.encode(': connected\n\n'));
        },
        cancel() {
          if (entry) streams.delete(entry);
        },
      });
      init?.signal?.addEventListener('abort', () => {
        if (entry) streams.delete(entry);
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    const [, , , c, verb] = url.pathname.split('/') as [string, string, string, string, string];
    if (verb === 'pull') {
      const given = url.searchParams.get('floor');
      pulls.push({
        collection: c,
        checkpoint: Number(url.searchParams.get('checkpoint')),
        ...(given === null ? {} : { floor: Number(given) }),
      });
      const left = pullsLeft.get(c) ?? Infinity;
      pullsLeft.set(c, left - 1);
      if (left <= 0) throw new TypeError('Failed to fetch'); // this collection's pulls only
      const after = Number(url.searchParams.get('checkpoint'));
      // the server's floor rule (docs/sync-protocol.md): from checkpoint 0 no deletion, else none at or below `floor`
      const floor = after === 0 ? seq : Number(given ?? 0);
      const rows = [...docs.entries()]
        .filter(([k, v]) => k.startsWith(`${c}/`) && v.seq > after && (!v.doc._deleted || v.seq > floor))
        .sort((a, b) => a[1].seq - b[1].seq);
      const limit = Number(url.searchParams.get('limit'));
      const limited = rows.slice(0, limit);
      deletionsSent += limited.filter(([, v]) => v.doc._deleted).length;
      let checkpoint = limited.at(-1)?.[1].seq ?? after;
      if (limited.length < limit && after > 0 && floor > checkpoint) checkpoint = floor;
      return Response.json({
        documents: limited.map(([, v]) => v.doc),
        checkpoint: { seq: checkpoint },
        ...(after === 0 ? { floor: seq } : {}),
        ...(c === 'rentals' || c === 'tasks' ? { historyDays: 30 } : {}),
      });
    }
    if (verb === 'push') {
      const conflicts: Doc[] = [];
      const rows = JSON.parse(String(init?.body)) as PushRow<Doc>[];
      pushes.push({ collection: c, rows });
      for (const row of rows) {
        const cur = docs.get(`${c}/${row.newDocumentState.id}`)?.doc;
        const refusal = refuse(c, row.newDocumentState);
        if (refusal) {
          conflicts.push({ ...(cur ?? { id: row.newDocumentState.id, _deleted: true }), syncRejection: refusal } as Doc);
          continue;
        }
        const { updatedAt: _a, _deleted: _c, ...assumed } = (row.assumedMasterState ?? {}) as Doc;
        const { updatedAt: _b, _deleted: _d, ...current } = (cur ?? {}) as Doc;
        if (cur && JSON.stringify(assumed) !== JSON.stringify(current)) conflicts.push(cur);
        else {
          const { _deleted: _e, ...doc } = row.newDocumentState;
          write(c, doc as Doc);
        }
      }
      return Response.json(conflicts);
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  const setDown = (d: boolean) => {
    down = d;
    if (d)
      for (const s of [...streams]) {
        s.ctrl.error(new TypeError('network down'));
        streams.delete(s);
      }
  };
  const remove = (c: string, id: string) => write(c, { ...docs.get(`${c}/${id}`)!.doc, _deleted: true });
  const pullsThenDown = (c: string, n: number) => pullsLeft.set(c, n);
  const setRefusal = (fn: typeof refuse) => (refuse = fn);
  return {
    fetchImpl,
    write,
    remove,
    docs,
    headers,
    pushes,
    pulls,
    deletionsSent: () => deletionsSent,
    streamUrls,
    openStreams: () => streams.size,
    setDown,
    pullsThenDown,
    setRefusal,
  };
}

const alert = alertDoc();
/** `n` open alerts a00000… on the server */
const manyAlerts = (server: ReturnType<typeof fakeServer>, n: number) => {
  for (let i = 0; i < n; i++) server.write('alerts', { ...(alert as unknown as Doc), id: `a${String(i).padStart(5, '0')}` });
};

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/**
 * The app's storage (memory-mapped: RxDB's memory storage persisted to IndexedDB, here fake-indexeddb), RxDB's Dexie
 * storage (the app's before) or RxDB's memory storage (nothing kept across a close; faster: most tests).
 */
const STORAGES: Record<'memory' | 'Dexie' | 'memory-mapped', () => RxStorage<unknown, unknown>> = {
  memory: () => getRxStorageMemory(),
  Dexie: () => getRxStorageDexie({ indexedDB, IDBKeyRange }),
  'memory-mapped': () => getRxStorageMemoryMapped({ indexedDB }) as RxStorage<unknown, unknown>,
};

async function setup(
  prepare: (server: ReturnType<typeof fakeServer>) => void = (server) => server.write('alerts', alert as unknown as Doc),
  waitSynced = true,
  retryMs = 50,
  opts: {
    storage?: keyof typeof STORAGES;
    beforeStart?: (db: ReplicaDatabase) => void;
    /** the server of an earlier setup (a restart) */
    server?: ReturnType<typeof fakeServer>;
    /** the database of an earlier setup (closed), opened again */
    name?: string;
    schemas?: OpenReplicaOptions['schemas'];
    migrations?: OpenReplicaOptions['migrations'];
  } = {},
) {
  const server = opts.server ?? fakeServer();
  prepare(server);
  const name = opts.name ?? `r${Math.random().toString(36).slice(2)}`;
  const db: ReplicaDatabase = await openReplicaDatabase({
    name,
    storage: STORAGES[opts.storage ?? 'memory'](),
    role: 'dispatcher',
    ...(opts.schemas ? { schemas: opts.schemas } : {}),
    ...(opts.migrations ? { migrations: opts.migrations } : {}),
  });
  opts.beforeStart?.(db);
  let tokenCalls = 0;
  const replica = new Replica(db, {
    syncUrl: 'http://sync.test/',
    operator: { id: 'op-1', role: 'dispatcher' },
    accessToken: async () => `token-${++tokenCalls > 0 ? 'op-1' : ''}`,
    fetchImpl: server.fetchImpl,
    retryMs,
    streamGatherMs: 10,
  });
  const close = async () => {
    await replica.dispose();
    if (!db.closed) await db.close();
  };
  cleanup.push(close);
  await replica.start();
  if (waitSynced) await expect.poll(() => replica.view().status, { timeout: 10_000 }).toBe('synced');
  return { server, db, replica, name, close, actions: new ReplicaActions(db, replica.operator) };
}

describe('Replica', () => {
  it('pulls, pushes an edit with the operator bearer token and empties the outbox', async () => {
    const { server, db, replica, actions } = await setup();
    expect((await db.alerts!.findOne('a1').exec())?.status).toBe('open');
    await actions.acknowledgeAlert('a1');
    await expect.poll(() => server.docs.get('alerts/a1')?.doc.status as string | undefined, { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);
    expect(server.headers.length).toBeGreaterThan(0);
    expect(server.headers.every((h) => h['authorization'] === 'Bearer token-op-1' && h['x-fleetdesk-actor'] === undefined)).toBe(true);
    expect(replica.view().lastSyncAt).toBeGreaterThan(0);
  });

  it('keeps every collection live over ONE multiplexed stream (a server write in any collection arrives without a pull)', async () => {
    const { server, db, replica } = await setup();
    await expect.poll(() => server.openStreams()).toBe(1);
    const lastUrl = new URLSearchParams(server.streamUrls.at(-1)!);
    expect(lastUrl.get('collections')!.split(',').sort()).toEqual([...replica.collections].sort());
    expect(lastUrl.get('checkpoints')!.split(',')).toHaveLength(replica.collections.length);
    const pullsBefore = server.headers.length;
    server.write('zones', {
      id: 'z-live',
      name: 'Depot',
      kind: 'service',
      polygon: [
        [13.4, 52.5],
        [13.41, 52.5],
        [13.41, 52.51],
        [13.4, 52.5],
      ],
    });
    server.write('notes', { id: 'n-live', targetType: 'vehicle', targetId: 'veh-1', text: 'checked tyres', author: 'op-2', createdAt: 5 });
    server.write(
      'rentals',
      rentalDoc({ id: 'r-live', kind: 'rental', customerId: 'c-1', status: 'active', startsAt: 10, startedAt: 10, createdAt: 10 }),
    );
    await expect.poll(async () => (await db.zones!.findOne('z-live').exec())?.name, { timeout: 10_000 }).toBe('Depot');
    await expect.poll(async () => (await db.notes!.findOne('n-live').exec())?.text, { timeout: 10_000 }).toBe('checked tyres');
    await expect.poll(async () => (await db.rentals!.findOne('r-live').exec())?.status, { timeout: 10_000 }).toBe('active');
    // nothing was pulled for them: they came over the stream
    expect(server.headers.slice(pullsBefore)).toEqual([]);
    expect(server.openStreams()).toBe(1);
    expect(db.customers).toBeUndefined(); // a dispatcher's replica has no customers
  });

  it('queues edits while the server is down, then records a clash as a conflict and keeps the server version', async () => {
    const { server, db, replica, actions } = await setup();
    server.setDown(true);
    await expect.poll(() => replica.view().status, { timeout: 10_000 }).toBe('offline');
    await actions.assignAlertToMe('a1');
    await expect.poll(() => replica.view().pending).toBe(1);
    // the Health panel's rows: the edit waits in alerts; every collection is down while the server is
    const alerts = replica.view().collections.find((c) => c.name === 'alerts')!;
    expect(alerts).toMatchObject({ state: 'down', pending: 1 });
    expect(
      replica
        .view()
        .collections.filter((c) => c.name !== 'alerts')
        .every((c) => c.pending === 0),
    ).toBe(true);
    // meanwhile another operator assigned it on the server
    server.write('alerts', { ...server.docs.get('alerts/a1')!.doc, assignee: 'op-2' });
    server.setDown(false);
    await expect.poll(() => replica.view().conflicts, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => replica.view().collections.find((c) => c.name === 'alerts'), { timeout: 10_000 })
      .toMatchObject({
        state: 'up',
        pending: 0,
        lastOkAt: expect.any(Number),
      });
    const [c] = await db.conflicts.find().exec();
    expect(c!.toJSON()).toMatchObject({
      collectionName: 'alerts',
      docId: 'a1',
      local: { assignee: 'op-1' },
      master: { assignee: 'op-2' },
      resolved: false,
    });
    await expect.poll(async () => (await db.alerts!.findOne('a1').exec())?.assignee, { timeout: 10_000 }).toBe('op-2');
    // "re-apply mine" pushes the operator's value onto the current master
    await actions.reapplyConflict(c!.id);
    await expect.poll(() => server.docs.get('alerts/a1')?.doc.assignee, { timeout: 10_000 }).toBe('op-1');
    await expect.poll(() => replica.view().conflicts).toBe(0);
  });

  it('a change the server refuses is undone and kept as a refusal with its reason: not a conflict, never re-applied', async () => {
    const { server, db, replica, actions } = await setup();
    server.setRefusal((c, doc) =>
      c === 'alerts' && doc.status === 'acknowledged'
        ? { code: 'illegal_transition', message: 'the alert was resolved meanwhile' }
        : undefined,
    );
    await actions.acknowledgeAlert('a1');
    await expect.poll(async () => (await db.conflicts.find().exec()).length, { timeout: 10_000 }).toBe(1);
    const [c] = await db.conflicts.find().exec();
    expect(c!.toJSON()).toMatchObject({
      collectionName: 'alerts',
      docId: 'a1',
      resolved: false,
      refusal: { code: 'illegal_transition', message: 'the alert was resolved meanwhile' },
    });
    // undone locally: the replica holds the server's version again, nothing waits to be pushed
    await expect.poll(async () => (await db.alerts!.findOne('a1').exec())?.status, { timeout: 10_000 }).toBe(alert.status);
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);
    // not counted as a conflict, and re-applying it is refused locally
    expect(replica.view().conflicts).toBe(0);
    await expect(actions.reapplyConflict(c!.id)).rejects.toThrow(/cannot be re-applied/);
    expect(server.pushes.filter((p) => p.collection === 'alerts')).toHaveLength(1);
  });

  it('assigns a task to a named colleague and back to nobody: pushed as assigned with the assignee, then open', async () => {
    const task = {
      id: 't1',
      updatedAt: 1,
      vehicleId: 'v1',
      kind: 'cleaning',
      status: 'open',
      assignee: null,
      note: '',
      alertId: null,
      createdBy: 'op-9',
      createdAt: 1,
      dueAt: null,
      completedAt: null,
    };
    const { server, db, actions } = await setup((s) => s.write('tasks', task as unknown as Doc));
    await actions.assignTask('t1', 'colleague-lena');
    await expect
      .poll(() => server.docs.get('tasks/t1')?.doc, { timeout: 10_000 })
      .toMatchObject({ status: 'assigned', assignee: 'colleague-lena' });
    await actions.assignTask('t1', null);
    await expect.poll(() => server.docs.get('tasks/t1')?.doc, { timeout: 10_000 }).toMatchObject({ status: 'open', assignee: null });
    const support = new ReplicaActions(db, { id: 'sup-1', role: 'support' });
    await expect(support.assignTask('t1', 'op-1')).rejects.toThrow(/task.work/);
  });

  it('refuses locally what the role may not do (the role table): nothing written, nothing queued', async () => {
    const { db, replica } = await setup();
    const support = new ReplicaActions(db, { id: 'sup-1', role: 'support' });
    expect(support.can('alert.work')).toBe(false);
    expect(support.can('customer.read')).toBe(true);
    await expect(support.acknowledgeAlert('a1')).rejects.toThrow(/support may not do this \(alert.work/);
    await expect(support.requestCommand('v1', 'immobilize', 'stolen')).rejects.toThrow(/vehicle.command/);
    await expect(support.createTask({ vehicleId: 'v1', kind: 'cleaning' })).rejects.toThrow(/task.work/);
    const dispatcher = new ReplicaActions(db, { id: 'op-1', role: 'dispatcher' });
    await expect(dispatcher.addNote('customer', 'cus-1', 'called')).rejects.toThrow(/note.customer/);
    await expect(dispatcher.requestRefund('rt-1', 100, 'EUR', 'goodwill')).rejects.toThrow(/payment.refund/);
    expect(await db.outbox.count().exec()).toBe(0);
    expect((await db.alerts!.findOne('a1').exec())?.status).toBe(alert.status);
    expect(replica.view().pending).toBe(0);
  });

  describe.each(['memory', 'memory-mapped', 'Dexie'] as const)('first sync of an empty collection by bootstrap (%s storage)', (storage) => {
    const many = manyAlerts;
    /** setup() on this storage */
    const setupHere = (
      prepare: Parameters<typeof setup>[0],
      waitSynced?: boolean,
      retryMs?: number,
      opts: Parameters<typeof setup>[3] = {},
    ) => setup(prepare, waitSynced, retryMs, { storage, ...opts });

    it('fills the collection page by page, never pushes what it pulled, and pushes the first edit against the state the operator saw', async () => {
      // a query open before the first sync sees the bootstrapped documents (RxDB's change events)
      let seen: string[] = [];
      let inserts = 0;
      const { server, db, actions } = await setupHere((s) => many(s, 2_300), true, 50, {
        beforeStart: (db) => {
          db.alerts!.find({ selector: { status: 'open' } }).$.subscribe((docs) => (seen = docs.map((d) => d.id)));
          db.alerts!.insert$.subscribe(() => inserts++);
        },
      });
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2_300);
      expect(inserts).toBe(2_300);
      expect(await db.alerts!.count().exec()).toBe(2_300);
      const boot = await db.meta.findOne('bootstrap:alerts').exec();
      expect(boot?.toJSON().data).toMatchObject({ done: true, docs: 2_300 });
      expect(server.pushes).toEqual([]);
      // an edit of a bootstrapped document: RxDB has no assumed master for it, the outbox's base stands in
      await actions.acknowledgeAlert('a00042');
      await expect.poll(() => server.docs.get('alerts/a00042')?.doc.status, { timeout: 10_000 }).toBe('acknowledged');
      const rows = server.pushes.flatMap((p) => p.rows);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.assumedMasterState).toMatchObject({ id: 'a00042', status: 'open', assignee: null });
      expect(rows[0]!.newDocumentState).toMatchObject({ id: 'a00042', status: 'acknowledged' });
    });

    it('applies later server changes to bootstrapped documents (live and after a restart)', async () => {
      const { server, db } = await setupHere((s) => many(s, 1_500));
      server.write('alerts', { ...server.docs.get('alerts/a00007')!.doc, assignee: 'op-9' });
      server.remove('alerts', 'a00008');
      await expect.poll(async () => (await db.alerts!.findOne('a00007').exec())?.assignee, { timeout: 10_000 }).toBe('op-9');
      await expect.poll(async () => (await db.alerts!.findOne('a00008').exec()) === null, { timeout: 10_000 }).toBe(true);
      expect(await db.alerts!.count().exec()).toBe(1_499);
      expect(server.pushes).toEqual([]);
    });

    it('resumes a bootstrap cut off mid-way: documents changed or deleted meanwhile end as on the server, nothing twice', async () => {
      const { server, db, replica } = await setupHere(
        (s) => {
          many(s, 2_500);
          s.pullsThenDown('alerts', 1); // the first page arrives, then its pulls fail
        },
        false,
        60_000, // a retry would come only after a minute: the operator's "retry" (reSync) must not wait for it
      );
      await expect
        .poll(async () => (await db.meta.findOne('bootstrap:alerts').exec())?.toJSON().data?.['docs'], { timeout: 10_000 })
        .toBe(1_000);
      expect((await db.meta.findOne('bootstrap:alerts').exec())?.toJSON().data?.['done']).toBe(false);
      // meanwhile on the server: a document of the first page changes, another is deleted, one is added
      server.write('alerts', { ...server.docs.get('alerts/a00003')!.doc, severity: 'critical' });
      server.remove('alerts', 'a00004');
      server.write('alerts', { ...(alert as unknown as Doc), id: 'late' });
      server.pullsThenDown('alerts', Infinity);
      replica.reSync();
      await expect.poll(() => replica.view().status, { timeout: 20_000 }).toBe('synced');
      expect((await db.meta.findOne('bootstrap:alerts').exec())?.toJSON().data).toMatchObject({ done: true });
      const local = new Map((await db.alerts!.find().exec()).map((d) => [d.id, d.toJSON()]));
      const remote = [...server.docs.entries()].filter(([k, v]) => k.startsWith('alerts/') && !v.doc._deleted);
      expect(local.size).toBe(remote.length);
      expect(local.size).toBe(2_500);
      for (const [, v] of remote) expect(local.get(v.doc.id)).toMatchObject({ severity: v.doc.severity, status: v.doc.status });
      expect(local.get('a00003')?.severity).toBe('critical');
      expect(local.has('a00004')).toBe(false);
      expect(server.pushes).toEqual([]);
    });

    it('history horizon: a first sync sends its floor and gets none of the history that left before; later deletions arrive; the horizon is kept', async () => {
      const rental = rentalDoc() as unknown as Doc;
      const { server, db } = await setupHere((s) => {
        // 1,500 rentals held, 700 that left the replica (past the horizon) before this desk began, interleaved
        for (let i = 0; i < 2_200; i++) s.write('rentals', { ...rental, id: `r${String(i).padStart(5, '0')}` });
        for (let i = 0; i < 2_200; i += 3) if (i / 3 < 700) s.remove('rentals', `r${String(i).padStart(5, '0')}`);
      });
      await expect
        .poll(async () => (await db.meta.findOne('bootstrap:rentals').exec())?.toJSON().data?.['done'], { timeout: 10_000 })
        .toBe(true);
      expect(await db.rentals!.count().exec()).toBe(1_500);
      expect(server.deletionsSent()).toBe(0);
      const rentalPulls = server.pulls.filter((p) => p.collection === 'rentals');
      const floor = (await db.meta.findOne('bootstrap:rentals').exec())?.toJSON().data?.['floor'] as number;
      expect(floor).toBeGreaterThan(0);
      expect(rentalPulls[0]).toEqual({ collection: 'rentals', checkpoint: 0 });
      for (const p of rentalPulls.slice(1)) if (p.checkpoint < floor) expect(p.floor).toBe(floor);
      // the horizon as the server told it, kept locally (known offline too)
      await expect.poll(async () => (await db.meta.findOne('syncHistoryDays').exec())?.value, { timeout: 10_000 }).toBe(30);
      // a rental this desk holds crossing the horizon later: a deletion like any other (here by the stream)
      server.remove('rentals', 'r00001');
      await expect.poll(async () => (await db.rentals!.findOne('r00001').exec()) === null, { timeout: 10_000 }).toBe(true);
      expect(await db.rentals!.count().exec()).toBe(1_499);
    });
  });

  // on the storages that keep their documents across a close (RxDB's memory storage keeps nothing)
  describe.each(['memory-mapped', 'Dexie'] as const)('a bootstrapped collection and a schema version bump (%s storage)', (storage) => {
    it('a bootstrapped collection migrated to a new schema version (other indexes) keeps its documents and checkpoints and goes on replicating', async () => {
      const first = await setup((s) => manyAlerts(s, 300), true, 50, { storage }); // (RxDB's migration on fake-indexeddb is slow: a few hundred)
      await first.close();
      const { server } = first;
      const pullsBefore = server.pulls.length;
      const { db, actions } = await setup(() => undefined, true, 50, {
        storage,
        server,
        name: first.name,
        schemas: { alerts: { ...RX_SCHEMAS.alerts, version: 1, indexes: ['vehicleId'] } },
        migrations: { alerts: { 1: (doc: unknown) => doc } },
      });
      expect(await db.alerts!.count().exec()).toBe(300);
      // the pulls resume where the first run ended: nothing pulled again from the start
      const again = server.pulls.slice(pullsBefore).filter((p) => p.collection === 'alerts');
      expect(again.length).toBeGreaterThan(0);
      expect(again.every((p) => p.checkpoint >= 300)).toBe(true);
      // a server change to a migrated document is applied; nothing was pushed back
      server.write('alerts', { ...server.docs.get('alerts/a00007')!.doc, assignee: 'op-9' });
      await expect.poll(async () => (await db.alerts!.findOne('a00007').exec())?.assignee, { timeout: 10_000 }).toBe('op-9');
      expect(server.pushes).toEqual([]);
      // the first local edit is pushed against the state the operator saw
      await actions.acknowledgeAlert('a00042');
      await expect.poll(() => server.docs.get('alerts/a00042')?.doc.status, { timeout: 10_000 }).toBe('acknowledged');
      const rows = server.pushes.flatMap((p) => p.rows);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.assumedMasterState).toMatchObject({ id: 'a00042', status: 'open' });
    });
  });
});

describe('a replica held on Dexie (the storage before) carried over to the memory-mapped storage (dexie-carry-over.ts)', () => {
  const carry = (name: string, afterInstance?: (c: string) => void) =>
    carryOverDexieReplica(name, {
      legacy: STORAGES.Dexie,
      target: STORAGES['memory-mapped'](),
      idb: indexedDB,
      batchSize: 100, // several pages per store
      ...(afterInstance ? { afterInstance } : {}),
    });
  const stores = async (name: string, kind: 'dexie' | 'mmap') =>
    (await indexedDB.databases()).flatMap((d) => (d.name?.startsWith(`rxdb-${kind}-${name}--`) ? [d.name] : []));

  /** a Dexie replica of 300 bootstrapped alerts + one that arrived live, both acknowledged while the server was down */
  async function dexieReplicaWithWaitingChanges() {
    const first = await setup((s) => manyAlerts(s, 300), true, 50, { storage: 'Dexie' });
    const { server } = first;
    // arrived by replication, not by the bootstrap: RxDB's meta instance holds its assumed master state
    server.write('alerts', { ...(alert as unknown as Doc), id: 'live-1' });
    await expect.poll(async () => (await first.db.alerts!.findOne('live-1').exec()) !== null, { timeout: 10_000 }).toBe(true);
    server.setDown(true);
    await first.actions.acknowledgeAlert('a00042');
    await first.actions.acknowledgeAlert('live-1');
    await expect.poll(() => first.replica.view().pending, { timeout: 10_000 }).toBe(2);
    await first.close();
    return first;
  }

  it('opens as the same replica: offline at once, its waiting changes pushed against the state the operator saw, pulls resumed from its checkpoints', async () => {
    const first = await dexieReplicaWithWaitingChanges();
    const { server } = first;
    const result = await carry(first.name);
    expect(result).toMatchObject({ kind: 'carried' });
    expect(result.kind === 'carried' && result.documents).toBeGreaterThan(301);
    expect(await stores(first.name, 'dexie')).toEqual([]);
    const pullsBefore = server.pulls.length;
    // still offline: everything is there
    const second = await setup(() => undefined, false, 50, { storage: 'memory-mapped', server, name: first.name });
    expect(await second.db.alerts!.count().exec()).toBe(301);
    expect((await second.db.alerts!.findOne('a00042').exec())?.status).toBe('acknowledged');
    await expect.poll(() => second.replica.view().pending, { timeout: 10_000 }).toBe(2);
    server.setDown(false);
    await expect.poll(() => second.replica.view().pending, { timeout: 20_000 }).toBe(0);
    expect(server.docs.get('alerts/a00042')?.doc.status).toBe('acknowledged');
    expect(server.docs.get('alerts/live-1')?.doc.status).toBe('acknowledged');
    const rows = server.pushes.flatMap((p) => p.rows);
    expect(rows.map((r) => r.newDocumentState.id).sort()).toEqual(['a00042', 'live-1']);
    for (const r of rows) expect(r.assumedMasterState).toMatchObject({ status: 'open' });
    expect(await second.db.conflicts.count().exec()).toBe(0);
    // nothing pulled again from the start
    const again = server.pulls.slice(pullsBefore).filter((p) => p.collection === 'alerts');
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((p) => p.checkpoint >= 301)).toBe(true);
    await second.close();
    expect(await carry(first.name)).toEqual({ kind: 'none' });
  });

  it('a carry-over cut off part-way leaves the Dexie replica whole and is done again from the start at the next open', async () => {
    const first = await dexieReplicaWithWaitingChanges();
    const dexieStores = await stores(first.name, 'dexie');
    let copied = 0;
    await expect(
      carry(first.name, () => {
        if (++copied === 3) throw new Error('the window closed');
      }),
    ).rejects.toThrow('the window closed');
    expect(await stores(first.name, 'dexie')).toEqual(dexieStores);
    expect((await stores(first.name, 'mmap')).length).toBeGreaterThan(0); // the part copied
    expect(await carry(first.name)).toMatchObject({ kind: 'carried' });
    const second = await setup(() => undefined, false, 50, { storage: 'memory-mapped', server: first.server, name: first.name });
    expect(await second.db.alerts!.count().exec()).toBe(301);
    await expect.poll(() => second.replica.view().pending, { timeout: 10_000 }).toBe(2);
  });

  it('beside a memory-mapped replica already in use: the one with changes waiting wins; both with changes: the Dexie one is left untouched', async () => {
    const first = await dexieReplicaWithWaitingChanges();
    first.server.setDown(false);
    // a memory-mapped replica opened beside it (a desk that ran the first build with the new storage), nothing waiting
    const other = await setup(() => undefined, true, 50, { storage: 'memory-mapped', server: first.server, name: first.name });
    await other.close();
    first.server.setDown(true);
    expect(await carry(first.name)).toMatchObject({ kind: 'carried' }); // the Dexie one, with its 2 waiting changes
    const carried = await setup(() => undefined, false, 50, { storage: 'memory-mapped', server: first.server, name: first.name });
    await expect.poll(() => carried.replica.view().pending, { timeout: 10_000 }).toBe(2);
    expect((await carried.db.alerts!.findOne('live-1').exec())?.status).toBe('acknowledged');
    await carried.close();

    const again = await dexieReplicaWithWaitingChanges();
    again.server.setDown(false);
    const mapped = await setup(() => undefined, true, 50, { storage: 'memory-mapped', server: again.server, name: again.name });
    again.server.setDown(true);
    await mapped.actions.acknowledgeAlert('a00007');
    await mapped.close();
    const left = await carry(again.name);
    expect(left).toMatchObject({ kind: 'left' });
    expect(left.kind === 'left' && left.reason).toContain('memory-mapped 1, Dexie 2');
    expect((await stores(again.name, 'dexie')).length).toBeGreaterThan(0);
  });
});
