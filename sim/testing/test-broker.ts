/**
 * An in-process Aedes broker on a random port and a "server" client (a real mqtt.js client) that records
 * everything the devices send, decoded with the shared decoders, and can send commands. See README.md.
 */
import net, { type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeCommandResult,
  decodeDeviceEvent,
  decodeStatus,
  decodeTelemetry,
  DEVICE_PROTOCOL_VERSION,
  deviceTopic,
  parseDeviceTopic,
  SUBSCRIPTIONS,
  type CommandResult,
  type CommandType,
  type DeviceEvent,
  type DeviceStatus,
  type DropReason,
  type Telemetry,
} from '../../src/shared/device-protocol.js';

export interface TestBroker {
  url: string;
  broker: Aedes;
  /** `+clientId` / `-clientId` as the broker sees clients come and go */
  clientEvents: string[];
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const clientEvents: string[] = [];
  broker.on('client', (c) => clientEvents.push(`+${c.id}`));
  broker.on('clientDisconnect', (c) => clientEvents.push(`-${c.id}`));
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    broker,
    clientEvents,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Received {
  vehicleId: string;
  channel: string;
  /** the retain flag as delivered: set for retained messages a subscriber gets on subscribing */
  retain: boolean;
  at: number;
  raw: Buffer;
  telemetry?: Telemetry;
  status?: DeviceStatus;
  event?: DeviceEvent;
  result?: CommandResult;
  /** why the shared decoder refused it */
  dropReason?: DropReason;
}

export interface ServerClient {
  client: MqttClient;
  messages: Received[];
  of(vehicleId: string): Received[];
  results(commandId: string): CommandResult[];
  sendCommand(
    vehicleId: string,
    type: CommandType,
    opts?: { commandId?: string; ttlMs?: number; expiresAt?: number; issuedAt?: number },
  ): Promise<string>;
  sendRaw(vehicleId: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

let commandCounter = 0;

/**
 * A server-side client: subscribes to everything devices publish (only `vehicleIds`' topics when given, for a
 * shared broker) and decodes it with the shared decoders.
 */
export async function serverClient(url: string, vehicleIds?: readonly string[]): Promise<ServerClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    const r: Received = { vehicleId: parsed.vehicleId, channel: parsed.channel, retain: packet.retain, at: Date.now(), raw: payload };
    const decoded =
      parsed.channel === 'telemetry'
        ? decodeTelemetry(payload, parsed.vehicleId)
        : parsed.channel === 'events'
          ? decodeDeviceEvent(payload, parsed.vehicleId)
          : parsed.channel === 'status'
            ? decodeStatus(payload)
            : parsed.channel === 'command-results'
              ? decodeCommandResult(payload)
              : undefined;
    if (decoded?.ok === false) r.dropReason = decoded.reason;
    else if (decoded?.ok) {
      if (parsed.channel === 'telemetry') r.telemetry = decoded.value as Telemetry;
      if (parsed.channel === 'events') r.event = decoded.value as DeviceEvent;
      if (parsed.channel === 'status') r.status = decoded.value as DeviceStatus;
      if (parsed.channel === 'command-results') r.result = decoded.value as CommandResult;
    }
    messages.push(r);
  });
  const topics = vehicleIds
    ? vehicleIds.flatMap((id) => (['telemetry', 'status', 'events', 'command-results'] as const).map((c) => deviceTopic(id, c)))
    : [SUBSCRIPTIONS.allTelemetry, SUBSCRIPTIONS.allStatus, SUBSCRIPTIONS.allEvents, SUBSCRIPTIONS.allCommandResults];
  await client.subscribeAsync(topics, { qos: 1 });
  return {
    client,
    messages,
    of: (id) => messages.filter((m) => m.vehicleId === id),
    results: (commandId) => messages.filter((m) => m.result?.commandId === commandId).map((m) => m.result!),
    sendCommand: async (vehicleId, type, opts = {}) => {
      const commandId = opts.commandId ?? `cmd-${process.pid}-${++commandCounter}-${Date.now()}`;
      const issuedAt = opts.issuedAt ?? Date.now();
      const body = {
        v: DEVICE_PROTOCOL_VERSION,
        commandId,
        type,
        issuedAt,
        expiresAt: opts.expiresAt ?? issuedAt + (opts.ttlMs ?? 60_000),
      };
      await client.publishAsync(deviceTopic(vehicleId, 'commands'), JSON.stringify(body), { qos: 1 });
      return commandId;
    },
    sendRaw: async (vehicleId, payload) => {
      await client.publishAsync(deviceTopic(vehicleId, 'commands'), payload, { qos: 1 });
    },
    close: () => client.endAsync(),
  };
}

export async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Leaves nothing behind on a shared broker: clears the vehicles' retained statuses and ends their persistent
 * sessions (a clean-session connect with the same client id discards the stored one).
 */
export async function cleanUpSharedBroker(url: string, vehicleIds: readonly string[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  await Promise.all(vehicleIds.map((id) => client.publishAsync(deviceTopic(id, 'status'), '', { qos: 1, retain: true })));
  await client.endAsync();
  for (const id of vehicleIds) {
    const session = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: id, clean: true, reconnectPeriod: 0 });
    await session.endAsync();
  }
}
