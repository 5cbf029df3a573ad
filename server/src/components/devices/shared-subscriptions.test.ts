/**
 * Two server instances share the ingestion through an MQTT shared subscription (`$share/<group>/…`): against
 * the external broker (MQTT_URL, e.g. the local Mosquitto) and one PostgreSQL database (DATABASE_URL). Each
 * message is processed by exactly one instance, both get a share, and the database holds the last message per
 * vehicle. Skipped without both services (the embedded Aedes has no shared subscriptions).
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicMatches } from '../../platform/mqtt/client.js';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { createTestDatabase, type TestDatabase } from '../../testing/test-databases.js';
import { telemetry, uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const RECEIVED = 'fleetdesk_mqtt_messages_received_total';
const { DATABASE_URL, MQTT_URL } = process.env;

describe('shared-subscription filters', () => {
  it('dispatch matches the plain topic', () => {
    expect(topicMatches('$share/g1/fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/telemetry')).toBe(true);
    expect(topicMatches('$share/g1/fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/events')).toBe(false);
    expect(topicMatches('$share/g1', 'g1')).toBe(false);
  });

  it('matches levels exactly: + one level (empty too), # the rest (and its parent), nothing more or less', () => {
    const cases: Array<[string, string, boolean]> = [
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/telemetry', true],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/telemetryx', false],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/telemetr', false],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1/telemetry/', false],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/car-1', false],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles//telemetry', true],
      ['fleet/v1/vehicles/+/telemetry', 'fleet/v1/vehicles/a/b/telemetry', false],
      ['fleet/v1/vehicles/+/telemetry', 'fleetx/v1/vehicles/car-1/telemetry', false],
      ['fleet/#', 'fleet', true],
      ['fleet/#', 'fleet/a/b/c', true],
      ['fleet/#', 'fleets/a', false],
      ['#', 'anything/at/all', true],
      ['a/+', 'a', false],
      ['a/+', 'a/', true],
      ['+/+', 'a/b', true],
      ['a/b', 'a/b', true],
      ['a/b', 'a/bb', false],
    ];
    for (const [filter, topic, expected] of cases) expect(topicMatches(filter, topic), `${filter} ~ ${topic}`).toBe(expected);
  });
});

describe.skipIf(!DATABASE_URL || !MQTT_URL)('two instances with a shared subscription (PostgreSQL + external broker)', () => {
  const servers: ServerHandle[] = [];
  let database: TestDatabase;
  let vehicles: VehicleInfo[];

  beforeAll(async () => {
    database = await createTestDatabase(DATABASE_URL!);
    // A group unique to this run: other runs on the shared broker must not take our messages.
    const group = `fd-test-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startServer({
          databaseUrl: database.url,
          mqttUrl: MQTT_URL,
          port: 0,
          seedVehicles: 0,
          logLevel: 'silent',
          mqttAuth: 'off',
          mqttSharedGroup: group,
        }),
      );
    }
    vehicles = uniqueTestVehicles(20);
    for (const s of servers) await s.registerVehicles(vehicles);
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await database?.drop();
  });

  it('processes each message exactly once across the instances; the database holds the last message per vehicle', async () => {
    // The broker is shared with other runs: count only this run's vehicles, per instance (accepted telemetry —
    // every message has a new seq, so a message processed by both instances would be counted twice).
    const ours = new Set(vehicles.map((v) => v.id));
    const counts = servers.map(() => 0);
    const offs = servers.map((s, i) =>
      s.events.on('vehicle.telemetry', (e) => void (ours.has(e.vehicleId) && (counts[i] = counts[i]! + 1))),
    );
    const receivedBefore = await Promise.all(servers.map((s) => metricValue(s.metrics, RECEIVED, { channel: 'telemetry' })));
    const N = 4_000;
    const perVehicle = N / vehicles.length;
    const publisher = await mqtt.connectAsync(MQTT_URL!, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      for (let seq = 1; seq <= perVehicle; seq++) {
        for (const [i, v] of vehicles.entries()) {
          publisher.publish(deviceTopic(v.id, 'telemetry'), JSON.stringify(telemetry(seq, { lat: 50 + i / 100 + seq / 1e6 })), { qos: 0 });
        }
        if (seq % 20 === 0) await publisher.publishAsync(deviceTopic(vehicles[0]!.id, 'telemetry'), '{}', { qos: 0 }); // drain (dropped as schema)
      }
      await publisher.publishAsync(deviceTopic(vehicles[0]!.id, 'telemetry'), '{}', { qos: 0 });
    } finally {
      await publisher.endAsync();
    }
    await waitFor(() => counts[0]! + counts[1]! >= N, { what: `${N} messages accepted in total`, timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500)); // a message processed twice would show up now
    for (const off of offs) off();
    expect(counts[0]! + counts[1]!).toBe(N);
    for (const share of counts) expect(share).toBeGreaterThan(0);
    // and the instances' received counters moved by at least their share (they also see other runs' traffic)
    const receivedAfter = await Promise.all(servers.map((s) => metricValue(s.metrics, RECEIVED, { channel: 'telemetry' })));
    receivedAfter.forEach((n, i) => expect(n - receivedBefore[i]!).toBeGreaterThanOrEqual(counts[i]!));

    await Promise.all(servers.map((s) => s.flushIngestion()));
    const { rows } = await servers[0]!.db.query<{ vehicle_id: string; seq: number; lat: number }>(
      'select vehicle_id, seq::float8 as seq, lat from vehicle_state where vehicle_id = any($1::text[]) order by vehicle_id',
      [vehicles.map((v) => v.id)],
    );
    expect(rows).toHaveLength(vehicles.length);
    for (const r of rows) {
      const i = vehicles.findIndex((v) => v.id === r.vehicle_id);
      expect({ id: r.vehicle_id, seq: Number(r.seq), lat: r.lat }).toEqual({
        id: r.vehicle_id,
        seq: perVehicle,
        lat: 50 + i / 100 + perVehicle / 1e6,
      });
    }
    const history = await servers[0]!.db.query<{ n: number }>(
      'select count(*)::float8 as n from telemetry_history where vehicle_id = any($1::text[])',
      [vehicles.map((v) => v.id)],
    );
    expect(Number(history.rows[0]!.n)).toBe(N); // each message stored once in the history too
  });
});
