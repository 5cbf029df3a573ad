/**
 * Sync conformance with the desk's OWN replica code — src/renderer/src/data: `Replica` (bootstrap of an empty
 * collection, RxDB pulls and pushes, the one multiplexed SSE stream, the conflict handler) and `ReplicaActions`
 * (the outbox) — against the real server, on the desk's storage (memory-mapped-storage.ts: RxDB's memory storage
 * persisted to IndexedDB, here fake-indexeddb: IndexedDB for Node), PGlite always and PostgreSQL when DATABASE_URL is set. Nothing mocked: the server is
 * stopped and started again on the same port and database where the desk would see it go away.
 *
 * - a bootstrap of more than 1,000 tasks cut off mid-way (the server stops after the first page) resumes when
 *   the server is back and ends exactly as the server's collection, changes made meanwhile included;
 * - edits reach the server and staff-API changes arrive over the stream;
 * - an edit queued while the server is down that clashes with a change made meanwhile becomes a conflict with
 *   both versions, and "re-apply mine" reaches the server;
 * - the server stopped in the middle of a push (the request arrived, the answer never did): after the restart
 *   every edit is on the server exactly once.
 */
import { indexedDB } from 'fake-indexeddb';
import type { RxStorage } from 'rxdb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { durableDbBackends } from '../../../server/src/testing/backends.js';
import { startServer, type ServerHandle } from '../../../server/src/app.js';
import { staffHeaders } from '../../../server/src/testing/auth.js';
import { freePort, raiseCrashAlert, serverDocs, staffCall } from '../../../server/src/testing/staff-api.js';
import { ReplicaActions } from '../../../src/renderer/src/data/actions';
import { openReplicaDatabase, type ReplicaDatabase } from '../../../src/renderer/src/data/database';
import { getRxStorageMemoryMapped } from '../../../src/renderer/src/data/memory-mapped-storage';
import { Replica } from '../../../src/renderer/src/data/replication';
import type { AlertDoc, TaskDoc } from '../../../src/shared/sync-protocol.js';

const SEEDED = 6;
const OPERATOR = 'desk-op';
const BOOTSTRAPPED_TASKS = 1_200;

const backends = durableDbBackends();

