/**
 * The business state of every car, kept incrementally (see business-state.ts for the derivation and its precedence).
 *
 * Inputs: the live fleet store (online, moving; the set of cars) and the replica's `vehicles.serviceState`,
 * `rentals` and `alerts` documents. Each input change re-derives only the cars it touches — a telemetry frame the
 * cars in it, a rentals document its car — so 20,000 cars at 1 Hz never cost a rescan; counts are kept as running
 * totals. Time-bound claims (a booking whose window begins later, a reservation that lapses) are re-checked on a
 * slow tick, for the few cars that have one.
 *
 * The index re-emits the store's changes after it has applied them, plus the cars whose state changed for other
 * reasons (`restyled`): the map layer and the grid subscribe here instead of to the store, so they always read a
 * state that matches the live data they draw.
 */
import type { Unsubscribe } from '../../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../../shared/fleet.js';
import { liveDisplayState } from '../../../shared/fleet.js';
import type { AlertDoc, RentalDoc, VehicleDoc } from '../../../shared/sync-protocol.js';
import { BUSINESS_STATES, claimEffect, deriveBusinessState, type BusinessState } from './business-state';
import type { FleetChange, FleetStore } from './fleet-store';

export type BusinessChange =
  | { kind: 'reset' }
  /** `upserts`/`registry` as the store sent them; `restyled`: other cars whose business state changed */
  | { kind: 'delta'; upserts: readonly VehicleLive[]; registry: readonly VehicleInfo[]; restyled: readonly string[] };

export type BusinessCounts = Record<BusinessState, number> & { total: number };

type Claim = Pick<RentalDoc, 'id' | 'kind' | 'status' | 'startsAt' | 'endsAt' | 'startedAt'>;

/** What the card and the grid's service/rental/alert column show beside the state. */
export interface BusinessDetail {
  state: BusinessState;
  moving: boolean;
  maintenance: boolean;
  /** the active rental, or the claim that makes the car reserved now, or the next one ahead */
  claim: Claim | undefined;
  claimNow: boolean;
  /** kinds of the open critical alerts */
  alarms: string[];
}

/** How often time-bound claims are re-checked (a booking window opening shows within this). */
const TICK_MS = 15_000;

export class BusinessStateIndex {
  private readonly states = new Map<string, BusinessState>();
  private readonly tally: Record<BusinessState, number> = emptyTally();
  private readonly maintenance = new Set<string>();
  private readonly claims = new Map<string, Map<string, Claim>>();
  private readonly claimVehicle = new Map<string, string>();
  private readonly alarms = new Map<string, Map<string, string>>();
  private readonly alertVehicle = new Map<string, string>();
  private readonly listeners = new Set<(c: BusinessChange) => void>();
  private pending = new Set<string>();
  private flushQueued = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribeStore: Unsubscribe | undefined;

