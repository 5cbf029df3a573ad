/**
 * The in-memory spatial index behind "cars near me": a uniform grid of 0.002° × 0.002° cells (about 222 m ×
 * 136 m in Berlin; ~7 cars per cell with 20,000 cars in the inner city) holding the vehicles that can be reserved
 * now. A search walks rings of cells outwards from the caller's cell and stops as soon as no farther cell can hold
 * anything nearer than the current k-th result (or the radius is exceeded) — no SQL, no allocation beyond the
 * result.
 *
 * Distances are equirectangular around the caller's latitude (compared squared, one square root per result):
 * error below 0.1 % within a few km, about 1 % of the east–west part at the 50 km maximum radius — what a
 * "cars near me" search needs, and one consistent metric for ordering, radius and the distance shown.
 */

export interface AvailabilityEntry {
  vehicleId: string;
  vehicleTypeId: string;
  make: string;
  model: string;
  propulsion: 'combustion' | 'electric';
  lat: number;
  lon: number;
  /** fuel or battery level 0–100, null when unknown */
  energyPct: number | null;
  /** estimated remaining range (energyPct × the type's maximum range) */
  rangeMeters: number;
  /** epoch ms of the last message heard from the car */
  lastReportedAt: number;
  /** the same as ISO-8601 (computed once per refresh, not per search) */
  lastReportedIso: string;
  /** held by a reservation, or a booking now or soon (GBFS is_reserved) */
  reserved: boolean;
  /** in maintenance or offline (GBFS is_disabled) */
  disabled: boolean;
  /**
   * The search answer's JSON for this car without its closing brace and distance (built once per change, so a
   * search concatenates instead of serializing 20 objects per request); '' while search cannot find the car.
   */
  json: string;
}

/** The public search item's JSON, open-ended: the caller appends `,"distanceM":n}`. */
export function entryJson(e: Omit<AvailabilityEntry, 'json'> | AvailabilityEntry): string {
  const body = JSON.stringify({
    vehicleId: e.vehicleId,
    vehicleTypeId: e.vehicleTypeId,
    make: e.make,
    model: e.model,
    propulsion: e.propulsion,
    lat: e.lat,
    lon: e.lon,
    energyPct: e.energyPct,
    rangeMeters: e.rangeMeters,
    lastReportedAt: e.lastReportedIso,
  });
  return body.slice(0, -1);
}

export interface SearchHit {
  entry: AvailabilityEntry;
  distanceM: number;
}

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;
/** Metres per degree of latitude. */
const M_PER_DEG = EARTH_RADIUS_M * RAD;
/** Cell keys: (iy + OFFSET_Y) × ROW + (ix + OFFSET_X), unique for 0.002° cells (|ix| ≤ 90,000 < OFFSET_X). */
const OFFSET_Y = 50_000;
const OFFSET_X = 100_000;
const ROW = 250_000;

/** Metres between the caller (lat1, lon1) and a point, equirectangular around the caller's latitude. */
export function distanceMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const x = (lon2 - lon1) * Math.cos(lat1 * RAD);
  const y = lat2 - lat1;
  return Math.sqrt(x * x + y * y) * M_PER_DEG;
}

export function isSearchable(e: AvailabilityEntry): boolean {
  return !e.reserved && !e.disabled;
}

export class AvailabilityGrid {
  private readonly cells = new Map<number, AvailabilityEntry[]>();
  private readonly cellOf = new Map<string, number>();
  private readonly entries = new Map<string, AvailabilityEntry>();

  constructor(private readonly cellDeg = 0.002) {}

  get size(): number {
    return this.entries.size;
  }

  private key(iy: number, ix: number): number {
    return (iy + OFFSET_Y) * ROW + (ix + OFFSET_X);
  }

  private iy(lat: number): number {
    return Math.floor(lat / this.cellDeg);
  }

  private ix(lon: number): number {
    return Math.floor(lon / this.cellDeg);
  }

