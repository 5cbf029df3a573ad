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
import { connectAs, type Account, type TestClient } from '../../testing/mqtt-clients.js';

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

/**
 * The flood from an authenticated device (MQTT_AUTH=required, the embedded broker's default) must not starve the
 * rest of the fleet: while one car floods its own topic with malformed payloads, another car's valid telemetry goes
 * out in the middle of the flood (20 reports spread through it), and every one of them is in the history and the
 * latest state is its last one; the flooder's state is unchanged and its drops add up.
 */
describe('malformed flood from an authenticated device while valid telemetry flows (device auth on)', () => {
  const N = 50_000;
  let server: ServerHandle;
  const [flooder, honest] = uniqueTestVehicles(2) as [VehicleInfo, VehicleInfo];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    server = await startServer({
      databaseUrl: undefined,
      dataDir: 'memory://',
      mqttUrl: undefined,
      mqttPort: 0,
      port: 0,
      seedVehicles: 0,
      logLevel: 'silent',
    });
    expect(server.config.mqttAuth).toBe('required');
    await server.registerVehicles([flooder, honest]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
  });

  async function credentials(vehicleId: string): Promise<Account> {
    const res = await fetch(`${server.httpUrl}/ops/v1/vehicles/${vehicleId}/device-credentials`, {
      method: 'POST',
      headers: await staffHeaders(server, 'admin'),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Account;
  }
  async function liveSeq(vehicleId: string): Promise<number | undefined> {
    const body = (await (
      await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await staffHeaders(server, 'dispatcher') })
    ).json()) as { vehicles: VehicleLive[] };
    return body.vehicles.find((v) => v.id === vehicleId)?.seq;
  }

  it(`keeps another car's telemetry flowing through ${N.toLocaleString('en')} malformed messages`, { timeout: 180_000 }, async () => {
    const [floodAccount, honestAccount] = [await credentials(flooder.id), await credentials(honest.id)];
    const flood = await connectAs(server.mqttUrl, floodAccount, { clientId: floodAccount.username });
    const car = await connectAs(server.mqttUrl, honestAccount, { clientId: honestAccount.username });
    clients.push(flood, car);
    const floodTopic = deviceTopic(flooder.id, 'telemetry');
    await flood.client.publishAsync(floodTopic, JSON.stringify(telemetry(100, { lat: 52.4 })), { qos: 1 });
    await waitFor(async () => (await liveSeq(flooder.id)) === 100, { what: "the flooder's baseline state" });
    await server.flushIngestion();
    const flooderBefore = (await server.db.query('select * from vehicle_state where vehicle_id = $1', [flooder.id])).rows;

    // the honest car's valid telemetry (QoS 1) goes out in the middle of the flood, 20 times
    let sent = 0;
    const honestReport = async () => {
      sent += 1;
      await car.client.publishAsync(deviceTopic(honest.id, 'telemetry'), JSON.stringify(telemetry(sent, { lat: 52.5 + sent / 1e5 })), {
        qos: 1,
      });
    };

    const bad: Array<[string | Buffer, string]> = [
      ['{"v":1,"seq":', 'not_json'],
      [JSON.stringify(telemetry(300, { lat: 123 })), 'schema'],
      [JSON.stringify(telemetry(301, { v: 9 })), 'unsupported_version'],
      [JSON.stringify(telemetry(50)), 'stale'],
      [JSON.stringify(telemetry(100, { ts: telemetry(100).ts })), 'duplicate'],
      ['x'.repeat(20 * 1024), 'too_large'],
    ];
    const expected = new Map<string, number>();
    const droppedBefore = new Map<string, number>();
    for (const [, reason] of bad) droppedBefore.set(reason, await metricValue(server.metrics, DROPPED, { channel: 'telemetry', reason }));
    const receivedBefore = await metricValue(server.metrics, RECEIVED);
    for (let i = 0; i < N; i++) {
      const [payload, reason] = bad[i % 100 === 99 ? 5 : i % 5]!;
      expected.set(reason, (expected.get(reason) ?? 0) + 1);
      if (i % 500 === 0) await flood.client.publishAsync(floodTopic, payload, { qos: 0 });
      else flood.client.publish(floodTopic, payload, { qos: 0 });
      if (i % (N / 20) === N / 40) await honestReport();
    }

    expect(sent).toBe(20);
    await waitFor(async () => (await metricValue(server.metrics, RECEIVED)) >= receivedBefore + N + sent, {
      what: `${N} flood messages and ${sent} valid ones received`,
      timeoutMs: 150_000,
      intervalMs: 100,
    });
    await waitFor(async () => (await liveSeq(honest.id)) === sent, { what: `the honest car's last state (seq ${sent})` });
    await server.flushIngestion();
    const history = await server.db.query<{ n: number; max: number }>(
      'select count(*)::float8 as n, max(seq)::float8 as max from telemetry_history where vehicle_id = $1',
      [honest.id],
    );
    expect(history.rows[0]).toEqual({ n: sent, max: sent });
    for (const [reason, count] of expected)
      expect(await metricValue(server.metrics, DROPPED, { channel: 'telemetry', reason }), reason).toBe(droppedBefore.get(reason)! + count);
    expect((await server.db.query('select * from vehicle_state where vehicle_id = $1', [flooder.id])).rows).toEqual(flooderBefore);
    expect((await fetch(`${server.httpUrl}/health`)).status).toBe(200);
  });
});
