/**
 * The alert engine: evaluates every vehicle's conditions in memory, on each domain event, in O(1) per message
 * (telemetry arrives at tens of thousands per second), and hands each *change* — an alert to raise, one to
 * resolve — to a sink that persists it asynchronously. No database access and no await here.
 *
 * Dedup happens twice: here (a condition raises once when it starts, not on every sample that shows it) and in
 * the database (one open alert per vehicle and kind, for several server instances; see the repository).
 *
 * Time is the server's receive time of each message (device clocks drift), and `now()` for the dwell sweep.
 */
import type { DeviceEvent } from '../../../../../src/shared/device-protocol.js';
import { MOVING_THRESHOLD_KPH, type VehicleLive } from '../../../../../src/shared/fleet.js';
import { NOTHING_IN_MAINTENANCE, type ActiveRentalLookup, type ServiceStateLookup } from './active-rental-lookup.js';
import { ALERT_KINDS, type AlertKind } from '../model.js';
import { ALERT_POLICIES } from './alert-policies.js';
import type { ZoneGeometry } from './zone-geometry.js';

export interface AlertThresholds {
  /** low_energy raised below this fuel/battery level (%) … */
  lowEnergyPct: number;
  /** … and resolved at or above this one (hysteresis) */
  lowEnergyResolvePct: number;
  /** door_open_parked: doors open or unlocked while parked (standing still, ignition off) for this long */
  doorOpenParkedS: number;
  /** movement_without_rental: faster than this … */
  movementSpeedKph: number;
  /** … or with the ignition on, for this long, without an active rental */
  movementDwellS: number;
  /** zone_exit raised when more than this far outside the operating zone … */
  zoneExitM: number;
  /** … for this many consecutive position samples */
  zoneExitSamples: number;
  /** zone_exit resolved only when more than this far back inside */
  zoneReturnM: number;
}

export const DEFAULT_ALERT_THRESHOLDS: Readonly<AlertThresholds> = Object.freeze({
  lowEnergyPct: 15,
  lowEnergyResolvePct: 20,
  doorOpenParkedS: 120,
  movementSpeedKph: 5,
  movementDwellS: 60,
  zoneExitM: 50,
  zoneExitSamples: 2,
  zoneReturnM: 50,
});

export type AlertOp =
  | {
      op: 'raise';
      vehicleId: string;
      kind: AlertKind;
      at: number;
      details: Record<string, unknown>;
      /** this instance already had the alert open: the condition started again → one more occurrence */
      retrigger: boolean;
    }
  | { op: 'resolve'; vehicleId: string; kind: AlertKind; at: number; reason: string };

/** Receives the engine's changes; must not block (the writer queues them). */
export interface AlertOpSink {
  submit(op: AlertOp): void;
}

/** The kinds of unexpected movement: one at a time per car, the most specific that applies. */
const MOVEMENT_KINDS: readonly AlertKind[] = ['movement_without_rental', 'moved_in_maintenance', 'moved_while_locked'];

const KIND_BIT: Readonly<Record<AlertKind, number>> = Object.fromEntries(ALERT_KINDS.map((k, i) => [k, 1 << i])) as Record<
  AlertKind,
  number
>;
const MOVEMENT_BITS = MOVEMENT_KINDS.reduce((bits, k) => bits | KIND_BIT[k], 0);

interface VehicleAlertState {
  /** kinds this instance believes have an open (not resolved) alert — bit per kind */
  open: number;
  /** kinds whose condition is currently active — bit per kind (a condition raises on its rising edge only) */
  active: number;
  /** consecutive position samples more than zoneExitM outside */
  zoneOutside: number;
  /** since when (receive time) parked with doors open or unlocked; NaN when not */
  exposedSince: number;
  /** since when faster than movementSpeedKph; NaN when not */
  movingSince: number;
  /** since when the ignition is on; NaN when off */
  ignitionSince: number;
  /** last telemetry, for the dwell sweep */
  last: VehicleLive | undefined;
  /** now() of the last op this engine submitted for the vehicle (refresh must not undo newer local changes) */
  changedAt: number;
}

export interface AlertEngineOptions {
  thresholds: AlertThresholds;
  /** the operating zone; null = no zone_exit alerts */
  zone: ZoneGeometry | null;
  rentals: ActiveRentalLookup;
  /** which cars are in maintenance (default: none) */
  service?: ServiceStateLookup;
  sink: AlertOpSink;
  now?: () => number;
}

export class AlertEngine {
  private readonly vehicles = new Map<string, VehicleAlertState>();
  /** vehicles with a dwell timer running (door or movement), visited by sweep() */
  private readonly dwelling = new Set<string>();
  private readonly t: AlertThresholds;
  private readonly now: () => number;

  /** the operating zone(s) zone_exit is judged against; replaced when admins change the zones */
  private zone: ZoneGeometry | null;

