/**
 * The device simulator: N simulated vehicles (the demo fleet's ids) speaking device protocol v1 over MQTT.
 *
 * Layers, each replaceable on its own:
 *   vehicle-model.ts    pure movement/state model, stepped with elapsed time (no clock, no I/O)
 *   street-network.ts   the streets the vehicles drive on
 *   publish-pipeline.ts every outgoing message, with middleware hooks (where faults on demand slot in)
 *   faults.ts           faults on demand: middlewares (duplicate, reorder, malformed) and the command policy
 *   this file           connections, one scheduler timer for the whole fleet, device events, commands,
 *                       device clocks, start/stop, stats
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
 *
 * Commands: a single-vehicle connection has a persistent session (clean: false, client id = vehicle id) and
 * subscribes to its `commands` topic at QoS 1, so the broker keeps commands sent while it is away. A
 * multiplexed connection subscribes to each of its vehicles' `commands` topics (no wildcard: under per-device
 * ACLs a wildcard would ask for more than a device may read) with a clean session.
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  CHANNEL_RULES,
  COMMAND_ID_PATTERN,
  decodeDeviceCommand,
  DEVICE_PROTOCOL_VERSION,
  deviceTopic,
  MAX_PAYLOAD_BYTES,
  parseDeviceTopic,
  statusPayload,
  type CommandResult,
  type CommandResultStatus,
  type DeviceCommand,
  type DeviceEvent,
  type DeviceEventType,
  type Telemetry,
} from '../src/shared/device-protocol.js';
import { demoVehicle } from '../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA, type ServiceArea } from '../src/shared/service-area.js';
import {
  assertCommandPolicy,
  DEFAULT_COMMAND_POLICY,
  duplicateMiddleware,
  malformedMiddleware,
  reorderFault,
  type CommandPolicy,
  type FaultConfig,
  type FaultCounters,
} from './faults.js';
import { createRng, deriveSeed, uniform, type Rng } from './prng.js';
import { PublishPipeline, serialize, type OutgoingMessage, type PublishMiddleware } from './publish-pipeline.js';
import { buildStreetNetwork, type StreetNetwork } from './street-network.js';
import {
  createVehicle,
  DEFAULT_MODEL_PARAMS,
  isActive,
  step,
  toTelemetry,
  type ModelEvent,
  type ModelParams,
  type VehicleState,
  type World,
} from './vehicle-model.js';

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
  /** simulates demoVehicleId(firstVehicle … firstVehicle+vehicles-1), the ids the server seeds */
  vehicles: number;
  /** index of the first demo vehicle (default 0 = veh-00001); tests on a shared broker pick a free range */
  firstVehicle?: number;
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
  /** the real clock, epoch ms (default Date.now); each vehicle's device clock is this plus its skew */
  clock?: () => number;
  /** faults on demand from the start (see faults.ts); change them later with `setFaults` */
  faults?: FaultConfig;
  /** how commands are answered (default: 300–800 ms execution, never failing, never ignoring) */
  commandPolicy?: Partial<CommandPolicy>;
}

