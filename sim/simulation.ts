/**
 * The device simulator: N simulated vehicles (the demo fleet's ids) speaking device protocol v1 over MQTT.
 *
 * Layers, each replaceable on its own:
 *   vehicle-model.ts    pure movement/state model, stepped with elapsed time (no clock, no I/O)
 *   street-network.ts   the streets the vehicles drive on
 *   publish-pipeline.ts every outgoing message, with middleware hooks (where faults on demand slot in)
 *   this file           connections, one scheduler timer for the whole fleet, start/stop, stats
 *
 * Scheduling: one timer for all vehicles. The tick (1/rate s) is cut into ~10 ms slots and the vehicles are
 * dealt evenly into the slots, so 20,000 vehicles at 1 Hz publish ~200 messages every 10 ms instead of
 * 20,000 in one burst. Every vehicle is stepped once per tick with the time actually elapsed since its last
 * step, so a late timer never distorts the movement; moving vehicles publish every tick, parked ones every
 * `heartbeatMs` or at once when their doors/lock/ignition change.
 *
 * Connections: with `vehiclesPerConnection` 1 (the default) each vehicle is its own MQTT client (client id =
 * vehicle id) with its own retained `offline` last will — exactly what a real device does. Above 1, one
 * connection carries several vehicles (needed for 20,000 vehicles from one process). A connection has one
 * last will, which cannot speak for each of its vehicles, so multiplexed connections register none: if such
 * a connection dies, its vehicles simply go silent and the server's heartbeat timeout marks them offline
 * (see docs/device-protocol.md). A clean stop() publishes `offline` for every vehicle either way.
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { CHANNEL_RULES, deviceTopic, statusPayload, type Telemetry } from '../src/shared/device-protocol.js';
import { DEFAULT_SERVICE_AREA, demoVehicle, type ServiceArea } from '../src/shared/demo-fleet.js';
import { createRng, deriveSeed, type Rng } from './prng.js';
import { PublishPipeline, serialize, type OutgoingMessage, type PublishMiddleware } from './publish-pipeline.js';
import { buildStreetNetwork, type StreetNetwork } from './street-network.js';
import { createVehicle, DEFAULT_MODEL_PARAMS, isActive, step, toTelemetry, type ModelParams, type VehicleState, type World } from './vehicle-model.js';

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

export interface SimulationOptions {
  mqttUrl: string;
  /** simulates demoVehicleId(0 … vehicles-1), the ids the server seeds */
  vehicles: number;
  /** telemetry rate while moving, Hz (default 1); parked vehicles send a heartbeat every `heartbeatMs` */
  rate?: number;
  /** vehicles per MQTT connection (default 1: one connection, client id and last will per vehicle) */
  vehiclesPerConnection?: number;
  /** seed of all randomness (default 1): the same seed gives the same streets and the same movements */
  seed?: number;
  credentials?: CredentialsProvider;
  area?: ServiceArea;
  /** long-run fraction of vehicles on a trip (default 0.6) */
  movingShare?: number;
  logger?: SimulationLogger;
  /** how long start may take to bring all connections up (default 30 s + 2 ms per connection) */
  connectTimeoutMs?: number;
  /** parked heartbeat interval (default 10 s, the protocol's maximum) */
  heartbeatMs?: number;
  /** fine-tuning of the movement model */
  model?: Partial<ModelParams>;
  /** installed in order before the first message is sent */
  publishMiddleware?: PublishMiddleware[];
  /** device clock, epoch ms (default Date.now); a skewed-clock fault can wrap it */
  clock?: () => number;
}

export interface SimulationStats {
  /** messages handed to MQTT since start (telemetry and status) */
  published: number;
  telemetry: number;
  /** vehicles whose connection is up */
  connected: number;
  connections: number;
  connectionsUp: number;
  /** telemetry not sent because the vehicle's connection was down */
  droppedWhileDisconnected: number;
  /** the scheduler's worst lateness (ms) since start: > one tick means the process cannot keep up */
  maxLagMs: number;
}

export interface VehicleSnapshot {
  state: VehicleState;
  lat: number;
  lon: number;
  /** seq of the last telemetry generated (−1 before the first) */
  seq: number;
  lastTelemetry: Telemetry | undefined;
  connected: boolean;
}

