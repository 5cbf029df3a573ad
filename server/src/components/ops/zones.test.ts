/**
 * Zones through the staff API against real servers (PGlite; on PostgreSQL TWO instances on one database, the
 * zones written through one and followed by the other): roles, bad outlines answered with a problem and nothing
 * written, the audit entry in the same transaction as the change (an audit insert made to fail leaves no zone and
 * no version), versions kept, and every reader following a change within seconds — the rental end check (a
 * no-parking zone blocks ending there), the zone-exit alert, GBFS geofencing_zones and the desks' sync `zones`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneDoc } from '../../../../src/shared/sync-protocol.js';
import type { ZoneVersionView, ZoneView } from '../../../../src/shared/zones.js';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem, QUIET } from '../../testing/bookings.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { SimulatedCar } from '../../testing/simulated-car.js';
import { serverDocs } from '../../testing/staff-api.js';
import { insertActiveRental, whileAuditFails } from '../../testing/writes.js';

/** A square of `halfDeg` around a point, closed, [lon, lat]. */
const square = (lat: number, lon: number, halfDeg: number): Array<[number, number]> => [
  [lon - halfDeg, lat - halfDeg],
  [lon + halfDeg, lat - halfDeg],
  [lon + halfDeg, lat + halfDeg],
  [lon - halfDeg, lat + halfDeg],
  [lon - halfDeg, lat - halfDeg],
];
// a car park inside the operating zone, and a spot north of it (outside berlin-inner, whose north edge is 52.545)
const PARK = { lat: 52.52, lon: 13.4 };
const NORTH = { lat: 52.56, lon: 13.4 };

interface GeofencingFile {
  data: {
    geofencing_zones: { features: Array<{ properties: { name: Array<{ text: string }>; rules: Array<{ ride_end_allowed: boolean }> } }> };
  };
}

