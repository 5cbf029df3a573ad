/**
 * The fleet component: the vehicle registry and every vehicle's latest live state. Other components reach it
 * only through this file.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { demoFleet } from '../../../../src/shared/demo-fleet.js';
import { vehicleLive, type VehicleInfo, type VehicleLive } from '../../../../src/shared/fleet.js';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import { fleetRoutes } from './api/fleet.routes.js';
import { vehicleAdminRoutes } from './api/vehicle-admin.routes.js';
import { findRegisteredMany } from './data/vehicle-admin.repository.js';
import { createVehicleAdmin } from './domain/vehicle-admin.js';
import type { RegisteredVehicle } from '../../../../src/shared/vehicle-registry.js';
import { TelemetryHistoryRepository } from './data/telemetry-history.repository.js';
import { VehicleStateRepository } from './data/vehicle-state.repository.js';
import { VehicleSyncRepository } from './data/vehicle-sync.repository.js';
import { VehiclesRepository } from './data/vehicles.repository.js';
import type { ServiceState } from '../../../../src/shared/sync-protocol.js';
import type { Actor } from '../../platform/http/actor.js';
import { recordAudit } from '../audit/index.js';
import { createFleetQueries } from './domain/fleet-queries.js';
import { HistoryBuffer } from './domain/history-buffer.js';
import { LiveStateBuffer, type RecordOutcome, type TelemetrySample } from './domain/live-state-buffer.js';
import { OnlineTracker } from './domain/online-tracker.js';
import { VehicleLiveness, type VehicleLivenessView } from './domain/vehicle-liveness.js';
import { VehicleRegistry } from './domain/vehicle-registry.js';
import type { VehiclePosition } from './model.js';

export type { RecordOutcome, TelemetrySample } from './domain/live-state-buffer.js';
export { vehicleDocs } from './data/vehicle-docs.js';

export type { VehiclePosition } from './model.js';
export type { VehicleLivenessView } from './domain/vehicle-liveness.js';

/** The server's own broker link (platform/mqtt): whether it can hear the cars at all. */
export interface BrokerLinkPort {
  linkState(): { status: 'connecting' | 'up' | 'down'; since: number };
  onLinkChange(listener: (state: { status: 'connecting' | 'up' | 'down'; since: number }) => void): () => void;
}

export interface FleetComponent {
  /** Is this id in the registry? (in memory; every device message asks) */
  isKnownVehicle(vehicleId: string): boolean;
  /** Upserts vehicles by id; ingestion accepts their ids as soon as this resolves. */
  registerVehicles(vehicles: readonly VehicleInfo[]): Promise<void>;
  /** Accepted telemetry becomes the latest state, goes to the history and is emitted as `vehicle.telemetry`. */
  recordTelemetry(vehicleId: string, sample: TelemetrySample, receivedAt: number): RecordOutcome;
  /** `deviceTs`: the status message's own ts (tells a last will from a fresh offline status). */
  recordStatus(vehicleId: string, online: boolean, receivedAt: number, retained: boolean, deviceTs?: number): void;
  /** Writes buffered live state and history now (also done every flush interval and on stop). */
  flush(): Promise<void>;
  /** Turns vehicles silent beyond the heartbeat timeout offline (also runs on a timer). */
  sweepHeartbeats(now?: number): Promise<void>;
  /** Ids of vehicles online now as stored (all instances): online and heard from within the heartbeat timeout. Command dispatch starts from this, then follows `vehicle.online`. */
  onlineVehicleIds(): Promise<string[]>;
  /** Creates history partitions ahead and drops expired ones (also at start and hourly). */
  maintainHistory(now?: number): Promise<{ created: string[]; dropped: string[] }>;
  /**
   * Use case: a vehicle's service state (available ↔ maintenance), audited; unchanged → no write. Unknown → 404.
   */
  setServiceState(
    vehicleId: string,
    state: ServiceState,
    actor: Actor,
    reason?: string | null,
  ): Promise<{ changed: boolean; serviceState: ServiceState }>;
  /** Copies due live state into the replicated vehicle snapshot now (also on a timer); returns the rows copied. */
  copySnapshot(): Promise<number>;
  /**
   * Every vehicle with a known position: one lean read of the stored state (bookings refreshes availability with it
   * every second). `changedSinceMs`: only vehicles whose state was written since then, plus every vehicle not in
   * service (`maintenance`) — so a caller learns of a return to service by its absence.
   */
  vehiclePositions(changedSinceMs?: number): Promise<VehiclePosition[]>;
  /** Every vehicle's latest stored state (as GET /ops/v1/fleet/live shows it; the alerts' repair at start). */
  liveFleet(): Promise<VehicleLive[]>;
  /** Whether a car counts as alive / offered / stale, with the broker's outages excused (bookings asks this). */
  liveness: VehicleLivenessView;
  /** These vehicles as the registry holds them (retired ones too; unknown ids left out), by plate. */
  registeredVehicles(vehicleIds: readonly string[]): Promise<RegisteredVehicle[]>;
  /** Registers the HTTP routes under `prefix`. */
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /**
   * Writes the buffered live state and history for as long as the database makes progress; resolves with what
   * was left unwritten (vehicles' latest states, history rows), also logged as lost.
   */
  stop(): Promise<{ unwritten: { states: number; historyRows: number } }>;
}

