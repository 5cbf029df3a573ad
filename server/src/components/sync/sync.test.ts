/**
 * The sync endpoints through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set): pull order,
 * paging and tombstones; pushes per editable collection through the domain use cases; conflicts on business
 * fields only; refusals (forbidden fields, role, schema, limits) storing nothing; retries; requests → commands
 * at most once and never after expiry; SSE streams; CORS; tombstone retention; commit order under concurrency.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AlertDoc,
  NoteDoc,
  PullResponse,
  RequestDoc,
  SyncCollection,
  TaskDoc,
  VehicleDoc,
  ZoneDoc,
  CommandDoc,
} from '../../../../src/shared/sync-protocol.js';
import { SYNC_LIMITS } from '../../../../src/shared/sync-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { commandIdForRequest } from './index.js';
import { openStream, type SseStream } from './sync.test-helpers.js';

const quiet = { port: 0, logLevel: 'silent' as const, seedVehicles: 0, mqttAuth: 'off' as const, mqttUrl: undefined, mqttPort: 0 };

type Role = 'dispatcher' | 'support' | 'admin';

async function http<T>(
  server: ServerHandle,
  method: string,
  path: string,
  body?: unknown,
  role: Role = 'dispatcher',
  actor = 'ana',
): Promise<{ status: number; type: string | null; body: T }> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...(await staffHeaders(server, role, actor)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: (text ? JSON.parse(text) : undefined) as T };
}

async function pull<D>(
  server: ServerHandle,
  collection: SyncCollection,
  checkpoint = 0,
  limit = 1000,
  role: Role = 'dispatcher',
): Promise<PullResponse<D>> {
  const res = await http<PullResponse<D>>(
    server,
    'GET',
    `/sync/v1/${collection}/pull?checkpoint=${checkpoint}&limit=${limit}`,
    undefined,
    role,
  );
  expect(res.status).toBe(200);
  return res.body;
}

/** Everything after `checkpoint`, page by page. */
async function pullAll<D extends { id: string }>(
  server: ServerHandle,
  collection: SyncCollection,
  checkpoint = 0,
  limit = 1000,
): Promise<{ docs: Map<string, D>; checkpoint: number }> {
  const docs = new Map<string, D>();
  for (;;) {
    const page = await pull<D>(server, collection, checkpoint, limit);
    for (const d of page.documents) docs.set(d.id, d);
    checkpoint = page.checkpoint.seq;
    if (page.documents.length < limit) return { docs, checkpoint };
  }
}

async function push<D>(server: ServerHandle, collection: SyncCollection, rows: unknown, role: Role = 'dispatcher', actor = 'ana') {
  return http<D[]>(server, 'POST', `/sync/v1/${collection}/push`, rows, role, actor);
}

async function masterOf<D extends { id: string }>(server: ServerHandle, collection: SyncCollection, id: string): Promise<D> {
  const { docs } = await pullAll<D>(server, collection);
  const doc = docs.get(id);
  if (!doc) throw new Error(`no ${collection} ${id}`);
  return doc;
}

function newTask(id: string, vehicleId: string, over: Partial<TaskDoc> = {}): TaskDoc {
  return {
    id,
    updatedAt: 0,
    vehicleId,
    kind: 'cleaning',
    status: 'open',
    assignee: null,
    note: 'seats dirty',
    alertId: null,
    createdBy: 'ana',
    createdAt: Date.now(),
    dueAt: null,
    completedAt: null,
    ...over,
  };
}

async function count(server: ServerHandle, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await server.db.query<{ n: number }>(`select count(*)::int as n from (${sql}) x`, params);
  return rows[0]!.n;
}

