/**
 * The device side of MQTT: one connection per vehicle (client id = vehicle id, persistent session, its own
 * retained `offline` last will — exactly what a real device does) or one connection multiplexing several
 * vehicles (client id `sim-<first id>-n<count>`, clean session, no will: a connection has only one last will,
 * which cannot speak for each of its vehicles). Each connection subscribes to its vehicles' `commands` topics
 * (never a wildcard: under per-device ACLs a wildcard asks for more than a device may read). Also: connecting
 * the fleet in waves, the sink that hands a message to its vehicle's connection, and the clean close.
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { CHANNEL_RULES, statusPayload } from '../src/shared/device-protocol.js';
import { redactUrl } from '../src/shared/redact-url.js';
import { serialize, type OutgoingMessage } from './publish-pipeline.js';
import type { SimCounters, SimVehicle } from './sim-vehicle.js';

export interface SimulationLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface DeviceCredentials {
  username: string;
  password?: string;
}

/**
 * Credentials for one MQTT connection. Called with the connection's client id — the vehicle id when each
 * vehicle has its own connection — and the vehicles it carries. Return undefined for an anonymous connection.
 */
export type CredentialsProvider = (clientId: string, vehicleIds: readonly string[]) => DeviceCredentials | undefined;

const CONNECT_CONCURRENCY = 200;
const STOP_TIMEOUT_MS = 5_000;

/** Client id of a connection: the vehicle id for a vehicle of its own, else `sim-<first vehicle id>-n<count>`. */
export function connectionClientId(firstVehicleId: string, perConnection: number, count: number): string {
  return perConnection === 1 ? firstVehicleId : `sim-${firstVehicleId}-n${count}`;
}

export class DeviceConnection {
  client: MqttClient | undefined;
  connected = false;
  killed = false;
  lastError: string | undefined;
  readonly vehicles: SimVehicle[] = [];

  constructor(
    readonly clientId: string,
    private readonly mqttUrl: string,
    private readonly credentials: CredentialsProvider | undefined,
    private readonly deviceClock: (v: SimVehicle) => number,
    private readonly onConnect: (conn: DeviceConnection) => void,
    private readonly onError: (conn: DeviceConnection, err: Error) => void,
    private readonly onMessage: (conn: DeviceConnection, topic: string, payload: Buffer) => void,
    private readonly logger: SimulationLogger,
    /** mqtts: the CA the broker's certificate must chain to (verified; a wrong certificate is refused) */
    private readonly tlsCa?: string | Buffer,
  ) {}

  /**
   * Starts connecting; resolves once the first CONNACK and the SUBACK of the commands subscription are in
   * (mqtt.js keeps reconnecting after that on its own, and the subscription is renewed on every connect).
   */
  open(): Promise<void> {
    this.killed = false;
    const ids = this.vehicles.map((v) => v.id);
    const creds = this.credentials?.(this.clientId, ids);
    const single = this.vehicles.length === 1;
    const options: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: 4, // the device protocol is MQTT 3.1.1
      // A device with its own connection keeps its session: QoS 1 commands sent while it is away wait for it.
      clean: !single,
      keepalive: 30,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      // Stale telemetry is worthless: never queue QoS 0 while disconnected.
      queueQoSZero: false,
      resubscribe: false,
      // mqtts: the broker's certificate is verified (chain and host name), never waved through
      rejectUnauthorized: true,
      ...(this.tlsCa !== undefined ? { ca: this.tlsCa } : {}),
    };
    if (creds) {
      options.username = creds.username;
      if (creds.password !== undefined) options.password = creds.password;
    }
    if (this.vehicles.length === 1) {
      // The will's ts is when it was registered (the broker cannot stamp it); receivers go by arrival time.
      options.will = {
        topic: this.vehicles[0]!.statusTopic,
        payload: Buffer.from(statusPayload('offline', this.deviceClock(this.vehicles[0]!), 'connection lost')),
        qos: CHANNEL_RULES.status.qos,
        retain: CHANNEL_RULES.status.retain,
      };
    }
    const client = mqtt.connect(this.mqttUrl, options);
    this.client = client;
    const commandTopics = this.vehicles.map((v) => v.commandsTopic);
    client.on('message', (topic, payload) => this.onMessage(this, topic, payload));
    return new Promise((resolve) => {
      client.on('connect', () => {
        this.connected = true;
        this.lastError = undefined;
        this.onConnect(this);
        client.subscribe(commandTopics, { qos: CHANNEL_RULES.commands.qos }, (err, granted) => {
          const refused = granted?.filter((g) => g.qos === 128).length ?? 0;
          if (err || refused > 0) {
            this.logger.warn('sim: commands subscription refused', { clientId: this.clientId, error: err?.message, refused });
          }
          resolve();
        });
      });
      client.on('close', () => {
        if (this.connected && !this.killed) this.logger.warn('sim: connection lost', { clientId: this.clientId });
        this.connected = false;
      });
      client.on('error', (err) => {
        this.lastError = err.message;
        this.onError(this, err);
      });
    });
  }

  /** Socket destroyed, no DISCONNECT, no reconnect: the broker sees a dead device. */
  kill(): void {
    this.killed = true;
    this.connected = false;
    this.client?.end(true);
  }

  /** A clean DISCONNECT without an `offline` status first: the broker discards the will; the device is just gone. */
  async disconnectSilently(): Promise<void> {
    this.killed = true;
    this.connected = false;
    await this.client?.endAsync(false);
  }

  async closeCleanly(statusFor: (v: SimVehicle) => string): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (this.killed || !this.connected) {
      await client.endAsync(true);
      return;
    }
    const rules = CHANNEL_RULES.status;
    // Not through the middleware: shutdown must stay clean whatever faults are installed. A silenced
    // vehicle stays silent (its last word was none).
    const speaking = this.vehicles.filter((v) => !v.silenced);
    await Promise.all(speaking.map((v) => client.publishAsync(v.statusTopic, statusFor(v), { qos: rules.qos, retain: rules.retain })));
    this.connected = false;
    await client.endAsync(false);
  }

  forceClose(): void {
    this.connected = false;
    this.client?.end(true);
  }
}

