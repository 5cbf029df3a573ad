/**
 * A flood of malformed messages (mixed reasons) leaves the server up, every vehicle's state unchanged, and the
 * drop counters add up exactly. 100,000 messages against the embedded Aedes; against an external broker
 * (MQTT_URL, shared by the team) a smaller flood of 10,000 to keep the run short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { VehicleInfo, VehicleLive } from '../../../../src/shared/fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { brokerBackends } from '../../testing/backends.js';
import { connectDevice, telemetry, uniqueTestVehicles, waitFor, type TestDevice } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const RECEIVED = 'fleetdesk_mqtt_messages_received_total';
const DROPPED = 'fleetdesk_mqtt_messages_dropped_total';

type Bad = { topic: string; payload: string | Buffer; channel: string; reason: string };

function badMessages(vehicles: VehicleInfo[]): Bad[] {
  const [a, b] = [vehicles[0]!.id, vehicles[1]!.id];
  const t = (id: string) => deviceTopic(id, 'telemetry');
  return [
    { topic: t(a), payload: '{"v":1,"seq":', channel: 'telemetry', reason: 'not_json' },
    { topic: t(b), payload: Buffer.from([0xc3, 0x28]), channel: 'telemetry', reason: 'not_json' },
    { topic: t(a), payload: JSON.stringify(telemetry(200, { lat: 123 })), channel: 'telemetry', reason: 'schema' },
    { topic: t(b), payload: JSON.stringify({ ...telemetry(201), fuelPct: 3 }), channel: 'telemetry', reason: 'schema' },
    { topic: deviceTopic(a, 'events'), payload: '{"v":1,"seq":5,"ts":1,"type":"sideways"}', channel: 'events', reason: 'schema' },
    { topic: t(a), payload: JSON.stringify(telemetry(202, { v: 9 })), channel: 'telemetry', reason: 'unsupported_version' },
    { topic: t(a), payload: JSON.stringify(telemetry(203, { vehicleId: b })), channel: 'telemetry', reason: 'topic_mismatch' },
    { topic: t('flood-unregistered-x'), payload: JSON.stringify(telemetry(1)), channel: 'telemetry', reason: 'unknown_vehicle' },
    { topic: 'fleet/v1/vehicles/bad.id/telemetry', payload: '{}', channel: 'unknown', reason: 'bad_topic' },
    { topic: t(a), payload: JSON.stringify(telemetry(50)), channel: 'telemetry', reason: 'stale' },
    { topic: t(b), payload: JSON.stringify(telemetry(100, { ts: telemetry(100).ts })), channel: 'telemetry', reason: 'duplicate' },
    { topic: deviceTopic(b, 'status'), payload: '{"state":"sideways","ts":1}', channel: 'status', reason: 'schema' },
  ];
}

describe.each(brokerBackends())('malformed flood on the $name broker', (broker) => {
  const N = broker.name === 'embedded' ? 100_000 : 10_000;
  let server: ServerHandle;
  let vehicles: VehicleInfo[];
  const devices: TestDevice[] = [];

  beforeAll(async () => {
    server = await startServer({
      databaseUrl: undefined,
      dataDir: 'memory://',
      ...broker.overrides,
      port: 0,
      seedVehicles: 0,
      logLevel: 'silent',
      mqttAuth: 'off',
    });
    vehicles = uniqueTestVehicles(3);
    await server.registerVehicles(vehicles);
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    await server?.stop();
  });

  async function liveAll(): Promise<VehicleLive[]> {
    await server.flushIngestion();
    const body = (await (
      await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await staffHeaders(server, 'dispatcher') })
    ).json()) as { vehicles: VehicleLive[] };
    return body.vehicles.filter((v) => vehicles.some((x) => x.id === v.id)).map((v) => ({ ...v, online: true })); // online is time-judged
  }

  it(`drops and counts ${N.toLocaleString('en')} malformed messages, changes no state, stays up`, { timeout: 180_000 }, async () => {
    for (let i = 0; i < 4; i++) devices.push(await connectDevice(server.mqttUrl, `${vehicles[0]!.id}-pub${i}`));
    for (const v of vehicles.slice(0, 2))
      await devices[0]!.client.publishAsync(deviceTopic(v.id, 'telemetry'), JSON.stringify(telemetry(100, { lat: 52.4 })));
    const baseline = await waitFor(async () => ((await liveAll()).length === 2 ? liveAll() : undefined), { what: 'baseline state' });

    const bad = badMessages(vehicles);
    const expected = new Map<string, number>();
    const receivedBefore = await metricValue(server.metrics, RECEIVED);
    const droppedBefore = new Map<string, number>();
    for (const m of bad)
      droppedBefore.set(`${m.channel}/${m.reason}`, await metricValue(server.metrics, DROPPED, { channel: m.channel, reason: m.reason }));
    const tooLarge = {
      topic: deviceTopic(vehicles[0]!.id, 'telemetry'),
      payload: 'x'.repeat(20 * 1024),
      channel: 'telemetry',
      reason: 'too_large',
    };
    droppedBefore.set('telemetry/too_large', await metricValue(server.metrics, DROPPED, { channel: 'telemetry', reason: 'too_large' }));

    for (let i = 0; i < N; i++) {
      const m = i % 1000 === 999 ? tooLarge : bad[i % bad.length]!;
      const key = `${m.channel}/${m.reason}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
      const client = devices[i % devices.length]!.client;
      if (i % 500 === 0)
        await client.publishAsync(m.topic, m.payload, { qos: 0 }); // let the socket drain now and then
      else client.publish(m.topic, m.payload, { qos: 0 });
    }
    await waitFor(async () => (await metricValue(server.metrics, RECEIVED)) >= receivedBefore + N, {
      what: `${N} messages received`,
      timeoutMs: 150_000,
      intervalMs: 250,
    });

    let total = 0;
    for (const [key, count] of expected) {
      const [channel, reason] = key.split('/') as [string, string];
      expect(await metricValue(server.metrics, DROPPED, { channel, reason }), key).toBe(droppedBefore.get(key)! + count);
      total += count;
    }
    expect(total).toBe(N);
    expect(await liveAll()).toEqual(baseline);
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
    const { rows } = await server.db.query<{ n: number }>('select count(*)::float8 as n from vehicle_events');
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
