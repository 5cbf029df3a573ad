/**
 * The device simulator: N simulated vehicles (the demo fleet's ids) speaking device protocol v1 over MQTT.
 *
 * Layers, each replaceable on its own; this file composes them (start/stop, the library API, stats):
 *   vehicle-model.ts      pure movement/state model, stepped with elapsed time (no clock, no I/O)
 *   street-network.ts     the streets the vehicles drive on
 *   sim-vehicle.ts        one simulated vehicle as the parts below share it, and the counters
 *   device-connection.ts  MQTT connections: one per vehicle (own session and last will) or multiplexed,
 *                         connecting in waves, the sink from the pipeline to a vehicle's connection, clean close
 *   scheduler.ts          one timer for the whole fleet: ticks, steps, publish pacing, device events, crashes
 *   command-responder.ts  command → `received` → result, deduplicated, expiry by the device clock
 *   publish-pipeline.ts   every outgoing message, with middleware hooks (where faults on demand slot in)
 *   faults.ts             faults on demand: middlewares (duplicate, reorder, malformed), device clock skew and
 *                         drift, the command policy, the crash rate — installed from a FaultConfig
 */
import { performance } from 'node:perf_hooks';
import { CHANNEL_RULES, statusPayload, type DeviceEvent, type Telemetry } from '../src/shared/device-protocol.js';
import { demoVehicle } from '../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA, type ServiceArea } from '../src/shared/service-area.js';
import { CommandResponder } from './command-responder.js';
import {
  closeAll,
  connectAll,
  connectionClientId,
  connectionErrorLogger,
  connectionSink,
  DeviceConnection,
  type CredentialsProvider,
  type SimulationLogger,
} from './device-connection.js';
import {
  assertCommandPolicy,
  commandPolicyWithFaults,
  DEFAULT_COMMAND_POLICY,
  installSkew,
  InstalledFaults,
  skewedTime,
  type ClockSkew,
  type CommandPolicy,
  type FaultConfig,
  type FaultCounters,
} from './faults.js';
import { createRng, deriveSeed, randomIndex, type Rng } from './prng.js';
import { PublishPipeline, type PublishMiddleware } from './publish-pipeline.js';
import { FleetScheduler } from './scheduler.js';
import { createSimVehicle, newCounters, type SimVehicle } from './sim-vehicle.js';
import { buildStreetNetwork, type StreetNetwork } from './street-network.js';
import {
  createVehicle,
  DEFAULT_MODEL_PARAMS,
  onDemandVehicle,
  requestPark,
  requestTrip,
  type ModelParams,
  type VehicleState,
  type World,
} from './vehicle-model.js';

export type { ClockSkew } from './faults.js';
export type { CredentialsProvider, DeviceCredentials, SimulationLogger } from './device-connection.js';

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
  /**
   * with an `mqtts://` URL: the CA certificate(s) (PEM) the broker's certificate must chain to; the connection is
   * refused otherwise (absent: the system's CAs)
   */
  tlsCa?: string | Buffer;
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
  /**
   * Trips on demand (the customer driver, sim/customers/): every vehicle stays parked until `requestTrip` and
   * drives until `requestPark` — except `unrentedShare` of the fleet (rounded; chosen by the seed), which keeps
   * driving on its own (movement without rental, for the alerts). Absent: every vehicle drives on its own.
   */
  tripsOnDemand?: { unrentedShare: number };
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
  /** the vehicles whose trips are on demand (`tripsOnDemand`; empty without it) */
  readonly onDemandVehicleIds: string[];
  /** A parked on-demand vehicle starts a trip now (gets in, drives); false when it cannot (not parked, immobilized). */
  requestTrip(vehicleId: string): boolean;
  /** A driving vehicle ends its trip now (brakes to the kerb, switches off, gets out, parks); false when not driving. */
  requestPark(vehicleId: string): boolean;
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
  triggerEvent(
    vehicleId: string,
    type: 'crash_detected' | 'tamper',
    data?: Record<string, string | number | boolean>,
  ): DeviceEvent | undefined;
}

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
  const unrented = o.tripsOnDemand?.unrentedShare ?? 0;
  if (!(unrented >= 0 && unrented <= 1)) throw new RangeError(`tripsOnDemand.unrentedShare must be 0…1 (got ${unrented})`);
}

