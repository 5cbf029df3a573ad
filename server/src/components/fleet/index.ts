/**
 * The fleet component: the vehicle registry and every vehicle's latest live state. Other components reach it
 * only through this file.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { demoFleet } from '../../../../src/shared/demo-fleet.js';
import type { VehicleInfo } from '../../../../src/shared/fleet.js';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import { fleetRoutes } from './api/fleet.routes.js';
import { VehicleStateRepository } from './data/vehicle-state.repository.js';
import { VehiclesRepository } from './data/vehicles.repository.js';
import { createFleetQueries } from './domain/fleet-queries.js';
import { LiveStateBuffer, type RecordOutcome, type TelemetrySample } from './domain/live-state-buffer.js';
import { VehicleRegistry } from './domain/vehicle-registry.js';

export type { RecordOutcome, TelemetrySample } from './domain/live-state-buffer.js';

export interface FleetComponent {
  /** Is this id in the registry? (in memory; every device message asks) */
  isKnownVehicle(vehicleId: string): boolean;
  /** Upserts vehicles by id; ingestion accepts their ids as soon as this resolves. */
  registerVehicles(vehicles: readonly VehicleInfo[]): Promise<void>;
  recordTelemetry(vehicleId: string, sample: TelemetrySample, receivedAt: number): RecordOutcome;
  recordStatus(vehicleId: string, online: boolean, receivedAt: number, retained: boolean): void;
  /** Writes buffered live state now (also done every flush interval and on stop). */
  flush(): Promise<void>;
  /** Registers the HTTP routes under `prefix`. */
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  db: Db;
  log: Logger;
  metrics: Registry;
  heartbeatTimeoutS: number;
  seedVehicles: number;
  flushIntervalMs?: number;
  maxBatch?: number;
  registryRefreshMs?: number;
}

export async function startFleetComponent(options: FleetOptions): Promise<FleetComponent> {
  const log = options.log.child({ component: 'fleet' });
  const vehicles = new VehiclesRepository(options.db);
  const states = new VehicleStateRepository(options.db);
  const registry = new VehicleRegistry(vehicles, log);
  const heartbeatTimeoutMs = options.heartbeatTimeoutS * 1000;

  const flushFailures = new Counter({
    name: `${METRIC_PREFIX}live_state_flush_failures_total`,
    help: 'Batches of live state that failed to write (retried on the next flush)',
    registers: [options.metrics],
  });
  const buffer = new LiveStateBuffer(states, log, {
    flushIntervalMs: options.flushIntervalMs ?? 250,
    maxBatch: options.maxBatch ?? 500,
    onFlushFailed: () => flushFailures.inc(),
  });
  registerStateGauges(options.metrics, states, buffer, registry, heartbeatTimeoutMs, log);

  if (options.seedVehicles > 0) {
    const changed = await registry.register(demoFleet(options.seedVehicles));
    log.info('demo fleet seeded', { vehicles: options.seedVehicles, changed });
  }
  await registry.start(options.registryRefreshMs ?? 30_000);
  try {
    await buffer.start();
  } catch (err) {
    registry.stop(); // the composition root only disposes what started completely
    throw err;
  }
  const queries = createFleetQueries(registry, states, heartbeatTimeoutMs);

  return {
    isKnownVehicle: (id) => registry.has(id),
    registerVehicles: async (list) => {
      await registry.register(list);
    },
    recordTelemetry: (id, sample, receivedAt) => buffer.recordTelemetry(id, sample, receivedAt),
    recordStatus: (id, online, receivedAt, retained) => buffer.recordStatus(id, online, receivedAt, retained),
    flush: () => buffer.flush(),
    registerRoutes: async (app, prefix) => {
      await app.register(fleetRoutes(queries), { prefix });
    },
    async stop() {
      registry.stop();
      await buffer.stop();
    },
  };
}

function registerStateGauges(
  metrics: Registry,
  states: VehicleStateRepository,
  buffer: LiveStateBuffer,
  registry: VehicleRegistry,
  heartbeatTimeoutMs: number,
  log: Logger,
): void {
  new Gauge({
    name: `${METRIC_PREFIX}vehicles_online`,
    help: 'Vehicles online: last status online and heard from within the heartbeat timeout',
    registers: [metrics],
    async collect() {
      try {
        this.set(await states.countOnline(Date.now() - heartbeatTimeoutMs));
      } catch (err) {
        log.warn('counting online vehicles failed', errorFields(err));
      }
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
