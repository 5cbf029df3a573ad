/**
 * The map's own compact copy of vehicle positions: struct-of-arrays in normalised Web Mercator, so the
 * per-frame draw loop touches typed arrays only (no Leaflet LatLng/Point allocation per vehicle, no
 * trigonometry per vehicle per frame). Updated from store changes, read by the canvas layer.
 */
import type { VehicleLive } from '../../../../shared/fleet.js';
import type { BusinessState } from '../../data/business-state';

/** Index into these = state code and draw order (offline first, alarm last: alarms paint over everything). */
export const STATE_ORDER: readonly BusinessState[] = ['offline', 'available', 'maintenance', 'reserved', 'in_rental', 'alarm'];
export const STATE_CODE = Object.fromEntries(STATE_ORDER.map((s, i) => [s, i])) as Record<BusinessState, number>;
export const ALARM_CODE = STATE_CODE.alarm;

/** Leaflet's EPSG:3857 clamps latitude here; so must we, or the poles project to infinity. */
const MAX_LAT = 85.0511287798;

/** Web Mercator in [0,1]²: pixel = value × 256 × 2^zoom, exactly as Leaflet's `map.project`. */
export function mercatorX(lon: number): number {
  return lon / 360 + 0.5;
}
export function mercatorY(lat: number): number {
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const s = Math.sin((clamped * Math.PI) / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
}

export class VehiclePoints {
  size = 0;
  ids: string[] = [];
  mx = new Float64Array(0);
  my = new Float64Array(0);
  /** business state code (STATE_CODE) */
  state = new Uint8Array(0);
  /** 1 = moving (drawn with a heading tick) */
  moving = new Uint8Array(0);
  /** 1 = drawn: its state is not hidden in the legend and it matches the search */
  shown = new Uint8Array(0);
  headingRad = new Float32Array(0);
  private hiddenStates = new Set<number>();
  private matches: ((id: string) => boolean) | undefined;
  private readonly index = new Map<string, number>();

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  clear(): void {
    this.size = 0;
    this.ids = [];
    this.index.clear();
  }

  /** Legend toggles and search: which cars are drawn. Re-evaluates every point (on a user action, not per frame). */
  setFilter(hiddenStates: ReadonlySet<BusinessState>, matches: ((id: string) => boolean) | undefined): void {
    this.hiddenStates = new Set([...hiddenStates].map((s) => STATE_CODE[s]));
    this.matches = matches;
    for (let i = 0; i < this.size; i++) this.shown[i] = this.isShown(i) ? 1 : 0;
  }

  /** A car's business state changed (replica or time), its position did not. */
  setState(id: string, state: BusinessState): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    this.state[i] = STATE_CODE[state];
    this.shown[i] = this.isShown(i) ? 1 : 0;
  }

  private isShown(i: number): boolean {
    return !this.hiddenStates.has(this.state[i]!) && (!this.matches || this.matches(this.ids[i]!));
  }

  upsert(v: VehicleLive, state: BusinessState, moving: boolean): void {
    if (!Number.isFinite(v.lat) || !Number.isFinite(v.lon)) return; // no fix yet: nothing to draw
    let i = this.index.get(v.id);
    if (i === undefined) {
      i = this.size++;
      this.ensureCapacity(this.size);
      this.index.set(v.id, i);
      this.ids[i] = v.id;
    }
    this.mx[i] = mercatorX(v.lon);
    this.my[i] = mercatorY(v.lat);
    this.state[i] = STATE_CODE[state];
    this.moving[i] = moving ? 1 : 0;
    this.shown[i] = this.isShown(i) ? 1 : 0;
    this.headingRad[i] = ((v.headingDeg || 0) * Math.PI) / 180;
  }

  private ensureCapacity(n: number): void {
    if (n <= this.mx.length) return;
    const cap = Math.max(1024, this.mx.length * 2, n);
    const grow = <T extends Float64Array | Float32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old);
      return next;
    };
    this.mx = grow(this.mx, (c) => new Float64Array(c));
    this.my = grow(this.my, (c) => new Float64Array(c));
    this.state = grow(this.state, (c) => new Uint8Array(c));
    this.moving = grow(this.moving, (c) => new Uint8Array(c));
    this.shown = grow(this.shown, (c) => new Uint8Array(c));
    this.headingRad = grow(this.headingRad, (c) => new Float32Array(c));
  }
}
