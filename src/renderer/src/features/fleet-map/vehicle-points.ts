/**
 * The map's own compact copy of vehicle positions: struct-of-arrays in normalised Web Mercator, so the
 * per-frame draw loop touches typed arrays only (no Leaflet LatLng/Point allocation per vehicle, no
 * trigonometry per vehicle per frame). Updated from store changes, read by the canvas layer.
 */
import type { LiveDisplayState, VehicleLive } from '../../../../shared/fleet.js';
import { liveDisplayState } from '../../../../shared/fleet.js';

/** Index into these arrays = draw order of states (offline first, so live vehicles paint on top). */
export const STATE_ORDER: readonly LiveDisplayState[] = ['offline', 'parked', 'moving'];
const STATE_CODE: Record<LiveDisplayState, number> = { offline: 0, parked: 1, moving: 2 };
export const MOVING_CODE = STATE_CODE.moving;

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
  state = new Uint8Array(0);
  headingRad = new Float32Array(0);
  private readonly index = new Map<string, number>();

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  clear(): void {
    this.size = 0;
    this.ids = [];
    this.index.clear();
  }

  upsert(v: VehicleLive): void {
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
    this.state[i] = STATE_CODE[liveDisplayState(v)];
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
    this.headingRad = grow(this.headingRad, (c) => new Float32Array(c));
  }
}