export interface FleetOptions {
  db: Db;
  log: Logger;
  metrics: Registry;
  events: DomainEvents;
  heartbeatTimeoutS: number;
  /** the broker link: while it is down, silence is the broker's, not the cars' (absent: always up) */
  broker?: BrokerLinkPort;
  /** after the broker is back, how long the cars get to publish before silence counts again (default 30 s) */
  brokerReconnectGraceS?: number;
  /** while the broker is down, cars seen at most this long ago stay listed (default 900 s) */
  brokerOutageMaxStalenessS?: number;
  clockSkewToleranceS: number;
  telemetryRetentionDays: number;
  seedVehicles: number;
  flushIntervalMs?: number;
  maxBatch?: number;
  registryRefreshMs?: number;
  /** history rows held in memory at most (beyond: dropped and counted) */
  historyCapacity?: number;
  historyChunkRows?: number;
  /** how often the heartbeat sweep runs; default a quarter of the timeout, 200 ms–5 s */
  heartbeatSweepMs?: number;
  maintenanceIntervalMs?: number;
  /** replicated vehicle snapshot: how often the copy job runs (default 1 s) */
  snapshotIntervalMs?: number;
  /** … a vehicle's position/energy is copied at most this often (default 30 s; online changes at once) */
  snapshotMinAgeS?: number;
  /** … rows per run at most (default 700: ~700 rows/s with the default interval) */
  snapshotBatch?: number;
  /** a vehicle was retired (committed): its device's credentials go too (device identity) */
  onVehicleRetired?: (vehicleId: string, actor: Actor, reason: string | null) => Promise<void>;
  /** at stop, give up writing buffered state/history after this long without a successful write (default 10 s) */
  shutdownStallMs?: number;
}

/** Partitions exist for today and this many following days. */
const PARTITIONS_AHEAD_DAYS = 2;
const DAY_MS = 86_400_000;

