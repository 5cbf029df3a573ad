/**
 * Conformance of the server's sync component (/sync/v1) with the real RxDB replication client (Node, memory
 * storage validated against the RxDB schemas), over HTTP + Server-Sent Events, nothing mocked:
 * initial pull, staff-API changes arriving through the stream, client edits reaching the server, conflicts
 * ending in the client's conflict handler with the master state, a server stopped mid-push and restarted on the
 * same database (every edit exactly once), two server instances on one PostgreSQL, and an offline period with
 * edits on both sides. PGlite (on a temp dir, so it survives a restart) always; PostgreSQL when DATABASE_URL is
 * set.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { durableDbBackends } from '../../server/src/testing/backends.js';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { raiseCrashAlert, serverDocs, staffCall } from '../../server/src/testing/staff-api.js';
import type { AlertDoc, SyncCollection, TaskDoc, VehicleDoc } from '../../src/shared/sync-protocol.js';
import { eventually, startSyncClient, type SyncClient } from '../support/sync-client.js';

const SEEDED = 12;
const quiet = { port: 0, mqttPort: 0, mqttUrl: undefined, mqttAuth: 'off' as const, seedVehicles: SEEDED, logLevel: 'silent' as const };
const COLLECTIONS: SyncCollection[] = ['vehicles', 'alerts', 'tasks', 'zones', 'notes'];

const backends = durableDbBackends();

async function clientDocs<D>(client: SyncClient, c: SyncCollection): Promise<Map<string, D>> {
  const docs = await client.collection(c).find().exec();
  return new Map(docs.map((d) => [d.primary, d.toJSON() as D]));
}

async function auditCount(server: ServerHandle, action: string, targetId: string): Promise<number> {
  const r = await server.db.query<{ n: number }>('select count(*)::int as n from audit_log where action = $1 and target_id = $2', [
    action,
    targetId,
  ]);
  return r.rows[0]!.n;
}

const task = (vehicleId: string, note: string, actor = 'dispatch-1'): TaskDoc => ({
  id: randomUUID(),
  updatedAt: Date.now(),
  vehicleId,
  kind: 'cleaning',
  status: 'open',
  assignee: null,
  note,
  alertId: null,
  createdBy: actor,
  createdAt: Date.now(),
  dueAt: null,
  completedAt: null,
});

describe.each(backends)('sync conformance with the RxDB client on $name', (backend) => {
  let server: ServerHandle;
  let overrides: { databaseUrl?: string; dataDir: string };
  let cleanup: () => Promise<void>;
  let vehicleIds: string[];
  const clients: SyncClient[] = [];

  const client = async (baseUrl = () => server.httpUrl, actor = 'dispatch-1'): Promise<SyncClient> => {
    // tokens from whichever server handle is current (a restarted one signs in again); valid on every instance
    const c = await startSyncClient({
      baseUrl,
      headers: () => staffHeaders(server, 'dispatcher', actor),
      role: 'dispatcher',
      collections: COLLECTIONS,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const created = await backend.create();
    overrides = created.overrides;
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...overrides });
    const vehicles = await serverDocs<VehicleDoc>(server, 'vehicles');
    vehicleIds = [...vehicles.keys()].sort();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('initial pull brings every seeded vehicle and zone, schema-valid', async () => {
    expect(vehicleIds).toHaveLength(SEEDED);
    const c = await client();
    await c.awaitInSync();
    const vehicles = await clientDocs<VehicleDoc>(c, 'vehicles');
    expect([...vehicles.keys()].sort()).toEqual(vehicleIds);
    const serverVehicles = await serverDocs<VehicleDoc>(server, 'vehicles');
    for (const [id, v] of vehicles)
      expect(v).toMatchObject({ plate: serverVehicles.get(id)!.plate, serviceState: serverVehicles.get(id)!.serviceState });
    const zones = await clientDocs(c, 'zones');
    const dbZones = await server.db.query<{ id: string }>('select id from zones order by id');
    expect(dbZones.rows.length).toBeGreaterThan(0);
    expect([...zones.keys()].sort()).toEqual(dbZones.rows.map((r) => r.id));
    expect(c.calls.pull).toBeGreaterThan(0);
    expect(c.errors).toEqual([]);
  });

  it('a change through the staff API reaches the client through the stream (no pull)', async () => {
    const c = await client();
    await c.awaitInSync();
    await eventually(() => c.calls.streamOpen >= COLLECTIONS.length, 'streams open');
    await c.awaitInSync();
    const pullsBefore = c.calls.pull;

    const alert = await raiseCrashAlert(server, vehicleIds[0]!);
    await eventually(async () => (await c.collection('alerts').findOne(alert.id).exec()) !== null, 'new alert in the replica');
    const ack = await staffCall<AlertDoc>(server, 'POST', `/alerts/${alert.id}/acknowledge`);
    expect(ack.status).toBe(200);
    await eventually(
      async () => (await c.collection('alerts').findOne(alert.id).exec())?.status === 'acknowledged',
      'acknowledged in the replica',
    );
    const created = await staffCall<TaskDoc>(server, 'POST', '/tasks', {
      vehicleId: vehicleIds[1],
      kind: 'refuel',
      note: 'from the staff API',
    });
    expect(created.status).toBe(201);
    await eventually(
      async () => (await c.collection('tasks').findOne(created.body.id).exec())?.note === 'from the staff API',
      'task in the replica',
    );
    // Everything came over the SSE stream, not by polling.
    expect(c.calls.pull).toBe(pullsBefore);
    const doc = (await c.collection('alerts').findOne(alert.id).exec())!.toJSON() as AlertDoc;
    expect(doc).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'ana' });
  });

  it('client edits (task create, alert acknowledge, vehicle service state) reach the server, audited', async () => {
    const alert = await raiseCrashAlert(server, vehicleIds[2]!);
    const c = await client(undefined, 'dispatch-2');
    await c.awaitInSync();
    const t = task(vehicleIds[2]!, 'wipe the seats', 'dispatch-2');
    await c.collection('tasks').insert(t);
    await (await c.collection('alerts').findOne(alert.id).exec())!.incrementalPatch({ status: 'acknowledged' });
    await (await c.collection('vehicles').findOne(vehicleIds[2]!).exec())!.incrementalPatch({ serviceState: 'maintenance' });
    await c.awaitInSync();

    const onServer = await staffCall<TaskDoc>(server, 'GET', `/tasks/${t.id}`);
    expect(onServer.status).toBe(200);
    expect(onServer.body).toMatchObject({
      vehicleId: vehicleIds[2],
      kind: 'cleaning',
      status: 'open',
      note: 'wipe the seats',
      createdBy: 'dispatch-2',
    });
    const serverAlert = (await serverDocs<AlertDoc>(server, 'alerts')).get(alert.id)!;
    expect(serverAlert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'dispatch-2' });
    expect((await serverDocs<VehicleDoc>(server, 'vehicles')).get(vehicleIds[2]!)!.serviceState).toBe('maintenance');
    expect(await auditCount(server, 'alert.acknowledge', alert.id)).toBe(1);
    expect(c.conflicts).toEqual([]);
    // the server-managed fields it filled in come back to the replica
    await eventually(
      async () => (await c.collection('alerts').findOne(alert.id).exec())?.acknowledgedBy === 'dispatch-2',
      'acknowledgedBy in the replica',
    );

    // put the vehicle back for the other tests
    await (await c.collection('vehicles').findOne(vehicleIds[2]!).exec())!.incrementalPatch({ serviceState: 'available' });
    await c.awaitInSync();
  });

  it('a conflicting edit ends in the conflict handler with the master state, and the replica takes it', async () => {
    const alert = await raiseCrashAlert(server, vehicleIds[3]!);
    const c = await client();
    await c.awaitInSync();
    c.setOnline(false);
    await (await c.collection('alerts').findOne(alert.id).exec())!.incrementalPatch({ assignee: 'offline-op' });
    expect((await staffCall<AlertDoc>(server, 'POST', `/alerts/${alert.id}/assign`, { assignee: 'server-op' })).status).toBe(200);
    c.setOnline(true);
    await eventually(() => c.conflicts.some((x) => x.input.newDocumentState.id === alert.id), 'conflict handled');
    await c.awaitInSync();
    const conflict = c.conflicts.find((x) => x.input.newDocumentState.id === alert.id)!;
    expect(conflict.collection).toBe('alerts');
    expect(conflict.input.realMasterState).toMatchObject({ id: alert.id, assignee: 'server-op' });
    expect(conflict.input.newDocumentState).toMatchObject({ assignee: 'offline-op' });
    await eventually(
      async () => (await c.collection('alerts').findOne(alert.id).exec())?.assignee === 'server-op',
      'replica took the master',
    );
    expect((await serverDocs<AlertDoc>(server, 'alerts')).get(alert.id)!.assignee).toBe('server-op');
  });

  it('server stopped mid-push and restarted on the same database: every edit present exactly once', async () => {
    const alert = await raiseCrashAlert(server, vehicleIds[4]!);
    let restarted: Promise<void> | null = null;
    let interrupted = 0;
    const c = await client();
    await c.awaitInSync();
    c.setOnline(false);
    const tasks = Array.from({ length: 30 }, (_, i) => task(vehicleIds[i % vehicleIds.length]!, `restart ${i}`));
    await c.collection('tasks').bulkInsert(tasks);
    await (await c.collection('alerts').findOne(alert.id).exec())!.incrementalPatch({ status: 'acknowledged' });

    // The "kill": the first push reaches the server, the server is stopped while it is in flight, and the client
    // never sees an answer (as if the process died after or before the commit). Then a new server process on
    // the same database.
    c.interceptPush = async (send) => {
      if (interrupted > 0) return send();
      interrupted += 1;
      const old = server;
      const inFlight = send().catch(() => null);
      const stopped = old.stop();
      await Promise.allSettled([inFlight, stopped]);
      restarted = startServer({ ...quiet, ...overrides }).then((s) => {
        server = s;
      });
      throw new TypeError('fetch failed (server killed mid-push)');
    };
    c.setOnline(true);
    await eventually(() => restarted !== null, 'push interrupted');
    await restarted;
    await c.awaitInSync();
    expect(interrupted).toBe(1);

    const onServer = await serverDocs<TaskDoc>(server, 'tasks');
    for (const t of tasks) expect(onServer.get(t.id), t.id).toMatchObject({ note: t.note, vehicleId: t.vehicleId });
    const counts = await server.db.query<{ id: string; n: number }>(
      `select target_id as id, count(*)::int as n from audit_log where target_id = any($1::text[]) group by target_id`,
      [tasks.map((t) => t.id)],
    );
    expect(counts.rows).toHaveLength(tasks.length);
    expect(counts.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(await auditCount(server, 'alert.acknowledge', alert.id)).toBe(1);
    expect((await serverDocs<AlertDoc>(server, 'alerts')).get(alert.id)!.status).toBe('acknowledged');
    expect(c.conflicts).toEqual([]);
  });

  it('offline with edits on both sides → converged, conflicts surfaced', async () => {
    const a1 = await raiseCrashAlert(server, vehicleIds[6]!);
    const a2 = await raiseCrashAlert(server, vehicleIds[7]!);
    const a3 = await raiseCrashAlert(server, vehicleIds[8]!);
    const c = await client();
    await c.awaitInSync();
    c.setOnline(false);
    // client side, offline
    const mine = [task(vehicleIds[0]!, 'offline 1'), task(vehicleIds[1]!, 'offline 2')];
    await c.collection('tasks').bulkInsert(mine);
    await (await c.collection('alerts').findOne(a1.id).exec())!.incrementalPatch({ status: 'acknowledged' }); // conflicts with the server's resolve
    await (await c.collection('alerts').findOne(a2.id).exec())!.incrementalPatch({ assignee: 'me' }); // no server change: goes through
    await (await c.collection('vehicles').findOne(vehicleIds[9]!).exec())!.incrementalPatch({ serviceState: 'maintenance' });
    // server side, meanwhile
    expect((await staffCall(server, 'POST', `/alerts/${a1.id}/resolve`, { note: 'fixed on site' })).status).toBe(200);
    expect((await staffCall(server, 'POST', `/alerts/${a3.id}/acknowledge`)).status).toBe(200);
    const theirs = await staffCall<TaskDoc>(server, 'POST', '/tasks', { vehicleId: vehicleIds[3], kind: 'repair', note: 'server side' });
    expect(theirs.status).toBe(201);
    await new Promise((r) => setTimeout(r, 500)); // "a while": RxDB retries fail meanwhile

    c.setOnline(true);
    await c.awaitInSync();
    await eventually(async () => {
      for (const coll of ['tasks', 'alerts', 'vehicles'] as const) {
        const [s, l] = await Promise.all([
          serverDocs<{ id: string; updatedAt: number }>(server, coll),
          clientDocs<{ id: string; updatedAt: number }>(c, coll),
        ]);
        if (s.size !== l.size) return false;
        for (const [id, d] of s) if (JSON.stringify(strip(d)) !== JSON.stringify(strip(l.get(id)))) return false;
      }
      return true;
    }, 'replica converged with the server');

    const serverTasks = await serverDocs<TaskDoc>(server, 'tasks');
    for (const t of mine) expect(serverTasks.get(t.id)?.note).toBe(t.note);
    expect(serverTasks.get(theirs.body.id)?.note).toBe('server side');
    const alerts = await serverDocs<AlertDoc>(server, 'alerts');
    expect(alerts.get(a1.id)!.status).toBe('resolved');
    expect(alerts.get(a2.id)!.assignee).toBe('me');
    expect(alerts.get(a3.id)!.status).toBe('acknowledged');
    expect((await serverDocs<VehicleDoc>(server, 'vehicles')).get(vehicleIds[9]!)!.serviceState).toBe('maintenance');
    // the one real conflict was surfaced, with both versions
    const surfaced = c.conflicts.filter((x) => x.input.newDocumentState.id === a1.id);
    expect(surfaced.length).toBeGreaterThan(0);
    expect(surfaced[0]!.input.realMasterState).toMatchObject({ status: 'resolved' });
    expect(surfaced[0]!.input.newDocumentState).toMatchObject({ status: 'acknowledged' });
    expect(c.conflicts.filter((x) => x.input.newDocumentState.id !== a1.id)).toEqual([]);
  });

  it.runIf(backend.name === 'postgres')(
    'two server instances on one PostgreSQL: a change through A reaches a client streaming from B',
    async () => {
      const b = await startServer({ ...quiet, ...overrides, dataDir: await mkdtemp(join(tmpdir(), 'fleetdesk-sync-b-')) });
      try {
        const c = await client(() => b.httpUrl);
        await c.awaitInSync();
        await eventually(() => c.calls.streamOpen >= COLLECTIONS.length, 'streams open on B');
        await c.awaitInSync();
        const pullsBefore = c.calls.pull;
        const viaA = await staffCall<TaskDoc>(server, 'POST', '/tasks', {
          vehicleId: vehicleIds[0],
          kind: 'inspection',
          note: 'written through A',
        });
        expect(viaA.status).toBe(201);
        await eventually(
          async () => (await c.collection('tasks').findOne(viaA.body.id).exec())?.note === 'written through A',
          'A → B stream',
        );
        expect(c.calls.pull).toBe(pullsBefore);
      } finally {
        await b.stop();
      }
    },
  );
});

/** Compares documents without RxDB's internal fields. */
function strip(d: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!d) return d;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(d).sort()) if (!k.startsWith('_') && k !== 'syncRejection') out[k] = d[k];
  return out;
}