describe.each(dbBackends())('zones on $name', (backend) => {
  let server: ServerHandle;
  /** where zones are written: a second instance on PostgreSQL, the same one on PGlite */
  let writer: ServerHandle;
  let cleanup: () => Promise<void>;
  let car: SimulatedCar;
  let admin: Record<string, string>;
  let dispatcher: Record<string, string>;
  let support: Record<string, string>;
  let renter: SignedUpCustomer;
  let rentalId: string;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, ...QUIET, seedVehicles: 0, rentalLockTimeoutMs: 5_000 });
    writer = backend.name === 'postgres' ? await startServer({ ...created.overrides, ...QUIET, seedVehicles: 0 }) : server;
    const [vehicle] = uniqueTestVehicles(1);
    await server.registerVehicles([vehicle!]);
    car = await SimulatedCar.connect(server.mqttUrl, vehicle!.id);
    admin = await staffHeaders(writer, 'admin');
    dispatcher = await staffHeaders(writer, 'dispatcher');
    support = await staffHeaders(server, 'support');
    await car.report({ ...PARK });
    await car.settled(server, support);
    renter = await signUpCustomer(server);
    rentalId = await insertActiveRental(server.db, car.vehicleId, renter.customerId);
  }, 90_000);

  afterAll(async () => {
    await car?.close();
    if (writer && writer !== server) await writer.stop();
    await server?.stop();
    await cleanup?.();
  });

  const createZone = (body: Record<string, unknown>, headers = admin) => call<ZoneView>(writer, 'POST', '/ops/v1/zones', { headers, body });
  const versionCount = async () =>
    Number((await server.db.query<{ n: number }>('select count(*)::int as n from zone_versions')).rows[0]!.n);
  /** geofencing_zones.json's zones by name */
  const geofencing = async () => {
    const res = await fetch(`${server.httpUrl}/gbfs/v3/geofencing_zones.json`);
    const features = ((await res.json()) as GeofencingFile).data.geofencing_zones.features;
    return new Map(features.map((f) => [f.properties.name[0]!.text, f.properties.rules]));
  };
  const tryEnd = () =>
    call<{ code: string; blockers?: Array<{ code: string }> }>(server, 'POST', `/v1/rentals/${rentalId}/end`, {
      headers: { ...renter.headers, 'idempotency-key': randomUUID() },
    });

  it('lists zones to every staff role; only admins create them', async () => {
    const list = await call<{ zones: ZoneView[] }>(writer, 'GET', '/ops/v1/zones', { headers: dispatcher });
    expect(list.status).toBe(200);
    expect(list.body.zones.map((z) => [z.id, z.kind, z.version])).toEqual([['berlin-inner', 'operating', 1]]);
    expect((await call(writer, 'GET', '/ops/v1/zones')).status).toBe(401);
    const body = { name: 'Depot', kind: 'service', polygon: square(52.5, 13.38, 0.001) };
    expectProblem(await createZone(body, dispatcher), 403);
    expectProblem(await createZone(body, await staffHeaders(writer, 'support')), 403);
    const created = await createZone(body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'Depot', kind: 'service', version: 1 });
  });

  it('refuses bad outlines with a problem naming what is wrong, and writes nothing', async () => {
    const before = await versionCount();
    const bowtie = [
      [13.38, 52.5],
      [13.39, 52.51],
      [13.39, 52.5],
      [13.38, 52.51],
      [13.38, 52.5],
    ];
    const cases: Array<[unknown, string]> = [
      [bowtie, 'zone_self_intersecting'],
      [square(52.5, 13.38, 0.001).slice(0, -1), 'zone_ring_open'],
      [square(50, 10, 5), 'zone_too_large'],
      [square(52.5, 13.38, 0.00001), 'zone_too_small'],
      [
        [
          [13.38, 52.5],
          [13.39, 52.5],
          [13.38, 52.5],
        ],
        'zone_too_few_points',
      ],
      [square(89, 13.38, 0.001), 'zone_coordinates_out_of_range'],
      [[[13.38, 'x']], 'zone_polygon_malformed'],
    ];
    for (const [polygon, code] of cases) expectProblem(await createZone({ name: 'Bad', kind: 'no_parking', polygon }), 422, code);
    expectProblem(await createZone({ name: 'Bad', kind: 'parking_lot', polygon: square(52.5, 13.38, 0.001) }), 400, 'validation');
    expectProblem(await createZone({ name: '   ', kind: 'service', polygon: square(52.5, 13.38, 0.001) }), 400, 'zone_name_invalid');
    expect(await versionCount()).toBe(before);
  });

  it('writes a change and its audit entry in one transaction: a failing audit insert leaves no zone and no version', async () => {
    const before = await versionCount();
    await whileAuditFails(writer.db, 'zone.created', async () => {
      expectProblem(await createZone({ id: 'never-written', name: 'Lost', kind: 'service', polygon: square(52.5, 13.38, 0.001) }), 500);
    });
    expect(await versionCount()).toBe(before);
    expect((await server.db.query(`select 1 from zones where id = 'never-written'`)).rows).toHaveLength(0);
  });

  it('a no-parking zone drawn on one instance is followed at once by the end check, GBFS and sync; edits are versioned; retiring undoes it', async () => {
    const created = await createZone({
      id: 'forecourt',
      name: 'Station forecourt',
      kind: 'no_parking',
      polygon: square(PARK.lat, PARK.lon, 0.002),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const refused = await tryEnd();
    expectProblem(refused, 409, 'rental_end_blocked');
    // parked, locked up and inside the operating zone: the new zone is the only reason
    expect(refused.body.blockers?.map((b) => b.code)).toEqual(['in_no_parking_zone']);
    const rules = await waitFor(async () => (await geofencing()).get('Station forecourt'), {
      timeoutMs: 10_000,
      what: 'the no-parking zone in geofencing_zones.json',
    });
    expect(rules[0]!.ride_end_allowed).toBe(false);
    const synced = await serverDocs<ZoneDoc>(server, 'zones');
    expect(synced.get('forecourt')).toMatchObject({ kind: 'no_parking', name: 'Station forecourt' });

    // an edit made on a stale version is refused; a current one is version 2, and the history keeps version 1
    const moved = square(PARK.lat + 0.01, PARK.lon, 0.002);
    expectProblem(
      await call(writer, 'PATCH', '/ops/v1/zones/forecourt', { headers: admin, body: { polygon: moved, expectedVersion: 7 } }),
      409,
      'zone_changed',
    );
    const edited = await call<ZoneView>(writer, 'PATCH', '/ops/v1/zones/forecourt', {
      headers: admin,
      body: { polygon: moved, expectedVersion: 1, reason: 'moved to the new forecourt' },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.version).toBe(2);
    await waitFor(async () => (await serverDocs<ZoneDoc>(server, 'zones')).get('forecourt')?.polygon[0]?.[1] === moved[0]![1], {
      timeoutMs: 10_000,
      what: 'the moved zone in the sync pull',
    });
    // the car is no longer inside it: the rental ends at once
    const ended = await tryEnd();
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);

    const retired = await call<ZoneVersionView>(writer, 'POST', '/ops/v1/zones/forecourt/retire', {
      headers: admin,
      body: { reason: 'forecourt reopened for parking' },
    });
    expect(retired.status, JSON.stringify(retired.body)).toBe(200);
    expect(retired.body).toMatchObject({ version: 3, retired: true });
    await waitFor(async () => !(await geofencing()).has('Station forecourt'), {
      timeoutMs: 10_000,
      what: 'the retired zone gone from geofencing_zones.json',
    });
    expect((await serverDocs<ZoneDoc>(server, 'zones')).has('forecourt')).toBe(false);
    const history = await call<{ versions: ZoneVersionView[] }>(writer, 'GET', '/ops/v1/zones/forecourt/versions', { headers: dispatcher });
    expect(history.body.versions.map((v) => [v.version, v.retired, v.changedBy])).toEqual([
      [3, true, 'test-admin'],
      [2, false, 'test-admin'],
      [1, false, 'test-admin'],
    ]);
    const audit = await server.db.query<{ action: string; reason: string | null }>(
      `select action, reason from audit_log where target_type = 'zone' and target_id = 'forecourt' order by id`,
    );
    expect(audit.rows).toEqual([
      { action: 'zone.created', reason: null },
      { action: 'zone.updated', reason: 'moved to the new forecourt' },
      { action: 'zone.retired', reason: 'forecourt reopened for parking' },
    ]);
    expectProblem(
      await createZone({ id: 'forecourt', name: 'Again', kind: 'service', polygon: square(52.5, 13.38, 0.001) }),
      409,
      'zone_exists',
    );
  }, 60_000);

  it('the zone-exit alert follows a new operating zone drawn on another instance', async () => {
    const openExit = async () => {
      await server.flushAlerts();
      const res = await call<{ alerts: Array<{ id: string }> }>(
        server,
        'GET',
        `/ops/v1/alerts?vehicleId=${car.vehicleId}&kind=zone_exit&status=open`,
        {
          headers: support,
        },
      );
      return res.body.alerts.length > 0;
    };
    // north of the operating zone: zone_exit is raised
    await waitFor(
      async () => {
        await car.report({ ...NORTH });
        return openExit();
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the zone_exit alert north of the zone' },
    );
    const extension = await createZone({ name: 'North extension', kind: 'operating', polygon: square(NORTH.lat, NORTH.lon, 0.01) });
    expect(extension.status, JSON.stringify(extension.body)).toBe(201);
    await waitFor(
      async () => {
        await car.report({ ...NORTH });
        return !(await openExit());
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'zone_exit resolved inside the new operating zone' },
    );
  }, 60_000);
});
