/**
 * The alerts component: an in-memory alert engine fed by the domain event bus (vehicle.telemetry,
 * vehicle.online, vehicle.event), an asynchronous writer that persists only alert changes, and the staff API
 * under /ops/v1/alerts. Other components reach it only through this file.
 *
 * Rentals: `rentals` is the ActiveRentalLookup port; until the rentals component exists it defaults to
 * NO_ACTIVE_RENTALS ("no vehicle is ever rented").
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { VehicleLive } from '../../../../src/shared/fleet.js';
import type { ServerConfig } from '../../platform/config.js';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { Actor } from '../../platform/http/actor.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import { recordAudit } from '../audit/index.js';
import { alertRoutes } from './api/alerts.routes.js';
import { AlertsRepository } from './data/alerts.repository.js';
import {
  NO_ACTIVE_RENTALS,
  NOTHING_IN_MAINTENANCE,
  type ActiveRentalLookup,
  type ServiceStateLookup,
} from './domain/active-rental-lookup.js';
import { AlertEngine, DEFAULT_ALERT_THRESHOLDS, type AlertThresholds } from './domain/alert-engine.js';
import { ALERT_KINDS, type Alert, type AlertKind } from './model.js';
import { AlertLifecycle } from './domain/alert-lifecycle.js';
import { AlertWriter } from './domain/alert-writer.js';
import { createZoneGeometry, createZonesGeometry, type OperatingZone } from './domain/zone-geometry.js';

export type { ActiveRentalLookup, ServiceStateLookup } from './domain/active-rental-lookup.js';
export { NO_ACTIVE_RENTALS } from './domain/active-rental-lookup.js';
export { DEFAULT_ALERT_THRESHOLDS, type AlertThresholds } from './domain/alert-engine.js';
export { ALERT_POLICIES } from './domain/alert-policies.js';
export { ALERT_KINDS, type Alert, type AlertKind, type AlertStatus } from './model.js';
export type { OperatingZone } from './domain/zone-geometry.js';
export { alertDocs } from './data/alert-docs.js';

export interface AlertsOptions {
  db: Db;
  events: DomainEvents;
  log: Logger;
  metrics: Registry;
  /** the operating zone for zone_exit (null: no zone alerts) */
  zone: OperatingZone | null;
  thresholds?: Partial<AlertThresholds>;
  rentals?: ActiveRentalLookup;
  /** which cars are in maintenance (a moving one raises moved_in_maintenance); default none */
  service?: ServiceStateLookup;
  /** how often dwell conditions (door open while parked, movement) are checked without new telemetry */
  sweepIntervalMs?: number;
  /** how often open alerts are re-read from the database (other instances, staff on other instances) */
  reconcileIntervalMs?: number;
  /** at stop, give up writing queued changes after this long without a successful write (default 10 s) */
  shutdownStallMs?: number;
  now?: () => number;
}

export interface AlertsComponent {
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Writes every queued alert change now (tests; stop() does it too). */
  flush(): Promise<void>;
  /** Runs the dwell sweep now (tests with an injected clock). */
  sweep(): void;
  /** Re-reads open alerts from the database now. */
  reconcile(): Promise<void>;
  /** Staff use cases (the sync component's alert pushes go through these too): audited, 404/409 as AppError. */
  getAlert(id: string): Promise<Alert>;
  acknowledge(id: string, actor: Actor): Promise<Alert>;
  assign(id: string, actor: Actor, assignee: string | null): Promise<Alert>;
  resolve(id: string, actor: Actor, note: string): Promise<Alert>;
  /**
   * At start, after the open alerts were adopted: raises and resolves what the vehicles' latest stored state
   * says (repairs changes a stop could not write); returns the number of changes made.
   */
  repairFromStates(states: readonly VehicleLive[]): Promise<number>;
  /** The engine's view of a vehicle's open alerts (tests, diagnostics). */
  openKinds(vehicleId: string): AlertKind[];
  /**
   * The operating zones zone_exit is judged against from now on (admins changed the zones); none → the zone given
   * at start (`zone`), as the rentals end check and the GBFS feed fall back to it too.
   */
  setOperatingZones(zones: readonly OperatingZone[]): void;
  /** Writes every queued change while the database makes progress; resolves with the number left unwritten. */
  stop(): Promise<{ unwritten: number }>;
}