export async function startFleetComponent(options: FleetOptions): Promise<FleetComponent> {
  const log = options.log.child({ component: 'fleet' });
  const vehicles = new VehiclesRepository(options.db);
  const states = new VehicleStateRepository(options.db);
  const registry = new VehicleRegistry(vehicles, log);
  const heartbeatTimeoutMs = options.heartbeatTimeoutS * 1000;

  const history = new TelemetryHistoryRepository(options.db);
  const { events } = options;
  const m = createIngestMetrics(options.metrics);
  const historyBuffer = new HistoryBuffer({
    capacity: options.historyCapacity ?? 200_000,
    chunkRows: options.historyChunkRows ?? 5_000,
    onDropped: (n) => m.historyDropped.inc(n),
  });
  const writer = {
    writeBatch: (batch: Parameters<VehicleStateRepository['writeBatch']>[0]) => states.writeBatch(batch),
    lastTelemetry: () => states.lastTelemetry(),
    writeHistory: async (rows: Parameters<TelemetryHistoryRepository['insert']>[0]) => {
      await history.insert(rows);
      m.historyRows.inc(rows.length);
    },
  };
  const buffer = new LiveStateBuffer(writer, log, {
    flushIntervalMs: options.flushIntervalMs ?? 250,
    maxBatch: options.maxBatch ?? 5_000,
    clockSkewToleranceMs: options.clockSkewToleranceS * 1000,
    seqResetSilenceMs: heartbeatTimeoutMs,
    history: historyBuffer,
    onFlushFailed: () => m.flushFailures.inc(),
    onClockSkew: () => m.clockSkew.inc(),
    onSeqReset: (vehicleId, from, to) => {
      m.seqResets.inc();
      log.info('device seq reset accepted', { vehicleId, from, to });
    },
    onCommitted: (rows) => m.stateRows.inc(rows.length),
  });
  const online = new OnlineTracker(heartbeatTimeoutMs, (change) => events.emit('vehicle.online', change));
  const liveness = new VehicleLiveness({
    heartbeatTimeoutMs,
    reconnectGraceMs: (options.brokerReconnectGraceS ?? 30) * 1000,
    maxStalenessMs: (options.brokerOutageMaxStalenessS ?? 900) * 1000,
  });
  const followLink = (state: { status: string; since: number }) => {
    if (state.status === 'down') {
      liveness.brokerLost(state.since);
      log.warn('broker link down: vehicles keep their last-known state (stale), none is turned offline for it', {
        since: new Date(state.since).toISOString(),
      });
    } else if (state.status === 'up' && liveness.brokerDownSince() !== null) {
      liveness.brokerBack(state.since);
      log.info('broker link back: offline detection resumes after the reconnect grace', {
        graceS: options.brokerReconnectGraceS ?? 30,
      });
    }
  };
  if (options.broker) followLink(options.broker.linkState());
  const unfollowLink = options.broker?.onLinkChange(followLink);
  new Gauge({
    name: `${METRIC_PREFIX}telemetry_history_pending`,
    help: 'Telemetry history rows waiting in memory for the next batch write',
    registers: [options.metrics],
    collect() {
      this.set(historyBuffer.size);
    },
  });
  registerStateGauges(options.metrics, states, buffer, registry, liveness, log);

  if (options.seedVehicles > 0) {
    const changed = await registry.register(demoFleet(options.seedVehicles));
    log.info('demo fleet seeded', { vehicles: options.seedVehicles, changed });
  }
  const maintainHistory = async (now = Date.now()) => {
    const result = await history.maintain(now, PARTITIONS_AHEAD_DAYS + 1, now - options.telemetryRetentionDays * DAY_MS);
    if (result.created.length > 0 || result.dropped.length > 0) log.info('telemetry history partitions maintained', result);
    return result;
  };
  let sweeping = false;
  const sweepHeartbeats = async (now = Date.now()) => {
    if (sweeping) return;
    sweeping = true;
    try {
      const cutoff = liveness.cutoff(now);
      const silent = online.silentSince(cutoff);
      if (silent.length === 0) return;
      await buffer.flush(); // what is pending is newer than the database's received_at
      const turned = await states.markSilentOffline(silent, cutoff);
      online.timedOut(turned, cutoff, now);
      const turnedIds = new Set(turned.map((r) => r.vehicleId));
      const rest = silent.filter((id) => !turnedIds.has(id));
      if (rest.length > 0) online.refresh(await states.onlineRows(rest));
    } finally {
      sweeping = false;
    }
  };

  await registry.start(options.registryRefreshMs ?? 30_000);
  const timers: NodeJS.Timeout[] = [];
  try {
    await maintainHistory(); // before the first flush: today's partition must exist
    online.load(await states.onlineView());
    await buffer.start();
  } catch (err) {
    unfollowLink?.();
    registry.stop(); // the composition root only disposes what started completely
    throw err;
  }
  const sweepMs = options.heartbeatSweepMs ?? Math.max(200, Math.min(5_000, heartbeatTimeoutMs / 4));
  timers.push(
    setInterval(() => {
      sweepHeartbeats().catch((err: unknown) => log.warn('heartbeat sweep failed; will retry', errorFields(err)));
    }, sweepMs),
    setInterval(() => {
      maintainHistory().catch((err: unknown) => log.error('telemetry history maintenance failed; will retry', errorFields(err)));
    }, options.maintenanceIntervalMs ?? 3_600_000),
  );
  const queries = createFleetQueries(registry, states, liveness);
  const vehicleAdmin = createVehicleAdmin({
    db: options.db,
    audit: recordAudit,
    registry,
    onRetired: async (vehicleId, actor, reason) => {
      try {
        await options.onVehicleRetired?.(vehicleId, actor, reason);
      } catch (err) {
        log.error('a retired vehicle’s device credentials could not be revoked; revoke them in Devices', {
          vehicleId,
          ...errorFields(err),
        });
      }
    },
  });
  const vehicleSync = new VehicleSyncRepository(options.db, recordAudit);
  const snapshotMinAgeS = options.snapshotMinAgeS ?? 30;
  const snapshotBatch = options.snapshotBatch ?? 700;
  let snapshotRunning: Promise<number> | undefined;
  const copySnapshot = (): Promise<number> =>
    (snapshotRunning ??= vehicleSync.copySnapshot(snapshotMinAgeS, snapshotBatch).finally(() => (snapshotRunning = undefined)));
  timers.push(
    setInterval(() => {
      copySnapshot().catch((err: unknown) => log.warn('vehicle snapshot copy failed; will retry', errorFields(err)));
    }, options.snapshotIntervalMs ?? 1_000),
  );

  return {
    isKnownVehicle: (id) => registry.has(id),
    registerVehicles: async (list) => {
      await registry.register(list);
    },
    recordTelemetry(id, sample, receivedAt) {
      const { outcome, clockSkewMs } = buffer.judgeTelemetry(id, sample, receivedAt);
      if (outcome !== 'accepted') return outcome;
      online.telemetry(id, receivedAt, sample.deviceTs);
      events.emit('vehicle.telemetry', { vehicleId: id, state: vehicleLive(id, sample, receivedAt), clockSkewMs });
      return outcome;
    },
    recordStatus(id, isOnline, receivedAt, retained, deviceTs = receivedAt) {
      buffer.recordStatus(id, isOnline, receivedAt, retained);
      online.status(id, isOnline, receivedAt, retained, deviceTs);
    },
    flush: () => buffer.flush(),
    sweepHeartbeats,
    async onlineVehicleIds() {
      const cutoff = liveness.cutoff(Date.now());
      return (await states.onlineView()).filter((r) => r.online && (r.receivedAt ?? 0) >= cutoff).map((r) => r.vehicleId);
    },
    maintainHistory,
    setServiceState: (vehicleId, state, actor, reason = null) => vehicleSync.setServiceState(vehicleId, state, actor, reason),
    copySnapshot,
    async vehiclePositions(changedSinceMs) {
      const stored = await states.positions(changedSinceMs);
      const cutoff = liveness.cutoff(Date.now());
      // fresh objects of this read (up to every car each second): judged in place rather than copied
      for (const p of stored) p.online &&= p.receivedAt >= cutoff;
      return stored;
    },
    liveFleet: () => queries.liveFleet(),
    liveness,
    registeredVehicles: (vehicleIds) => findRegisteredMany(options.db, vehicleIds),
    registerRoutes: async (app, prefix) => {
      await app.register(fleetRoutes(queries), { prefix });
      await app.register(vehicleAdminRoutes(vehicleAdmin), { prefix });
    },
    async stop() {
      unfollowLink?.();
      for (const t of timers) clearInterval(t);
      // The replicated snapshot is copied again after the next start (nothing is lost): a copy stuck on a busy
      // database must not hold the stop past the stall deadline, ahead of the buffers that do hold accepted data.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        snapshotRunning?.catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, options.shutdownStallMs ?? 10_000))),
      ]);
      clearTimeout(timer);
      registry.stop();
      const unwritten = await buffer.stop(options.shutdownStallMs);
      if (unwritten.states > 0 || unwritten.historyRows > 0)
        log.error('live state or telemetry history not written at shutdown', {
          lost: unwritten.states + unwritten.historyRows,
          ...unwritten,
        });
      return { unwritten };
    },
  };
}