  /** From the next sample on, zone_exit is judged against `zone` (an open zone_exit resolves by its own rule). */
  setZone(zone: ZoneGeometry | null): void {
    this.zone = zone;
  }

  constructor(private readonly options: AlertEngineOptions) {
    this.zone = options.zone;
    this.t = options.thresholds;
    this.now = options.now ?? Date.now;
    checkThresholds(this.t);
  }

  onTelemetry(vehicleId: string, s: VehicleLive): void {
    const v = this.state(vehicleId);
    const at = s.receivedAt;
    // A copy of its own, updated in place: the event's object dies young instead of living on (and being
    // promoted by the garbage collector) for every car until its next message.
    if (v.last) Object.assign(v.last, s);
    else v.last = { ...s };
    if (s.online && this.isActive(v, 'device_offline')) this.clear(vehicleId, v, 'device_offline', at, 'telemetry received');
    this.evaluateEnergy(vehicleId, v, s, at);
    this.evaluateZone(vehicleId, v, s, at);
    this.trackDwell(v, s, at);
    this.evaluateDwell(vehicleId, v, s, at);
  }

  onOnline(vehicleId: string, online: boolean, at: number, source: string): void {
    const v = this.state(vehicleId);
    if (!online) {
      if (!this.isActive(v, 'device_offline')) this.trigger(vehicleId, v, 'device_offline', at, { source });
    } else if (this.isActive(v, 'device_offline')) {
      this.clear(vehicleId, v, 'device_offline', at, `back online (${source})`);
    }
  }

  onDeviceEvent(vehicleId: string, event: DeviceEvent, receivedAt: number): void {
    const details = {
      eventType: event.type,
      seq: event.seq,
      deviceTs: event.ts,
      ...(event.lat !== undefined ? { lat: event.lat, lon: event.lon } : {}),
      ...(event.data ? { data: event.data } : {}),
    };
    switch (event.type) {
      case 'crash_detected':
        // Every crash report is an occurrence (one open alert, counted), resolved by staff.
        this.trigger(vehicleId, this.state(vehicleId), 'crash', receivedAt, details);
        break;
      case 'tamper':
        this.trigger(vehicleId, this.state(vehicleId), 'tamper', receivedAt, details);
        break;
      case 'battery_low': {
        // The device's own low-battery report raises low_energy at once; telemetry clears it by the usual hysteresis.
        const v = this.state(vehicleId);
        if (!this.isActive(v, 'low_energy')) this.trigger(vehicleId, v, 'low_energy', receivedAt, { source: 'device_event', ...details });
        break;
      }
      default:
        // door/ignition events: the telemetry that accompanies them carries the state the rules need.
        break;
    }
  }

  /** Re-evaluates the dwell conditions of vehicles that are waiting on one (no telemetry needed to fire). */
  sweep(): void {
    const at = this.now();
    for (const vehicleId of this.dwelling) {
      const v = this.vehicles.get(vehicleId);
      if (!v?.last) {
        this.dwelling.delete(vehicleId);
        continue;
      }
      this.evaluateDwell(vehicleId, v, v.last, at);
    }
  }

  /**
   * Merges the database's open alerts into memory (at start, so dedup and auto-resolve survive restarts; then
   * periodically, to learn what other instances and staff did). An adopted alert's condition counts as active,
   * so it is resolved when the condition clears and not raised again while it holds. Alerts open here but not
   * in the database were resolved elsewhere and are forgotten — except for vehicles this engine changed at or
   * after `snapshotAt` (their newer local change wins until the next refresh).
   */
  reconcile(openInDb: ReadonlyArray<{ vehicleId: string; kind: AlertKind }>, snapshotAt: number): void {
    const byVehicle = new Map<string, number>();
    for (const { vehicleId, kind } of openInDb) byVehicle.set(vehicleId, (byVehicle.get(vehicleId) ?? 0) | KIND_BIT[kind]);
    for (const [vehicleId, bits] of byVehicle) {
      const v = this.state(vehicleId);
      if (v.changedAt >= snapshotAt) continue;
      v.open |= bits;
      v.active |= bits;
    }
    for (const [vehicleId, v] of this.vehicles) {
      if (v.open === 0 || v.changedAt >= snapshotAt) continue;
      v.open &= byVehicle.get(vehicleId) ?? 0;
    }
  }