export interface Simulation {
  readonly vehicleIds: string[];
  readonly network: StreetNetwork;
  /** Clean shutdown: retained `offline` status for every vehicle, then DISCONNECT. Idempotent. */
  stop(): Promise<void>;
  /**
   * Destroys the socket of the connection carrying this vehicle without a DISCONNECT, so the broker publishes
   * its last will (single-vehicle connections). The connection stays down — the vehicles keep moving but go
   * silent — until `restoreConnection`.
   */
  killConnection(vehicleId: string): void;
  /** Reconnects a killed connection (publishes `online` again); resolves when connected. */
  restoreConnection(vehicleId: string): Promise<void>;
  stats(): SimulationStats;
  snapshot(vehicleId: string): VehicleSnapshot;
  /** Adds a publish middleware at runtime (faults on demand); returns its remover. */
  use(middleware: PublishMiddleware): () => void;
}

const SLOT_MS = 10;
const CONNECT_CONCURRENCY = 200;
const STOP_TIMEOUT_MS = 5_000;
const NOOP_LOGGER: SimulationLogger = { info() {}, warn() {}, error() {} };

interface SimVehicle {
  readonly index: number;
  readonly id: string;
  readonly telemetryTopic: string;
  readonly statusTopic: string;
  readonly rng: Rng;
  readonly conn: DeviceConnection;
  state: VehicleState;
  lastStepAt: number;
  lastPublishAt: number;
  /** ignition/locked/doorsClosed as last published: a change is reported at once even when parked */
  lastFlags: number;
  seq: number;
  lastTelemetry: Telemetry | undefined;
}

// ------------------------------------------------------------------------------------------------ connection

class DeviceConnection {
  client: MqttClient | undefined;
  connected = false;
  killed = false;
  lastError: string | undefined;
  readonly vehicles: SimVehicle[] = [];

  constructor(
    readonly clientId: string,
    private readonly mqttUrl: string,
    private readonly credentials: CredentialsProvider | undefined,
    private readonly clock: () => number,
    private readonly onConnect: (conn: DeviceConnection) => void,
    private readonly onError: (conn: DeviceConnection, err: Error) => void,
    private readonly logger: SimulationLogger,
  ) {}