  constructor(
    private readonly store: Pick<FleetStore, 'live' | 'registry' | 'allIds' | 'subscribe'>,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.rebuild();
    this.unsubscribeStore = this.store.subscribe((c) => this.onStore(c));
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  dispose(): void {
    this.unsubscribeStore?.();
    clearInterval(this.timer);
    this.listeners.clear();
  }

  subscribe(cb: (c: BusinessChange) => void): Unsubscribe {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  stateOf(id: string): BusinessState {
    return this.states.get(id) ?? this.compute(id);
  }

  isMoving(id: string): boolean {
    const live = this.store.live.get(id);
    return !!live && liveDisplayState(live) === 'moving';
  }

  counts(): BusinessCounts {
    return { ...this.tally, total: this.states.size };
  }

  detail(id: string): BusinessDetail {
    const now = this.now();
    let claim: Claim | undefined;
    let claimNow = false;
    for (const c of this.claims.get(id)?.values() ?? []) {
      const effect = claimEffect({ ...c, _deleted: false }, now);
      const rank = effect === 'rental' ? 3 : effect === 'reserved' ? 2 : effect === 'later' ? 1 : 0;
      const best = !claim ? 0 : claimNow ? (claim.kind === 'rental' ? 3 : 2) : 1;
      if (rank > best || (rank === 1 && best === 1 && claim && c.startsAt < claim.startsAt)) {
        claim = c;
        claimNow = rank >= 2;
      }
    }
    return {
      state: this.stateOf(id),
      moving: this.isMoving(id),
      maintenance: this.maintenance.has(id),
      claim,
      claimNow,
      alarms: [...(this.alarms.get(id)?.values() ?? [])],
    };
  }

  // ------------------------------------------------------------------------------------------ replica inputs

  applyVehicles(docs: readonly VehicleDoc[]): void {
    for (const d of docs) {
      const inMaintenance = !d._deleted && d.serviceState === 'maintenance';
      if (inMaintenance === this.maintenance.has(d.id)) continue;
      if (inMaintenance) this.maintenance.add(d.id);
      else this.maintenance.delete(d.id);
      this.touch(d.id);
    }
  }

  applyRentals(docs: readonly RentalDoc[]): void {
    const now = this.now();
    for (const d of docs) {
      const before = this.claimVehicle.get(d.id);
      if (before !== undefined) {
        this.claims.get(before)?.delete(d.id);
        this.claimVehicle.delete(d.id);
        this.touch(before);
      }
      if (claimEffect(d, now) === 'none') continue;
      let byId = this.claims.get(d.vehicleId);
      if (!byId) this.claims.set(d.vehicleId, (byId = new Map()));
      byId.set(d.id, { id: d.id, kind: d.kind, status: d.status, startsAt: d.startsAt, endsAt: d.endsAt, startedAt: d.startedAt });
      this.claimVehicle.set(d.id, d.vehicleId);
      this.touch(d.vehicleId);
    }
  }

  applyAlerts(docs: readonly AlertDoc[]): void {
    for (const d of docs) {
      const before = this.alertVehicle.get(d.id);
      if (before !== undefined) {
        this.alarms.get(before)?.delete(d.id);
        this.alertVehicle.delete(d.id);
        this.touch(before);
      }
      if (d._deleted || d.severity !== 'critical' || d.status !== 'open') continue;
      let byId = this.alarms.get(d.vehicleId);
      if (!byId) this.alarms.set(d.vehicleId, (byId = new Map()));
      byId.set(d.id, d.kind);
      this.alertVehicle.set(d.id, d.vehicleId);
      this.touch(d.vehicleId);
    }
  }

  /** The replica closed (sign-out, another operator): forget what it said. */
  clearReplica(): void {
    const touched = new Set([...this.maintenance, ...this.claims.keys(), ...this.alarms.keys()]);
    this.maintenance.clear();
    this.claims.clear();
    this.claimVehicle.clear();
    this.alarms.clear();
    this.alertVehicle.clear();
    for (const id of touched) this.touch(id);
  }

  /** Re-check time-bound claims (bookings whose window opened, reservations that lapsed). */
  tick(): void {
    const now = this.now();
    for (const [vehicleId, byId] of this.claims) {
      let due = false;
      for (const c of [...byId.values()]) {
        if (c.kind === 'rental') continue;
        if (c.endsAt !== null && c.endsAt <= now) {
          byId.delete(c.id);
          this.claimVehicle.delete(c.id);
          due = true;
        } else if (c.startsAt > now - 2 * TICK_MS) due = true;
      }
      if (due) this.touch(vehicleId);
    }
  }

  // ------------------------------------------------------------------------------------------ internals

  private facts(id: string) {
    const now = this.now();
    let activeRental = false;
    let reserved = false;
    for (const c of this.claims.get(id)?.values() ?? []) {
      const effect = claimEffect({ ...c, _deleted: false }, now);
      if (effect === 'rental') activeRental = true;
      else if (effect === 'reserved') reserved = true;
    }
    return {
      online: this.store.live.get(id)?.online === true,
      maintenance: this.maintenance.has(id),
      activeRental,
      reserved,
      openCriticalAlerts: this.alarms.get(id)?.size ?? 0,
    };
  }

  private compute(id: string): BusinessState {
    return deriveBusinessState(this.facts(id));
  }

  /** Re-derive one car that the store knows; true when its state changed. */
  private update(id: string): boolean {
    if (!this.store.live.has(id) && !this.store.registry.has(id)) return false;
    const next = this.compute(id);
    const prev = this.states.get(id);
    if (prev === next) return false;
    if (prev !== undefined) this.tally[prev]--;
    this.tally[next]++;
    this.states.set(id, next);
    return true;
  }

  private rebuild(): void {
    this.states.clear();
    Object.assign(this.tally, emptyTally());
    for (const id of this.store.allIds()) this.update(id);
  }

  private onStore(c: FleetChange): void {
    if (c.kind === 'reset') {
      this.rebuild();
      this.pending.clear();
      this.emit({ kind: 'reset' });
      return;
    }
    for (const v of c.upserts) {
      this.update(v.id);
      this.pending.delete(v.id);
    }
    for (const info of c.registry) this.update(info.id);
    this.emit({ kind: 'delta', upserts: c.upserts, registry: c.registry, restyled: [] });
  }

  /** A replica input touched a car: re-derive it, and tell subscribers once per task however many docs arrived. */
  private touch(id: string): void {
    if (this.update(id)) this.pending.add(id);
    if (this.flushQueued || this.pending.size === 0) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.pending.size === 0) return;
      const restyled = [...this.pending];
      this.pending = new Set();
      this.emit({ kind: 'delta', upserts: [], registry: [], restyled });
    });
  }

  private emit(c: BusinessChange): void {
    for (const cb of [...this.listeners]) {
      try {
        cb(c);
      } catch (err) {
        console.error('[business-state] listener failed', err);
      }
    }
  }
}

function emptyTally(): Record<BusinessState, number> {
  return Object.fromEntries(BUSINESS_STATES.map((s) => [s, 0])) as Record<BusinessState, number>;
}
