/**
 * Ingestion end to end, in process: a real server (PGlite or PostgreSQL; embedded Aedes or MQTT_URL) and real
 * mqtt.js devices publishing over TCP. State is read back through the HTTP API the desktop uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { VehicleInfo, VehicleLive } from '../../../../src/shared/fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { brokerBackends, dbBackends } from '../../testing/backends.js';
import { clearRetained, connectDevice, telemetry, uniqueTestVehicles, waitFor, type TestDevice } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const RECEIVED = 'fleetdesk_mqtt_messages_received_total';
const DROPPED = 'fleetdesk_mqtt_messages_dropped_total';

const cases = dbBackends().flatMap((db) => brokerBackends().map((broker) => ({ db, broker, name: `${db.name} + ${broker.name} broker` })));

describe.each(cases)('ingestion on $name', ({ db, broker }) => {
  let server: ServerHandle;
  let cleanupDb: () => Promise<void>;
  let vehicles: VehicleInfo[];
  const devices: TestDevice[] = [];

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
    });
    vehicles = uniqueTestVehicles(6);
    await server.registerVehicles(vehicles);
  });

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    await server?.stop();
    if (broker.name === 'external' && vehicles)
      await clearRetained(
        server.mqttUrl,
        vehicles.map((v) => deviceTopic(v.id, 'status')),
      );
    await cleanupDb?.();
  });

  async function device(vehicleId: string, options: { will?: boolean } = {}): Promise<TestDevice> {
    const d = await connectDevice(server.mqttUrl, vehicleId, options);
    devices.push(d);
    return d;
  }

  async function live(vehicleId: string): Promise<VehicleLive | undefined> {
    await server.flushIngestion();
    const res = await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await staffHeaders(server, 'dispatcher') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { vehicles: VehicleLive[] };
    return body.vehicles.find((v) => v.id === vehicleId);
  }

  const received = (channel = 'telemetry') => metricValue(server.metrics, RECEIVED, { channel });
  const dropped = (reason: string) => metricValue(server.metrics, DROPPED, { reason });

  it('writes published telemetry to the live state', async () => {
    const id = vehicles[0]!.id;
    const d = await device(id);
    await d.publishTelemetry(telemetry(1, { lat: 52.52, lon: 13.41, batteryPct: 77, speedKph: 33 }));
    const state = await waitFor(() => live(id), { what: 'state row' });
    expect(state).toMatchObject({
      id,
      lat: 52.52,
      lon: 13.41,
      energyPct: 77,
      speedKph: 33,
      seq: 1,
      deviceTs: telemetry(1).ts,
      online: true,
    });
    expect(Math.abs(state.receivedAt - Date.now())).toBeLessThan(10_000);
  });

  it('never moves state backwards on duplicates or out-of-order messages', async () => {
    const id = vehicles[1]!.id;
    const d = await device(id);
    const before = { received: await received(), duplicate: await dropped('duplicate'), stale: await dropped('stale') };
    await d.publishTelemetry(telemetry(10, { lat: 52.1 }));
    await d.publishTelemetry(telemetry(10, { lat: 40 })); // duplicate seq with other content
    await d.publishTelemetry(telemetry(7, { lat: 41 })); // older
    await d.publishTelemetry(telemetry(11, { lat: 52.11 }));
    await d.publishTelemetry(telemetry(9, { lat: 42 })); // older again, after a newer one
    await waitFor(async () => (await received()) >= before.received + 5, { what: '5 messages received' });
    expect(await live(id)).toMatchObject({ seq: 11, lat: 52.11 });
    expect(await dropped('duplicate')).toBe(before.duplicate + 1);
    expect(await dropped('stale')).toBe(before.stale + 2);
  });

  it('survives a flood of 2,000 malformed messages without changing state', async () => {
    const id = vehicles[2]!.id;
    const d = await device(id);
    await d.publishTelemetry(telemetry(100, { lat: 52.3 }));
    const baseline = await waitFor(() => live(id), { what: 'baseline state' });
    const other = await device(vehicles[3]!.id);
    const stranger = await device('unregistered-vehicle-x');

    const bad: Array<() => Promise<void>> = [
      () => d.publishTelemetry('{"v":1,"seq":'),
      () => d.publishTelemetry(Buffer.from([0xc3, 0x28])),
      () => d.publishTelemetry(telemetry(200, { lat: 123 })),
      () => d.publishTelemetry(telemetry(201, { lon: 500 })),
      () => d.publishTelemetry({ ...telemetry(202), locked: 'no' } as never),
      () => d.publishTelemetry(telemetry(203, { vehicleId: vehicles[3]!.id })),
      () => d.publishTelemetry(telemetry(204, { v: 9 })),
      () => d.publishTelemetry('x'.repeat(20 * 1024)),
      () => d.publishTelemetry(telemetry(50)), // stale
      () => other.publishTelemetry(telemetry(1, { vehicleId: id })), // claims to be another vehicle
      () => stranger.publishTelemetry(telemetry(1)), // not in the registry
      () => d.client.publishAsync(deviceTopic(id, 'status'), '{"state":"sideways","ts":1}', { qos: 0 }).then(() => undefined),
    ];
    const receivedBefore = (await received('telemetry')) + (await received('status'));
    const droppedBefore = await metricValue(server.metrics, DROPPED);
    const N = 2_000;
    for (let i = 0; i < N; i++) await bad[i % bad.length]!();

    await waitFor(async () => (await received('telemetry')) + (await received('status')) >= receivedBefore + N, {
      what: `${N} messages received`,
      timeoutMs: 20_000,
    });
    expect(await metricValue(server.metrics, DROPPED)).toBe(droppedBefore + N);
    for (const reason of ['not_json', 'schema', 'topic_mismatch', 'unsupported_version', 'too_large', 'stale', 'unknown_vehicle']) {
      expect(await dropped(reason), reason).toBeGreaterThan(0);
    }
    expect(await live(id)).toEqual(baseline);
    expect(await live(vehicles[3]!.id)).toBeUndefined();
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
  });

  it('marks a vehicle offline when its connection dies (last will)', async () => {
    const id = vehicles[4]!.id;
    const d = await device(id, { will: true });
    await d.publishStatus('online');
    await d.publishTelemetry(telemetry(1));
    await waitFor(async () => (await live(id))?.online === true, { what: 'online' });
    d.dropConnection();
    const state = await waitFor(
      async () => {
        const s = await live(id);
        return s?.online === false ? s : undefined;
      },
      { what: 'offline after last will' },
    );
    expect(state.seq).toBe(1); // the will changed liveness only
  });

  it('shows a vehicle online again when it reconnects and reports', async () => {
    const id = vehicles[5]!.id;
    const first = await device(id, { will: true });
    await first.publishTelemetry(telemetry(1));
    await waitFor(async () => (await live(id))?.online === true, { what: 'online' });
    first.dropConnection();
    await waitFor(async () => (await live(id))?.online === false, { what: 'offline' });
    const second = await device(id, { will: true });
    await second.publishStatus('online');
    await second.publishTelemetry(telemetry(2));
    // the status (online) and the telemetry are separate messages: wait for the state to hold both
    const state = await waitFor(
      async () => {
        const s = await live(id);
        return s?.online === true && s.seq === 2 ? s : undefined;
      },
      { what: 'online again with the new telemetry' },
    );
    expect(state).toMatchObject({ online: true, seq: 2 });
  });
});
