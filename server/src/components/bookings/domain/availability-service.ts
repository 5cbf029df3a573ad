/**
 * Keeps the availability index current: about once a second it reads the positions, energy, liveness and service
 * state written since its last read (fleet; the whole fleet every 30 s), the claims holding cars now or soon
 * (allocations) and — every 30 s or when new vehicles were typed — the vehicle types, and updates only the cars
 * that changed (or whose liveness ran out with the clock). This instance's own changes (a reservation made here,
 * a rental started here) update the vehicle at once from one small query; other instances' changes show at the
 * next refresh. Searches, GBFS and the alerts' "is it rented?" question are answered from memory only.
 *
 * A car is searchable when it is registered with a type, has a position, is online, not in maintenance, not in an
 * active rental, and no reservation/booking holds it now or within the horizon (free hold + the minimum drive a
 * reservation needs), i.e. exactly the cars a reservation would succeed for (give or take a second).
 */
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import type { VehicleType } from '../../pricing/index.js';
import { openClaimsAround, type OpenClaimRow } from '../data/allocations.repository.js';
import { AvailabilityGrid, entryJson, isSearchable, type AvailabilityEntry, type SearchHit } from './availability.js';
import type { VehicleListability } from './bookings-rules.js';

export interface VehiclePositionInput {
  vehicleId: string;
  lat: number;
  lon: number;
  energyPct: number | null;
  online: boolean;
  receivedAt: number;
  serviceState: string;
}

export interface PositionsPort {
  /** `changedSinceMs`: only cars whose state was written since then, plus every car out of service (undefined: all) */
  vehiclePositions(changedSinceMs?: number): Promise<VehiclePositionInput[]>;
}

/** pricing component: the vehicle types and which type each car has */
export interface VehicleTypesPort {
  readVehicleTypes(): Promise<{ types: VehicleType[]; typeOf: Map<string, string> }>;
}

export interface AvailabilityServiceOptions {
  db: Db;
  positions: PositionsPort;
  vehicleTypes: VehicleTypesPort;
  log: Logger;
  /** how far ahead a reservation/booking makes a car unavailable now (ms) */
  horizonMs: number;
  /** whether a car last heard at a time is still offered (heartbeat timeout; a broker outage excused) */
  liveness: VehicleListability;
  refreshMs?: number;
  /** every so often the whole fleet is re-read (in between: only rows written since the last read) */
  fullRefreshMs?: number;
  typesRefreshMs?: number;
  /** the duration of each successful refresh (metrics) */
  observeRefresh?: (seconds: number) => void;
  /** runs before each refresh (vehicle typing); true when it changed something */
  beforeRefresh?: () => Promise<boolean>;
  now?: () => number;
}

interface ClaimState {
  activeRental: boolean;
  reserved: boolean;
}

export interface GbfsVehicle {
  vehicleId: string;
  vehicleTypeId: string;
  lat: number;
  lon: number;
  energyPct: number | null;
  rangeMeters: number;
  reserved: boolean;
  disabled: boolean;
  lastReportedAt: number;
}

/** Rows written this long before the previous read are read again (a write's timestamp precedes its commit). */
const CHANGED_ROWS_OVERLAP_MS = 5_000;

const sameClaim = (a: ClaimState | undefined, b: ClaimState | undefined): boolean =>
  (a?.activeRental ?? false) === (b?.activeRental ?? false) && (a?.reserved ?? false) === (b?.reserved ?? false);

const samePosition = (a: VehiclePositionInput, b: VehiclePositionInput): boolean =>
  a.lat === b.lat &&
  a.lon === b.lon &&
  a.energyPct === b.energyPct &&
  a.online === b.online &&
  a.receivedAt === b.receivedAt &&
  a.serviceState === b.serviceState;

export class AvailabilityService {
  private readonly grid = new AvailabilityGrid();
  /** every vehicle with a position and a type, not rented (searchable or not) */
  private readonly all = new Map<string, AvailabilityEntry>();
  private positions = new Map<string, VehiclePositionInput>();
  private claims = new Map<string, ClaimState>();
  private types = new Map<string, VehicleType>();
  private typeOf = new Map<string, string>();
  private typesLoadedAt = -Infinity;
  private positionsReadAt: number | undefined;
  private fullReadAt = -Infinity;
  /** vehicle → when this instance last changed its claims (a refresh that started before must not undo it) */
  private touched = new Map<string, number>();
  private snapshot: GbfsVehicle[] | undefined;
  private builtAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private busy = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: AvailabilityServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.refresh(true);
    this.timer = setInterval(() => {
      if (this.busy) return; // a slow database: skip a beat rather than pile up reads
      this.refresh().catch((err: unknown) => this.o.log.warn('availability refresh failed; serving the previous view', errorFields(err)));
    }, this.o.refreshMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.chain.catch(() => undefined);
  }

  /**
   * Re-reads claims and the positions written since the last read (`full`: every position, as also happens every
   * `fullRefreshMs`); refreshes run one after the other.
   */
  refresh(full = false): Promise<void> {
    const run = this.chain.catch(() => undefined).then(() => this.doRefresh(full));
    this.chain = run;
    return run;
  }