  /** Starts connecting; resolves on the first CONNACK (mqtt.js keeps reconnecting after that on its own). */
  open(): Promise<void> {
    this.killed = false;
    const ids = this.vehicles.map((v) => v.id);
    const creds = this.credentials?.(this.clientId, ids);
    const options: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: 4, // the device protocol is MQTT 3.1.1
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      // Stale telemetry is worthless: never queue QoS 0 while disconnected.
      queueQoSZero: false,
      resubscribe: false,
    };
    if (creds) {
      options.username = creds.username;
      if (creds.password !== undefined) options.password = creds.password;
    }
    if (this.vehicles.length === 1) {
      // The will's ts is when it was registered (the broker cannot stamp it); receivers go by arrival time.
      options.will = {
        topic: this.vehicles[0]!.statusTopic,
        payload: Buffer.from(statusPayload('offline', this.clock(), 'connection lost')),
        qos: CHANNEL_RULES.status.qos,
        retain: CHANNEL_RULES.status.retain,
      };
    }
    const client = mqtt.connect(this.mqttUrl, options);
    this.client = client;
    return new Promise((resolve) => {
      client.on('connect', () => {
        this.connected = true;
        this.lastError = undefined;
        this.onConnect(this);
        resolve();
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

  async closeCleanly(statusFor: (v: SimVehicle) => string): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (this.killed || !this.connected) {
      await client.endAsync(true);
      return;
    }
    const rules = CHANNEL_RULES.status;
    // Not through the middleware: shutdown must stay clean whatever faults are installed.
    await Promise.all(this.vehicles.map((v) => client.publishAsync(v.statusTopic, statusFor(v), { qos: rules.qos, retain: rules.retain })));
    this.connected = false;
    await client.endAsync(false);
  }

  forceClose(): void {
    this.connected = false;
    this.client?.end(true);
  }
}

// ------------------------------------------------------------------------------------------------ simulation

export async function startSimulation(options: SimulationOptions): Promise<Simulation> {
  const sim = new SimulationImpl(options);
  await sim.start();
  return sim;
}

function assertOptions(o: SimulationOptions): void {
  if (!Number.isInteger(o.vehicles) || o.vehicles < 1 || o.vehicles > 99_999) {
    throw new RangeError(`vehicles must be an integer 1…99999 (got ${o.vehicles})`);
  }
  const rate = o.rate ?? 1;
  if (!Number.isFinite(rate) || rate < 0.1 || rate > 50) throw new RangeError(`rate must be 0.1…50 Hz (got ${rate})`);
  const k = o.vehiclesPerConnection ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`vehiclesPerConnection must be an integer ≥ 1 (got ${k})`);
  const share = o.movingShare ?? DEFAULT_MODEL_PARAMS.movingShare;
  if (!(share >= 0 && share <= 1)) throw new RangeError(`movingShare must be 0…1 (got ${share})`);
}

class SimulationImpl implements Simulation {
  readonly vehicleIds: string[];
  readonly network: StreetNetwork;
  private readonly world: World;
  private readonly vehicles: SimVehicle[] = [];
  private readonly byId = new Map<string, SimVehicle>();
  private readonly connections: DeviceConnection[] = [];
  private readonly pipeline: PublishPipeline;
  private readonly logger: SimulationLogger;
  private readonly clock: () => number;
  private readonly tickMs: number;
  private readonly heartbeatMs: number;
  private readonly slots: SimVehicle[][];
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  private nextSlot = 0;
  private stopping: Promise<void> | undefined;
  private counters = { published: 0, telemetry: 0, droppedWhileDisconnected: 0, maxLagMs: 0 };

  constructor(private readonly options: SimulationOptions) {
    assertOptions(options);
    this.logger = options.logger ?? NOOP_LOGGER;
    this.clock = options.clock ?? Date.now;
    const seed = options.seed ?? 1;
    const area = options.area ?? DEFAULT_SERVICE_AREA;
    this.tickMs = 1000 / (options.rate ?? 1);
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.network = buildStreetNetwork(area, { seed });
    const params: ModelParams = {
      ...DEFAULT_MODEL_PARAMS,
      ...options.model,
      ...(options.movingShare === undefined ? {} : { movingShare: options.movingShare }),
    };
    this.world = { network: this.network, params };
    this.pipeline = new PublishPipeline(this.sink);
    for (const mw of options.publishMiddleware ?? []) this.pipeline.use(mw);

    const perConnection = Math.min(options.vehiclesPerConnection ?? 1, options.vehicles);
    const seqStart = Math.floor(this.clock()); // seq survives restarts: seeded from the clock (see the protocol)
    const slotCount = Math.max(1, Math.round(this.tickMs / SLOT_MS));
    this.slots = Array.from({ length: slotCount }, () => []);
    let conn: DeviceConnection | undefined;
    for (let i = 0; i < options.vehicles; i++) {
      const info = demoVehicle(i);
      if (i % perConnection === 0) {
        const clientId = perConnection === 1 ? info.id : `sim-${info.id}-n${Math.min(perConnection, options.vehicles - i)}`;
        conn = new DeviceConnection(clientId, options.mqttUrl, options.credentials, this.clock, this.onConnect, this.onError, this.logger);
        this.connections.push(conn);
      }
      const rng = createRng(deriveSeed(seed, i));
      const v: SimVehicle = {
        index: i,
        id: info.id,
        telemetryTopic: deviceTopic(info.id, 'telemetry'),
        statusTopic: deviceTopic(info.id, 'status'),
        rng,
        conn: conn!,
        state: createVehicle(info, rng, this.world),
        lastStepAt: 0,
        lastPublishAt: -Infinity,
        lastFlags: -1,
        seq: seqStart - 1,
        lastTelemetry: undefined,
      };
      conn!.vehicles.push(v);
      this.vehicles.push(v);
      this.byId.set(v.id, v);
    }
    this.assignSlots(slotCount, perConnection);
    this.vehicleIds = this.vehicles.map((v) => v.id);
  }

  /**
   * Deals the vehicles into the tick's slots: evenly overall, but vehicles of one connection in runs, so a
   * connection sends several messages per slot in one socket write (mqtt.js corks the socket until the
   * next tick) instead of one syscall per message — the socket writes are most of the CPU cost at scale.
   */
  private assignSlots(slotCount: number, perConnection: number): void {
    const chunksPerConnection = Math.max(1, Math.ceil(slotCount / this.connections.length));
    this.connections.forEach((conn, c) => {
      conn.vehicles.forEach((v, j) => {
        const chunk = c * chunksPerConnection + Math.floor((j * chunksPerConnection) / Math.max(perConnection, conn.vehicles.length));
        this.slots[chunk % slotCount]!.push(v);
      });
    });
  }

  async start(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000 + 2 * this.connections.length;
    const started = performance.now();
    let timedOut = false;
    let timeoutHandle: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timeoutHandle = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
    });
    // Connect in waves so thousands of single-vehicle connections do not hit the broker in one instant.
    for (let i = 0; i < this.connections.length && !timedOut; i += CONNECT_CONCURRENCY) {
      const wave = this.connections.slice(i, i + CONNECT_CONCURRENCY).map((c) => c.open());
      await Promise.race([Promise.all(wave), timeout]);
    }
    clearTimeout(timeoutHandle);
    const up = this.connections.filter((c) => c.connected).length;
    if (timedOut || up < this.connections.length) {
      const lastError = this.connections.find((c) => c.lastError)?.lastError ?? 'no answer';
      for (const c of this.connections) c.forceClose();
      throw new Error(
        `simulator: only ${up} of ${this.connections.length} MQTT connections to ${this.options.mqttUrl} came up within ${timeoutMs} ms (${lastError})`,
      );
    }
    this.logger.info('sim: connected', {
      vehicles: this.vehicles.length,
      connections: this.connections.length,
      ms: Math.round(performance.now() - started),
    });
    this.startTicking();
  }

