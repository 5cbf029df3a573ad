/**
 * The replica's newer parts through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set):
 * the `rentals` (allocations) and `customers` collections — read-only, tombstones, role access (dispatchers get
 * no personal data: no customers, no notes about customers) —, the ONE multiplexed stream that carries every
 * collection, and support requests (refund, end rental, block/unblock, extend/cancel a booking) executed once
 * through their ports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CustomerDoc,
  NoteDoc,
  PullResponse,
  RentalDoc,
  RequestDoc,
  SyncCollection,
  VehicleDoc,
} from '../../../../src/shared/sync-protocol.js';
import { AppError } from '../../../../src/shared/errors.js';
import { SYNC_COLLECTIONS } from '../../../../src/shared/sync-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import { createLogger } from '../../platform/log.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { recordAudit } from '../audit/index.js';
import { RequestExecutor, type SupportPorts } from './domain/requests.js';
import { openStream } from './sync.test-helpers.js';
import { eventually, startSyncClient } from '../../../../test/support/sync-client.js';

const quiet = { port: 0, logLevel: 'silent' as const, seedVehicles: 0, mqttAuth: 'off' as const, mqttUrl: undefined, mqttPort: 0 };
type Role = 'dispatcher' | 'support' | 'admin';

async function http<T>(
  server: ServerHandle,
  method: string,
  path: string,
  body?: unknown,
  role: Role = 'support',
  actor = `${role}-1`,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...(await staffHeaders(server, role, actor)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function pullAll<D extends { id: string }>(
  server: ServerHandle,
  c: SyncCollection,
  role: Role = 'support',
  from = 0,
): Promise<{ docs: Map<string, D>; checkpoint: number }> {
  const docs = new Map<string, D>();
  let checkpoint = from;
  for (;;) {
    const res = await http<PullResponse<D>>(server, 'GET', `/sync/v1/${c}/pull?checkpoint=${checkpoint}&limit=1000`, undefined, role);
    expect(res.status).toBe(200);
    for (const d of res.body.documents) docs.set(d.id, d);
    if (res.body.documents.length === 0 && res.body.checkpoint.seq === checkpoint) return { docs, checkpoint };
    checkpoint = res.body.checkpoint.seq;
  }
}

const ms = (iso: string) => Date.parse(iso);

describe.each(dbBackends())('replica collections, multiplexed stream and support requests on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const vehicles = uniqueTestVehicles(3);
  const [v1, v2, v3] = vehicles.map((v) => v.id) as [string, string, string];
  let customerId: string;

  /** Writes an allocation row the way the bookings use cases do (a fresh server_seq). */
  async function allocation(row: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(row);
    await server.db.transaction(async (tx) => {
      await tx.query(
        `insert into allocations (${cols.join(', ')}, server_seq) values (${cols.map((c, i) => (c === 'period' ? `$${i + 1}::tstzrange` : c === 'price' ? `$${i + 1}::jsonb` : `$${i + 1}`)).join(', ')}, fleetdesk_next_seq())`,
        cols.map((c) => (c === 'price' ? JSON.stringify(row[c]) : row[c])),
      );
    });
  }

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides });
    await server.registerVehicles(vehicles);
    customerId = (await signUpCustomer(server, { name: 'Greta Lindqvist', phone: '+49 30 5550 1234' })).customerId;
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('rentals: reservations, bookings and rentals replicate to every role, read-only, with tombstones', async () => {
    const price = {
      currency: 'EUR',
      lines: [{ code: 'driving', description: 'Driving', quantity: 42, unit: 'minute', unitCents: 29, amountCents: 1218 }],
      subtotalCents: 1218,
      totalCents: 1218,
    };
    await allocation({
      id: 'bk-1',
      kind: 'booking',
      vehicle_id: v1,
      customer_id: customerId,
      status: 'confirmed',
      period: '[2030-05-01 09:45:00+00,2030-05-01 12:00:00+00)',
      starts_at: '2030-05-01T10:00:00Z',
      ends_at: '2030-05-01T12:00:00Z',
    });
    await allocation({
      id: 'rt-open',
      kind: 'rental',
      vehicle_id: v2,
      customer_id: customerId,
      status: 'active',
      period: '[2030-04-01 08:00:00+00,infinity)',
      started_at: '2030-04-01T08:00:00Z',
      start_odometer_km: 1200.5,
    });
    await allocation({
      id: 'rt-done',
      kind: 'rental',
      vehicle_id: v3,
      customer_id: customerId,
      status: 'ended',
      period: '[2030-03-01 08:00:00+00,2030-03-01 08:42:00+00)',
      started_at: '2030-03-01T08:00:00Z',
      ended_at: '2030-03-01T08:42:00Z',
      price,
      total_cents: 1218,
      currency: 'EUR',
      end_reason: 'customer ended it',
    });

    for (const role of ['dispatcher', 'support', 'admin'] as const) {
      const { docs } = await pullAll<RentalDoc>(server, 'rentals', role);
      expect([...docs.keys()].sort(), role).toEqual(['bk-1', 'rt-done', 'rt-open']);
    }
    // dispatchers get each allocation without its customer (no id, no reasons: projectForRole)
    const trimmed = (await pullAll<RentalDoc>(server, 'rentals', 'dispatcher')).docs;
    expect(trimmed.get('rt-done')).toMatchObject({ customerId: '', endReason: null, totalCents: 1218, vehicleId: v3 });
    expect(JSON.stringify([...trimmed.values()])).not.toContain(customerId);
    const { docs, checkpoint } = await pullAll<RentalDoc>(server, 'rentals', 'support');
    // a booking's own window (starts_at), not the buffer before it that its period also holds
    expect(docs.get('bk-1')).toMatchObject({
      kind: 'booking',
      status: 'confirmed',
      vehicleId: v1,
      customerId,
      startsAt: ms('2030-05-01T10:00:00Z'),
      endsAt: ms('2030-05-01T12:00:00Z'),
      price: null,
    });
    expect(docs.get('rt-open')).toMatchObject({
      kind: 'rental',
      status: 'active',
      startsAt: ms('2030-04-01T08:00:00Z'),
      endsAt: null,
      startedAt: ms('2030-04-01T08:00:00Z'),
      startOdometerKm: 1200.5,
    });
    expect(docs.get('rt-done')).toMatchObject({
      status: 'ended',
      endsAt: ms('2030-03-01T08:42:00Z'),
      endedAt: ms('2030-03-01T08:42:00Z'),
      totalCents: 1218,
      currency: 'EUR',
      price,
      endReason: 'customer ended it',
    });

    // read-only: a change or a create is refused with the reason, nothing stored
    const master = docs.get('rt-open')!;
    const change = await http<RentalDoc[]>(
      server,
      'POST',
      '/sync/v1/rentals/push',
      [{ assumedMasterState: master, newDocumentState: { ...master, status: 'ended' } }],
      'admin',
    );
    expect(change.body[0]).toMatchObject({ id: 'rt-open', status: 'active', syncRejection: { code: 'forbidden_role' } });
    const create = await http<RentalDoc[]>(
      server,
      'POST',
      '/sync/v1/rentals/push',
      [{ newDocumentState: { ...master, id: 'rt-fake' } }],
      'support',
    );
    expect(create.body[0]).toMatchObject({ id: 'rt-fake', _deleted: true, syncRejection: { code: 'forbidden_role' } });
    expect(
      (await server.db.query(`select 1 from allocations where id = 'rt-fake' or (id = 'rt-open' and status <> 'active')`)).rows,
    ).toEqual([]);

    // a deleted allocation comes as a schema-valid tombstone (period parsed from the kept row)
    await server.db.query(`delete from allocations where id = 'bk-1'`);
    const after = await pullAll<RentalDoc & { _deleted?: boolean }>(server, 'rentals', 'dispatcher', checkpoint);
    expect(after.docs.get('bk-1')).toMatchObject({ _deleted: true, kind: 'booking', vehicleId: v1, startsAt: ms('2030-05-01T10:00:00Z') });
  });

  it('customers: support and admin replicate them; dispatchers get 403 and never see (nor write) notes about customers', async () => {
    const { docs } = await pullAll<CustomerDoc>(server, 'customers', 'support');
    expect(docs.get(customerId)).toMatchObject({
      name: 'Greta Lindqvist',
      phone: '+49 30 5550 1234',
      status: 'active',
      licenceStatus: 'none',
      blockedReason: null,
      email: expect.stringContaining('@'),
    });
    expect((await pullAll<CustomerDoc>(server, 'customers', 'admin')).docs.has(customerId)).toBe(true);
    expect((await http(server, 'GET', '/sync/v1/customers/pull', undefined, 'dispatcher')).status).toBe(403);
    expect(
      (await fetch(`${server.httpUrl}/sync/v1/customers/stream`, { headers: await staffHeaders(server, 'dispatcher', 'dispatcher-1') }))
        .status,
    ).toBe(403);

    // block through the staff API: the replicated document follows
    const before = (await pullAll<CustomerDoc>(server, 'customers', 'support')).checkpoint;
    expect((await http(server, 'POST', `/ops/v1/customers/${customerId}/block`, { reason: 'chargeback fraud' })).status).toBe(200);
    const blocked = await pullAll<CustomerDoc>(server, 'customers', 'support', before);
    expect(blocked.docs.get(customerId)).toMatchObject({ status: 'blocked', blockedReason: 'chargeback fraud' });

    // notes: a note about the customer is personal data
    const dispatcherStart = (await pullAll<NoteDoc>(server, 'notes', 'dispatcher')).checkpoint;
    const about: NoteDoc = {
      id: 'note-cust-1',
      updatedAt: 0,
      targetType: 'customer',
      targetId: customerId,
      text: 'prefers e-mail',
      author: 'x',
      createdAt: Date.now(),
    };
    const vehicleNote: NoteDoc = { ...about, id: 'note-veh-1', targetType: 'vehicle', targetId: v1, text: 'dent rear left' };
    expect(
      (await http(server, 'POST', '/sync/v1/notes/push', [{ newDocumentState: about }, { newDocumentState: vehicleNote }], 'support')).body,
    ).toEqual([]);
    expect((await pullAll<NoteDoc>(server, 'notes', 'support')).docs.has('note-cust-1')).toBe(true);
    const seen = await pullAll<NoteDoc>(server, 'notes', 'dispatcher', dispatcherStart);
    expect([...seen.docs.keys()]).toEqual(['note-veh-1']);
    // the hidden row does not hold the dispatcher's checkpoint back
    expect(seen.checkpoint).toBeGreaterThan(dispatcherStart);
    const refused = await http<NoteDoc[]>(
      server,
      'POST',
      '/sync/v1/notes/push',
      [{ newDocumentState: { ...about, id: 'note-cust-2' } }],
      'dispatcher',
    );
    expect(refused.body[0]).toMatchObject({ syncRejection: { code: 'forbidden_role' } });
    expect((await server.db.query(`select 1 from notes where id = 'note-cust-2'`)).rows).toEqual([]);
    // nor through a stream: a dispatcher's notes stream skips it
    const stream = await openStream(
      `${server.httpUrl}/sync/v1/notes/stream?checkpoint=${dispatcherStart}`,
      await staffHeaders(server, 'dispatcher', 'dispatcher-1'),
    );
    try {
      const first = await stream.next<PullResponse<NoteDoc>>();
      expect(first.documents.map((d) => d.id)).toEqual(['note-veh-1']);
    } finally {
      stream.close();
    }
    await http(server, 'POST', `/ops/v1/customers/${customerId}/unblock`, { reason: 'cleared' });
  });

  it('ONE multiplexed stream carries every collection: a change in each arrives live, named after its collection', async () => {
    const all = SYNC_COLLECTIONS.join(',');
    const stream = await openStream(`${server.httpUrl}/sync/v1/stream?collections=${all}`, await staffHeaders(server, 'admin', 'admin-1'));
    const got = new Map<string, unknown[]>();
    try {
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      expect(server.sync.streamCount()).toBe(1);
      // one change in each collection, through the real paths where there is one
      const vehicle = (await pullAll<VehicleDoc>(server, 'vehicles', 'admin')).docs.get(v1)!;
      await http(
        server,
        'POST',
        '/sync/v1/vehicles/push',
        [
          {
            assumedMasterState: vehicle,
            newDocumentState: { ...vehicle, serviceState: vehicle.serviceState === 'available' ? 'maintenance' : 'available' },
          },
        ],
        'admin',
      );
      server.events.emit('vehicle.event', {
        vehicleId: v2,
        event: { v: 1, seq: 7, ts: Date.now(), type: 'crash_detected', data: { peakG: 4 } },
        receivedAt: Date.now(),
      });
      await server.flushAlerts();
      expect(
        (
          await http(
            server,
            'POST',
            `/ops/v1/vehicles/${v3}/commands`,
            { type: 'locate', reason: 'multiplex test', ttlSeconds: 60 },
            'dispatcher',
          )
        ).status,
      ).toBe(202);
      expect((await http(server, 'POST', '/ops/v1/tasks', { vehicleId: v1, kind: 'refuel', note: 'multiplex' }, 'dispatcher')).status).toBe(
        201,
      );
      expect(
        (await http(server, 'POST', '/ops/v1/notes', { targetType: 'vehicle', targetId: v1, text: 'multiplex' }, 'dispatcher')).status,
      ).toBe(201);
      await server.db.transaction(async (tx) => {
        await tx.query(
          `update zones set name = name || ' ', server_seq = fleetdesk_next_seq(), updated_at = now() where id = 'berlin-inner'`,
        );
      });
      const request: RequestDoc = {
        id: 'req-mux-1',
        updatedAt: 0,
        kind: 'vehicle_command',
        payload: { vehicleId: v3, type: 'honk_flash', reason: 'find it', ttlSeconds: 60 },
        createdBy: 'x',
        createdAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        status: 'pending',
        result: null,
      };
      expect((await http(server, 'POST', '/sync/v1/requests/push', [{ newDocumentState: request }], 'dispatcher')).body).toEqual([]);
      await allocation({
        id: 'rs-mux',
        kind: 'reservation',
        vehicle_id: v1,
        customer_id: customerId,
        status: 'held',
        period: '[2031-01-01 10:00:00+00,2031-01-01 10:15:00+00)',
        starts_at: '2031-01-01T10:00:00Z',
        ends_at: '2031-01-01T10:15:00Z',
      });
      await signUpCustomer(server, { name: 'Multiplex Customer' });

      await waitFor(
        async () => {
          while (got.size < SYNC_COLLECTIONS.length) {
            const e = await stream.nextEvent<PullResponse<{ id: string }>>(15_000);
            got.set(e.event, [...(got.get(e.event) ?? []), ...e.data.documents.map((d) => d.id)]);
          }
          return true;
        },
        { timeoutMs: 20_000, what: 'an event of every collection' },
      );
      expect([...got.keys()].sort()).toEqual([...SYNC_COLLECTIONS].sort());
      expect(got.get('rentals')).toContain('rs-mux');
      expect(got.get('requests')).toContain('req-mux-1');
      expect(server.sync.streamCount()).toBe(1);
    } finally {
      stream.close();
    }
    await waitFor(() => server.sync.streamCount() === 0, { what: 'stream cleanup' });
  });

  it('conformance with the real RxDB client (multiplexed): a support replica pulls customers and rentals, then gets a block live without a pull', async () => {
    const client = await startSyncClient({
      baseUrl: () => server.httpUrl,
      headers: () => staffHeaders(server, 'support', 'rx-support'),
      role: 'support',
      collections: ['customers', 'rentals', 'notes'],
      multiplexed: true,
    });
    try {
      await client.awaitInSync();
      expect((await client.collection('customers').findOne(customerId).exec())?.name).toBe('Greta Lindqvist');
      expect((await client.collection('rentals').findOne('rt-open').exec())?.status).toBe('active');
      await eventually(() => client.calls.streamOpen >= 1, 'stream open');
      await client.awaitInSync();
      const pulls = client.calls.pull;
      expect((await http(server, 'POST', `/ops/v1/customers/${customerId}/block`, { reason: 'live via the stream' })).status).toBe(200);
      await eventually(
        async () => (await client.collection('customers').findOne(customerId).exec())?.status === 'blocked',
        'block arrives in the replica',
      );
      expect(client.calls.pull).toBe(pulls);
      expect(client.calls.streamOpen).toBe(1);
      expect(client.errors).toEqual([]);
      await http(server, 'POST', `/ops/v1/customers/${customerId}/unblock`, { reason: 'done' });
    } finally {
      await client.stop();
    }
  });

  it('the multiplexed stream starts after given checkpoints, and refuses bad asks', async () => {
    const tasks = await pullAll<{ id: string }>(server, 'tasks', 'dispatcher');
    const zones = await pullAll<{ id: string }>(server, 'zones', 'dispatcher');
    expect((await http(server, 'POST', '/ops/v1/tasks', { id: 'mux-after', vehicleId: v2, kind: 'cleaning' }, 'dispatcher')).status).toBe(
      201,
    );
    const headers = await staffHeaders(server, 'dispatcher', 'dispatcher-1');
    const stream = await openStream(
      `${server.httpUrl}/sync/v1/stream?collections=zones,tasks&checkpoints=${zones.checkpoint},${tasks.checkpoint}`,
      headers,
    );
    try {
      const e = await stream.nextEvent<PullResponse<{ id: string }>>();
      expect(e).toMatchObject({ event: 'tasks', data: { documents: [{ id: 'mux-after' }] } });
    } finally {
      stream.close();
    }
    const status = async (query: string) => (await fetch(`${server.httpUrl}/sync/v1/stream?${query}`, { headers })).status;
    expect(await status('collections=tasks,rockets')).toBe(404);
    expect(await status('collections=tasks,tasks')).toBe(400);
    expect(await status('collections=tasks,zones&checkpoints=1')).toBe(400);
    expect(await status('collections=tasks&checkpoints=-5')).toBe(400);
    expect(await status('collections=tasks,customers')).toBe(403); // a dispatcher
    expect((await fetch(`${server.httpUrl}/sync/v1/stream?collections=tasks`)).status).toBe(401);
  });

  it('support requests: a dispatcher may not ask for money or blocks; support may (the server checks the payload)', async () => {
    const base = {
      updatedAt: 0,
      createdBy: 'x',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending' as const,
      result: null,
    };
    const refund: RequestDoc = {
      ...base,
      id: 'req-refund-d',
      kind: 'refund',
      payload: { rentalId: 'rt-done', amountCents: 500, currency: 'EUR', reason: 'dirty car' },
    };
    const byDispatcher = await http<RequestDoc[]>(server, 'POST', '/sync/v1/requests/push', [{ newDocumentState: refund }], 'dispatcher');
    expect(byDispatcher.body[0]).toMatchObject({ id: 'req-refund-d', _deleted: true, syncRejection: { code: 'forbidden_role' } });
    expect((await server.db.query(`select 1 from sync_requests where id = 'req-refund-d'`)).rows).toEqual([]);
    const bad: RequestDoc = { ...base, id: 'req-block-bad', kind: 'block_customer', payload: { customerId, reason: '' } };
    expect((await http(server, 'POST', '/sync/v1/requests/push', [{ newDocumentState: bad }], 'support')).body).toEqual([]);
    // requests are judged after the push is answered: wait for the verdict instead of racing it
    const verdict = async () => (await pullAll<RequestDoc>(server, 'requests', 'support')).docs.get('req-block-bad');
    await waitFor(async () => ((await verdict())?.status === 'pending' ? undefined : true), { what: 'bad block request judged' });
    expect(await verdict()).toMatchObject({ status: 'rejected', result: { code: 'invalid_payload' }, createdBy: 'support-1' });
  });

  it('support requests through the real staff routes: a block is done as its creator (audited), a refund of a rental without payment refused with the route’s reason', async () => {
    const target = (await signUpCustomer(server, { name: 'Blocked Via Request' })).customerId;
    const base = {
      updatedAt: 0,
      createdBy: 'x',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending' as const,
      result: null,
    };
    const block: RequestDoc = {
      ...base,
      id: 'req-block-real',
      kind: 'block_customer',
      payload: { customerId: target, reason: 'card testing' },
    };
    const refund: RequestDoc = {
      ...base,
      id: 'req-refund-real',
      kind: 'refund',
      payload: { rentalId: 'rt-done', amountCents: 100, currency: 'EUR', reason: 'goodwill' },
    };
    expect(
      (
        await http(
          server,
          'POST',
          '/sync/v1/requests/push',
          [{ newDocumentState: block }, { newDocumentState: refund }],
          'support',
          'sue-real',
        )
      ).body,
    ).toEqual([]);
    const outcome = async (id: string) => (await pullAll<RequestDoc>(server, 'requests', 'support')).docs.get(id);
    await waitFor(async () => ((await outcome('req-block-real'))?.status === 'done' ? true : undefined), { what: 'block request done' });
    expect(await outcome('req-block-real')).toMatchObject({ status: 'done', result: { status: 'blocked' } });
    expect((await pullAll<CustomerDoc>(server, 'customers', 'support')).docs.get(target)).toMatchObject({
      status: 'blocked',
      blockedReason: 'card testing',
    });
    const audited = await server.db.query<{ actor: string; role: string }>(
      `select actor, role from audit_log where action = 'customer.blocked' and target_id = $1`,
      [target],
    );
    expect(audited.rows).toEqual([{ actor: 'sue-real', role: 'support' }]);
    await waitFor(async () => ((await outcome('req-refund-real'))?.status === 'rejected' ? true : undefined), {
      what: 'refund request refused',
    });
    expect((await outcome('req-refund-real'))!.result).toMatchObject({ code: expect.stringMatching(/not_found|not_captured/) });
  });

  it('booking requests through the real staff routes: extend and cancel done as their creator (audited with the reason), an extend into the next booking refused with the domain’s code', async () => {
    // v3's only other claim is the ended rt-done (2030): two bookings of one car, back to back, and one on v1
    await allocation({
      id: 'bk-ext',
      kind: 'booking',
      vehicle_id: v3,
      customer_id: customerId,
      status: 'confirmed',
      period: '[2032-02-01 09:45:00+00,2032-02-01 12:00:00+00)',
      starts_at: '2032-02-01T10:00:00Z',
      ends_at: '2032-02-01T12:00:00Z',
    });
    await allocation({
      id: 'bk-next',
      kind: 'booking',
      vehicle_id: v3,
      customer_id: customerId,
      status: 'confirmed',
      period: '[2032-02-01 13:45:00+00,2032-02-01 16:00:00+00)',
      starts_at: '2032-02-01T14:00:00Z',
      ends_at: '2032-02-01T16:00:00Z',
    });
    const base = {
      updatedAt: 0,
      createdBy: 'x',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending' as const,
      result: null,
    };
    const request = (id: string, kind: 'extend_booking' | 'cancel_booking', payload: Record<string, unknown>): RequestDoc => ({
      ...base,
      id,
      kind,
      payload,
    });
    const push = async (doc: RequestDoc, role: Role = 'support') =>
      (
        await http<RequestDoc[]>(
          server,
          'POST',
          '/sync/v1/requests/push',
          [{ newDocumentState: doc }],
          role,
          role === 'support' ? 'sue-bk' : `${role}-1`,
        )
      ).body;
    const verdict = (id: string) =>
      waitFor(
        async () => {
          const doc = (await pullAll<RequestDoc>(server, 'requests', 'support')).docs.get(id);
          return doc && doc.status !== 'pending' ? doc : undefined;
        },
        { what: `request ${id} judged` },
      );
    const booking = async (id: string) =>
      (
        await server.db.query<{
          status: string;
          ends_ms: number;
          upper_ms: number;
          cancel_reason: string | null;
          cancelled_by: string | null;
        }>(
          `select status, (extract(epoch from ends_at) * 1000)::float8 as ends_ms, (extract(epoch from upper(period)) * 1000)::float8 as upper_ms, cancel_reason, cancelled_by from allocations where id = $1`,
          [id],
        )
      ).rows[0]!;
    const audits = async (action: string, id: string) =>
      (
        await server.db.query<{ actor: string; role: string; reason: string | null }>(
          `select actor, role, reason from audit_log where action = $1 and target_id = $2 order by id`,
          [action, id],
        )
      ).rows;

    // extend: the end given with another zone (14:30+01:00 = 13:30Z), done, the booking's window and period follow
    const extend = request('req-bk-extend', 'extend_booking', {
      bookingId: 'bk-ext',
      endsAt: '2032-02-01T14:30:00+01:00',
      reason: 'customer stuck in traffic',
    });
    expect(await push(extend)).toEqual([]);
    expect(await verdict('req-bk-extend')).toMatchObject({
      status: 'done',
      createdBy: 'sue-bk',
      result: { bookingId: 'bk-ext', status: 'confirmed', endsAt: '2032-02-01T13:30:00.000Z' },
    });
    expect(await booking('bk-ext')).toMatchObject({
      status: 'confirmed',
      ends_ms: ms('2032-02-01T13:30:00Z'),
      upper_ms: ms('2032-02-01T13:30:00Z'),
    });
    expect(await audits('booking.extended', 'bk-ext')).toEqual([{ actor: 'sue-bk', role: 'support', reason: 'customer stuck in traffic' }]);
    expect((await pullAll<RentalDoc>(server, 'rentals', 'support')).docs.get('bk-ext')).toMatchObject({
      endsAt: ms('2032-02-01T13:30:00Z'),
    });

    // into the car's next booking: refused with the domain's code and message, nothing changed
    expect(
      await push(
        request('req-bk-overlap', 'extend_booking', { bookingId: 'bk-ext', endsAt: '2032-02-01T15:00:00Z', reason: 'wants it longer' }),
      ),
    ).toEqual([]);
    const overlap = await verdict('req-bk-overlap');
    expect(overlap).toMatchObject({ status: 'rejected', result: { code: 'vehicle_unavailable' } });
    expect(String(overlap.result!.message)).toMatch(/taken/);
    expect((await booking('bk-ext')).ends_ms).toBe(ms('2032-02-01T13:30:00Z'));
    expect(await audits('booking.extended', 'bk-ext')).toHaveLength(1);

    // cancel: done, cancelled by its creator with the reason
    const cancel = request('req-bk-cancel', 'cancel_booking', { bookingId: 'bk-next', reason: 'customer called: plans changed' });
    expect(await push(cancel)).toEqual([]);
    expect(await verdict('req-bk-cancel')).toMatchObject({ status: 'done', result: { bookingId: 'bk-next', status: 'cancelled' } });
    expect(await booking('bk-next')).toMatchObject({
      status: 'cancelled',
      cancel_reason: 'customer called: plans changed',
      cancelled_by: 'sue-bk',
    });
    expect(await audits('booking.cancelled', 'bk-next')).toEqual([
      { actor: 'sue-bk', role: 'support', reason: 'customer called: plans changed' },
    ]);
    // a cancelled booking is no longer extendable (the domain says why)
    expect(
      await push(request('req-bk-late', 'extend_booking', { bookingId: 'bk-next', endsAt: '2032-02-01T17:00:00Z', reason: 'too late' })),
    ).toEqual([]);
    expect(await verdict('req-bk-late')).toMatchObject({
      status: 'rejected',
      result: { code: 'booking_not_extendable', message: expect.stringContaining('cancelled') },
    });

    // a crash between the use case's commit and recording the outcome leaves them pending: run again, they are
    // done (the booking already is as asked), and nothing is done twice
    await server.db.query(`update sync_requests set status = 'pending', result = null where id in ('req-bk-extend', 'req-bk-cancel')`);
    expect(await push(extend)).toEqual([]);
    expect(await push(cancel)).toEqual([]);
    expect(await verdict('req-bk-extend')).toMatchObject({
      status: 'done',
      result: { bookingId: 'bk-ext', endsAt: '2032-02-01T13:30:00.000Z' },
    });
    expect(await verdict('req-bk-cancel')).toMatchObject({ status: 'done', result: { bookingId: 'bk-next', status: 'cancelled' } });
    expect(await audits('booking.extended', 'bk-ext')).toHaveLength(1);
    expect(await audits('booking.cancelled', 'bk-next')).toHaveLength(1);

    // bad payloads: rejected invalid_payload with what is wrong, the booking untouched
    const bad: Array<[string, RequestDoc, RegExp]> = [
      [
        'req-bk-nozone',
        request('req-bk-nozone', 'extend_booking', { bookingId: 'bk-ext', endsAt: '2032-02-01 13:45', reason: 'r' }),
        /endsAt must be an ISO-8601 date-time with a time zone/,
      ],
      [
        'req-bk-notadate',
        request('req-bk-notadate', 'extend_booking', { bookingId: 'bk-ext', endsAt: 1_970_000_000_000, reason: 'r' }),
        /endsAt must be an ISO-8601/,
      ],
      [
        'req-bk-noreason',
        request('req-bk-noreason', 'extend_booking', { bookingId: 'bk-ext', endsAt: '2032-02-01T13:40:00Z', reason: '   ' }),
        /reason must be 1–500 characters/,
      ],
      [
        'req-bk-badid',
        request('req-bk-badid', 'cancel_booking', { bookingId: 'bk ext; drop', reason: 'r' }),
        /bookingId must be a booking id/,
      ],
      ['req-bk-noid', request('req-bk-noid', 'cancel_booking', { reason: 'r' }), /bookingId must be a booking id/],
    ];
    for (const [id, doc, message] of bad) {
      expect(await push(doc)).toEqual([]);
      expect(await verdict(id), id).toMatchObject({
        status: 'rejected',
        result: { code: 'invalid_payload', message: expect.stringMatching(message) },
      });
    }
    expect(await booking('bk-ext')).toMatchObject({ status: 'confirmed', ends_ms: ms('2032-02-01T13:30:00Z') });

    // a dispatcher may do neither: refused at the push, nothing stored
    await allocation({
      id: 'bk-disp',
      kind: 'booking',
      vehicle_id: v1,
      customer_id: customerId,
      status: 'confirmed',
      period: '[2032-03-01 09:45:00+00,2032-03-01 12:00:00+00)',
      starts_at: '2032-03-01T10:00:00Z',
      ends_at: '2032-03-01T12:00:00Z',
    });
    for (const doc of [
      request('req-bk-disp-extend', 'extend_booking', { bookingId: 'bk-disp', endsAt: '2032-03-01T13:00:00Z', reason: 'dispatcher tries' }),
      request('req-bk-disp-cancel', 'cancel_booking', { bookingId: 'bk-disp', reason: 'dispatcher tries' }),
    ]) {
      expect((await push(doc, 'dispatcher'))[0]).toMatchObject({
        id: doc.id,
        _deleted: true,
        syncRejection: { code: 'forbidden_role', message: expect.stringContaining(doc.kind) },
      });
    }
    expect((await server.db.query(`select 1 from sync_requests where id like 'req-bk-disp-%'`)).rows).toEqual([]);
    expect(await booking('bk-disp')).toMatchObject({ status: 'confirmed', ends_ms: ms('2032-03-01T12:00:00Z') });
  });

  it('support requests run once through their port (request id = idempotency key), as their creator; refused, expired, retried', async () => {
    const calls: Array<{ kind: string; key: string; actor: string }> = [];
    let failNext = 0;
    const ports: SupportPorts = {
      refund: async (i) => {
        calls.push({ kind: 'refund', key: i.idempotencyKey, actor: `${i.actor.id}/${i.actor.role}` });
        if (failNext > 0) {
          failNext -= 1;
          throw new AppError('payment_provider_unavailable', 'the payment provider does not answer', { status: 503 });
        }
        if (i.amountCents > 1218)
          throw new AppError('refund_exceeds_captured', 'At most 1218 EUR cents can still be refunded', { status: 409 });
        return { refundId: `rf-${i.idempotencyKey}`, status: 'pending', amountCents: i.amountCents };
      },
      setCustomerBlocked: async (i) => {
        calls.push({ kind: i.blocked ? 'block' : 'unblock', key: i.idempotencyKey, actor: i.actor.id });
        return { status: i.blocked ? 'blocked' : 'active' };
      },
    };
    const log = createLogger({ level: 'silent' });
    const commands = { issueCommand: async () => ({ command: { commandId: 'never' } }), getCommand: async () => ({ commandId: 'never' }) };
    // the creator's account as it is at each run (the staff component in app.ts)
    const accounts = new Map<string, { role: 'dispatcher' | 'support' | 'admin'; active: boolean }>([
      ['sue', { role: 'support', active: true }],
    ]);
    const exec = new RequestExecutor(
      server.db,
      commands,
      () => ports,
      recordAudit,
      log,
      async (id) => accounts.get(id),
    );
    const sue = { id: 'sue', role: 'support' as const };
    const req = (id: string, kind: RequestDoc['kind'], payload: Record<string, unknown>, expiresAt = Date.now() + 60_000) => ({
      id,
      kind,
      payload,
      expiresAt,
    });
    const status = async (id: string) =>
      (
        await server.db.query<{ status: string; result: Record<string, unknown> | null }>(
          'select status, result from sync_requests where id = $1',
          [id],
        )
      ).rows[0];

    // done once, however often it is submitted or run again
    await exec.submit(req('rq-refund-1', 'refund', { rentalId: 'rt-done', amountCents: 500, currency: 'EUR', reason: 'dirty car' }), sue);
    await exec.submit(req('rq-refund-1', 'refund', { rentalId: 'rt-done', amountCents: 500, currency: 'EUR', reason: 'dirty car' }), sue);
    await exec.executePending();
    expect(calls).toEqual([{ kind: 'refund', key: 'rq-refund-1', actor: 'sue/support' }]);
    expect(await status('rq-refund-1')).toMatchObject({ status: 'done', result: { refundId: 'rf-rq-refund-1', amountCents: 500 } });

    // the domain refuses: rejected with its code, shown on the desktop
    await exec.submit(req('rq-refund-2', 'refund', { rentalId: 'rt-done', amountCents: 99_999, currency: 'EUR', reason: 'goodwill' }), sue);
    expect(await status('rq-refund-2')).toMatchObject({ status: 'rejected', result: { code: 'refund_exceeds_captured' } });

    // the provider is down: stays pending with the reason, retried as its creator with the same key, then done
    calls.length = 0;
    failNext = 1;
    await exec.submit(req('rq-refund-3', 'refund', { rentalId: 'rt-done', amountCents: 100, currency: 'EUR', reason: 'late unlock' }), sue);
    expect(await status('rq-refund-3')).toMatchObject({
      status: 'pending',
      result: { lastError: { code: 'payment_provider_unavailable' } },
    });
    await exec.executePending();
    expect(calls).toEqual([
      { kind: 'refund', key: 'rq-refund-3', actor: 'sue/support' },
      { kind: 'refund', key: 'rq-refund-3', actor: 'sue/support' },
    ]);
    expect(await status('rq-refund-3')).toMatchObject({ status: 'done' });

    // never after its expiry; a missing port is refused, not left pending
    calls.length = 0;
    await exec.submit(req('rq-late', 'block_customer', { customerId, reason: 'too late' }, Date.now() - 1), sue);
    expect(await status('rq-late')).toMatchObject({ status: 'expired' });
    await exec.submit(req('rq-end', 'end_rental', { rentalId: 'rt-open', reason: 'car abandoned' }), sue);
    expect(await status('rq-end')).toMatchObject({ status: 'rejected', result: { code: 'unsupported' } });
    await exec.submit(req('rq-block', 'block_customer', { customerId, reason: 'abuse' }), sue);
    expect(await status('rq-block')).toMatchObject({ status: 'done', result: { status: 'blocked' } });
    expect(calls).toEqual([{ kind: 'block', key: 'rq-block', actor: 'sue' }]);
    // every step audited with the creator
    const audit = await server.db.query<{ action: string }>(
      `select action from audit_log where target_type = 'request' and target_id = 'rq-refund-3' and actor = 'sue' order by id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['request.created', 'request.done']);

    // written while sue was support, run after she became a dispatcher: refused, nothing done
    calls.length = 0;
    failNext = 1;
    await exec.submit(req('rq-moved', 'refund', { rentalId: 'rt-done', amountCents: 100, currency: 'EUR', reason: 'late unlock' }), sue);
    expect(await status('rq-moved')).toMatchObject({ status: 'pending' });
    accounts.set('sue', { role: 'dispatcher', active: true });
    await exec.executePending();
    expect(await status('rq-moved')).toMatchObject({ status: 'rejected', result: { code: 'creator_lost_role' } });
    // and after she was deactivated (whatever her role)
    accounts.set('sue', { role: 'support', active: true });
    failNext = 1;
    await exec.submit(req('rq-gone', 'refund', { rentalId: 'rt-done', amountCents: 100, currency: 'EUR', reason: 'late unlock' }), sue);
    accounts.set('sue', { role: 'support', active: false });
    await exec.executePending();
    expect(await status('rq-gone')).toMatchObject({ status: 'rejected', result: { code: 'creator_inactive' } });
    // an account that no longer exists is refused the same way; only the first attempts of each reached the port
    accounts.delete('sue');
    await exec.submit(req('rq-nobody', 'block_customer', { customerId, reason: 'abuse' }), sue);
    expect(await status('rq-nobody')).toMatchObject({ status: 'rejected', result: { code: 'creator_inactive' } });
    expect(calls.map((c) => c.key)).toEqual(['rq-moved', 'rq-gone']);

    // expiresAt is capped: more than 8 h ahead is refused before anything is stored
    accounts.set('sue', { role: 'support', active: true });
    await expect(
      exec.submit(req('rq-far', 'block_customer', { customerId, reason: 'abuse' }, Date.now() + 8 * 3_600_000 + 6 * 60_000), sue),
    ).rejects.toMatchObject({ code: 'expires_too_late', status: 422 });
    expect(await status('rq-far')).toBeUndefined();
  });
});