  /**
   * Repairs alerts from a vehicle's latest stored state (at start, after the open alerts were adopted): a change
   * lost at the last stop (database down) is made again as the state says. Only the conditions one state decides:
   * device_offline and low_energy both ways; zone_exit and door_open_parked are only resolved (raising them needs
   * consecutive samples or a dwell, which the next telemetry re-evaluates). Event kinds (crash, tamper) and staff-
   * resolved kinds are not derived from state.
   */
  repair(vehicleId: string, s: VehicleLive): void {
    const v = this.state(vehicleId);
    const at = s.receivedAt;
    if (!s.online) {
      if (!this.isActive(v, 'device_offline')) this.trigger(vehicleId, v, 'device_offline', at, { source: 'stored state at start' });
    } else if (this.isActive(v, 'device_offline')) {
      this.clear(vehicleId, v, 'device_offline', at, 'online (stored state at start)');
    }
    this.evaluateEnergy(vehicleId, v, s, at);
    const zone = this.zone;
    if (this.isActive(v, 'zone_exit') && zone && Number.isFinite(s.lat) && zone.signedDistanceM(s.lat, s.lon) < -this.t.zoneReturnM)
      this.clear(vehicleId, v, 'zone_exit', at, 'back inside the operating zone');
    if (this.isActive(v, 'door_open_parked') && s.doorsClosed && s.locked)
      this.clear(vehicleId, v, 'door_open_parked', at, 'doors closed and locked');
  }

  /** Staff resolved an alert: forget it; the condition stays as observed (it raises again only once it clears and recurs). */
  forget(vehicleId: string, kind: AlertKind): void {
    const v = this.vehicles.get(vehicleId);
    if (v) v.open &= ~KIND_BIT[kind];
  }

  /** Kinds this instance believes open for a vehicle (tests, diagnostics). */
  openKinds(vehicleId: string): AlertKind[] {
    const v = this.vehicles.get(vehicleId);
    return v ? ALERT_KINDS.filter((k) => (v.open & KIND_BIT[k]) !== 0) : [];
  }

  get trackedVehicles(): number {
    return this.vehicles.size;
  }

  private evaluateEnergy(vehicleId: string, v: VehicleAlertState, s: VehicleLive, at: number): void {
    const pct = s.energyPct;
    if (!Number.isFinite(pct)) return;
    if (this.isActive(v, 'low_energy')) {
      if (pct >= this.t.lowEnergyResolvePct) this.clear(vehicleId, v, 'low_energy', at, `energy at ${round(pct)} %`);
    } else if (pct < this.t.lowEnergyPct) {
      this.trigger(vehicleId, v, 'low_energy', at, { energyPct: pct, thresholdPct: this.t.lowEnergyPct });
    }
  }

  private evaluateZone(vehicleId: string, v: VehicleAlertState, s: VehicleLive, at: number): void {
    const zone = this.zone;
    if (!zone || !Number.isFinite(s.lat) || !Number.isFinite(s.lon)) return;
    if (this.isActive(v, 'zone_exit')) {
      // Resolve only well inside: a car parked on the boundary never flaps.
      if (zone.signedDistanceM(s.lat, s.lon) < -this.t.zoneReturnM)
        this.clear(vehicleId, v, 'zone_exit', at, 'back inside the operating zone');
      v.zoneOutside = 0;
      return;
    }
    const d = zone.signedDistanceM(s.lat, s.lon, this.t.zoneExitM);
    if (d > this.t.zoneExitM) {
      v.zoneOutside++;
      if (v.zoneOutside >= this.t.zoneExitSamples) {
        v.zoneOutside = 0;
        this.trigger(vehicleId, v, 'zone_exit', at, { zoneId: zone.zoneId, distanceM: Math.round(d), lat: s.lat, lon: s.lon });
      }
    } else {
      v.zoneOutside = 0;
    }
  }

  private trackDwell(v: VehicleAlertState, s: VehicleLive, at: number): void {
    const parked = s.speedKph < MOVING_THRESHOLD_KPH && !s.ignition;
    const exposed = !s.doorsClosed || !s.locked;
    if (parked && exposed) {
      if (Number.isNaN(v.exposedSince)) v.exposedSince = at;
    } else {
      v.exposedSince = NaN;
    }
    if (s.speedKph > this.t.movementSpeedKph) {
      if (Number.isNaN(v.movingSince)) v.movingSince = at;
    } else {
      v.movingSince = NaN;
    }
    if (s.ignition) {
      if (Number.isNaN(v.ignitionSince)) v.ignitionSince = at;
    } else {
      v.ignitionSince = NaN;
    }
  }