function createIngestMetrics(metrics: Registry) {
  const counter = (name: string, help: string) => new Counter({ name: `${METRIC_PREFIX}${name}`, help, registers: [metrics] });
  return {
    flushFailures: counter(
      'live_state_flush_failures_total',
      'Batches of live state or history that failed to write (retried on the next flush)',
    ),
    stateRows: counter('live_state_rows_written_total', 'Latest-state telemetry rows written (committed)'),
    historyRows: counter('telemetry_history_rows_written_total', 'Telemetry history rows written (committed)'),
    historyDropped: counter(
      'telemetry_history_dropped_total',
      'Telemetry history rows dropped because the in-memory buffer was full (database too slow or down)',
    ),
    clockSkew: counter(
      'device_clock_skew_total',
      'Telemetry accepted with a device clock further from the receive time than CLOCK_SKEW_TOLERANCE_S',
    ),
    seqResets: counter(
      'device_seq_resets_total',
      'Telemetry accepted as a device seq reset (reboot) although its seq was not above the last one',
    ),
  };
}

function registerStateGauges(
  metrics: Registry,
  states: VehicleStateRepository,
  buffer: LiveStateBuffer,
  registry: VehicleRegistry,
  liveness: VehicleLiveness,
  log: Logger,
): void {
  new Gauge({
    name: `${METRIC_PREFIX}vehicles_online`,
    help: 'Vehicles online: last status online and heard from within the heartbeat timeout (a broker outage excused)',
    registers: [metrics],
    async collect() {
      try {
        this.set(await states.countOnline(liveness.cutoff(Date.now())));
      } catch (err) {
        log.warn('counting online vehicles failed', errorFields(err));
      }
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}broker_down_since_seconds`,
    help: 'Since when (Unix time, s) this instance cannot reach its MQTT broker; 0 while connected',
    registers: [metrics],
    collect() {
      this.set((liveness.brokerDownSince() ?? 0) / 1000);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}vehicles_registered`,
    help: 'Vehicles in the registry (as known to this instance)',
    registers: [metrics],
    collect() {
      this.set(registry.size);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}live_state_pending`,
    help: 'Vehicles whose latest state waits in memory for the next batch write',
    registers: [metrics],
    collect() {
      this.set(buffer.pendingCount);
    },
  });
}
