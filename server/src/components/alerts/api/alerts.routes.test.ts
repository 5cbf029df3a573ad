/**
 * The staff alert API through the whole server: lifecycle, illegal transitions (409), bad input (4xx
 * problem+json), audit entries; and one alert end to end from a device publishing over MQTT through ingestion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../../src/shared/device-protocol.js';
import { startServer, type ServerHandle } from '../../../app.js';
import { staffCall } from '../../../testing/staff-api.js';
import { brokerBackends, dbBackends } from '../../../testing/backends.js';
import { connectDevice, telemetry, uniqueTestVehicles, waitFor } from '../../../testing/devices.js';
import type { Alert } from '../model.js';

// Device access control has its own tests (device-identity); here devices connect anonymously.
const quiet = { port: 0, logLevel: 'silent' as const, seedVehicles: 0, mqttAuth: 'off' as const };

const call = <T = Alert>(server: ServerHandle, method: string, path: string, body?: unknown, actor?: string) =>
  staffCall<T>(server, method, path, body, actor);

describe.each(dbBackends())('alert staff API on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides, mqttUrl: undefined, mqttPort: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  async function crashAlert(vehicleId: string): Promise<Alert> {
    server.events.emit('vehicle.event', {
      vehicleId,
      event: { v: 1, seq: 1, ts: Date.now(), type: 'crash_detected', data: { peakG: 5 } },
      receivedAt: Date.now(),
    });
    await server.flushAlerts();
    const list = await call<{ alerts: Alert[] }>(server, 'GET', `/alerts?vehicleId=${vehicleId}&kind=crash&status=open`);
    expect(list.status).toBe(200);
    expect(list.body.alerts).toHaveLength(1);
    return list.body.alerts[0]!;
  }

  it('open → acknowledged → assigned → resolved, each audited; illegal transitions are 409 problems', async () => {
    const alert = await crashAlert('api-v1');
    expect(alert).toMatchObject({
      vehicleId: 'api-v1',
      kind: 'crash',
      severity: 'critical',
      status: 'open',
      occurrences: 1,
      assignee: null,
      details: { data: { peakG: 5 } },
    });
    expect(await call(server, 'GET', `/alerts/${alert.id}`)).toMatchObject({ status: 200, body: { id: alert.id, status: 'open' } });

    const acked = await call(server, 'POST', `/alerts/${alert.id}/acknowledge`);
    expect(acked).toMatchObject({ status: 200, body: { status: 'acknowledged', acknowledgedBy: 'ana' } });
    expect(acked.body.serverSeq).toBeGreaterThan(alert.serverSeq);
    const again = await call(server, 'POST', `/alerts/${alert.id}/acknowledge`);
    expect(again.status).toBe(409);
    expect(again.type).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ type: 'urn:fleetdesk:problem:illegal_transition', code: 'illegal_transition', status: 409 });

    expect(await call(server, 'POST', `/alerts/${alert.id}/assign`, { assignee: 'ben' })).toMatchObject({
      status: 200,
      body: { status: 'acknowledged', assignee: 'ben' },
    });
    const resolved = await call(server, 'POST', `/alerts/${alert.id}/resolve`, { note: 'driver fine, bumper scratched' }, 'ben');
    expect(resolved).toMatchObject({
      status: 200,
      body: { status: 'resolved', resolvedBy: 'ben', resolution: 'driver fine, bumper scratched', assignee: 'ben' },
    });
    expect(resolved.body.resolvedAt).toEqual(expect.any(Number));
    for (const [path, body] of [
      ['resolve', { note: 'again' }],
      ['acknowledge', undefined],
      ['assign', { assignee: 'cy' }],
    ] as const) {
      expect((await call(server, 'POST', `/alerts/${alert.id}/${path}`, body)).status).toBe(409);
    }

    const { rows } = await server.db.query<{
      actor: string;
      role: string;
      action: string;
      reason: string | null;
      after: { status: string } | string;
    }>(`select actor, role, action, reason, after from audit_log where target_type = 'alert' and target_id = $1 order by id`, [alert.id]);
    expect(rows.map((r) => `${r.actor}/${r.role}/${r.action}`)).toEqual([
      'ana/dispatcher/alert.acknowledge',
      'ana/dispatcher/alert.assign',
      'ben/dispatcher/alert.resolve',
    ]);
    expect(rows[2]!.reason).toBe('driver fine, bumper scratched');

    // resolved by staff: the next crash of that car is a new alert
    const next = await crashAlert('api-v1');
    expect(next.id).not.toBe(alert.id);
    expect(
      (await call<{ alerts: Alert[] }>(server, 'GET', '/alerts?vehicleId=api-v1&status=resolved')).body.alerts.map((a) => a.id),
    ).toEqual([alert.id]);
  });

  it('resolves an open alert directly; filters and limits the list', async () => {
    const alert = await crashAlert('api-v2');
    expect(await call(server, 'POST', `/alerts/${alert.id}/resolve`, { note: 'false alarm' })).toMatchObject({
      status: 200,
      body: { status: 'resolved' },
    });
    server.events.emit('vehicle.online', { vehicleId: 'api-v2', online: false, at: Date.now(), source: 'last_will' });
    await server.flushAlerts();
    const open = await call<{ alerts: Alert[] }>(server, 'GET', '/alerts?status=open&vehicleId=api-v2');
    expect(open.body.alerts.map((a) => a.kind)).toEqual(['device_offline']);
    expect((await call<{ alerts: Alert[] }>(server, 'GET', '/alerts?limit=1')).body.alerts).toHaveLength(1);
  });

  it('answers bad input with 4xx problem+json, never 5xx', async () => {
    const unknown = await call(server, 'GET', '/alerts/6f1c2f1e-0000-4000-8000-000000000000');
    expect(unknown).toMatchObject({ status: 404, body: { code: 'alert_not_found' } });
    expect(unknown.type).toMatch(/^application\/problem\+json/);
    expect((await call(server, 'POST', '/alerts/6f1c2f1e-0000-4000-8000-000000000000/acknowledge')).status).toBe(404);
    for (const [method, path, body] of [
      ['GET', '/alerts/not-a-uuid', undefined],
      ['GET', '/alerts?status=closed', undefined],
      ['GET', '/alerts?kind=meteor', undefined],
      ['GET', '/alerts?limit=0', undefined],
      ['GET', '/alerts?limit=100000', undefined],
      ['POST', '/alerts/6f1c2f1e-0000-4000-8000-000000000000/resolve', {}],
      ['POST', '/alerts/6f1c2f1e-0000-4000-8000-000000000000/resolve', { note: '' }],
      ['POST', '/alerts/6f1c2f1e-0000-4000-8000-000000000000/assign', {}],
      ['POST', '/alerts/6f1c2f1e-0000-4000-8000-000000000000/assign', { assignee: 'x'.repeat(101) }],
    ] as const) {
      const res = await call(server, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.type).toMatch(/^application\/problem\+json/);
    }
    // the old trusted identity headers grant nothing; a forged token neither
    const acknowledge = `${server.httpUrl}/ops/v1/alerts/6f1c2f1e-0000-4000-8000-000000000000/acknowledge`;
    const headerOnly = await fetch(acknowledge, {
      method: 'POST',
      headers: { 'x-fleetdesk-actor': 'mallory', 'x-fleetdesk-role': 'admin' },
    });
    expect(headerOnly.status).toBe(401);
    const forged = await fetch(acknowledge, {
      method: 'POST',
      headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIn0.' },
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe.each(brokerBackends())('alerts end to end through MQTT ingestion ($name broker)', (broker) => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer({ ...quiet, dataDir: 'memory://', databaseUrl: undefined, ...broker.overrides });
  });
  afterAll(() => server?.stop());

  it('low battery telemetry and a crash event published by a device become alerts', async () => {
    const [vehicle] = uniqueTestVehicles(1);
    await server.registerVehicles([vehicle!]);
    const device = await connectDevice(server.mqttUrl, vehicle!.id);
    try {
      await device.publishTelemetry(telemetry(1, { batteryPct: 9, speedKph: 0, ignition: false, locked: true }), 1);
      await device.client.publishAsync(
        deviceTopic(vehicle!.id, 'events'),
        JSON.stringify({ v: 1, seq: 2, ts: Date.now(), type: 'crash_detected' }),
        { qos: 1 },
      );
      const alerts = await waitFor(
        async () => {
          await server.flushAlerts();
          const res = await call<{ alerts: Alert[] }>(server, 'GET', `/alerts?vehicleId=${vehicle!.id}`);
          return res.body.alerts.length >= 2 ? res.body.alerts : undefined;
        },
        { what: 'two alerts from the device' },
      );
      expect(alerts.map((a) => a.kind).sort()).toEqual(['crash', 'low_energy']);
    } finally {
      await device.close();
    }
  });
});