  private evaluateDwell(vehicleId: string, v: VehicleAlertState, s: VehicleLive, at: number): void {
    // door_open_parked: resolves when closed and locked, or rented (not merely because the car moves off).
    if (this.isActive(v, 'door_open_parked')) {
      const closedAndLocked = s.doorsClosed && s.locked;
      if (closedAndLocked || this.options.rentals.hasActiveRental(vehicleId)) {
        this.clear(vehicleId, v, 'door_open_parked', at, closedAndLocked ? 'doors closed and locked' : 'vehicle rented');
      }
    } else if (
      !Number.isNaN(v.exposedSince) &&
      at - v.exposedSince >= this.t.doorOpenParkedS * 1000 &&
      !this.options.rentals.hasActiveRental(vehicleId)
    ) {
      this.trigger(vehicleId, v, 'door_open_parked', at, {
        doorsClosed: s.doorsClosed,
        locked: s.locked,
        parkedForS: Math.round((at - v.exposedSince) / 1000),
        lat: s.lat,
        lon: s.lon,
      });
    }

    // Movement without a rental, by what the car should be doing: in maintenance → moved_in_maintenance; rolling
    // while locked with the ignition off (towed or carried away: no car drives itself so) → moved_while_locked; else
    // movement_without_rental (a locked car driven with the ignition on is that too: many cars lock themselves
    // when driving off). Staff resolve them; the condition ends when the car stands with the ignition off.
    if ((v.active & MOVEMENT_BITS) !== 0) {
      if (Number.isNaN(v.movingSince) && Number.isNaN(v.ignitionSince))
        for (const k of MOVEMENT_KINDS) if (this.isActive(v, k)) this.clear(vehicleId, v, k, at, 'stopped');
    } else {
      const dwellMs = this.t.movementDwellS * 1000;
      const moving = !Number.isNaN(v.movingSince) && at - v.movingSince >= dwellMs;
      const ignition = !Number.isNaN(v.ignitionSince) && at - v.ignitionSince >= dwellMs;
      if ((moving || ignition) && !this.options.rentals.hasActiveRental(vehicleId)) {
        const inMaintenance = (this.options.service ?? NOTHING_IN_MAINTENANCE).inMaintenance(vehicleId);
        const kind: AlertKind = inMaintenance
          ? 'moved_in_maintenance'
          : moving && s.locked && !s.ignition
            ? 'moved_while_locked'
            : 'movement_without_rental';
        this.trigger(vehicleId, v, kind, at, {
          speedKph: s.speedKph,
          ignition: s.ignition,
          locked: s.locked,
          lat: s.lat,
          lon: s.lon,
          reason: moving ? 'moving' : 'ignition_on',
          ...(inMaintenance ? { serviceState: 'maintenance' } : {}),
        });
      }
    }

    const waiting =
      (!this.isActive(v, 'door_open_parked') && !Number.isNaN(v.exposedSince)) ||
      ((v.active & MOVEMENT_BITS) === 0 && (!Number.isNaN(v.movingSince) || !Number.isNaN(v.ignitionSince)));
    if (waiting) this.dwelling.add(vehicleId);
    else this.dwelling.delete(vehicleId);
  }

  private isActive(v: VehicleAlertState, kind: AlertKind): boolean {
    return (v.active & KIND_BIT[kind]) !== 0;
  }

  /** The condition starts (or, for event kinds, happens again): raise, or count one more occurrence. */
  private trigger(vehicleId: string, v: VehicleAlertState, kind: AlertKind, at: number, details: Record<string, unknown>): void {
    const bit = KIND_BIT[kind];
    const retrigger = (v.open & bit) !== 0;
    v.active |= bit;
    v.open |= bit;
    v.changedAt = this.now();
    this.options.sink.submit({ op: 'raise', vehicleId, kind, at, details, retrigger });
  }

  /** The condition ends: resolve the open alert if the kind resolves by itself; else only re-arm the rising edge. */
  private clear(vehicleId: string, v: VehicleAlertState, kind: AlertKind, at: number, reason: string): void {
    const bit = KIND_BIT[kind];
    v.active &= ~bit;
    if (!ALERT_POLICIES[kind].autoResolve || (v.open & bit) === 0) return;
    v.open &= ~bit;
    v.changedAt = this.now();
    this.options.sink.submit({ op: 'resolve', vehicleId, kind, at, reason });
  }

  private state(vehicleId: string): VehicleAlertState {
    let v = this.vehicles.get(vehicleId);
    if (!v) {
      v = {
        open: 0,
        active: 0,
        zoneOutside: 0,
        exposedSince: NaN,
        movingSince: NaN,
        ignitionSince: NaN,
        last: undefined,
        changedAt: -Infinity,
      };
      this.vehicles.set(vehicleId, v);
    }
    return v;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function checkThresholds(t: AlertThresholds): void {
  const bad = (Object.entries(t) as Array<[string, number]>).find(([, value]) => !Number.isFinite(value) || value < 0);
  if (bad) throw new Error(`alert threshold ${bad[0]} must be a non-negative number (got ${bad[1]})`);
  if (t.lowEnergyResolvePct < t.lowEnergyPct) throw new Error('lowEnergyResolvePct must be at least lowEnergyPct (hysteresis)');
  if (!Number.isInteger(t.zoneExitSamples) || t.zoneExitSamples < 1) throw new Error('zoneExitSamples must be an integer ≥ 1');
}