  // ---------------------------------------------------------------------------------------------- ticking

  private startTicking(): void {
    const now = performance.now();
    for (const v of this.vehicles) v.lastStepAt = now;
    this.epoch = now;
    this.nextSlot = 0;
    this.timer = setTimeout(this.onTimer, 0);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.stopping) return;
    const slotCount = this.slots.length;
    let now = performance.now();
    const lag = now - (this.epoch + this.nextSlot * SLOT_MS);
    if (lag > this.counters.maxLagMs) this.counters.maxLagMs = lag;
    if (lag > this.tickMs) {
      // More than a whole tick behind: skip ahead rather than burst. Steps use real elapsed time, so the
      // movement stays right; only the report rate drops (visible as maxLagMs).
      this.nextSlot = Math.floor((now - this.epoch) / SLOT_MS) - slotCount + 1;
    }
    while (this.epoch + this.nextSlot * SLOT_MS <= now) {
      this.runSlot(this.slots[this.nextSlot % slotCount]!, now);
      this.nextSlot++;
      now = performance.now();
    }
    this.timer = setTimeout(this.onTimer, Math.max(0, this.epoch + this.nextSlot * SLOT_MS - performance.now()));
  };

  private runSlot(slot: SimVehicle[], now: number): void {
    const ts = this.clock();
    for (const v of slot) {
      v.state = step(v.state, now - v.lastStepAt, v.rng, this.world);
      v.lastStepAt = now;
      const s = v.state;
      const flags = (s.ignition ? 1 : 0) | (s.locked ? 2 : 0) | (s.doorsClosed ? 4 : 0);
      const due = isActive(s) || flags !== v.lastFlags || now - v.lastPublishAt >= this.heartbeatMs - this.tickMs / 2;
      if (!due) continue;
      if (!v.conn.connected) {
        this.counters.droppedWhileDisconnected++;
        continue;
      }
      if (v.lastPublishAt === -Infinity) {
        // Spread the parked heartbeats over the heartbeat interval instead of all on the first tick.
        v.lastPublishAt = now - ((v.index * 0.6180339887) % 1) * this.heartbeatMs;
      } else {
        v.lastPublishAt = now;
      }
      v.lastFlags = flags;
      v.seq++;
      const telemetry = toTelemetry(s, this.network, v.seq, ts);
      v.lastTelemetry = telemetry;
      this.counters.telemetry++;
      this.pipeline.publish({
        vehicleId: v.id,
        channel: 'telemetry',
        topic: v.telemetryTopic,
        body: telemetry,
        qos: CHANNEL_RULES.telemetry.qos,
        retain: CHANNEL_RULES.telemetry.retain,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- publishing

  /** The end of the pipeline: hands a message to the connection of its vehicle. */
  private readonly sink = (msg: OutgoingMessage): void => {
    const conn = this.byId.get(msg.vehicleId)?.conn;
    const client = conn?.client;
    if (!conn?.connected || !client) {
      this.counters.droppedWhileDisconnected++;
      return;
    }
    const payload = serialize(msg);
    client.publish(msg.topic, typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
      qos: msg.qos,
      retain: msg.retain,
    });
    this.counters.published++;
  };

  /** On every (re)connect: retained `online` for each vehicle of the connection. */
  private readonly onConnect = (conn: DeviceConnection): void => {
    const ts = this.clock();
    const rules = CHANNEL_RULES.status;
    for (const v of conn.vehicles) {
      this.pipeline.publish({
        vehicleId: v.id,
        channel: 'status',
        topic: v.statusTopic,
        body: JSON.parse(statusPayload('online', ts)) as unknown,
        qos: rules.qos,
        retain: rules.retain,
      });
      // Report the current state right after (re)connecting instead of waiting for the next heartbeat.
      v.lastFlags = -1;
    }
  };

  private lastErrorLogAt = -Infinity;

  /** Connection errors (refused, unreachable, bad credentials), logged at most every 5 s for the whole fleet. */
  private readonly onError = (conn: DeviceConnection, err: Error): void => {
    const now = performance.now();
    if (now - this.lastErrorLogAt < 5_000) return;
    this.lastErrorLogAt = now;
    this.logger.warn('sim: MQTT connection error (retrying)', { clientId: conn.clientId, error: err.message, url: this.options.mqttUrl });
  };

  // ---------------------------------------------------------------------------------------------- control

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ts = this.clock();
    const offline = statusPayload('offline', ts, 'simulator stopped');
    let timeoutHandle: NodeJS.Timeout | undefined;
    const closing = Promise.allSettled(
      this.connections.map(async (c) => {
        const wasUp = c.connected && !c.killed;
        await c.closeCleanly(() => offline);
        if (wasUp) this.counters.published += c.vehicles.length;
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
      this.logger.warn('sim: clean shutdown timed out; closing the remaining connections', { ms: STOP_TIMEOUT_MS });
      for (const c of this.connections) c.forceClose();
    }
    this.logger.info('sim: stopped', { published: this.counters.published });
  }

  killConnection(vehicleId: string): void {
    this.vehicle(vehicleId).conn.kill();
  }

  async restoreConnection(vehicleId: string): Promise<void> {
    const conn = this.vehicle(vehicleId).conn;
    if (this.stopping) throw new Error('simulator: stopped');
    if (!conn.killed) return;
    await conn.open();
  }

  stats(): SimulationStats {
    let connected = 0;
    let connectionsUp = 0;
    for (const c of this.connections) {
      if (c.connected) {
        connectionsUp++;
        connected += c.vehicles.length;
      }
    }
    return { ...this.counters, connected, connections: this.connections.length, connectionsUp };
  }

  snapshot(vehicleId: string): VehicleSnapshot {
    const v = this.vehicle(vehicleId);
    const { lat, lon } = this.network.projection.toLatLon(v.state.x, v.state.y);
    return { state: v.state, lat, lon, seq: v.lastTelemetry ? v.seq : -1, lastTelemetry: v.lastTelemetry, connected: v.conn.connected };
  }

  use(middleware: PublishMiddleware): () => void {
    return this.pipeline.use(middleware);
  }

  private vehicle(vehicleId: string): SimVehicle {
    const v = this.byId.get(vehicleId);
    if (!v) throw new Error(`simulator: unknown vehicle ${vehicleId}`);
    return v;
  }
}