/** Which of `count` vehicles keep driving on their own: `round(share · count)` of them, picked by the seed. */
function unrentedIndexes(count: number, share: number, seed: number): Set<number> {
  const rng = createRng(deriveSeed(seed ^ 0x2a5e7, 0x0de3a));
  const order = Array.from({ length: count }, (_, i) => i);
  const pick = Math.round(share * count);
  for (let i = 0; i < pick; i++) {
    const j = i + randomIndex(rng, count - i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return new Set(order.slice(0, pick));
}

const NOOP_LOGGER: SimulationLogger = { info() {}, warn() {}, error() {} };

class SimulationImpl implements Simulation {
  readonly vehicleIds: string[];
  readonly onDemandVehicleIds: string[];
  readonly network: StreetNetwork;
  private readonly world: World;
  private readonly vehicles: SimVehicle[] = [];
  private readonly byId = new Map<string, SimVehicle>();
  private readonly connections: DeviceConnection[] = [];
  private readonly pipeline: PublishPipeline;
  private readonly logger: SimulationLogger;
  private readonly clock: () => number;
  private readonly counters = newCounters();
  /** randomness of faults, crashes and command timing: apart from the vehicles' streams, so faults never change the movement */
  private readonly faultRng: Rng;
  private readonly faults: InstalledFaults;
  private readonly responder: CommandResponder;
  private readonly scheduler: FleetScheduler;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SimulationOptions) {
    assertOptions(options);
    this.logger = options.logger ?? NOOP_LOGGER;
    this.clock = options.clock ?? Date.now;
    const seed = options.seed ?? 1;
    const area = options.area ?? DEFAULT_SERVICE_AREA;
    const tickMs = 1000 / (options.rate ?? 1);
    this.network = buildStreetNetwork(area, { seed });
    const params: ModelParams = {
      ...DEFAULT_MODEL_PARAMS,
      ...options.model,
      ...(options.movingShare === undefined ? {} : { movingShare: options.movingShare }),
    };
    this.world = { network: this.network, params };
    this.pipeline = new PublishPipeline(connectionSink((id) => this.byId.get(id), this.counters));
    for (const mw of options.publishMiddleware ?? []) this.pipeline.use(mw);
    this.faultRng = createRng(deriveSeed(seed ^ 0x5f3759df, 0x0fa17));
    this.faults = new InstalledFaults(this.pipeline, this.faultRng);
    if (options.commandPolicy) assertCommandPolicy(options.commandPolicy);
    this.responder = new CommandResponder({
      vehicle: (id) => this.byId.get(id),
      network: this.network,
      pipeline: this.pipeline,
      counters: this.counters,
      faultRng: this.faultRng,
      deviceNow: this.deviceNow,
      policy: { ...DEFAULT_COMMAND_POLICY, ...options.commandPolicy },
    });
    if (options.faults) this.setFaults(options.faults);

    const perConnection = Math.min(options.vehiclesPerConnection ?? 1, options.vehicles);
    const first = options.firstVehicle ?? 0;
    const seqStart = Math.floor(this.clock()); // seq survives restarts: seeded from the clock (see the protocol)
    const onError = connectionErrorLogger(this.logger, options.mqttUrl);
    let conn: DeviceConnection | undefined;
    const onDemand = options.tripsOnDemand;
    const unrented = onDemand ? unrentedIndexes(options.vehicles, onDemand.unrentedShare, seed) : undefined;
    for (let i = 0; i < options.vehicles; i++) {
      const info = demoVehicle(first + i);
      if (i % perConnection === 0) {
        const clientId = connectionClientId(info.id, perConnection, Math.min(perConnection, options.vehicles - i));
        conn = new DeviceConnection(
          clientId,
          options.mqttUrl,
          options.credentials,
          this.deviceNow,
          this.onConnect,
          onError,
          this.responder.handle,
          this.logger,
          options.tlsCa,
        );
        this.connections.push(conn);
      }
      const rng = createRng(deriveSeed(seed, first + i));
      const created = createVehicle(info, rng, this.world);
      const state = unrented && !unrented.has(i) ? onDemandVehicle(created) : created;
      const v = createSimVehicle(i, info.id, rng, conn!, state, seqStart);
      conn!.vehicles.push(v);
      this.vehicles.push(v);
      this.byId.set(v.id, v);
    }
    this.scheduler = new FleetScheduler({
      vehicles: this.vehicles,
      connections: this.connections,
      perConnection,
      tickMs,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      world: this.world,
      clock: this.clock,
      deviceTime: this.deviceTimeOf,
      pipeline: this.pipeline,
      counters: this.counters,
      faultRng: this.faultRng,
      faults: this.faults,
    });
    this.vehicleIds = this.vehicles.map((v) => v.id);
    this.onDemandVehicleIds = this.vehicles.filter((v) => v.state.onDemand).map((v) => v.id);
  }

  async start(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000 + 2 * this.connections.length;
    const started = performance.now();
    await connectAll(this.connections, this.options.mqttUrl, timeoutMs);
    this.logger.info('sim: connected', {
      vehicles: this.vehicles.length,
      connections: this.connections.length,
      ms: Math.round(performance.now() - started),
    });
    this.scheduler.start();
  }

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
    this.responder.sendUnsent(v);
  }

  /** A vehicle's device clock: the real clock plus its skew (own, else fleet-wide). */
  private readonly deviceTimeOf = (v: SimVehicle, realTs: number): number => skewedTime(v.skew ?? this.faults.fleetSkew, realTs);

  private readonly deviceNow = (v: SimVehicle): number => this.deviceTimeOf(v, this.clock());

  // ---------------------------------------------------------------------------------------------- control

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.scheduler.stop();
    this.responder.stop();
    this.faults.removeMessageFaults();
    const offline = statusPayload('offline', this.clock(), 'simulator stopped');
    await closeAll(this.connections, offline, this.counters, this.logger);
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
        throw new Error(
          `simulator: ${vehicleId} shares a multiplexed connection, which has no last will; use vehiclesPerConnection 1 (or lastWill: false)`,
        );
      }
      v.conn.kill();
      return;
    }
    if (multiplexed) v.silenced = true;
    else await v.conn.disconnectSilently();
  }

  setFaults(faults: FaultConfig): void {
    this.faults.set(faults, this.clock());
    this.responder.fleetPolicy = commandPolicyWithFaults(this.responder.fleetPolicy, faults, this.options.commandPolicy);
  }

  setClockSkew(vehicleId: string, skew: ClockSkew | undefined): void {
    const v = this.vehicle(vehicleId);
    v.skew = installSkew(skew, this.clock());
  }

  deviceTime(vehicleId: string): number {
    return this.deviceNow(this.vehicle(vehicleId));
  }

  setCommandPolicy(policy: Partial<CommandPolicy>, vehicleId?: string): void {
    assertCommandPolicy(policy);
    if (vehicleId === undefined) {
      this.responder.fleetPolicy = { ...this.responder.fleetPolicy, ...policy };
    } else {
      const v = this.vehicle(vehicleId);
      v.policy = { ...v.policy, ...policy };
    }
  }

  triggerEvent(
    vehicleId: string,
    type: 'crash_detected' | 'tamper',
    data?: Record<string, string | number | boolean>,
  ): DeviceEvent | undefined {
    const v = this.vehicle(vehicleId);
    if (this.stopping || !v.conn.connected || v.silenced) return undefined;
    const ts = this.deviceNow(v);
    return type === 'crash_detected' ? this.scheduler.crash(v, data, ts) : this.scheduler.publishEvent(v, 'tamper', ts, data);
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
    return { ...this.counters, faults: { ...this.faults.counters }, connected, connections: this.connections.length, connectionsUp };
  }

  snapshot(vehicleId: string): VehicleSnapshot {
    const v = this.vehicle(vehicleId);
    const { lat, lon } = this.network.projection.toLatLon(v.state.x, v.state.y);
    return {
      state: v.state,
      lat,
      lon,
      seq: v.lastTelemetry ? v.lastTelemetry.seq : -1,
      lastTelemetry: v.lastTelemetry,
      connected: v.conn.connected && !v.silenced,
    };
  }

  requestTrip(vehicleId: string): boolean {
    const v = this.vehicle(vehicleId);
    const next = requestTrip(v.state);
    if (next) v.state = next;
    return next !== undefined;
  }

  requestPark(vehicleId: string): boolean {
    const v = this.vehicle(vehicleId);
    const next = requestPark(v.state);
    if (next) v.state = next;
    return next !== undefined;
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