  /** Inserts or replaces the vehicle (its cell may change). */
  put(e: AvailabilityEntry): void {
    this.remove(e.vehicleId);
    const key = this.key(this.iy(e.lat), this.ix(e.lon));
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = []));
    cell.push(e);
    this.cellOf.set(e.vehicleId, key);
    this.entries.set(e.vehicleId, e);
  }

  remove(vehicleId: string): void {
    const key = this.cellOf.get(vehicleId);
    if (key === undefined) return;
    const cell = this.cells.get(key)!;
    const i = cell.findIndex((c) => c.vehicleId === vehicleId);
    if (i >= 0) {
      cell[i] = cell[cell.length - 1]!;
      cell.pop();
    }
    if (cell.length === 0) this.cells.delete(key);
    this.cellOf.delete(vehicleId);
    this.entries.delete(vehicleId);
  }

  get(vehicleId: string): AvailabilityEntry | undefined {
    return this.entries.get(vehicleId);
  }

  /** The nearest `limit` vehicles within `radiusM` of (lat, lon), nearest first (ties by vehicle id). */
  search(lat: number, lon: number, radiusM: number, limit: number): SearchHit[] {
    if (limit <= 0 || this.entries.size === 0 || !Number.isFinite(lat) || !Number.isFinite(lon) || !(radiusM >= 0)) return [];
    const cy = this.iy(lat);
    const cx = this.ix(lon);
    // Squared distances in degrees of latitude, x scaled by the caller's cos(lat) — the same scale everywhere, so a
    // cell is cellDeg high and cellDeg × cos0 wide in this metric: ring r lies at least (r − 1) × the narrower side away.
    const cos0 = Math.max(Math.cos(lat * RAD), 1e-6);
    const radiusDeg = radiusM / M_PER_DEG;
    const q = new TopK(lat, lon, cos0, radiusDeg * radiusDeg, limit);
    const minCell = this.cellDeg * Math.min(1, cos0);
    const maxRingY = Math.ceil(radiusDeg / this.cellDeg) + 1;
    const maxRingX = Math.ceil(radiusDeg / (this.cellDeg * cos0)) + 1;
    const ringLimit = Math.min(Math.max(maxRingY, maxRingX), Math.ceil(180 / this.cellDeg));
    if ((2 * maxRingY + 1) * (2 * maxRingX + 1) > this.cells.size * 4) {
      // A huge radius would walk many empty cells: scanning every cell is cheaper then.
      for (const cell of this.cells.values()) q.scan(cell);
    } else {
      for (let r = 0; r <= ringLimit; r++) {
        if (r > 0) {
          const gap = (r - 1) * minCell;
          if (gap > radiusDeg || (q.full && q.worst < gap * gap)) break;
        }
        // the cells of ring r: full top and bottom rows, only the two ends of the rows between
        for (let y = cy - r; y <= cy + r; y++) {
          const step = r === 0 || y === cy - r || y === cy + r ? 1 : 2 * r;
          for (let x = cx - r; x <= cx + r; x += step) {
            const cell = this.cells.get(this.key(y, x));
            if (cell !== undefined) q.scan(cell);
          }
        }
      }
    }
    return q.hits();
  }
}

/** The best `limit` candidates so far, sorted by squared scaled distance (ties by vehicle id). */
class TopK {
  private readonly best: AvailabilityEntry[] = [];
  private readonly d2s: number[] = [];

  constructor(
    private readonly lat: number,
    private readonly lon: number,
    private readonly cos0: number,
    private readonly radius2: number,
    private readonly limit: number,
  ) {}

  get full(): boolean {
    return this.best.length === this.limit;
  }

  get worst(): number {
    return this.d2s[this.d2s.length - 1]!;
  }

  scan(cell: readonly AvailabilityEntry[]): void {
    const { best, d2s, limit } = this;
    for (let i = 0; i < cell.length; i++) {
      const e = cell[i]!;
      const dx = (e.lon - this.lon) * this.cos0;
      const dy = e.lat - this.lat;
      const d2 = dx * dx + dy * dy;
      if (d2 > this.radius2) continue;
      if (best.length === limit) {
        const w = d2s[limit - 1]!;
        if (d2 > w || (d2 === w && e.vehicleId > best[limit - 1]!.vehicleId)) continue;
        best.pop();
        d2s.pop();
      }
      // insertion: shift the farther ones up by one
      let j = best.length;
      best.push(e);
      d2s.push(d2);
      while (j > 0 && (d2s[j - 1]! > d2 || (d2s[j - 1] === d2 && best[j - 1]!.vehicleId > e.vehicleId))) {
        best[j] = best[j - 1]!;
        d2s[j] = d2s[j - 1]!;
        j--;
      }
      best[j] = e;
      d2s[j] = d2;
    }
  }

  hits(): SearchHit[] {
    const hits: SearchHit[] = new Array(this.best.length);
    for (let i = 0; i < this.best.length; i++) hits[i] = { entry: this.best[i]!, distanceM: Math.sqrt(this.d2s[i]!) * M_PER_DEG };
    return hits;
  }
}
