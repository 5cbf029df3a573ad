/**
 * Bulk device provisioning through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set), on the
 * embedded broker with credentials enforced: roles, bad input, the secrets answered once (JSON or the installer's
 * CSV) and stored only as hashes, revocation with a reason ending the device's open session, all audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import type { IssuedDeviceCredential } from '../../../../src/shared/vehicle-registry.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders, type TestStaffRole } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { uniqueTestVehicles } from '../../testing/devices.js';
import { closed, connectAs, connectOutcome } from '../../testing/mqtt-clients.js';

type Issued = IssuedDeviceCredential;

async function post(server: ServerHandle, role: TestStaffRole | undefined, path: string, body: unknown) {
  const res = await fetch(`${server.httpUrl}/ops/v1${path}`, {
    method: 'POST',
    headers: { ...(role ? await staffHeaders(server, role, `t-${role}`) : {}), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, text: await res.text() };
}

describe.each(dbBackends())('bulk device provisioning on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let cars: VehicleInfo[];
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, port: 0, mqttPort: 0, mqttUrl: undefined, logLevel: 'silent', seedVehicles: 0 });
    cars = uniqueTestVehicles(4);
    await server.registerVehicles(cars);
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('lets only admins list, provision and revoke: dispatcher and support 403, anonymous 401', async () => {
    for (const [path, body] of [
      ['/devices/credentials', { vehicleIds: [cars[0]!.id] }],
      ['/devices/revoke', { vehicleIds: [cars[0]!.id], reason: 'x' }],
    ] as const) {
      expect((await post(server, undefined, path, body)).status).toBe(401);
      for (const role of ['dispatcher', 'support'] as const) expect((await post(server, role, path, body)).status).toBe(403);
    }
    for (const role of ['dispatcher', 'support'] as const) {
      const res = await fetch(`${server.httpUrl}/ops/v1/devices`, { headers: await staffHeaders(server, role, `t-${role}`) });
      expect(res.status).toBe(403);
    }
    expect(
      Number((await server.db.query<{ n: number }>("select count(*)::float8 as n from mqtt_credentials where role = 'device'")).rows[0]!.n),
    ).toBe(0);
  });

  it('refuses bad input with a problem: unknown vehicles, duplicates, an empty list, a revoke without reason', async () => {
    const unknown = await post(server, 'admin', '/devices/credentials', { vehicleIds: [cars[0]!.id, 'veh-nope'] });
    expect(unknown.status).toBe(404);
    expect(unknown.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(unknown.text).detail).toContain('veh-nope');
    expect((await post(server, 'admin', '/devices/credentials', { vehicleIds: [] })).status).toBe(400);
    expect((await post(server, 'admin', '/devices/credentials', { vehicleIds: [cars[0]!.id, cars[0]!.id] })).status).toBe(400);
    expect((await post(server, 'admin', '/devices/revoke', { vehicleIds: [cars[0]!.id], reason: '   ' })).status).toBe(400);
    expect((await post(server, 'admin', '/devices/revoke', { vehicleIds: [cars[0]!.id], reason: 'never issued' })).status).toBe(404);
  });

  it('issues many devices in one step: secrets once (no-store), hashes only in the database, the installer CSV, one audit entry', async () => {
    const ids = cars.slice(0, 2).map((c) => c.id);
    const res = await post(server, 'admin', '/devices/credentials', { vehicleIds: ids });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { devices } = JSON.parse(res.text) as { devices: Issued[] };
    expect(devices.map((d) => d.vehicleId).sort()).toEqual([...ids].sort());
    for (const d of devices) {
      expect(d).toMatchObject({
        username: d.vehicleId,
        plate: cars.find((c) => c.id === d.vehicleId)!.plate,
        brokerUrl: server.mqttUrl,
        rotated: false,
      });
      expect(d.password.length).toBeGreaterThanOrEqual(32);
    }
    const stored = await server.db.query<{ secret_hash: string; broker_hash: string }>(
      'select secret_hash, broker_hash from mqtt_credentials where vehicle_id = any($1)',
      [ids],
    );
    for (const row of stored.rows) for (const d of devices) expect(`${row.secret_hash}${row.broker_hash}`).not.toContain(d.password);
    expect(await connectOutcome(server.mqttUrl, devices[0]!, { clientId: devices[0]!.username })).toBe('connected');

    const csv = await post(server, 'admin', '/devices/credentials?format=csv', { vehicleIds: [cars[2]!.id] });
    expect(csv.status).toBe(201);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    const [header, row] = csv.text.trim().split('\r\n');
    expect(header).toBe('vehicleId,plate,username,password,brokerUrl');
    expect(row!.split(',').slice(0, 3)).toEqual([cars[2]!.id, cars[2]!.plate, cars[2]!.id]);

    const audit = await server.db.query<{ after: { accounts: string[] } }>(
      "select after from audit_log where action = 'mqtt_credentials.issued' and target_id = 'batch:2' and actor = 't-admin'",
    );
    expect(audit.rows[0]!.after.accounts.sort()).toEqual([...ids].sort());
    const listed = await fetch(`${server.httpUrl}/ops/v1/devices`, { headers: await staffHeaders(server, 'admin', 't-admin') });
    const body = (await listed.json()) as { devices: Array<{ vehicleId: string; status: string }> };
    expect(
      body.devices
        .filter((d) => d.status === 'active')
        .map((d) => d.vehicleId)
        .sort(),
    ).toEqual([...ids, cars[2]!.id].sort());
    expect(JSON.stringify(body)).not.toMatch(/hash|password/i);
  });

  it('revokes with a reason: the open session ends at once, a reconnect is refused, the audit entry carries the reason', async () => {
    const res = await post(server, 'admin', '/devices/credentials', { vehicleIds: [cars[3]!.id] });
    const [device] = (JSON.parse(res.text) as { devices: Issued[] }).devices;
    const live = await connectAs(server.mqttUrl, device!, { clientId: device!.username });
    const revoked = await post(server, 'admin', '/devices/revoke', { vehicleIds: [cars[3]!.id], reason: 'telematics unit replaced' });
    expect(revoked.status).toBe(200);
    expect(await closed(live.client, 5_000)).toBe(true);
    expect(await connectOutcome(server.mqttUrl, device!, { clientId: device!.username })).toMatch(/not authorized|bad user/i);
    const audit = await server.db.query<{ reason: string }>(
      "select reason from audit_log where action = 'mqtt_credentials.revoked' and target_id = $1",
      [cars[3]!.id],
    );
    expect(audit.rows.map((r) => r.reason)).toEqual(['telematics unit replaced']);
  });
});