describe.each(backends)('the desk replica against the real server on $name', (backend) => {
  let server: ServerHandle | undefined;
  let port: number;
  let overrides: { databaseUrl?: string; dataDir: string };
  let cleanup: () => Promise<void>;
  let vehicleIds: string[];
  /** called with each request the desk makes, before it goes out (tests cut the server off from here) */
  let onRequest: (url: URL, init: RequestInit | undefined) => Promise<void> = async () => undefined;
  let open: { replica: Replica; db: ReplicaDatabase } | undefined;

  const start = async (onPort = port): Promise<ServerHandle> =>
    startServer({ ...overrides, port: onPort, mqttPort: 0, mqttUrl: undefined, mqttAuth: 'off', seedVehicles: SEEDED, logLevel: 'silent' });
  const up = (): ServerHandle => {
    if (!server) throw new Error('the server is down');
    return server;
  };
  const stopServer = async () => {
    const s = server;
    server = undefined;
    await s?.stop();
  };

  /** The desk's fetch: a server that is down refuses the connection, as a real one would. */
  const deskFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    await onRequest(new URL(String(input)), init);
    return fetch(input, init);
  }) as typeof fetch;

  async function openDeskReplica(): Promise<{ replica: Replica; db: ReplicaDatabase; actions: ReplicaActions }> {
    const db = await openReplicaDatabase({
      name: `desk-${backend.name}-${Math.random().toString(36).slice(2)}`,
      storage: getRxStorageMemoryMapped({ indexedDB }) as RxStorage<unknown, unknown>,
      role: 'dispatcher',
    });
    const replica = new Replica(db, {
      syncUrl: `http://127.0.0.1:${port}/`,
      operator: { id: OPERATOR, role: 'dispatcher' },
      // a fresh sign-in against whichever server process is up (the desk's host does the same after a restart)
      accessToken: async () => (await staffHeaders(up(), 'dispatcher', OPERATOR))['authorization']!.replace(/^Bearer /, ''),
      fetchImpl: deskFetch,
      retryMs: 200,
      streamGatherMs: 20,
    });
    open = { replica, db };
    await replica.start();
    return { replica, db, actions: new ReplicaActions(db, replica.operator) };
  }

  beforeAll(async () => {
    const created = await backend.create();
    overrides = created.overrides;
    cleanup = created.cleanup;
    port = await freePort();
    server = await start();
    const vehicles = await staffCall<{ vehicles: Array<{ id: string }> }>(server, 'GET', '/vehicles');
    vehicleIds = vehicles.body.vehicles.map((v) => v.id).sort();
  });

  afterEach(async () => {
    onRequest = async () => undefined;
    if (open) {
      await open.replica.dispose();
      await open.db.close();
      open = undefined;
    }
    server ??= await start();
  });

  afterAll(async () => {
    await stopServer();
    await cleanup?.();
  });

  it(
    `bootstraps ${BOOTSTRAPPED_TASKS.toLocaleString('en')} tasks, cut off after the first page, and resumes to exactly the server's collection`,
    {
      timeout: 180_000,
    },
    async () => {
      const s = up();
      for (let i = 0; i < BOOTSTRAPPED_TASKS; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, BOOTSTRAPPED_TASKS - i) }, (_, k) =>
            staffCall(s, 'POST', '/tasks', {
              vehicleId: vehicleIds[(i + k) % vehicleIds.length],
              kind: 'cleaning',
              note: `bulk ${i + k}`,
            }).then((r) => expect(r.status).toBe(201)),
          ),
        );
      }
      // the server goes away right after answering the first page of tasks
      let taskPulls = 0;
      let cut: Promise<void> | undefined;
      onRequest = async (url) => {
        if (cut) {
          await cut;
          if (!server) throw new TypeError('fetch failed (connection refused)');
        }
        if (url.pathname.endsWith('/tasks/pull') && ++taskPulls === 2) {
          cut = stopServer();
          await cut;
          throw new TypeError('fetch failed (connection refused)');
        }
      };
      const { replica, db } = await openDeskReplica();
      await expect
        .poll(async () => (await db.meta.findOne('bootstrap:tasks').exec())?.toJSON().data, { timeout: 30_000 })
        .toMatchObject({
          docs: 1_000,
          done: false,
        });
      expect(await db.tasks!.count().exec()).toBe(1_000);

      // back, on the same database: meanwhile a task of the first page changed and one was added
      server = await start();
      const firstPage = (await db.tasks!.find({ sort: [{ id: 'asc' }], limit: 1 }).exec())[0]!.id;
      expect((await staffCall(server, 'PATCH', `/tasks/${firstPage}`, { status: 'assigned', assignee: 'someone-else' })).status).toBe(200);
      expect(
        (await staffCall(server, 'POST', '/tasks', { vehicleId: vehicleIds[0], kind: 'repair', note: 'added meanwhile' })).status,
      ).toBe(201);
      replica.reSync();
      await expect.poll(() => replica.view().status, { timeout: 60_000 }).toBe('synced');
      expect((await db.meta.findOne('bootstrap:tasks').exec())?.toJSON().data).toMatchObject({ done: true });

      const remote = await serverDocs<TaskDoc>(server, 'tasks');
      await expect.poll(async () => db.tasks!.count().exec(), { timeout: 30_000 }).toBe(remote.size);
      expect(remote.size).toBe(BOOTSTRAPPED_TASKS + 1);
      const local = new Map((await db.tasks!.find().exec()).map((d) => [d.id, d.toJSON() as TaskDoc]));
      for (const [id, doc] of remote)
        expect(local.get(id), id).toMatchObject({ status: doc.status, assignee: doc.assignee, note: doc.note });
      expect(local.get(firstPage)).toMatchObject({ status: 'assigned', assignee: 'someone-else' });
      // what the desk pulled was never pushed back: the server holds no task change by the desk's operator
      const pushedBack = await server.db.query<{ n: number }>(
        `select count(*)::int as n from audit_log where actor = $1 and action like 'task.%'`,
        [OPERATOR],
      );
      expect(pushedBack.rows[0]!.n).toBe(0);
    },
  );

  it("an edit reaches the server; a staff-API change arrives over the desk's stream", { timeout: 60_000 }, async () => {
    const s = up();
    const mine = await raiseCrashAlert(s, vehicleIds[1]!);
    const theirs = await raiseCrashAlert(s, vehicleIds[2]!);
    const { replica, db, actions } = await openDeskReplica();
    await expect.poll(() => replica.view().status, { timeout: 30_000 }).toBe('synced');
    await expect.poll(async () => (await db.alerts!.findOne(mine.id).exec())?.status, { timeout: 10_000 }).toBe('open');

    await actions.acknowledgeAlert(mine.id);
    await expect
      .poll(async () => (await staffCall<AlertDoc>(s, 'GET', `/alerts/${mine.id}`)).body, { timeout: 15_000 })
      .toMatchObject({ status: 'acknowledged', acknowledgedBy: OPERATOR });
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);

    expect((await staffCall(s, 'POST', `/alerts/${theirs.id}/assign`, { assignee: 'night-shift' })).status).toBe(200);
    await expect.poll(async () => (await db.alerts!.findOne(theirs.id).exec())?.assignee, { timeout: 15_000 }).toBe('night-shift');
  });

  it(
    'an edit queued while the server is down clashes with a change made meanwhile: a conflict with both versions; re-apply mine reaches the server',
    {
      timeout: 120_000,
    },
    async () => {
      const alert = await raiseCrashAlert(up(), vehicleIds[3]!);
      const { replica, db, actions } = await openDeskReplica();
      await expect.poll(() => replica.view().status, { timeout: 30_000 }).toBe('synced');
      await expect.poll(async () => (await db.alerts!.findOne(alert.id).exec())?.status, { timeout: 10_000 }).toBe('open');

      await stopServer();
      await expect.poll(() => replica.view().status, { timeout: 30_000 }).toBe('offline');
      await actions.assignAlertToMe(alert.id);
      await expect.poll(() => replica.view().pending).toBe(1);
      // another operator assigns it through a server the desk does not know, on the same database
      const other = await start(0);
      try {
        expect((await staffCall(other, 'POST', `/alerts/${alert.id}/assign`, { assignee: 'other-op' })).status).toBe(200);
      } finally {
        await other.stop();
      }
      server = await start();
      await expect.poll(() => replica.view().conflicts, { timeout: 60_000 }).toBe(1);
      await expect.poll(() => replica.view().pending, { timeout: 30_000 }).toBe(0);
      const [conflict] = await db.conflicts.find({ selector: { resolved: false } }).exec();
      expect(conflict!.toJSON()).toMatchObject({
        collectionName: 'alerts',
        docId: alert.id,
        local: { assignee: OPERATOR },
        master: { assignee: 'other-op' },
      });
      await expect.poll(async () => (await db.alerts!.findOne(alert.id).exec())?.assignee, { timeout: 10_000 }).toBe('other-op');

      await actions.reapplyConflict(conflict!.id);
      await expect
        .poll(async () => (await staffCall<AlertDoc>(up(), 'GET', `/alerts/${alert.id}`)).body.assignee, { timeout: 30_000 })
        .toBe(OPERATOR);
      await expect.poll(() => replica.view().conflicts, { timeout: 10_000 }).toBe(0);
    },
  );

  it(
    'the server stopped in the middle of a push (request in, answer lost): after the restart every edit is there exactly once',
    {
      timeout: 120_000,
    },
    async () => {
      const { replica, actions } = await openDeskReplica();
      await expect.poll(() => replica.view().status, { timeout: 30_000 }).toBe('synced');
      let pushes = 0;
      let firstPushStatus: number | undefined;
      let cut: Promise<void> | undefined;
      onRequest = async (url, init) => {
        if (cut) {
          await cut;
          if (!server) throw new TypeError('fetch failed (connection refused)');
        }
        if (url.pathname.endsWith('/tasks/push') && ++pushes === 1) {
          // the request reaches the server and is handled; the server stops before the desk reads the answer
          firstPushStatus = (await fetch(url, init)).status;
          cut = stopServer();
          await cut;
          throw new TypeError('fetch failed (connection reset)');
        }
      };
      const notes = Array.from({ length: 20 }, (_, i) => `mid-push ${backend.name} ${i}`);
      const ids = await Promise.all(
        notes.map((note, i) => actions.createTask({ vehicleId: vehicleIds[i % vehicleIds.length]!, kind: 'cleaning', note })),
      );
      await expect.poll(() => server === undefined && cut !== undefined, { timeout: 30_000 }).toBe(true);
      expect(firstPushStatus, 'the first push was handled by the server before it stopped').toBe(200);
      server = await start();
      await expect.poll(() => replica.view().pending, { timeout: 60_000 }).toBe(0);

      const remote = [...(await serverDocs<TaskDoc>(server, 'tasks')).values()].filter((t) => notes.includes(t.note));
      expect(remote.map((t) => t.id).sort()).toEqual([...ids].sort());
      const created = await server.db.query<{ target_id: string; n: number }>(
        `select target_id, count(*)::int as n from audit_log where action = 'task.created' and actor = $1 group by target_id`,
        [OPERATOR],
      );
      const perTask = new Map(created.rows.map((r) => [r.target_id, r.n]));
      for (const id of ids) expect(perTask.get(id), id).toBe(1);
    },
  );
});