export async function startAlertsComponent(options: AlertsOptions): Promise<AlertsComponent> {
  const log = options.log.child({ component: 'alerts' });
  const now = options.now ?? Date.now;
  const repo = new AlertsRepository(options.db);

  const raised = new Counter({
    name: `${METRIC_PREFIX}alerts_raised_total`,
    help: 'Alerts created (new rows), by kind',
    labelNames: ['kind'],
    registers: [options.metrics],
  });
  const resolved = new Counter({
    name: `${METRIC_PREFIX}alerts_resolved_total`,
    help: 'Alerts resolved, by kind and by whom (system | staff)',
    labelNames: ['kind', 'by'],
    registers: [options.metrics],
  });
  const writeProblems = new Counter({
    name: `${METRIC_PREFIX}alert_writes_failed_total`,
    help: 'Alert changes that failed to write: retried (retry) or dropped (overflow, rejected)',
    labelNames: ['outcome'],
    registers: [options.metrics],
  });
  const coalesced = new Counter({
    name: `${METRIC_PREFIX}alert_changes_coalesced_total`,
    help: 'Alert raises merged into the queued raise of the same vehicle and kind (one write, occurrences kept)',
    registers: [options.metrics],
  });
  new Gauge({
    name: `${METRIC_PREFIX}alerts_open`,
    help: 'Alerts not resolved (open or acknowledged), by kind, as stored in the database',
    labelNames: ['kind'],
    registers: [options.metrics],
    async collect() {
      try {
        const counts = await repo.countOpenByKind();
        for (const kind of ALERT_KINDS) this.set({ kind }, counts.get(kind) ?? 0);
      } catch (err) {
        log.warn('counting open alerts failed', errorFields(err));
      }
    },
  });

  const writer = new AlertWriter(repo, log, {
    onWritten: (op, result) => {
      if (result.outcome === 'inserted') raised.inc({ kind: op.kind });
      else if (result.outcome === 'resolved') resolved.inc({ kind: op.kind, by: 'system' });
    },
    onDropped: (reason) => writeProblems.inc({ outcome: reason }),
    onRetry: () => writeProblems.inc({ outcome: 'retry' }),
    onCoalesced: () => coalesced.inc(),
  });
  new Gauge({
    name: `${METRIC_PREFIX}alert_changes_pending`,
    help: 'Alert changes queued in memory, not yet written (merged raises count once)',
    registers: [options.metrics],
    collect() {
      this.set(writer.pending);
    },
  });
  const engine = new AlertEngine({
    thresholds: { ...DEFAULT_ALERT_THRESHOLDS, ...options.thresholds },
    zone: options.zone ? createZoneGeometry(options.zone) : null,
    rentals: options.rentals ?? NO_ACTIVE_RENTALS,
    service: options.service ?? NOTHING_IN_MAINTENANCE,
    sink: writer,
    now,
  });

  // Dedup survives restarts: what is open in the database is open in memory before the first event.
  engine.reconcile(await repo.openKeys(), now());

  const lifecycle = new AlertLifecycle(
    repo,
    recordAudit,
    {
      onResolved: (alert: Alert) => {
        engine.forget(alert.vehicleId, alert.kind);
        resolved.inc({ kind: alert.kind, by: 'staff' });
      },
    },
    now,
  );

  const unsubscribe = [
    options.events.on('vehicle.telemetry', ({ vehicleId, state }) => engine.onTelemetry(vehicleId, state)),
    options.events.on('vehicle.online', ({ vehicleId, online, at, source }) => engine.onOnline(vehicleId, online, at, source)),
    options.events.on('vehicle.event', ({ vehicleId, event, receivedAt }) => engine.onDeviceEvent(vehicleId, event, receivedAt)),
  ];

  let reconciling: Promise<void> | undefined;
  const reconcile = (): Promise<void> =>
    (reconciling ??= (async () => {
      // Only from a quiet writer: a change still queued would look "resolved elsewhere" in the snapshot.
      if (!writer.idle) return;
      const snapshotAt = now();
      engine.reconcile(await repo.openKeys(), snapshotAt);
    })()
      .catch((err: unknown) => log.warn('reconciling open alerts failed', errorFields(err)))
      .finally(() => (reconciling = undefined)));

  const sweepTimer = setInterval(() => engine.sweep(), options.sweepIntervalMs ?? 5_000);
  const reconcileTimer = setInterval(() => void reconcile(), options.reconcileIntervalMs ?? 30_000);
  sweepTimer.unref();
  reconcileTimer.unref();

  let stopping: Promise<{ unwritten: number }> | undefined;
  return {
    registerRoutes: async (app, prefix) => {
      await app.register(alertRoutes(lifecycle), { prefix });
    },
    flush: () => writer.flush(),
    getAlert: (id) => lifecycle.get(id),
    acknowledge: (id, actor) => lifecycle.acknowledge(id, actor),
    assign: (id, actor, assignee) => lifecycle.assign(id, actor, assignee),
    resolve: (id, actor, note) => lifecycle.resolve(id, actor, note),
    sweep: () => engine.sweep(),
    reconcile,
    openKinds: (vehicleId) => engine.openKinds(vehicleId),
    setOperatingZones(zones) {
      const usable = zones.filter((z) => {
        try {
          createZoneGeometry(z);
          return true;
        } catch (err) {
          log.warn('an operating zone cannot be used for zone alerts', { zoneId: z.id, ...errorFields(err) });
          return false;
        }
      });
      engine.setZone(usable.length > 0 ? createZonesGeometry(usable) : options.zone ? createZoneGeometry(options.zone) : null);
    },
    async repairFromStates(states) {
      const before = writer.pending;
      for (const s of states) engine.repair(s.id, s);
      const submitted = writer.pending - before;
      await writer.flush();
      if (submitted > 0) log.warn("alerts repaired from the vehicles' stored state at start", { changes: submitted });
      return submitted;
    },
    stop: () =>
      (stopping ??= (async () => {
        for (const off of unsubscribe) off();
        clearInterval(sweepTimer);
        clearInterval(reconcileTimer);
        await reconciling;
        return { unwritten: await writer.stop(options.shutdownStallMs) };
      })()),
  };
}

/** The engine's thresholds from the server configuration (ALERT_* variables, see server/README.md). */
export function alertThresholds(
  config: Pick<
    ServerConfig,
    | 'alertLowEnergyPct'
    | 'alertLowEnergyResolvePct'
    | 'alertDoorOpenParkedS'
    | 'alertMovementSpeedKph'
    | 'alertMovementDwellS'
    | 'alertZoneExitM'
    | 'alertZoneReturnM'
  >,
): AlertThresholds {
  return {
    ...DEFAULT_ALERT_THRESHOLDS,
    lowEnergyPct: config.alertLowEnergyPct,
    lowEnergyResolvePct: config.alertLowEnergyResolvePct,
    doorOpenParkedS: config.alertDoorOpenParkedS,
    movementSpeedKph: config.alertMovementSpeedKph,
    movementDwellS: config.alertMovementDwellS,
    zoneExitM: config.alertZoneExitM,
    zoneReturnM: config.alertZoneReturnM,
  };
}