/** A device clock's deviation from the real clock: offset + drift × hours since it was set. */
export interface ClockSkew {
  offsetMs: number;
  driftMsPerHour?: number;
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
  /** device events published */
  events: number;
  /** valid commands received (repeats of a known command id included) */
  commandsReceived: number;
  /** repeats of a known command id: answered with the remembered result, not executed again */
  commandsDuplicate: number;
  /** answered rejected_expired */
  commandsExpired: number;
  /** not answered at all (command-ignore fault) */
  commandsIgnored: number;
  /** payloads on a commands topic that fail decodeDeviceCommand (answered `failed` when the id is readable) */
  commandsInvalid: number;
  /** command results handed to the pipeline */
  commandResults: number;
  faults: FaultCounters;
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
  /**
   * Takes a vehicle offline. `lastWill: true`: the socket dies without DISCONNECT, the broker publishes the
   * last will (single-vehicle connections only — a multiplexed connection has no will). `lastWill: false`:
   * silently gone — a clean DISCONNECT (the broker discards the will) and no `offline` status, so only the
   * server's heartbeat timeout can notice; on a multiplexed connection just this vehicle falls silent.
   * Commands for a single-vehicle connection wait in its persistent session. `restoreConnection` brings it back.
   */
  goOffline(vehicleId: string, options: { lastWill: boolean }): Promise<void>;
  /** Replaces the message faults and command faults installed from a FaultConfig ({} removes them). */
  setFaults(faults: FaultConfig): void;
  /** Skews one vehicle's device clock (undefined: back to the fleet-wide skew of `setFaults`). */
  setClockSkew(vehicleId: string, skew: ClockSkew | undefined): void;
  /** The vehicle's device clock now, epoch ms (what it stamps into `ts` and checks `expiresAt` against). */
  deviceTime(vehicleId: string): number;
  /** Overrides the command policy for one vehicle, or the fleet-wide one when no vehicle is given. */
  setCommandPolicy(policy: Partial<CommandPolicy>, vehicleId?: string): void;
  /**
   * Publishes an on-demand device event: `crash_detected` (data.peakG, random 2.5–8 g unless given; a
   * driving car then ends its trip) or `tamper`. Returns the event, or undefined when the vehicle is offline.
   */
  triggerEvent(vehicleId: string, type: 'crash_detected' | 'tamper', data?: Record<string, string | number | boolean>): DeviceEvent | undefined;
}

const SLOT_MS = 10;
const CONNECT_CONCURRENCY = 200;
/** command ids remembered per vehicle for deduplication */
const REMEMBERED_COMMANDS = 256;
/** command results kept while the vehicle is disconnected, sent on reconnect (QoS 1 semantics) */
const MAX_UNSENT_RESULTS = 64;
const DEFAULT_CRASH_PER_HOUR = 0.001;
const STOP_TIMEOUT_MS = 5_000;
const NOOP_LOGGER: SimulationLogger = { info() {}, warn() {}, error() {} };

interface RememberedCommand {
  /** the last result published for it (undefined: ignored, nothing was answered) */
  last: CommandResult | undefined;
}