describe.each(dbBackends())('sync endpoints on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const vehicles = uniqueTestVehicles(3);
  const [v1, v2, v3] = vehicles.map((v) => v.id) as [string, string, string];

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides });
    await server.registerVehicles(vehicles);
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('pulls in server_seq order, page by page, with the seeded operating zone and tombstones for deletions', async () => {
    const zones = await pull<ZoneDoc>(server, 'zones');
    expect(zones.documents.map((z) => z.id)).toContain('berlin-inner');
    expect(zones.documents[0]).toMatchObject({ kind: 'operating', name: expect.any(String) });

    const start = (await pullAll<TaskDoc>(server, 'tasks')).checkpoint;
    const ids = Array.from({ length: 5 }, (_, i) => `pull-task-${i}`);
    for (const id of ids) expect((await http(server, 'POST', '/ops/v1/tasks', { id, vehicleId: v1, kind: 'refuel' })).status).toBe(201);
    const seen: string[] = [];
    let checkpoint = start;
    const seqs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await pull<TaskDoc>(server, 'tasks', checkpoint, 2);
      seen.push(...page.documents.map((d) => d.id));
      if (page.documents.length > 0) expect(page.checkpoint.seq).toBeGreaterThan(checkpoint);
      else expect(page.checkpoint.seq).toBe(checkpoint);
      seqs.push(page.checkpoint.seq);
      checkpoint = page.checkpoint.seq;
    }
    expect(seen).toEqual(ids);
    expect(seqs[0]).toBeLessThan(seqs[1]!);

    await server.db.query('delete from tasks where id = $1', [ids[2]]);
    const after = await pull<TaskDoc>(server, 'tasks', checkpoint);
    expect(after.documents).toHaveLength(1);
    expect(after.documents[0]).toMatchObject({ id: ids[2], _deleted: true, vehicleId: v1, kind: 'refuel', status: 'open' });
    // re-created: live again, the tombstone is gone
    expect((await http(server, 'POST', '/ops/v1/tasks', { id: ids[2], vehicleId: v1, kind: 'refuel' })).status).toBe(201);
    const again = await pull<TaskDoc>(server, 'tasks', checkpoint);
    expect(again.documents.map((d) => [d.id, d._deleted ?? false])).toEqual([[ids[2], false]]);
  });

  it('answers bad pulls with problems: unknown collection 404, bad checkpoint 400, no staff token 401', async () => {
    expect((await http(server, 'GET', '/sync/v1/rockets/pull')).status).toBe(404);
    const bad = await http<{ code: string }>(server, 'GET', '/sync/v1/tasks/pull?checkpoint=-1');
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/problem\+json/);
    const res = await fetch(`${server.httpUrl}/sync/v1/tasks/pull`, { headers: { 'x-fleetdesk-role': 'admin' } });
    expect(res.status).toBe(401);
    const customer = await signUpCustomer(server);
    expect((await fetch(`${server.httpUrl}/sync/v1/tasks/pull`, { headers: customer.headers })).status).toBe(401);
  });

  it('vehicles: the service state is pushed through the fleet use case (audited); other fields are refused, nothing stored', async () => {
    const master = await masterOf<VehicleDoc>(server, 'vehicles', v2);
    expect(master).toMatchObject({ serviceState: 'available', online: false, lat: null });
    expect(
      (await push(server, 'vehicles', [{ assumedMasterState: master, newDocumentState: { ...master, serviceState: 'maintenance' } }])).body,
    ).toEqual([]);
    const after = await masterOf<VehicleDoc>(server, 'vehicles', v2);
    expect(after.serviceState).toBe('maintenance');
    expect(
      await count(server, `select 1 from audit_log where action = 'vehicle.service_state' and target_id = $1 and actor = 'ana'`, [v2]),
    ).toBe(1);

    const forbidden = await push<VehicleDoc>(server, 'vehicles', [
      { assumedMasterState: after, newDocumentState: { ...after, serviceState: 'available', plate: 'HACK-1' } },
    ]);
    expect(forbidden.status).toBe(200);
    expect(forbidden.body).toHaveLength(1);
    expect(forbidden.body[0]).toMatchObject({
      id: v2,
      plate: after.plate,
      serviceState: 'maintenance',
      syncRejection: { code: 'forbidden_field' },
    });
    expect(forbidden.body[0]!.syncRejection!.message).toContain('plate');
    expect(await masterOf<VehicleDoc>(server, 'vehicles', v2)).toMatchObject({ plate: after.plate, serviceState: 'maintenance' });

    // another role may not write vehicles: refused, not stored
    const support = await push<VehicleDoc>(
      server,
      'vehicles',
      [{ assumedMasterState: after, newDocumentState: { ...after, serviceState: 'available' } }],
      'support',
      'sue',
    );
    expect(support.body[0]).toMatchObject({ id: v2, serviceState: 'maintenance', syncRejection: { code: 'forbidden_role' } });
  });

  it('vehicles: the coarse snapshot follows the live state (online at once), bumping server_seq', async () => {
    const before = (await pullAll<VehicleDoc>(server, 'vehicles')).checkpoint;
    await server.db.query(
      `insert into vehicle_state (vehicle_id, lat, lon, energy_pct, online, received_at) values ($1, 52.5, 13.4, 77, true, now())
       on conflict (vehicle_id) do update set lat = 52.5, lon = 13.4, energy_pct = 77, online = true, received_at = now()`,
      [v3],
    );
    expect(await server.copyVehicleSnapshot()).toBeGreaterThanOrEqual(1);
    const page = await pull<VehicleDoc>(server, 'vehicles', before);
    expect(page.documents.find((d) => d.id === v3)).toMatchObject({
      online: true,
      lat: 52.5,
      lon: 13.4,
      energyPct: 77,
      lastSeenAt: expect.any(Number),
    });
    // a position change within 30 s waits; nothing is copied again
    await server.db.query(`update vehicle_state set lat = 52.51, received_at = now() where vehicle_id = $1`, [v3]);
    expect(await server.copyVehicleSnapshot()).toBe(0);
    // an online change goes at once
    await server.db.query(`update vehicle_state set online = false where vehicle_id = $1`, [v3]);
    expect(await server.copyVehicleSnapshot()).toBe(1);
    expect((await masterOf<VehicleDoc>(server, 'vehicles', v3)).online).toBe(false);
  });

  async function crashAlert(vehicleId: string): Promise<AlertDoc> {
    server.events.emit('vehicle.event', {
      vehicleId,
      event: { v: 1, seq: 1, ts: Date.now(), type: 'crash_detected', data: { peakG: 5 } },
      receivedAt: Date.now(),
    });
    await server.flushAlerts();
    return waitFor(
      async () =>
        [...(await pullAll<AlertDoc>(server, 'alerts')).docs.values()].find((a) => a.vehicleId === vehicleId && a.status !== 'resolved'),
      { what: 'alert' },
    );
  }

  it('alerts: acknowledge/assign/resolve through the lifecycle; conflicts on business fields only; retries are no-ops', async () => {
    const alert = await crashAlert(v1);
    expect(alert).toMatchObject({ kind: 'crash', status: 'open', occurrences: 1, openedAt: expect.any(Number) });
    const acked = { ...alert, status: 'acknowledged' as const, assignee: 'ben' };
    expect((await push(server, 'alerts', [{ assumedMasterState: alert, newDocumentState: acked }])).body).toEqual([]);
    let master = await masterOf<AlertDoc>(server, 'alerts', alert.id);
    expect(master).toMatchObject({ status: 'acknowledged', assignee: 'ben', acknowledgedBy: 'ana' });
    // the same push again (a retry after a timeout; its assumed master is stale now) → accepted, nothing changes
    expect((await push(server, 'alerts', [{ assumedMasterState: alert, newDocumentState: acked }])).body).toEqual([]);
    expect((await masterOf<AlertDoc>(server, 'alerts', alert.id)).updatedAt).toBe(master.updatedAt);

    // a server-managed change (occurrences, lastSeenAt) is no conflict: the client's assumed state is older
    await server.db.query(`update alerts set occurrences = occurrences + 1, last_seen_at = now() where id = $1`, [alert.id]);
    const resolve = { ...master, status: 'resolved' as const, resolution: 'towed' };
    expect((await push(server, 'alerts', [{ assumedMasterState: master, newDocumentState: resolve }])).body).toEqual([]);
    master = await masterOf<AlertDoc>(server, 'alerts', alert.id);
    expect(master).toMatchObject({ status: 'resolved', resolution: 'towed', resolvedBy: 'ana', occurrences: 2 });
    expect(
      await count(
        server,
        `select 1 from audit_log where target_id = $1 and action in ('alert.acknowledge', 'alert.assign', 'alert.resolve')`,
        [alert.id],
      ),
    ).toBe(3);

    // a business-field conflict: someone else assigned meanwhile → the master comes back, nothing stored
    const other = await crashAlert(v2);
    await http(server, 'POST', `/ops/v1/alerts/${other.id}/assign`, { assignee: 'carl' });
    const conflict = await push<AlertDoc>(server, 'alerts', [
      { assumedMasterState: other, newDocumentState: { ...other, assignee: 'dora' } },
    ]);
    expect(conflict.body).toHaveLength(1);
    expect(conflict.body[0]).toMatchObject({ id: other.id, assignee: 'carl' });
    expect(conflict.body[0]!.syncRejection).toBeUndefined();
    expect((await masterOf<AlertDoc>(server, 'alerts', other.id)).assignee).toBe('carl');
  });

  it('tasks: create, assign, complete; status rules refused with the reason; bad schema refused; nothing stored on refusal', async () => {
    const t = newTask('task-life-1', v1);
    expect((await push(server, 'tasks', [{ newDocumentState: t }])).body).toEqual([]);
    // retried create (no assumed master) → no duplicate, no conflict
    expect((await push(server, 'tasks', [{ newDocumentState: t }])).body).toEqual([]);
    expect(await count(server, `select 1 from tasks where id = 'task-life-1'`)).toBe(1);
    let master = await masterOf<TaskDoc>(server, 'tasks', t.id);
    expect(master).toMatchObject({ status: 'open', createdBy: 'ana', note: 'seats dirty' });

    const assigned = { ...master, status: 'assigned' as const, assignee: 'ben' };
    expect((await push(server, 'tasks', [{ assumedMasterState: master, newDocumentState: assigned }])).body).toEqual([]);
    master = await masterOf<TaskDoc>(server, 'tasks', t.id);
    const done = { ...master, status: 'done' as const };
    expect((await push(server, 'tasks', [{ assumedMasterState: master, newDocumentState: done }])).body).toEqual([]);
    master = await masterOf<TaskDoc>(server, 'tasks', t.id);
    expect(master).toMatchObject({ status: 'done', assignee: 'ben', completedAt: expect.any(Number) });
    // done is final
    const reopen = await push<TaskDoc>(server, 'tasks', [{ assumedMasterState: master, newDocumentState: { ...master, status: 'open' } }]);
    expect(reopen.body[0]).toMatchObject({ status: 'done', syncRejection: { code: 'task_closed' } });

    // schema: unknown kind → refused, not stored; the refused create comes back deleted with the reason
    const bad = await push<TaskDoc>(server, 'tasks', [{ newDocumentState: { ...newTask('task-bad-1', v1), kind: 'flying' } }]);
    expect(bad.body[0]).toMatchObject({ id: 'task-bad-1', _deleted: true, syncRejection: { code: 'invalid_document' } });
    expect(await count(server, `select 1 from tasks where id = 'task-bad-1'`)).toBe(0);
    // domain: unknown vehicle
    const ghost = await push<TaskDoc>(server, 'tasks', [{ newDocumentState: newTask('task-ghost', 'no-such-vehicle') }]);
    expect(ghost.body[0]).toMatchObject({ syncRejection: { code: 'vehicle_not_found' } });
    // support may read but not write tasks
    const support = await push<TaskDoc>(server, 'tasks', [{ newDocumentState: newTask('task-support', v1) }], 'support', 'sue');
    expect(support.body[0]).toMatchObject({ syncRejection: { code: 'forbidden_role' } });
    expect(await count(server, `select 1 from tasks where id in ('task-ghost', 'task-support')`)).toBe(0);
    expect(await count(server, `select 1 from audit_log where target_type = 'task' and target_id = 'task-life-1'`)).toBe(3);
  });

  it('tasks and notes through the staff routes too', async () => {
    const created = await http<TaskDoc>(server, 'POST', '/ops/v1/tasks', { vehicleId: v2, kind: 'repair', note: 'mirror' });
    expect(created.status).toBe(201);
    expect((await http<TaskDoc>(server, 'PATCH', `/ops/v1/tasks/${created.body.id}`, { status: 'assigned' })).body).toMatchObject({
      code: 'assignee_required',
    });
    expect((await http<TaskDoc>(server, 'PATCH', `/ops/v1/tasks/${created.body.id}`, { status: 'cancelled' })).body).toMatchObject({
      status: 'cancelled',
    });
    expect((await http<{ tasks: TaskDoc[] }>(server, 'GET', `/ops/v1/tasks?vehicleId=${v2}`)).body.tasks.map((t) => t.id)).toContain(
      created.body.id,
    );
    const note = await http<NoteDoc>(server, 'POST', '/ops/v1/notes', { targetType: 'vehicle', targetId: v2, text: 'scratch left door' });
    expect(note.status).toBe(201);
    expect((await http<{ notes: NoteDoc[] }>(server, 'GET', `/ops/v1/notes?targetType=vehicle&targetId=${v2}`)).body.notes).toEqual([
      note.body,
    ]);
  });

  it('notes: create-only and immutable; a retried create is a no-op', async () => {
    const note: NoteDoc = {
      id: 'note-1',
      updatedAt: 0,
      targetType: 'vehicle',
      targetId: v1,
      text: 'smells of smoke',
      author: 'ana',
      createdAt: Date.now(),
    };
    expect((await push(server, 'notes', [{ newDocumentState: note }], 'support', 'sue')).body).toEqual([]);
    expect((await push(server, 'notes', [{ newDocumentState: note }], 'support', 'sue')).body).toEqual([]);
    const master = await masterOf<NoteDoc>(server, 'notes', 'note-1');
    expect(master).toMatchObject({ author: 'sue', text: 'smells of smoke' });
    const edit = await push<NoteDoc>(server, 'notes', [{ assumedMasterState: master, newDocumentState: { ...master, text: 'edited' } }]);
    expect(edit.body[0]).toMatchObject({ text: 'smells of smoke', syncRejection: { code: 'immutable' } });
    const deleted = await push<NoteDoc>(server, 'notes', [{ assumedMasterState: master, newDocumentState: { ...master, _deleted: true } }]);
    expect(deleted.body[0]).toMatchObject({ syncRejection: { code: 'delete_not_allowed' } });
    expect(await count(server, `select 1 from notes where id = 'note-1' and text = 'smells of smoke'`)).toBe(1);
  });

  it('requests: a vehicle command is issued once (id derived from the request), its outcome replicates back; expired ones never run', async () => {
    const req: RequestDoc = {
      id: 'req-lock-1',
      updatedAt: 0,
      kind: 'vehicle_command',
      payload: { vehicleId: v1, type: 'lock', reason: 'customer called', ttlSeconds: 300 },
      createdBy: 'ana',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending',
      result: null,
    };
    const rows = [{ newDocumentState: req }];
    const [a, b] = await Promise.all([push(server, 'requests', rows), push(server, 'requests', rows)]);
    expect(a.body).toEqual([]);
    expect(b.body).toEqual([]);
    expect((await push(server, 'requests', rows)).body).toEqual([]);
    const commandId = commandIdForRequest(req.id);
    expect(await count(server, `select 1 from commands where command_id = $1`, [commandId])).toBe(1);
    expect(await count(server, `select 1 from commands where vehicle_id = $1`, [v1])).toBe(1);
    const master = await masterOf<RequestDoc>(server, 'requests', req.id);
    expect(master).toMatchObject({ status: 'done', result: { commandId }, createdBy: 'ana' });
    // the command is capped at the request's expiry
    const cmd = await masterOf<CommandDoc>(server, 'commands', commandId);
    expect(cmd.expiresAt).toBeLessThanOrEqual(req.expiresAt);
    expect(cmd).toMatchObject({ vehicleId: v1, type: 'lock', issuedBy: 'ana' });

    const expired: RequestDoc = { ...req, id: 'req-late-1', payload: { ...req.payload, vehicleId: v2 }, expiresAt: Date.now() - 1000 };
    expect((await push(server, 'requests', [{ newDocumentState: expired }])).body).toEqual([]);
    expect(await masterOf<RequestDoc>(server, 'requests', expired.id)).toMatchObject({ status: 'expired' });
    expect(await count(server, `select 1 from commands where vehicle_id = $1`, [v2])).toBe(0);

    const invalid: RequestDoc = { ...req, id: 'req-bad-1', payload: { vehicleId: v2, type: 'self_destruct', reason: 'x', ttlSeconds: 60 } };
    expect((await push(server, 'requests', [{ newDocumentState: invalid }])).body).toEqual([]);
    expect(await masterOf<RequestDoc>(server, 'requests', invalid.id)).toMatchObject({
      status: 'rejected',
      result: { code: 'invalid_payload' },
    });
    // commands are read-only in the replica
    expect((await push<CommandDoc>(server, 'commands', [{ newDocumentState: cmd }])).body[0]).toMatchObject({
      syncRejection: { code: 'forbidden_role' },
    });
  });

  it('refuses oversized pushes as a whole with a 413 problem and stores nothing', async () => {
    const many = Array.from({ length: SYNC_LIMITS.maxPushRows + 1 }, (_, i) => ({ newDocumentState: newTask(`huge-${i}`, v1) }));
    const res = await push<unknown>(server, 'tasks', many);
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/problem\+json/);
    expect((res.body as unknown as { code: string }).code).toBe('push_too_many_rows');
    const big = [{ newDocumentState: newTask('huge-big', v1, { note: 'x'.repeat(1000) }) }];
    const padded = JSON.stringify(big).replace('"huge-big"', `"huge-big"${' '.repeat(SYNC_LIMITS.maxPushBytes)}`);
    const tooBig = await push<unknown>(server, 'tasks', padded);
    expect(tooBig.status).toBe(413);
    expect(await count(server, `select 1 from tasks where id like 'huge-%'`)).toBe(0);
    expect((await push<unknown>(server, 'tasks', { not: 'an array' })).status).toBe(400);
  });

  it('streams new changes over SSE (after ?checkpoint= first), woken when the collection head moves', async () => {
    const { checkpoint } = await pullAll<TaskDoc>(server, 'tasks');
    await http(server, 'POST', '/ops/v1/tasks', { id: 'stream-before', vehicleId: v1, kind: 'cleaning' });
    const stream = await openStream(
      `${server.httpUrl}/sync/v1/tasks/stream?checkpoint=${checkpoint}`,
      await staffHeaders(server, 'dispatcher'),
    );
    try {
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const first = await stream.next<PullResponse<TaskDoc>>();
      expect(first.documents.map((d) => d.id)).toEqual(['stream-before']);
      await http(server, 'POST', '/ops/v1/tasks', { id: 'stream-after', vehicleId: v1, kind: 'cleaning' });
      const second = await stream.next<PullResponse<TaskDoc>>();
      expect(second.documents.map((d) => d.id)).toEqual(['stream-after']);
      expect(second.checkpoint.seq).toBeGreaterThan(first.checkpoint.seq);
      expect(server.sync.streamCount()).toBe(1);
    } finally {
      stream.close();
    }
    await waitFor(() => server.sync.streamCount() === 0, { what: 'stream cleanup' });
  });

  it('answers CORS preflights for the desktop origin (app://fleetdesk) only, not for file:// pages (null)', async () => {
    const pre = await fetch(`${server.httpUrl}/sync/v1/tasks/push`, {
      method: 'OPTIONS',
      headers: {
        origin: 'app://fleetdesk',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('app://fleetdesk');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    const get = await fetch(`${server.httpUrl}/sync/v1/zones/pull`, { headers: { origin: 'app://fleetdesk' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('app://fleetdesk');
    const filePage = await fetch(`${server.httpUrl}/sync/v1/zones/pull`, { headers: { origin: 'null' } });
    expect(filePage.headers.get('access-control-allow-origin')).toBeNull();
    const evil = await fetch(`${server.httpUrl}/sync/v1/zones/pull`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('purges tombstones after SYNC_TOMBSTONE_DAYS; an older checkpoint then gets 410 checkpoint_too_old', async () => {
    await http(server, 'POST', '/ops/v1/tasks', { id: 'purge-me', vehicleId: v1, kind: 'cleaning' });
    const { checkpoint } = await pullAll<TaskDoc>(server, 'tasks');
    await server.db.query(`delete from tasks where id = 'purge-me'`);
    expect(await server.sync.purgeTombstones(Date.now())).toBe(0);
    expect(await server.sync.purgeTombstones(Date.now() + 31 * 86_400_000)).toBeGreaterThanOrEqual(1);
    const gone = await http<{ code: string }>(server, 'GET', `/sync/v1/tasks/pull?checkpoint=${checkpoint}`);
    expect(gone.status).toBe(410);
    expect(gone.body.code).toBe('checkpoint_too_old');
    // a fresh client paging from 0 never lands below the purge horizon: live rows were re-stamped
    const fresh = await pullAll<TaskDoc>(server, 'tasks', 0, 3);
    expect(fresh.docs.get('pull-task-0')).toBeDefined();
    expect(fresh.docs.has('purge-me')).toBe(false);
  });

  it('commit order: concurrent writers while a client pulls continuously → the client ends with exactly the server documents', async () => {
    let { checkpoint } = await pullAll<TaskDoc>(server, 'tasks');
    const client = new Map<string, TaskDoc>();
    const key = (id: string, status: string) => `${id} ${status}`;
    const mine = () => [...client.values()].filter((d) => d.id.startsWith('order-')).map((d) => key(d.id, d.status));
    /** the server's rows once the writers are done */
    let target: Set<string> | undefined = undefined;
    const caughtUp = () => target !== undefined && mine().length === target.size && mine().every((k) => target!.has(k));
    const deadline = Date.now() + 30_000;
    const puller = (async () => {
      // Rows committed behind a transaction still open are held back (platform/db/replication.ts), so an empty
      // page does not mean "all there": the client keeps pulling, as its stream would keep waking it. A row it
      // skipped would never come — the loop then ends at the deadline and the comparison below fails.
      while (!caughtUp() && Date.now() < deadline) {
        const page = await pull<TaskDoc>(server, 'tasks', checkpoint, 7);
        for (const d of page.documents) client.set(d.id, d);
        expect(page.checkpoint.seq).toBeGreaterThanOrEqual(checkpoint);
        checkpoint = page.checkpoint.seq;
        if (page.documents.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 15; i++) {
          const id = `order-${w}-${i}`;
          await http(server, 'POST', '/ops/v1/tasks', { id, vehicleId: v1, kind: 'inspection' });
          if (i % 3 === 0) await http(server, 'PATCH', `/ops/v1/tasks/${id}`, { status: 'assigned', assignee: `w${w}` });
        }
      })(),
    );
    await Promise.all(writers);
    const { rows } = await server.db.query<{ id: string; status: string }>(`select id, status from tasks where id like 'order-%'`);
    expect(rows).toHaveLength(120);
    target = new Set(rows.map((r) => key(r.id, r.status)));
    await puller;
    expect(mine().sort()).toEqual([...target].sort());
  });
});

describe('sync streams and token expiry', () => {
  it('ends a stream when the access token that opened it expires, with a reauthenticate event', async () => {
    const secret = 'stream-expiry-test-secret-0123456789abcdef';
    const server = await startServer({ ...quiet, authSecret: secret });
    try {
      const exp = Math.floor(Date.now() / 1000) + 2;
      const token = await new SignJWT({ role: 'dispatcher' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('fleetdesk')
        .setAudience('fleetdesk:staff')
        .setSubject('stream-expiry')
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));
      const stream = await openStream(`${server.httpUrl}/sync/v1/stream?collections=alerts,tasks`, { authorization: `Bearer ${token}` });
      expect(server.sync.streamCount()).toBe(1);
      const last = await stream.nextEvent<string>(8_000);
      expect(last).toEqual({ event: 'reauthenticate', data: 'token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
      await expect(stream.ended).resolves.toBe(true);
      expect(server.sync.streamCount()).toBe(0);
      // the same token cannot open a new one
      await expect(openStream(`${server.httpUrl}/sync/v1/stream?collections=alerts`, { authorization: `Bearer ${token}` })).rejects.toThrow(
        /answered 401/,
      );
      stream.close();
    } finally {
      await server.stop();
    }
  });
});

describe('sync streams at shutdown', () => {
  it('ends every open stream when the server stops', async () => {
    const server = await startServer(quiet);
    const stream = await openStream(`${server.httpUrl}/sync/v1/alerts/stream`, await staffHeaders(server, 'dispatcher'));
    expect(server.sync.streamCount()).toBe(1);
    await server.stop();
    expect(server.sync.streamCount()).toBe(0);
    await expect(stream.ended).resolves.toBe(true);
    stream.close();
  });
});

describe.runIf(process.env.DATABASE_URL)('sync across two server instances on one PostgreSQL', () => {
  it('a change through instance A reaches a stream on instance B (heads polled)', async () => {
    const [pgCase] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await pgCase!.create();
    const a = await startServer({ ...quiet, ...overrides });
    const b = await startServer({ ...quiet, ...overrides });
    let stream: SseStream | undefined;
    try {
      const [vehicle] = uniqueTestVehicles(1);
      await a.registerVehicles([vehicle!]);
      stream = await openStream(`${b.httpUrl}/sync/v1/tasks/stream`, await staffHeaders(b, 'dispatcher'));
      await new Promise((r) => setTimeout(r, 100));
      await http(a, 'POST', '/ops/v1/tasks', { id: 'cross-instance', vehicleId: vehicle!.id, kind: 'cleaning' });
      const msg = await stream.next<PullResponse<TaskDoc>>();
      expect(msg.documents.map((d) => d.id)).toEqual(['cross-instance']);
    } finally {
      stream?.close();
      await Promise.all([a.stop(), b.stop()]);
      await cleanup();
    }
  });

  it('the snapshot copy does not wait for nor skip a car whose claim is in flight (its foreign-key lock on the car)', async () => {
    const [pgCase] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await pgCase!.create();
    const a = await startServer({ ...quiet, ...overrides });
    let release: () => void = () => undefined;
    let claim: Promise<void> | undefined;
    try {
      const [vehicle] = uniqueTestVehicles(1);
      await a.registerVehicles([vehicle!]);
      await a.db.query(
        `insert into vehicle_state (vehicle_id, lat, lon, energy_pct, online, received_at) values ($1, 52.5, 13.4, 77, true, now())
         on conflict (vehicle_id) do update set lat = 52.5, lon = 13.4, energy_pct = 77, online = true, received_at = now()`,
        [vehicle!.id],
      );
      await waitFor(async () => (await a.copyVehicleSnapshot()) >= 0 && (await onlineOf(a, vehicle!.id)) === true, { what: 'first copy' });

      // An open transaction holds the lock an insert referencing the car takes (allocations, commands: the
      // foreign-key check's `for key share`), as a claim does until it commits.
      const held = new Promise<void>((r) => (release = r));
      const locked = new Promise<void>((taken) => {
        claim = a.db.transaction(async (tx) => {
          await tx.query('select 1 from vehicles where id = $1 for key share', [vehicle!.id]);
          taken();
          await held;
        });
      });
      await locked;
      await a.db.query('update vehicle_state set online = false where vehicle_id = $1', [vehicle!.id]);
      // copied while the claim is still open (a copy that locked `for update` skipped the car, or waited)
      await waitFor(async () => (await a.copyVehicleSnapshot()) >= 0 && (await onlineOf(a, vehicle!.id)) === false, {
        timeoutMs: 3_000,
        what: 'the car copied while its claim is open',
      });
    } finally {
      release();
      await claim;
      await a.stop();
      await cleanup();
    }
  });

  it('a slow transaction on instance A holds an early seq while later writes through A and B commit: a client pulling and streaming from B never skips it', async () => {
    const [pgCase] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await pgCase!.create();
    const a = await startServer({ ...quiet, ...overrides });
    const b = await startServer({ ...quiet, ...overrides });
    let stream: SseStream | undefined;
    let release: () => void = () => undefined;
    let slow: Promise<void> | undefined;
    try {
      const [vehicle] = uniqueTestVehicles(1);
      await a.registerVehicles([vehicle!]);
      const start = (await pullAll<TaskDoc>(b, 'tasks')).checkpoint;
      stream = await openStream(`${b.httpUrl}/sync/v1/tasks/stream?checkpoint=${start}`, await staffHeaders(b, 'dispatcher'));
      const streamed = new Set<string>();
      let reading = true;
      const readStream = (async () => {
        while (reading) {
          const msg = await stream!.next<PullResponse<TaskDoc>>(250).catch(() => undefined);
          for (const d of msg?.documents ?? []) streamed.add(d.id);
        }
      })();

      // The slow writer: takes its seq first, then stays open (as a request stuck on a slow provider would).
      const held = new Promise<void>((r) => (release = r));
      let slowSeq = 0;
      const seqTaken = new Promise<void>((taken) => {
        slow = a.db.transaction(async (tx) => {
          const { rows } = await tx.query<{ seq: number }>(
            `insert into tasks (id, vehicle_id, kind, status, created_by, created_at, server_seq)
             values ('slow-early', $1, 'repair', 'open', 'test', now(), fleetdesk_next_seq()) returning server_seq::float8 as seq`,
            [vehicle!.id],
          );
          slowSeq = Number(rows[0]!.seq);
          taken();
          await held;
        });
      });
      await seqTaken;

      // Later writers commit meanwhile, through both instances.
      const later = Array.from({ length: 12 }, (_, i) => `later-${i}`);
      for (const [i, id] of later.entries()) {
        const res = await http(i % 2 === 0 ? a : b, 'POST', '/ops/v1/tasks', { id, vehicleId: vehicle!.id, kind: 'cleaning' });
        expect(res.status).toBe(201);
      }
      const { rows: committed } = await b.db.query<{ seq: number }>(
        `select min(server_seq)::float8 as seq from tasks where id like 'later-%'`,
      );
      expect(Number(committed[0]!.seq)).toBeGreaterThan(slowSeq); // they hold later seqs, and are committed

      // While the slow one is open, a client on B gets nothing past it: its checkpoint stays below the slow seq.
      let checkpoint = start;
      const client = new Map<string, TaskDoc>();
      for (let round = 0; round < 10; round++) {
        const page = await pull<TaskDoc>(b, 'tasks', checkpoint, 5);
        for (const d of page.documents) client.set(d.id, d);
        checkpoint = page.checkpoint.seq;
        expect(checkpoint).toBeLessThan(slowSeq);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect([...client.keys()].filter((id) => id.startsWith('later-'))).toEqual([]);
      expect([...streamed].filter((id) => id.startsWith('later-'))).toEqual([]);

      release();
      await slow;
      // Now everything comes, the slow row included, by pull and by the stream (no NOTIFY needed for the
      // held-back rows: the stream pulls again while rows are held back).
      const all = ['slow-early', ...later];
      await waitFor(
        async () => {
          const page = await pull<TaskDoc>(b, 'tasks', checkpoint, 5);
          for (const d of page.documents) client.set(d.id, d);
          checkpoint = page.checkpoint.seq;
          return all.every((id) => client.has(id)) && all.every((id) => streamed.has(id));
        },
        { what: 'every row, the slow one included, by pull and by stream', timeoutMs: 30_000 },
      );
      expect(client.get('slow-early')).toMatchObject({ kind: 'repair', status: 'open' });
      reading = false;
      await readStream;
    } finally {
      release();
      await slow?.catch(() => undefined);
      stream?.close();
      await Promise.all([a.stop(), b.stop()]);
      await cleanup();
    }
  }, 90_000);
});

async function onlineOf(server: ServerHandle, vehicleId: string): Promise<boolean | null> {
  const { rows } = await server.db.query<{ online: boolean | null }>('select online from vehicles where id = $1', [vehicleId]);
  return rows[0]?.online ?? null;
}
