import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LinkState } from '../../shared/desktop-api.js';
import { deviceTopic, statusPayload } from '../../shared/device-protocol.js';
import { silentLogger } from '../log.js';
import { startTestBroker, type TestBroker } from '../testing/aedes-broker.js';
import { telemetry, waitFor } from '../testing/fixtures.js';
import { LiveFleet } from './live-fleet.js';
import { TelemetryFeed } from './telemetry-feed.js';

const fastBackoff = { initialMs: 50, maxMs: 400 };

function startFeed(url: string) {
  const fleet = new LiveFleet();
  const states: LinkState[] = [];
  const feed = new TelemetryFeed({
    mqttUrl: url,
    sink: { telemetry: (id, t, at) => fleet.applyTelemetry(id, t, at), status: (id, s, at) => fleet.applyStatus(id, s, at) },
    onLinkChange: (s) => states.push(s),
    logger: silentLogger(),
    backoff: fastBackoff,
    connectTimeoutMs: 2_000,
  });
  feed.start();
  return { fleet, feed, states };
}

async function connectPublisher(url: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { clientId: `fd-test-pub-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  return client;
}

const dropsOf = (feed: TelemetryFeed, reason: string): number => feed.getDropped()[reason] ?? 0;

/** The same behaviour against the in-process broker and, when MQTT_URL is set, a real one. */
function feedContract(label: string, getUrl: () => string, shared: boolean) {
  describe(`TelemetryFeed against ${label}`, () => {
    let pub: MqttClient | null = null;
    let feed: TelemetryFeed | null = null;
    // unique ids per run: a shared broker may carry other runs' traffic
    const prefix = `t${randomBytes(4).toString('hex')}`;

    afterEach(async () => {
      await feed?.stop();
      await pub?.endAsync(true);
      feed = null;
      pub = null;
    });

    it('applies valid telemetry and status; drops and counts malformed messages without changing state', async () => {
      const started = startFeed(getUrl());
      feed = started.feed;
      const { fleet, states } = started;
      await waitFor(() => feed!.getLinkState().status === 'connected', 'feed connected');
      expect(states[0]?.status).toBe('connecting');
      pub = await connectPublisher(getUrl());

      const id = `${prefix}-car1`;
      const sentinel = async (n: number) => {
        await pub!.publishAsync(deviceTopic(`${prefix}-sentinel`, 'telemetry'), JSON.stringify(telemetry(n)));
        await waitFor(() => fleet.getVehicle(`${prefix}-sentinel`)?.seq === n, `sentinel ${n}`);
      };

      await pub.publishAsync(deviceTopic(id, 'telemetry'), JSON.stringify(telemetry(5, { lat: 52.5, batteryPct: 60, fuelPct: undefined })));
      await waitFor(() => fleet.getVehicle(id) !== undefined, 'first telemetry applied');
      const before = fleet.getVehicle(id)!;
      expect(before).toMatchObject({ id, seq: 5, lat: 52.5, energyPct: 60, online: true });

      const base = { ...feed.getDropped() };
      const delta = (reason: string) => dropsOf(feed!, reason) - (base[reason] ?? 0);
      const topic = deviceTopic(id, 'telemetry');
      await pub.publishAsync(topic, 'this is not json');
      await pub.publishAsync(topic, Buffer.from([0xff, 0xfe, 0x00]));
      await pub.publishAsync(topic, JSON.stringify({ ...telemetry(6), lat: 'north' }));
      await pub.publishAsync(topic, JSON.stringify(telemetry(7, { lat: 91 })));
      await pub.publishAsync(topic, JSON.stringify(telemetry(8, { vehicleId: `${prefix}-other` })));
      await pub.publishAsync(topic, JSON.stringify({ ...telemetry(9), batteryPct: 50 })); // both fuel and battery
      await pub.publishAsync(topic, JSON.stringify(telemetry(4))); // older seq
      await pub.publishAsync(deviceTopic(id, 'status'), JSON.stringify({ state: 'sleeping', ts: 1 }));
      await pub.publishAsync(`fleet/v1/vehicles/${prefix}-bad.id/telemetry`, JSON.stringify(telemetry(1)));
      await sentinel(1);

      // On a shared broker other runs' traffic may add drops of its own: then only a lower bound holds.
      const expectDrops = (reason: string, n: number) =>
        shared ? expect(delta(reason)).toBeGreaterThanOrEqual(n) : expect(delta(reason)).toBe(n);
      expectDrops('not_json', 2);
      expectDrops('schema', 4); // lat type, lat range, fuel+battery, bad status
      expectDrops('topic_mismatch', 1);
      expectDrops('stale', 1);
      expectDrops('bad_topic', 1);
      expect(fleet.getVehicle(id)).toEqual(before);

      // status messages update online
      await pub.publishAsync(deviceTopic(id, 'status'), statusPayload('offline', Date.now()), { qos: 1 });
      await waitFor(() => fleet.getVehicle(id)?.online === false, 'offline status applied');
      await pub.publishAsync(topic, JSON.stringify(telemetry(10, { lat: 52.6 })));
      await waitFor(() => fleet.getVehicle(id)?.seq === 10, 'newer telemetry applied');
      expect(fleet.getVehicle(id)).toMatchObject({ lat: 52.6, online: true });
      expect(feed.getLinkState().lastOkAt).toBeGreaterThan(0);
    });
  });
}

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.close();
});

feedContract('an in-process Aedes broker', () => broker.url, false);

const realBrokerUrl = process.env['MQTT_URL'];
if (realBrokerUrl) feedContract(`MQTT_URL (${realBrokerUrl})`, () => realBrokerUrl, true);

describe('TelemetryFeed reconnects', () => {
  it('goes reconnecting → connected after the broker restarts, and receives again', async () => {
    const { feed, fleet, states } = startFeed(broker.url);
    let pub: MqttClient | null = null;
    try {
      await waitFor(() => feed.getLinkState().status === 'connected', 'connected');
      await broker.kill();
      await waitFor(() => feed.getLinkState().status !== 'connected', 'link down');
      // let it fail a few attempts against a dead port
      await new Promise((r) => setTimeout(r, 300));
      expect(feed.getLinkState().attempts).toBeGreaterThanOrEqual(1);
      await broker.start();
      await waitFor(() => feed.getLinkState().status === 'connected', 'reconnected', 10_000);
      const statuses = states.map((s) => s.status);
      const downAt = statuses.indexOf('reconnecting');
      expect(downAt).toBeGreaterThan(statuses.indexOf('connected'));
      expect(statuses.lastIndexOf('connected')).toBeGreaterThan(downAt);
      expect(feed.getLinkState().attempts).toBe(0);

      // subscriptions were re-established on the fresh session
      pub = await connectPublisher(broker.url);
      await pub.publishAsync(deviceTopic('after-restart', 'telemetry'), JSON.stringify(telemetry(1)));
      await waitFor(() => fleet.getVehicle('after-restart') !== undefined, 'message after reconnect');
    } finally {
      await pub?.endAsync(true);
      await feed.stop();
    }
    expect(feed.getLinkState()).toMatchObject({ status: 'offline', detail: 'stopped' });
  });

  it('reports offline after repeated failures against a dead port, with a detail', async () => {
    const dead = await startTestBroker();
    const url = dead.url;
    await dead.close();
    const { feed } = startFeed(url);
    try {
      await waitFor(() => feed.getLinkState().status === 'offline', 'offline after attempts', 10_000);
      expect(feed.getLinkState().attempts).toBeGreaterThanOrEqual(3);
      expect(feed.getLinkState().detail).toMatch(/ECONNREFUSED|closed/);
    } finally {
      await feed.stop();
    }
  });
});
