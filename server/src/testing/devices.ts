/** A fake in-car device for tests: an mqtt.js client publishing device-protocol messages. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { deviceTopic, statusPayload, type Telemetry } from '../../../src/shared/device-protocol.js';
import type { VehicleInfo } from '../../../src/shared/fleet.js';
import { randomBytes } from 'node:crypto';

/** Vehicles with ids unique to this test run, so runs sharing one external broker do not see each other. */
export function uniqueTestVehicles(count: number): VehicleInfo[] {
  const ns = `t${randomBytes(4).toString('hex')}`;
  return Array.from({ length: count }, (_, i) => ({
    id: `${ns}-${i + 1}`,
    plate: `T-${ns.slice(1, 7).toUpperCase()} ${i + 1}`,
    make: 'Test',
    model: i % 2 === 0 ? 'Electric' : 'Fuel',
    energyType: i % 2 === 0 ? 'electric' : 'fuel',
    homeZone: 'test',
  }));
}

export function telemetry(seq: number, overrides: Partial<Telemetry> = {}): Telemetry {
  return {
    v: 1,
    seq,
    ts: 1_700_000_000_000 + seq * 1000,
    lat: 52.5,
    lon: 13.4,
    speedKph: 12,
    headingDeg: 90,
    batteryPct: 80,
    odometerKm: 1000 + seq,
    ignition: true,
    locked: false,
    doorsClosed: true,
    ...overrides,
  };
}

export interface TestDevice {
  client: MqttClient;
  publishTelemetry(t: Telemetry | string | Buffer, qos?: 0 | 1): Promise<void>;
  publishStatus(state: 'online' | 'offline'): Promise<void>;
  /** Kills the TCP connection without DISCONNECT: the broker must publish the last will. */
  dropConnection(): void;
  close(): Promise<void>;
}

export async function connectDevice(brokerUrl: string, vehicleId: string, options: { will?: boolean } = {}): Promise<TestDevice> {
  const statusTopic = deviceTopic(vehicleId, 'status');
  const clientOptions: IClientOptions = {
    clientId: `dev-${vehicleId}-${randomBytes(3).toString('hex')}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...(options.will
      ? {
          will: { topic: statusTopic, payload: Buffer.from(statusPayload('offline', Date.now(), 'connection lost')), qos: 1, retain: true },
        }
      : {}),
  };
  const client = await mqtt.connectAsync(brokerUrl, clientOptions);
  return {
    client,
    async publishTelemetry(t, qos = 0) {
      const payload = typeof t === 'string' || Buffer.isBuffer(t) ? t : JSON.stringify(t);
      await client.publishAsync(deviceTopic(vehicleId, 'telemetry'), payload, { qos });
    },
    async publishStatus(state) {
      await client.publishAsync(statusTopic, statusPayload(state, Date.now()), { qos: 1, retain: true });
    },
    dropConnection() {
      client.stream.destroy();
    },
    async close() {
      // graceful while connected (queued publishes go out first); forced once the socket is gone
      await client.endAsync(!client.connected);
    },
  };
}

/** Removes retained messages a test left on a (shared, external) broker. */
export async function clearRetained(brokerUrl: string, topics: string[]): Promise<void> {
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  try {
    for (const topic of topics) await client.publishAsync(topic, '', { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with the last value). */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