/**
 * Opens every connection, in waves so thousands of single-vehicle connections do not hit the broker in one
 * instant. Throws (after closing them all) unless all are up within `timeoutMs`.
 */
export async function connectAll(connections: readonly DeviceConnection[], mqttUrl: string, timeoutMs: number): Promise<void> {
  let timedOut = false;
  let timeoutHandle: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timeoutHandle = setTimeout(() => {
      timedOut = true;
      resolve();
    }, timeoutMs);
  });
  for (let i = 0; i < connections.length && !timedOut; i += CONNECT_CONCURRENCY) {
    const wave = connections.slice(i, i + CONNECT_CONCURRENCY).map((c) => c.open());
    await Promise.race([Promise.all(wave), timeout]);
  }
  clearTimeout(timeoutHandle);
  const up = connections.filter((c) => c.connected).length;
  if (timedOut || up < connections.length) {
    const lastError = connections.find((c) => c.lastError)?.lastError ?? 'no answer';
    for (const c of connections) c.forceClose();
    throw new Error(
      `simulator: only ${up} of ${connections.length} MQTT connections to ${mqttUrl} came up within ${timeoutMs} ms (${lastError})`,
    );
  }
}

/**
 * Clean close of every connection: the retained `offline` status (`offline`, the same payload for all) for each
 * vehicle still speaking, then DISCONNECT; connections still open after a few seconds are closed hard.
 */
export async function closeAll(
  connections: readonly DeviceConnection[],
  offline: string,
  counters: SimCounters,
  logger: SimulationLogger,
): Promise<void> {
  let timeoutHandle: NodeJS.Timeout | undefined;
  const closing = Promise.allSettled(
    connections.map(async (c) => {
      const wasUp = c.connected && !c.killed;
      await c.closeCleanly(() => offline);
      if (wasUp) counters.published += c.vehicles.filter((v) => !v.silenced).length;
    }),
  );
  const timedOut = await Promise.race([
    closing.then(() => false),
    new Promise<boolean>((resolve) => {
      timeoutHandle = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timeoutHandle);
  if (timedOut) {
    logger.warn('sim: clean shutdown timed out; closing the remaining connections', { ms: STOP_TIMEOUT_MS });
    for (const c of connections) c.forceClose();
  }
}

/** The end of the publish pipeline: hands a message to the connection of its vehicle (dropped and counted while it is down). */
export function connectionSink(vehicle: (id: string) => SimVehicle | undefined, counters: SimCounters): (msg: OutgoingMessage) => void {
  return (msg) => {
    const conn = vehicle(msg.vehicleId)?.conn;
    const client = conn?.client;
    if (!conn?.connected || !client) {
      counters.droppedWhileDisconnected++;
      return;
    }
    const payload = serialize(msg);
    client.publish(msg.topic, typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
      qos: msg.qos,
      retain: msg.retain,
    });
    counters.published++;
  };
}

/** Connection errors (refused, unreachable, bad credentials), logged at most every 5 s for the whole fleet. */
export function connectionErrorLogger(logger: SimulationLogger, mqttUrl: string): (conn: DeviceConnection, err: Error) => void {
  let lastErrorLogAt = -Infinity;
  return (conn, err) => {
    const now = performance.now();
    if (now - lastErrorLogAt < 5_000) return;
    lastErrorLogAt = now;
    logger.warn('sim: MQTT connection error (retrying)', { clientId: conn.clientId, error: err.message, url: redactUrl(mqttUrl) });
  };
}