  private async doRefresh(full: boolean): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    try {
      const t0 = performance.now();
      const startedAt = this.now();
      const dirty = new Set<string>();
      let everything = full;
      const typed = (await this.o.beforeRefresh?.()) ?? false;
      if (full || typed || startedAt - this.typesLoadedAt >= (this.o.typesRefreshMs ?? 30_000)) {
        const { types: typeRows, typeOf: assignments } = await this.o.vehicleTypes.readVehicleTypes();
        const types = new Map<string, VehicleType>(typeRows.map((t) => [t.id, t]));
        if (JSON.stringify([...types]) !== JSON.stringify([...this.types])) everything = true;
        for (const [id, t] of assignments) if (this.typeOf.get(id) !== t) dirty.add(id);
        for (const id of this.typeOf.keys()) if (!assignments.has(id)) dirty.add(id);
        this.types = types;
        this.typeOf = assignments;
        this.typesLoadedAt = startedAt;
      }
      const readAll = full || this.positionsReadAt === undefined || startedAt - this.fullReadAt >= (this.o.fullRefreshMs ?? 30_000);
      const since = readAll ? undefined : this.positionsReadAt! - CHANGED_ROWS_OVERLAP_MS;
      const [rows, claimRows] = await Promise.all([
        this.o.positions.vehiclePositions(since),
        openClaimsAround(this.o.db, startedAt, startedAt + this.o.horizonMs),
      ]);
      if (this.stopped) return;

      if (readAll) {
        const next = new Map<string, VehiclePositionInput>();
        for (const p of rows) {
          const prev = this.positions.get(p.vehicleId);
          if (!prev || !samePosition(prev, p)) dirty.add(p.vehicleId);
          next.set(p.vehicleId, p);
        }
        for (const id of this.positions.keys()) if (!next.has(id)) dirty.add(id);
        this.positions = next;
        this.fullReadAt = startedAt;
      } else {
        const seen = new Set<string>();
        for (const p of rows) {
          seen.add(p.vehicleId);
          const prev = this.positions.get(p.vehicleId);
          if (!prev || !samePosition(prev, p)) dirty.add(p.vehicleId);
          this.positions.set(p.vehicleId, p);
        }
        // every car out of service is in the answer: one that is missing is back in service
        for (const [id, p] of this.positions) {
          if (p.serviceState !== 'available' && !seen.has(id)) {
            this.positions.set(id, { ...p, serviceState: 'available' });
            dirty.add(id);
          }
        }
      }
      this.positionsReadAt = startedAt;

      const claims = toClaimStates(claimRows);
      // keep what this instance changed after the refresh began: the rows read may predate it
      for (const [vehicleId, at] of this.touched) {
        if (at < startedAt) {
          this.touched.delete(vehicleId);
          continue;
        }
        const mine = this.claims.get(vehicleId);
        if (mine) claims.set(vehicleId, mine);
        else claims.delete(vehicleId);
      }
      for (const [id, c] of claims) if (!sameClaim(c, this.claims.get(id))) dirty.add(id);
      for (const [id, c] of this.claims) if (!sameClaim(c, claims.get(id))) dirty.add(id);
      this.claims = claims;
      this.reconcile(everything ? undefined : dirty);
      this.o.observeRefresh?.((performance.now() - t0) / 1000);
    } finally {
      this.busy = false;
    }
  }

  private isDisabled(p: VehiclePositionInput, now: number): boolean {
    return !p.online || !this.o.liveness.isListable(p.receivedAt, now) || p.serviceState !== 'available';
  }

  private entryFor(vehicleId: string, now: number): AvailabilityEntry | undefined {
    const p = this.positions.get(vehicleId);
    if (!p) return undefined;
    const claim = this.claims.get(vehicleId);
    if (claim?.activeRental) return undefined; // GBFS: a car in a trip is not in vehicle_status
    const typeId = this.typeOf.get(vehicleId);
    const type = typeId === undefined ? undefined : this.types.get(typeId);
    if (!type) return undefined;
    const prev = this.all.get(vehicleId);
    const energyPct = p.energyPct === null ? null : Math.max(0, Math.min(100, p.energyPct));
    // one object literal (no spread: spread-built objects get shapes V8 cannot share — 10× slower searches)
    const e: AvailabilityEntry = {
      vehicleId,
      vehicleTypeId: type.id,
      make: type.make,
      model: type.model,
      propulsion: type.propulsion,
      lat: p.lat,
      lon: p.lon,
      energyPct,
      rangeMeters: energyPct === null ? 0 : Math.round((type.maxRangeMeters * energyPct) / 100),
      lastReportedAt: p.receivedAt,
      lastReportedIso: prev?.lastReportedAt === p.receivedAt ? prev.lastReportedIso : new Date(p.receivedAt).toISOString(),
      reserved: claim?.reserved === true,
      disabled: this.isDisabled(p, now),
      json: '',
    };
    // the search answer's text, for the entries search can find (every change of an entry builds it anew here)
    if (isSearchable(e)) e.json = entryJson(e);
    return e;
  }

  /**
   * Brings entries up to date: the `dirty` vehicles, and any whose liveness flipped with the clock (a car falls
   * silent without any row changing); everything when `dirty` is undefined.
   */
  private reconcile(dirty: Set<string> | undefined): void {
    const now = this.now();
    for (const [id, p] of this.positions) {
      if (dirty && !dirty.has(id)) {
        const prev = this.all.get(id);
        if (!prev || prev.disabled === this.isDisabled(p, now)) continue;
      }
      this.recompute(id, now);
    }
    for (const id of dirty ?? [...this.all.keys()]) if (!this.positions.has(id)) this.recompute(id, now);
    this.builtAt = now;
  }

  private recompute(vehicleId: string, now = this.now()): void {
    const e = this.entryFor(vehicleId, now);
    if (e) this.all.set(vehicleId, e);
    else this.all.delete(vehicleId);
    if (e && isSearchable(e)) this.grid.put(e);
    else this.grid.remove(vehicleId);
    this.snapshot = undefined;
  }

  /**
   * This instance changed a claim on the vehicle (reservation, booking, rental): re-read that car's claims now.
   * `hint` applies at once, before the query answers (e.g. a rental that just started).
   */
  async vehicleChanged(vehicleId: string, hint?: Partial<ClaimState>): Promise<void> {
    const at = this.now();
    this.touched.set(vehicleId, at);
    if (hint) {
      this.claims.set(vehicleId, { activeRental: false, reserved: false, ...this.claims.get(vehicleId), ...hint });
      this.recompute(vehicleId);
    }
    try {
      const rows = await openClaimsAround(this.o.db, at, at + this.o.horizonMs, vehicleId);
      if (this.stopped) return;
      const state = toClaimStates(rows).get(vehicleId);
      if (state) this.claims.set(vehicleId, state);
      else this.claims.delete(vehicleId);
      this.touched.set(vehicleId, Math.max(this.touched.get(vehicleId) ?? 0, at));
      this.recompute(vehicleId);
    } catch (err) {
      this.o.log.warn('availability update of one vehicle failed; the next refresh fixes it', { vehicleId, ...errorFields(err) });
    }
  }

  /**
   * This instance committed a held or confirmed claim on the car (made, or lengthened): it holds the car now when
   * its period meets the horizon. No query: such a claim only adds to what holds the car, so the car's state is
   * the one known plus this claim (anything else changes at the next refresh, as ever).
   */
  claimHeld(vehicleId: string, period: { start: number; end: number | null }): void {
    const at = this.now();
    if (period.start >= at + this.o.horizonMs || (period.end !== null && period.end <= at)) return;
    this.touched.set(vehicleId, at);
    this.claims.set(vehicleId, { activeRental: this.claims.get(vehicleId)?.activeRental ?? false, reserved: true });
    this.recompute(vehicleId, at);
  }

  search(lat: number, lon: number, radiusM: number, limit: number): SearchHit[] {
    return this.grid.search(lat, lon, radiusM, limit);
  }

  /** When the current view was built (epoch ms). */
  get asOf(): number {
    return this.builtAt;
  }

  /** Searchable vehicles now. */
  get availableCount(): number {
    return this.grid.size;
  }

  hasActiveRental(vehicleId: string): boolean {
    return this.claims.get(vehicleId)?.activeRental === true;
  }

  /** Out of service (maintenance) as of the last refresh (every second; every instance's changes). */
  inMaintenance(vehicleId: string): boolean {
    const state = this.positions.get(vehicleId)?.serviceState;
    return state !== undefined && state !== 'available';
  }

  /** Every vehicle not in a trip, with GBFS' reserved/disabled flags (immutable snapshot, rebuilt lazily). */
  gbfsVehicles(): ReadonlyArray<GbfsVehicle> {
    if (!this.snapshot) {
      const list: GbfsVehicle[] = [];
      for (const e of this.all.values()) {
        list.push(
          Object.freeze({
            vehicleId: e.vehicleId,
            vehicleTypeId: e.vehicleTypeId,
            lat: e.lat,
            lon: e.lon,
            energyPct: e.energyPct,
            rangeMeters: e.rangeMeters,
            reserved: e.reserved,
            disabled: e.disabled,
            lastReportedAt: e.lastReportedAt,
          }),
        );
      }
      list.sort((a, b) => (a.vehicleId < b.vehicleId ? -1 : a.vehicleId > b.vehicleId ? 1 : 0));
      this.snapshot = Object.freeze(list) as GbfsVehicle[];
    }
    return this.snapshot;
  }
}

function toClaimStates(rows: readonly OpenClaimRow[]): Map<string, ClaimState> {
  const states = new Map<string, ClaimState>();
  for (const r of rows) {
    let s = states.get(r.vehicleId);
    if (!s) states.set(r.vehicleId, (s = { activeRental: false, reserved: false }));
    if (r.status === 'active') s.activeRental = true;
    else s.reserved = true;
  }
  return states;
}