interface SimVehicle {
  readonly index: number;
  readonly id: string;
  readonly telemetryTopic: string;
  readonly statusTopic: string;
  readonly eventsTopic: string;
  readonly commandsTopic: string;
  readonly resultsTopic: string;
  readonly rng: Rng;
  readonly conn: DeviceConnection;
  state: VehicleState;
  lastStepAt: number;
  lastPublishAt: number;
  /** ignition/locked/doorsClosed as last published: a change is reported at once even when parked */
  lastFlags: number;
  seq: number;
  lastTelemetry: Telemetry | undefined;
  /** gone silent on a multiplexed connection (goOffline without will) */
  silenced: boolean;
  /** own clock skew (overrides the fleet-wide one) */
  skew: { offsetMs: number; driftMsPerHour: number; since: number } | undefined;
  /** command policy override (merged over the fleet-wide policy) */
  policy: Partial<CommandPolicy> | undefined;
  commands: Map<string, RememberedCommand> | undefined;
  /** results produced while disconnected, sent after the next connect */
  unsentResults: OutgoingMessage[] | undefined;
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
    private readonly deviceClock: (v: SimVehicle) => number,
    private readonly onConnect: (conn: DeviceConnection) => void,
    private readonly onError: (conn: DeviceConnection, err: Error) => void,
    private readonly onMessage: (conn: DeviceConnection, topic: string, payload: Buffer) => void,
    private readonly logger: SimulationLogger,
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
  const first = o.firstVehicle ?? 0;
  if (!Number.isInteger(first) || first < 0 || first + o.vehicles > 99_999) {
    throw new RangeError(`firstVehicle must be an integer ≥ 0 with firstVehicle + vehicles ≤ 99999 (got ${first})`);
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
  private counters = {
    published: 0,
    telemetry: 0,
    droppedWhileDisconnected: 0,
    maxLagMs: 0,
    events: 0,
    commandsReceived: 0,
    commandsDuplicate: 0,
    commandsExpired: 0,
    commandsIgnored: 0,
    commandsInvalid: 0,
    commandResults: 0,
  };
  private readonly faultCounters: FaultCounters = { duplicated: 0, reordered: 0, malformed: 0 };
  /** randomness of faults, crashes and command timing: apart from the vehicles' streams, so faults never change the movement */
  private readonly faultRng: Rng;
  private fleetSkew: { offsetMs: number; driftMsPerHour: number; since: number } | undefined;
  private fleetPolicy: CommandPolicy;
  private crashPerMs = DEFAULT_CRASH_PER_HOUR / 3_600_000;
  private removeFaultMiddlewares: () => void = () => {};
  private readonly commandTimers = new Set<NodeJS.Timeout>();
  /** reused by every step to collect model events without allocating */
  private readonly stepEvents: ModelEvent[] = [];

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
    this.faultRng = createRng(deriveSeed(seed ^ 0x5f3759df, 0x0fa17));
    if (options.commandPolicy) assertCommandPolicy(options.commandPolicy);
    this.fleetPolicy = { ...DEFAULT_COMMAND_POLICY, ...options.commandPolicy };
    if (options.faults) this.setFaults(options.faults);

    const perConnection = Math.min(options.vehiclesPerConnection ?? 1, options.vehicles);
    const first = options.firstVehicle ?? 0;
    const seqStart = Math.floor(this.clock()); // seq survives restarts: seeded from the clock (see the protocol)
    const slotCount = Math.max(1, Math.round(this.tickMs / SLOT_MS));
    this.slots = Array.from({ length: slotCount }, () => []);
    let conn: DeviceConnection | undefined;
    for (let i = 0; i < options.vehicles; i++) {
      const info = demoVehicle(first + i);
      if (i % perConnection === 0) {
        const clientId = perConnection === 1 ? info.id : `sim-${info.id}-n${Math.min(perConnection, options.vehicles - i)}`;
        conn = new DeviceConnection(
          clientId,
          options.mqttUrl,
          options.credentials,
          this.deviceNow,
          this.onConnect,
          this.onError,
          this.onMessage,
          this.logger,
        );
        this.connections.push(conn);
      }
      const rng = createRng(deriveSeed(seed, first + i));
      const v: SimVehicle = {
        index: i,
        id: info.id,
        telemetryTopic: deviceTopic(info.id, 'telemetry'),
        statusTopic: deviceTopic(info.id, 'status'),
        eventsTopic: deviceTopic(info.id, 'events'),
        commandsTopic: deviceTopic(info.id, 'commands'),
        resultsTopic: deviceTopic(info.id, 'command-results'),
        rng,
        conn: conn!,
        state: createVehicle(info, rng, this.world),
        lastStepAt: 0,
        lastPublishAt: -Infinity,
        lastFlags: -1,
        seq: seqStart - 1,
        lastTelemetry: undefined,
        silenced: false,
        skew: undefined,
        policy: undefined,
        commands: undefined,
        unsentResults: undefined,
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
    const realTs = this.clock();
    const events = this.stepEvents;
    for (const v of slot) {
      const dt = now - v.lastStepAt;
      events.length = 0;
      v.state = step(v.state, dt, v.rng, this.world, events);
      v.lastStepAt = now;
      const ts = this.deviceTimeOf(v, realTs);
      const up = v.conn.connected && !v.silenced;
      if (events.length > 0) {
        for (const e of events) {
          // Stamped with when it happened inside the step; published before this tick's telemetry.
          const data = e.levelPct === undefined ? undefined : { levelPct: Math.round(e.levelPct * 10) / 10, energy: v.state.energyType === 'electric' ? 'battery' : 'fuel' };
          if (up) this.publishEvent(v, e.type, ts - (dt - e.atMs), data);
          else this.counters.droppedWhileDisconnected++;
        }
      }
      if (this.crashPerMs > 0 && v.state.phase === 'driving' && v.state.speedMps > 3 && this.faultRng() < this.crashPerMs * dt && up) {
        this.crash(v, undefined, ts);
      }
      const s = v.state;
      const flags = (s.ignition ? 1 : 0) | (s.locked ? 2 : 0) | (s.doorsClosed ? 4 : 0);
      const due = isActive(s) || flags !== v.lastFlags || now - v.lastPublishAt >= this.heartbeatMs - this.tickMs / 2;
      if (!due) continue;
      if (!up) {
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

  /** On every (re)connect: retained `online` for each vehicle of the connection, then results kept while away. */
  private readonly onConnect = (conn: DeviceConnection): void => {
    const realTs = this.clock();
    for (const v of conn.vehicles) if (!v.silenced) this.announce(v, realTs);
  };

  /** Retained `online` for one vehicle, then the command results it produced while away. */
  private announce(v: SimVehicle, realTs: number): void {
    const rules = CHANNEL_RULES.status;
    this.pipeline.publish({
      vehicleId: v.id,
      channel: 'status',
      topic: v.statusTopic,
      body: JSON.parse(statusPayload('online', this.deviceTimeOf(v, realTs))) as unknown,
      qos: rules.qos,
      retain: rules.retain,
    });
    // Report the current state right after (re)connecting instead of waiting for the next heartbeat.
    v.lastFlags = -1;
    const unsent = v.unsentResults;
    if (unsent) {
      v.unsentResults = undefined;
      for (const msg of unsent) this.pipeline.publish(msg);
    }
  }


  // ---------------------------------------------------------------------------------------------- device clock

  /** A vehicle's device clock: the real clock plus its skew (own, else fleet-wide). */
  private deviceTimeOf(v: SimVehicle, realTs: number): number {
    const skew = v.skew ?? this.fleetSkew;
    if (!skew) return realTs;
    return realTs + skew.offsetMs + (skew.driftMsPerHour * (realTs - skew.since)) / 3_600_000;
  }

  private readonly deviceNow = (v: SimVehicle): number => this.deviceTimeOf(v, this.clock());

  // ---------------------------------------------------------------------------------------------- events

  private publishEvent(v: SimVehicle, type: DeviceEventType, ts: number, data?: Record<string, string | number | boolean>): DeviceEvent {
    v.seq++;
    const { lat, lon } = this.network.projection.toLatLon(v.state.x, v.state.y);
    const event: DeviceEvent = {
      v: DEVICE_PROTOCOL_VERSION,
      seq: v.seq,
      ts: Math.max(0, Math.floor(ts)),
      type,
      lat: Math.round(lat * 1e6) / 1e6,
      lon: Math.round(lon * 1e6) / 1e6,
      ...(data ? { data } : {}),
    };
    this.counters.events++;
    this.pipeline.publish({
      vehicleId: v.id,
      channel: 'events',
      topic: v.eventsTopic,
      body: event,
      qos: CHANNEL_RULES.events.qos,
      retain: CHANNEL_RULES.events.retain,
    });
    return event;
  }

  /** crash_detected with data.peakG; a driving car then brakes to the kerb and ends its trip. */
  private crash(v: SimVehicle, data: Record<string, string | number | boolean> | undefined, ts: number): DeviceEvent {
    const peakG = Math.round(uniform(this.faultRng, 2.5, 8) * 10) / 10;
    const event = this.publishEvent(v, 'crash_detected', ts, { peakG, ...data });
    if (v.state.phase === 'driving') v.state = { ...v.state, phaseRemainingMs: 0 };
    return event;
  }

  // ---------------------------------------------------------------------------------------------- commands

  private readonly onMessage = (conn: DeviceConnection, topic: string, payload: Buffer): void => {
    if (this.stopping) return;
    const parsed = parseDeviceTopic(topic);
    const v = parsed?.channel === 'commands' ? this.byId.get(parsed.vehicleId) : undefined;
    if (!v || v.conn !== conn) {
      this.counters.commandsInvalid++;
      return;
    }
    if (v.silenced) return; // gone: hears nothing
    const decoded = decodeDeviceCommand(payload);
    if (!decoded.ok) {
      this.counters.commandsInvalid++;
      // Answer `failed` when the command id is readable, so the server need not wait for the expiry.
      const commandId = readableCommandId(payload);
      if (commandId && !v.commands?.has(commandId)) {
        const rec = this.remember(v, commandId);
        this.answer(v, rec, commandId, 'failed', `invalid_command: ${decoded.reason}${decoded.detail ? ` (${decoded.detail})` : ''}`);
      }
      return;
    }
    const cmd = decoded.value;
    this.counters.commandsReceived++;
    const known = v.commands?.get(cmd.commandId);
    if (known) {
      // A repeat (QoS 1 redelivery, a server retry): answer what we answered last; never execute again.
      this.counters.commandsDuplicate++;
      if (known.last) this.sendResult(v, known.last);
      return;
    }
    const rec = this.remember(v, cmd.commandId);
    const now = this.deviceNow(v);
    if (cmd.expiresAt <= now) {
      this.counters.commandsExpired++;
      this.answer(v, rec, cmd.commandId, 'rejected_expired', `expired at ${cmd.expiresAt}, device clock ${Math.floor(now)}`);
      return;
    }
    const policy = v.policy ? { ...this.fleetPolicy, ...v.policy } : this.fleetPolicy;
    if (policy.ignoreProbability > 0 && this.faultRng() < policy.ignoreProbability) {
      this.counters.commandsIgnored++;
      return;
    }
    this.answer(v, rec, cmd.commandId, 'received');
    const d = policy.executionDelayMs;
    const delay = typeof d === 'number' ? d : uniform(this.faultRng, d[0], d[1]);
    const timer = setTimeout(() => {
      this.commandTimers.delete(timer);
      if (!this.stopping) this.execute(v, cmd, rec, policy);
    }, delay);
    this.commandTimers.add(timer);
  };

  private execute(v: SimVehicle, cmd: DeviceCommand, rec: RememberedCommand, policy: CommandPolicy): void {
    const now = this.deviceNow(v);
    if (cmd.expiresAt <= now) {
      // Expired while waiting to execute: still never executed after the expiry.
      this.counters.commandsExpired++;
      this.answer(v, rec, cmd.commandId, 'rejected_expired', `expired before execution at ${cmd.expiresAt}, device clock ${Math.floor(now)}`);
      return;
    }
    if (policy.failProbability > 0 && this.faultRng() < policy.failProbability) {
      this.answer(v, rec, cmd.commandId, 'failed', 'simulated_failure');
      return;
    }
    const outcome = this.apply(v, cmd);
    if (outcome.ok) this.answer(v, rec, cmd.commandId, 'succeeded', undefined, outcome.data);
    else this.answer(v, rec, cmd.commandId, 'failed', outcome.reason);
  }

  /** The command's effect on the vehicle model (see sim/README.md, "Commands"). */
  private apply(v: SimVehicle, cmd: DeviceCommand): { ok: true; data?: Record<string, number> } | { ok: false; reason: string } {
    const s = v.state;
    switch (cmd.type) {
      case 'lock':
        if (!s.doorsClosed) return { ok: false, reason: 'doors_open' };
        if (s.ignition) return { ok: false, reason: 'ignition_on' };
        v.state = { ...s, locked: true };
        return { ok: true };
      case 'unlock':
        v.state = { ...s, locked: false };
        return { ok: true };
      case 'immobilize':
        // Takes effect at once for starting; a car on a trip brakes to the kerb and switches off when stopped.
        v.state = { ...s, immobilized: true };
        return { ok: true };
      case 'release':
        v.state = { ...s, immobilized: false };
        return { ok: true };
      case 'locate': {
        const { lat, lon } = this.network.projection.toLatLon(s.x, s.y);
        return { ok: true, data: { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 } };
      }
      case 'honk_flash':
        return { ok: true };
    }
  }

  private remember(v: SimVehicle, commandId: string): RememberedCommand {
    const map = (v.commands ??= new Map());
    if (map.size >= REMEMBERED_COMMANDS) map.delete(map.keys().next().value!);
    const rec: RememberedCommand = { last: undefined };
    map.set(commandId, rec);
    return rec;
  }

  private answer(
    v: SimVehicle,
    rec: RememberedCommand,
    commandId: string,
    status: CommandResultStatus,
    reason?: string,
    data?: Record<string, number>,
  ): void {
    const result: CommandResult = {
      v: DEVICE_PROTOCOL_VERSION,
      commandId,
      status,
      ...(reason === undefined ? {} : { reason: reason.slice(0, 500) }),
      ts: Math.max(0, Math.floor(this.deviceNow(v))),
      ...(data ? { data } : {}),
    };
    rec.last = result;
    this.sendResult(v, result);
  }

  /** QoS 1: kept while the vehicle is disconnected (not when it is silenced) and sent after it reconnects. */
  private sendResult(v: SimVehicle, result: CommandResult): void {
    const msg: OutgoingMessage = {
      vehicleId: v.id,
      channel: 'command-results',
      topic: v.resultsTopic,
      body: result,
      qos: CHANNEL_RULES['command-results'].qos,
      retain: CHANNEL_RULES['command-results'].retain,
    };
    this.counters.commandResults++;
    if (v.silenced) return;
    if (!v.conn.connected) {
      const unsent = (v.unsentResults ??= []);
      if (unsent.length < MAX_UNSENT_RESULTS) unsent.push(msg);
      return;
    }
    this.pipeline.publish(msg);
  }

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
    for (const t of this.commandTimers) clearTimeout(t);
    this.commandTimers.clear();
    this.removeFaultMiddlewares();
    const ts = this.clock();
    const offline = statusPayload('offline', ts, 'simulator stopped');
    let timeoutHandle: NodeJS.Timeout | undefined;
    const closing = Promise.allSettled(
      this.connections.map(async (c) => {
        const wasUp = c.connected && !c.killed;
        await c.closeCleanly(() => offline);
        if (wasUp) this.counters.published += c.vehicles.filter((v) => !v.silenced).length;
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
    const v = this.vehicle(vehicleId);
    const conn = v.conn;
    if (this.stopping) throw new Error('simulator: stopped');
    if (v.silenced) {
      v.silenced = false;
      if (conn.connected) this.announce(v, this.clock());
    }
    if (!conn.killed) return;
    await conn.open();
  }

  async goOffline(vehicleId: string, options: { lastWill: boolean }): Promise<void> {
    const v = this.vehicle(vehicleId);
    if (this.stopping) throw new Error('simulator: stopped');
    const multiplexed = v.conn.vehicles.length > 1;
    if (options.lastWill) {
      if (multiplexed) {
        throw new Error(`simulator: ${vehicleId} shares a multiplexed connection, which has no last will; use vehiclesPerConnection 1 (or lastWill: false)`);
      }
      v.conn.kill();
      return;
    }
    if (multiplexed) v.silenced = true;
    else await v.conn.disconnectSilently();
  }

  setFaults(faults: FaultConfig): void {
    const f = faults;
    for (const key of ['duplicate', 'reorder', 'malformed', 'commandFail', 'commandIgnore'] as const) {
      const p = f[key];
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`faults.${key} must be a probability 0…1 (got ${p})`);
    }
    if (f.commandDelayMs !== undefined) assertCommandPolicy({ executionDelayMs: f.commandDelayMs });
    if (f.crashPerHour !== undefined && !(f.crashPerHour >= 0 && f.crashPerHour <= 3600)) {
      throw new RangeError(`faults.crashPerHour must be 0…3600 (got ${f.crashPerHour})`);
    }
    for (const key of ['skewMs', 'driftMsPerHour'] as const) {
      const ms = f[key];
      if (ms !== undefined && !Number.isFinite(ms)) throw new RangeError(`faults.${key} must be a finite number of ms (got ${ms})`);
    }

    this.removeFaultMiddlewares();
    const removers: Array<() => void> = [];
    const rng = this.faultRng;
    const counters = this.faultCounters;
    // Order: corrupt, then duplicate (a duplicate of a corrupted message is equally corrupted), then reorder.
    if (f.malformed) removers.push(this.pipeline.use(malformedMiddleware({ probability: f.malformed, rng, counters })));
    if (f.duplicate) removers.push(this.pipeline.use(duplicateMiddleware({ probability: f.duplicate, rng, counters })));
    if (f.reorder) {
      const reorder = reorderFault({ probability: f.reorder, rng, counters });
      const remove = this.pipeline.use(reorder.middleware);
      removers.push(() => {
        remove();
        reorder.flush();
      });
    }
    this.removeFaultMiddlewares = () => {
      for (const r of removers) r();
      this.removeFaultMiddlewares = () => {};
    };

    const since = this.clock();
    this.fleetSkew = f.skewMs || f.driftMsPerHour ? { offsetMs: f.skewMs ?? 0, driftMsPerHour: f.driftMsPerHour ?? 0, since } : undefined;
    this.fleetPolicy = {
      ...this.fleetPolicy,
      failProbability: f.commandFail ?? this.options.commandPolicy?.failProbability ?? DEFAULT_COMMAND_POLICY.failProbability,
      ignoreProbability: f.commandIgnore ?? this.options.commandPolicy?.ignoreProbability ?? DEFAULT_COMMAND_POLICY.ignoreProbability,
      executionDelayMs: f.commandDelayMs ?? this.options.commandPolicy?.executionDelayMs ?? DEFAULT_COMMAND_POLICY.executionDelayMs,
    };
    this.crashPerMs = (f.crashPerHour ?? DEFAULT_CRASH_PER_HOUR) / 3_600_000;
  }

  setClockSkew(vehicleId: string, skew: ClockSkew | undefined): void {
    const v = this.vehicle(vehicleId);
    if (skew && !(Number.isFinite(skew.offsetMs) && Number.isFinite(skew.driftMsPerHour ?? 0))) {
      throw new RangeError(`clock skew must be finite ms (got ${JSON.stringify(skew)})`);
    }
    v.skew = skew ? { offsetMs: skew.offsetMs, driftMsPerHour: skew.driftMsPerHour ?? 0, since: this.clock() } : undefined;
  }

  deviceTime(vehicleId: string): number {
    return this.deviceNow(this.vehicle(vehicleId));
  }

  setCommandPolicy(policy: Partial<CommandPolicy>, vehicleId?: string): void {
    assertCommandPolicy(policy);
    if (vehicleId === undefined) {
      this.fleetPolicy = { ...this.fleetPolicy, ...policy };
    } else {
      const v = this.vehicle(vehicleId);
      v.policy = { ...v.policy, ...policy };
    }
  }

  triggerEvent(vehicleId: string, type: 'crash_detected' | 'tamper', data?: Record<string, string | number | boolean>): DeviceEvent | undefined {
    const v = this.vehicle(vehicleId);
    if (this.stopping || !v.conn.connected || v.silenced) return undefined;
    const ts = this.deviceNow(v);
    return type === 'crash_detected' ? this.crash(v, data, ts) : this.publishEvent(v, 'tamper', ts, data);
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
    return { ...this.counters, faults: { ...this.faultCounters }, connected, connections: this.connections.length, connectionsUp };
  }

  snapshot(vehicleId: string): VehicleSnapshot {
    const v = this.vehicle(vehicleId);
    const { lat, lon } = this.network.projection.toLatLon(v.state.x, v.state.y);
    return { state: v.state, lat, lon, seq: v.lastTelemetry ? v.lastTelemetry.seq : -1, lastTelemetry: v.lastTelemetry, connected: v.conn.connected && !v.silenced };
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

const COMMAND_ID_RE = new RegExp(COMMAND_ID_PATTERN);

/** The command id of an undecodable command, when the payload is JSON with a well-formed `commandId`. */
function readableCommandId(payload: Buffer): string | undefined {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return undefined;
  try {
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    const id = typeof value === 'object' && value !== null ? (value as { commandId?: unknown }).commandId : undefined;
    return typeof id === 'string' && COMMAND_ID_RE.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
