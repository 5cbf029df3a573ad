/**
 * The registry's administration through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set):
 * roles on every route, bad input answered as a problem naming each bad row, all-or-nothing imports audited in
 * the same transaction, racing imports of one plate, and a registered car reaching the desks' replica, the
 * availability index and GBFS once its device reports (through the device protocol, with credentials provisioned
 * through the staff API) — and leaving them when retired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, statusPayload } from '../../../../src/shared/device-protocol.js';
import type { VehicleDoc } from '../../../../src/shared/sync-protocol.js';
import type { RegisteredVehicle, RowError } from '../../../../src/shared/vehicle-registry.js';
import { DEFAULT_SERVICE_AREA } from '../../../../src/shared/service-area.js';
import { startServer, type ServerHandle } from '../../app.js';
import { recordAudit } from '../audit/index.js';
import { staffHeaders, type TestStaffRole } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { telemetry } from '../../testing/devices.js';
import { connectAs } from '../../testing/mqtt-clients.js';
import { serverDocs } from '../../testing/staff-api.js';
import { testFleetCsv } from '../../testing/vehicle-csv.js';
import { createVehicleAdmin } from './domain/vehicle-admin.js';

interface Answer<T> {
  status: number;
  type: string | null;
  body: T;
}
type Problem = { code: string; detail?: string; errors?: RowError[] };

/** A staff call as `role` (undefined: anonymous); `csv` sends the body as text/csv. */
async function call<T>(
  server: ServerHandle,
  role: TestStaffRole | undefined,
  method: string,
  path: string,
  body?: unknown,
  { csv = false } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = role ? { ...(await staffHeaders(server, role, `t-${role}`)) } : {};
  if (body !== undefined) headers['content-type'] = csv ? 'text/csv' : 'application/json';
  const res = await fetch(`${server.httpUrl}/ops/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: csv ? String(body) : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: (text ? JSON.parse(text) : null) as T };
}

const count = async (server: ServerHandle, sql: string, params: unknown[] = []) =>
  Number((await server.db.query<{ n: number }>(`select count(*)::float8 as n ${sql}`, params)).rows[0]!.n);

const vehicleCount = (server: ServerHandle) => count(server, 'from vehicles');
const auditCount = (server: ServerHandle, action: string) => count(server, 'from audit_log where action = $1', [action]);

describe.each(dbBackends())('vehicle registry administration on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, port: 0, mqttPort: 0, mqttUrl: undefined, logLevel: 'silent', seedVehicles: 5 });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const good = (tag: string) => ({
    plate: `b-rg ${tag}`,
    vin: `WVWZZZ1JZXW${tag.padStart(6, '0')}`,
    make: 'Volkswagen',
    model: 'Golf',
    energyType: 'fuel',
  });

  it('lets only admins register, change, import and list: dispatcher and support 403, anonymous 401', async () => {
    const routes: Array<[string, string, unknown?, { csv?: boolean }?]> = [
      ['GET', '/vehicle-registry'],
      ['POST', '/vehicles', good('1')],
      ['PATCH', '/vehicles/veh-00001', { model: 'Golf' }],
      ['POST', '/vehicles/import?dryRun=true', testFleetCsv(1).csv, { csv: true }],
    ];
    for (const [method, path, body, opts] of routes) {
      expect((await call(server, undefined, method, path, body, opts)).status, `${method} ${path} anonymous`).toBe(401);
      for (const role of ['dispatcher', 'support'] as const) {
        const res = await call<Problem>(server, role, method, path, body, opts);
        expect(res.status, `${method} ${path} as ${role}`).toBe(403);
        expect(res.type).toMatch(/^application\/problem\+json/);
      }
    }
    const before = await vehicleCount(server);
    expect((await call(server, 'admin', 'GET', '/vehicle-registry')).status).toBe(200);
    expect(await vehicleCount(server)).toBe(before); // the refused POSTs wrote nothing
  });

  it('registers one vehicle (normalised, audited) and refuses bad fields and duplicates with a 422 naming each field', async () => {
    const created = await call<RegisteredVehicle>(server, 'admin', 'POST', '/vehicles', { ...good('2'), homeZone: 'Mitte' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ plate: 'B-RG 2', vin: 'WVWZZZ1JZXW000002', homeZone: 'mitte', retiredAt: null });
    expect(await count(server, "from audit_log where action = 'vehicle.registered' and target_id = $1", [created.body.id])).toBe(1);

    const bad = await call<Problem>(server, 'admin', 'POST', '/vehicles', {
      plate: '  ',
      vin: 'WVWZZZ1JZXW00000Q',
      make: 'VW',
      model: 'Golf',
      energyType: 'diesel',
      homeZone: 'atlantis',
    });
    expect(bad.status).toBe(422);
    expect(bad.type).toMatch(/^application\/problem\+json/);
    expect(bad.body.code).toBe('invalid_vehicles');
    expect(bad.body.errors!.map((e) => e.field)).toEqual(['plate', 'vin', 'energyType', 'homeZone']);

    const dup = await call<Problem>(server, 'admin', 'POST', '/vehicles', { ...good('3'), plate: 'B-RG  2' });
    expect(dup.status).toBe(422);
    expect(dup.body.errors).toEqual([{ line: 1, field: 'plate', message: 'plate B-RG 2 is already registered' }]);
    expect((await call<Problem>(server, 'admin', 'POST', '/vehicles', { plate: 'X' })).status).toBe(400);
  });

  it('imports 500 vehicles all or nothing: one bad row → 422 naming its line, nothing written; the fixed file → all 500, audited', async () => {
    const bad = testFleetCsv(500, { badLine: 377 });
    const [vehiclesBefore, auditBefore] = [await vehicleCount(server), await auditCount(server, 'vehicle.registered')];
    const refused = await call<Problem>(server, 'admin', 'POST', '/vehicles/import', bad.csv, { csv: true });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ line: 377, field: 'vin', message: 'VIN may not contain the letters I, O or Q' }]);
    expect(refused.body.detail).toBe('line 377: VIN may not contain the letters I, O or Q');
    expect(await vehicleCount(server)).toBe(vehiclesBefore);
    expect(await auditCount(server, 'vehicle.registered')).toBe(auditBefore);

    const fixed = testFleetCsv(500);
    const dry = await call<{ dryRun: boolean; count: number }>(server, 'admin', 'POST', '/vehicles/import?dryRun=true', fixed.csv, {
      csv: true,
    });
    expect(dry).toMatchObject({ status: 200, body: { dryRun: true, count: 500 } });
    expect(await vehicleCount(server)).toBe(vehiclesBefore);

    const imported = await call<{ count: number; vehicles: RegisteredVehicle[] }>(server, 'admin', 'POST', '/vehicles/import', fixed.csv, {
      csv: true,
    });
    expect(imported.status).toBe(201);
    expect(imported.body.count).toBe(500);
    expect(imported.body.vehicles.map((v) => v.plate)).toEqual(fixed.plates);
    expect(await vehicleCount(server)).toBe(vehiclesBefore + 500);
    // one audit entry per vehicle, each naming the import
    expect(await count(server, "from audit_log where action = 'vehicle.registered' and reason = 'CSV import of 500 vehicles'")).toBe(500);

    // the same file again: every row is now a duplicate of the registry
    const again = await call<Problem>(server, 'admin', 'POST', '/vehicles/import?dryRun=true', fixed.csv, { csv: true });
    expect(again.status).toBe(422);
    expect(again.body.errors).toHaveLength(1000);
    expect(again.body.errors![0]).toEqual({ line: 2, field: 'plate', message: `plate ${fixed.plates[0]} is already registered` });
  });

  it('refuses files that are empty, have unknown or missing columns, are not CSV, too large, or not text/csv', async () => {
    const post = (csv: string) => call<Problem>(server, 'admin', 'POST', '/vehicles/import', csv, { csv: true });
    expect((await post('')).body.errors).toEqual([{ line: 1, field: 'file', message: 'the file is empty' }]);
    expect((await post('plate,vin,make,colour\nA,B,C,D\n')).body.errors!.map((e) => e.field)).toEqual(['colour', 'model', 'energyType']);
    expect((await post('plate,vin,make,model,energyType\n"B-A 1,x')).status).toBe(422);
    expect((await post(`plate,vin,make,model,energyType\n${'x'.repeat(1_100_000)}\n`)).status).toBe(413);
    expect((await call<Problem>(server, 'admin', 'POST', '/vehicles/import', { csv: 'plate' })).status).toBe(415);
  });

  it('lets only one of two racing imports of the same plate succeed (the unique constraints are the last line)', async () => {
    const file = testFleetCsv(50);
    const before = await vehicleCount(server);
    const results = await Promise.all(
      [1, 2].map(() => call<Problem>(server, 'admin', 'POST', '/vehicles/import', file.csv, { csv: true })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, results.find((r) => r.status !== 201)!.status]);
    expect([409, 422]).toContain(results.find((r) => r.status !== 201)!.status);
    expect(await vehicleCount(server)).toBe(before + 50);
  });

  it('writes vehicles and their audit entries in one transaction: a failing audit write leaves neither', async () => {
    const failingAudit = async (tx: Parameters<typeof recordAudit>[0], entry: Parameters<typeof recordAudit>[1]) => {
      await recordAudit(tx, entry);
      throw new Error('audit store refused');
    };
    const admin = createVehicleAdmin({ db: server.db, audit: failingAudit, registry: { add: () => undefined, remove: () => undefined } });
    const before = [await vehicleCount(server), await auditCount(server, 'vehicle.registered')];
    await expect(admin.importCsv(testFleetCsv(3).csv, { id: 't-admin', role: 'admin' }, false)).rejects.toThrow('audit store refused');
    expect([await vehicleCount(server), await auditCount(server, 'vehicle.registered')]).toEqual(before);
  });

  it('reaches the replica, the availability index and GBFS once its device reports; retired, it leaves them (its history stays)', async () => {
    const created = await call<RegisteredVehicle>(server, 'admin', 'POST', '/vehicles', {
      ...good('77'),
      model: 'ID.3',
      make: 'Volkswagen',
      energyType: 'electric',
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const doc = (await serverDocs<VehicleDoc>(server, 'vehicles')).get(id);
    expect(doc).toMatchObject({ plate: 'B-RG 77', make: 'Volkswagen', model: 'ID.3', energyType: 'electric' });

    const issued = await call<{ devices: Array<{ username: string; password: string; brokerUrl: string }> }>(
      server,
      'admin',
      'POST',
      '/devices/credentials',
      { vehicleIds: [id] },
    );
    expect(issued.status).toBe(201);
    const device = await connectAs(server.mqttUrl, issued.body.devices[0]!, { clientId: id });
    const { center } = DEFAULT_SERVICE_AREA;
    await device.client.publishAsync(deviceTopic(id, 'status'), statusPayload('online', Date.now()), { qos: 1, retain: true });
    await device.client.publishAsync(
      deviceTopic(id, 'telemetry'),
      JSON.stringify(telemetry(1, { ts: Date.now(), lat: center.lat, lon: center.lon, ignition: false, speedKph: 0, locked: true })),
      { qos: 1 },
    );
    const offered = async () => {
      await server.flushIngestion();
      await server.bookings.refreshAvailability();
      return server.bookings.availableVehicles().some((v) => v.vehicleId === id);
    };
    await expect.poll(offered, { timeout: 10_000 }).toBe(true);
    const typeOf = await server.db.query<{ vehicle_type_id: string }>('select vehicle_type_id from vehicles where id = $1', [id]);
    expect(typeOf.rows[0]!.vehicle_type_id).toBe('volkswagen-id-3-electric');
    const gbfsCount = async () =>
      ((await (await fetch(`${server.httpUrl}/gbfs/v3/vehicle_status.json`)).json()) as { data: { vehicles: unknown[] } }).data.vehicles
        .length;
    // the feed is rebuilt from the index on its own cadence: wait for it, never sleep
    const withCar = server.bookings.availableVehicles().length;
    await expect.poll(gbfsCount, { timeout: 10_000 }).toBe(withCar);

    const noReason = await call<Problem>(server, 'admin', 'PATCH', `/vehicles/${id}`, { retired: true });
    expect(noReason.status).toBe(400);
    const retired = await call<RegisteredVehicle>(server, 'admin', 'PATCH', `/vehicles/${id}`, { retired: true, reason: 'sold' });
    expect(retired.status).toBe(200);
    expect(retired.body.retiredAt).toEqual(expect.any(Number));
    await expect.poll(offered, { timeout: 10_000 }).toBe(false);
    await expect.poll(gbfsCount, { timeout: 10_000 }).toBe(withCar - 1);
    expect((await serverDocs<VehicleDoc>(server, 'vehicles')).has(id)).toBe(false);
    expect(
      (await call<{ vehicles: RegisteredVehicle[] }>(server, 'admin', 'GET', '/vehicle-registry')).body.vehicles.some((v) => v.id === id),
    ).toBe(false);
    expect(
      (await call<{ vehicles: RegisteredVehicle[] }>(server, 'admin', 'GET', '/vehicle-registry?includeRetired=true')).body.vehicles.some(
        (v) => v.id === id,
      ),
    ).toBe(true);
    expect(await count(server, "from audit_log where target_id = $1 and action = 'vehicle.retired' and reason = 'sold'", [id])).toBe(1);
    expect(await count(server, 'from vehicle_state where vehicle_id = $1', [id])).toBe(1);
    // its device goes with it: credentials revoked (with the retirement's reason), the session ended
    expect(
      await count(server, "from audit_log where target_id = $1 and action = 'mqtt_credentials.revoked' and reason = 'sold'", [id]),
    ).toBe(1);
    await expect.poll(() => device.client.connected, { timeout: 5_000 }).toBe(false);
    await device.close();
  });
});
