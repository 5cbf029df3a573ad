/**
 * Ingestion robustness end to end (real server, real MQTT clients; PGlite/PostgreSQL × Aedes/external broker):
 * events stored once under redelivery, skewed clocks flagged but never moving state backwards, seq resets,
 * history rows, the domain events other components consume, and the heartbeat timeout job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import type { DomainEventMap } from '../../platform/domain-events.js';
import { brokerBackends, dbBackends } from '../../testing/backends.js';
import { clearRetained, connectDevice, telemetry, uniqueTestVehicles, waitFor, type TestDevice } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const DROPPED = 'fleetdesk_mqtt_messages_dropped_total';
const cases = dbBackends().flatMap((db) => brokerBackends().map((broker) => ({ db, broker, name: `${db.name} + ${broker.name} broker` })));

describe.each(cases)('ingestion robustness on $name', ({ db, broker }) => {
  let server: ServerHandle;
  let cleanupDb: () => Promise<void>;
  let vehicles: VehicleInfo[];
  const devices: TestDevice[] = [];
  const seen: { [E in keyof DomainEventMap]?: Array<DomainEventMap[E]> } = {};
  const offs: Array<() => void> = [];

  beforeAll(async () => {
    const created = await db.create();
    cleanupDb = created.cleanup;
    server = await startServer({
      ...created.overrides,
      ...broker.overrides,
      port: 0,
      seedVehicles: 0,
      logLevel: 'silent',
      mqttAuth: 'off',
      heartbeatTimeoutS: 2,
    });
    vehicles = uniqueTestVehicles(6);
    await server.registerVehicles(vehicles);
    for (const name of ['vehicle.telemetry', 'vehicle.online', 'vehicle.event'] as const) {
      const list: unknown[] = [];
      (seen as Record<string, unknown[]>)[name] = list;
      offs.push(server.events.on(name, (p) => void list.push(p)));
    }
  });

  afterAll(async () => {
    for (const off of offs) off();
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    await server?.stop();
    if (broker.name === 'external' && vehicles)
      await clearRetained(
        server.mqttUrl,
        vehicles.map((v) => deviceTopic(v.id, 'status')),
      );
    await cleanupDb?.();
  });

  async function device(vehicleId: string): Promise<TestDevice> {
    const d = await connectDevice(server.mqttUrl, vehicleId);
    devices.push(d);
    return d;
  }
  const dropped = (reason: string, channel?: string) => metricValue(server.metrics, DROPPED, channel ? { reason, channel } : { reason });
  async function stateRow(vehicleId: string) {
    await server.flushIngestion();
    const { rows } = await server.db.query<{ seq: number; lat: number; online: boolean; clock_skew_ms: number; received_at_ms: number }>(
      'select seq::float8 as seq, lat, online, clock_skew_ms::float8 as clock_skew_ms, (extract(epoch from received_at) * 1000)::float8 as received_at_ms from vehicle_state where vehicle_id = $1',
      [vehicleId],
    );
    return (
      rows[0] && {
        seq: Number(rows[0].seq),
        lat: rows[0].lat,
        online: rows[0].online,
        clockSkewMs: Number(rows[0].clock_skew_ms),
        receivedAt: Number(rows[0].received_at_ms),
      }
    );
  }

  it('stores a QoS 1 event once under redelivery and emits vehicle.event once', async () => {
    const id = vehicles[0]!.id;
    const d = await device(id);
    const topic = deviceTopic(id, 'events');
    const crash = JSON.stringify({ v: 1, seq: 41, ts: Date.now(), type: 'crash_detected', lat: 52.5, lon: 13.4, data: { peakG: 5.1 } });
    const door = JSON.stringify({ v: 1, seq: 42, ts: Date.now(), type: 'door_opened' });
    const dupBefore = await dropped('duplicate', 'events');
    await d.client.publishAsync(topic, crash, { qos: 1 });
    await d.client.publishAsync(topic, crash, { qos: 1 }); // redelivery, same batch
    await server.flushIngestion();
    await d.client.publishAsync(topic, crash, { qos: 1 }); // redelivery after the row was written
    await d.client.publishAsync(topic, door, { qos: 1 });
    await d.client.publishAsync(topic, '{"v":1,"seq":43,"ts":1,"type":"exploded"}', { qos: 1 });
    await waitFor(async () => (await dropped('duplicate', 'events')) >= dupBefore + 2, { what: 'two duplicates counted' });
    // the bad event (published last) is dropped as it arrives: wait for its count rather than assume it came first
    await waitFor(async () => (await dropped('schema', 'events')) >= 1, { what: 'the malformed event dropped and counted' });
    await server.flushIngestion();
    const { rows } = await server.db.query<{ seq: number; type: string; data: unknown }>(
      'select seq::float8 as seq, type, data from vehicle_events where vehicle_id = $1 order by seq',
      [id],
    );
    expect(rows.map((r) => [Number(r.seq), r.type, r.data])).toEqual([
      [41, 'crash_detected', { peakG: 5.1 }],
      [42, 'door_opened', null],
    ]);
    const emitted = seen['vehicle.event']!.filter((e) => e.vehicleId === id);
    expect(emitted.map((e) => [e.event.seq, e.event.type])).toEqual([
      [41, 'crash_detected'],
      [42, 'door_opened'],
    ]);
    expect(await dropped('duplicate', 'events')).toBe(dupBefore + 2);
    expect(await dropped('schema', 'events')).toBeGreaterThanOrEqual(1);
  });

  it('accepts a skewed clock but flags it; duplicates, reordering and skew never move state backwards', async () => {
    const id = vehicles[1]!.id;
    const d = await device(id);
    const skewBefore = await metricValue(server.metrics, 'fleetdesk_device_clock_skew_total');
    const now = Date.now();
    await d.publishTelemetry(telemetry(10, { ts: now - 3_600_000, lat: 52.1 })); // clock an hour behind
    await waitFor(async () => (await stateRow(id))?.seq === 10, { what: 'skewed telemetry stored' });
    const first = (await stateRow(id))!;
    expect(first.clockSkewMs).toBeLessThan(-3_500_000);
    expect(Math.abs(first.receivedAt - Date.now())).toBeLessThan(10_000); // last seen = receive time
    expect(await metricValue(server.metrics, 'fleetdesk_device_clock_skew_total')).toBe(skewBefore + 1);

    await d.publishTelemetry(telemetry(12, { ts: now, lat: 52.12 }));
    await d.publishTelemetry(telemetry(11, { ts: now + 86_400_000, lat: 40 })); // reordered, clock far ahead
    await d.publishTelemetry(telemetry(12, { ts: now, lat: 41 })); // duplicate
    await d.publishTelemetry(telemetry(9, { ts: now + 30_000, lat: 42 })); // lower seq, clock a little ahead: not a reboot
    await d.publishTelemetry(telemetry(8, { ts: now + 7_200_000, lat: 43 })); // lower seq, clock far ahead (skewed): not trusted
    await waitFor(async () => (await dropped('duplicate', 'telemetry')) >= 1, { what: 'duplicate counted' });
    await new Promise((r) => setTimeout(r, 200));
    const after = (await stateRow(id))!;
    expect(after).toMatchObject({ seq: 12, lat: 52.12 });
    expect(Math.abs(after.clockSkewMs)).toBeLessThan(10_000);
    const telemetryEvents = seen['vehicle.telemetry']!.filter((e) => e.vehicleId === id);
    expect(telemetryEvents.map((e) => e.state.seq)).toEqual([10, 12]);
    expect(telemetryEvents[0]!.clockSkewMs).toBeLessThan(-3_500_000);
  });

  it('accepts a seq reset after a reboot (lower seq, sane clock clearly ahead) and writes history rows', async () => {
    const id = vehicles[2]!.id;
    const d = await device(id);
    const now = Date.now();
    await d.publishTelemetry(telemetry(90_000, { ts: now - 120_000, lat: 52.2 }));
    await d.publishTelemetry(telemetry(3, { ts: now, lat: 52.3 })); // rebooted, counter restarted
    await d.publishTelemetry(telemetry(89_999, { ts: now - 121_000, lat: 30 })); // late pre-reboot message
    await d.publishTelemetry(telemetry(4, { ts: now + 1_000, lat: 52.4 }));
    await waitFor(async () => (await stateRow(id))?.seq === 4, { what: 'state after the reset' });
    expect(await stateRow(id)).toMatchObject({ seq: 4, lat: 52.4 });
    const { rows } = await server.db.query<{ seq: number }>(
      'select seq::float8 as seq from telemetry_history where vehicle_id = $1 order by seq',
      [id],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual([3, 4, 90_000]); // the late pre-reboot message is not history
  });

  it('emits vehicle.online and turns a silent vehicle offline by the heartbeat job (memory and database)', async () => {
    const id = vehicles[3]!.id;
    const d = await device(id);
    await d.publishTelemetry(telemetry(1));
    await waitFor(() => seen['vehicle.online']!.find((e) => e.vehicleId === id && e.online), { what: 'online event' });
    expect(seen['vehicle.online']!.find((e) => e.vehicleId === id)).toMatchObject({ online: true, source: 'telemetry' });
    // silent from now on: after the 2 s timeout the job (not a read-time computation) turns it offline
    const offline = await waitFor(() => seen['vehicle.online']!.find((e) => e.vehicleId === id && !e.online), {
      what: 'offline event',
      timeoutMs: 8_000,
    });
    expect(offline.source).toBe('heartbeat_timeout');
    const { rows } = await server.db.query<{ online: boolean }>('select online from vehicle_state where vehicle_id = $1', [id]);
    expect(rows[0]!.online).toBe(false);
    await d.publishTelemetry(telemetry(2));
    await waitFor(() => seen['vehicle.online']!.filter((e) => e.vehicleId === id).length === 3, { what: 'online again' });
    expect(seen['vehicle.online']!.filter((e) => e.vehicleId === id).map((e) => [e.online, e.source])).toEqual([
      [true, 'telemetry'],
      [false, 'heartbeat_timeout'],
      [true, 'telemetry'],
    ]);
  });

  it('reports a status offline and online as vehicle.online with source status', async () => {
    const id = vehicles[4]!.id;
    const d = await device(id);
    await d.publishStatus('online');
    await d.publishStatus('offline');
    await waitFor(() => seen['vehicle.online']!.filter((e) => e.vehicleId === id).length === 2, { what: 'two online changes' });
    expect(seen['vehicle.online']!.filter((e) => e.vehicleId === id).map((e) => [e.online, e.source])).toEqual([
      [true, 'status'],
      [false, 'status'],
    ]);
  });
});
