/**
 * A fake in-car device that answers commands per the device protocol (tests): persistent session, subscribed
 * to its own commands topic, dedupes by commandId (a repeat is answered with the latest result again, never
 * executed twice), rejects expired commands by its own clock, answers `received` then `succeeded` / `failed`.
 * Publishes `online` on every (re)connect, like a real unit.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeDeviceCommand,
  deviceTopic,
  statusPayload,
  type CommandResultStatus,
  type DeviceCommand,
} from '../../../src/shared/device-protocol.js';

export type CommandBehaviour = 'succeed' | 'fail' | 'ack-only' | 'ignore' | 'reject-expired';

export interface CommandDevice {
  readonly vehicleId: string;
  readonly client: MqttClient;
  /** every delivery, duplicates included */
  readonly deliveries: DeviceCommand[];
  behaviour: CommandBehaviour;
  /** deliveries of a new command to ignore before handling it (simulates a lost message) */
  ignoreFirstDeliveries: number;
  answer(commandId: string, status: CommandResultStatus, reason?: string, data?: Record<string, string | number | boolean>): Promise<void>;
  /** Publishes a raw result payload on a vehicle's command-results topic (default: its own). */
  publishRawResult(payload: string | Buffer, vehicleId?: string): Promise<void>;
  publishOnline(): Promise<void>;
  close(): Promise<void>;
}

export interface CommandDeviceOptions {
  behaviour?: CommandBehaviour;
  ignoreFirstDeliveries?: number;
  /** also announce online on connect (default true) */
  announceOnline?: boolean;
  reconnectPeriodMs?: number;
  username?: string;
  password?: string;
}

export async function connectCommandDevice(
  brokerUrl: string,
  vehicleId: string,
  options: CommandDeviceOptions = {},
): Promise<CommandDevice> {
  const commandsTopic = deviceTopic(vehicleId, 'commands');
  const resultsTopic = deviceTopic(vehicleId, 'command-results');
  const statusTopic = deviceTopic(vehicleId, 'status');
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: vehicleId,
    protocolVersion: 4,
    clean: false, // persistent session: QoS 1 commands published while we are away arrive on reconnect
    reconnectPeriod: options.reconnectPeriodMs ?? 200,
    connectTimeout: 5_000,
    ...(options.username ? { username: options.username, password: options.password } : {}),
  });
  const handled = new Set<string>();
  const lastResult = new Map<string, { status: CommandResultStatus; reason?: string; data?: Record<string, string | number | boolean> }>();
  const ignored = new Map<string, number>();
  const device: CommandDevice = {
    vehicleId,
    client,
    deliveries: [],
    behaviour: options.behaviour ?? 'succeed',
    ignoreFirstDeliveries: options.ignoreFirstDeliveries ?? 0,
    async answer(commandId, status, reason, data) {
      lastResult.set(commandId, { status, ...(reason ? { reason } : {}), ...(data ? { data } : {}) });
      const result = { v: 1, commandId, status, ts: Date.now(), ...(reason ? { reason } : {}), ...(data ? { data } : {}) };
      await client.publishAsync(resultsTopic, JSON.stringify(result), { qos: 1 });
    },
    async publishRawResult(payload, otherVehicleId) {
      await client.publishAsync(otherVehicleId ? deviceTopic(otherVehicleId, 'command-results') : resultsTopic, payload, { qos: 1 });
    },
    async publishOnline() {
      await client.publishAsync(statusTopic, statusPayload('online', Date.now()), { qos: 1, retain: true });
    },
    async close() {
      // clear what we retained and end the session for good (a shared broker keeps neither)
      if (client.connected) await client.publishAsync(statusTopic, '', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync(!client.connected);
      const cleaner = await mqtt
        .connectAsync(brokerUrl, {
          clientId: vehicleId,
          protocolVersion: 4,
          clean: true,
          reconnectPeriod: 0,
          ...(options.username ? { username: options.username, password: options.password } : {}),
        })
        .catch(() => undefined);
      await cleaner?.endAsync();
    },
  };

  client.on('message', (topic, payload) => {
    if (topic !== commandsTopic) return;
    const decoded = decodeDeviceCommand(payload);
    if (!decoded.ok) return; // a real device drops what it cannot validate
    const command = decoded.value;
    device.deliveries.push(command);
    if (handled.has(command.commandId)) {
      // dedupe by commandId: never execute twice, but repeat the latest result (the server may have missed it)
      const last = lastResult.get(command.commandId);
      if (last) void device.answer(command.commandId, last.status, last.reason, last.data).catch(() => undefined);
      return;
    }
    const seen = ignored.get(command.commandId) ?? 0;
    if (seen < device.ignoreFirstDeliveries) {
      ignored.set(command.commandId, seen + 1);
      return;
    }
    handled.add(command.commandId);
    void respond(device, command).catch(() => undefined);
  });
  client.on('connect', () => {
    if (options.announceOnline !== false) void device.publishOnline().catch(() => undefined);
  });
  await client.subscribeAsync(commandsTopic, { qos: 1 });
  if (options.announceOnline !== false) await device.publishOnline();
  return device;
}

async function respond(device: CommandDevice, command: DeviceCommand): Promise<void> {
  if (device.behaviour === 'ignore') return;
  if (device.behaviour === 'reject-expired' || Date.now() >= command.expiresAt) {
    await device.answer(command.commandId, 'rejected_expired', 'expired by the device clock');
    return;
  }
  await device.answer(command.commandId, 'received');
  if (device.behaviour === 'succeed')
    await device.answer(command.commandId, 'succeeded', undefined, command.type === 'locate' ? { lat: 52.5, lon: 13.4 } : undefined);
  if (device.behaviour === 'fail') await device.answer(command.commandId, 'failed', 'door jammed');
}

/** Subscribes a separate client to `topic` and collects every payload (asserting that nothing arrives). */
export async function spyTopic(brokerUrl: string, topic: string): Promise<{ messages: string[]; close(): Promise<void> }> {
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `spy-${randomBytes(4).toString('hex')}`,
    protocolVersion: 4,
    reconnectPeriod: 200,
    connectTimeout: 5_000,
  });
  const messages: string[] = [];
  client.on('message', (t, payload) => {
    if (t === topic) messages.push(payload.toString());
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { messages, close: () => client.endAsync(true) };
}
