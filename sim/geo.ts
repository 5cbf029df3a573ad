/**
 * Local planar geometry for a city-sized area: an equirectangular projection around the area's centre
 * (metres east/north). Over ~10 km the error is far below GPS noise, and it keeps the movement model in
 * plain metres.
 */
import type { LatLon } from '../src/shared/service-area.js';

const METRES_PER_DEG_LAT = 110_574;
const METRES_PER_DEG_LON_AT_EQUATOR = 111_320;

export interface Point {
  /** metres east of the origin */
  x: number;
  /** metres north of the origin */
  y: number;
}

export class LocalProjection {
  private readonly mPerDegLon: number;

  constructor(readonly origin: LatLon) {
    this.mPerDegLon = METRES_PER_DEG_LON_AT_EQUATOR * Math.cos((origin.lat * Math.PI) / 180);
  }

  toPoint(p: LatLon): Point {
    return { x: (p.lon - this.origin.lon) * this.mPerDegLon, y: (p.lat - this.origin.lat) * METRES_PER_DEG_LAT };
  }

  toLatLon(x: number, y: number): LatLon {
    return { lat: this.origin.lat + y / METRES_PER_DEG_LAT, lon: this.origin.lon + x / this.mPerDegLon };
  }
}

/** Compass heading of the direction (dx east, dy north): 0 = north, clockwise, in [0, 360). */
export function headingOf(dx: number, dy: number): number {
  const h = (Math.atan2(dx, dy) * 180) / Math.PI;
  return normalizeHeading(h);
}

export function normalizeHeading(h: number): number {
  const n = h % 360;
  const r = n < 0 ? n + 360 : n;
  // -1e-15 % 360 + 360 === 360 in floating point: keep the half-open interval.
  return r >= 360 ? 0 : r;
}

/** Signed smallest difference b - a in degrees, in (-180, 180]. */
export function headingDelta(a: number, b: number): number {
  let d = (b - a) % 360;
  if (d > 180) d -= 360;
  if (d <= -180) d += 360;
  return d;
}

/** Ray casting; the ring may or may not repeat its first point. */
export function pointInPolygon(p: Point, ring: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i]!;
    const b = ring[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** Distance from p to the segment a–b. */
export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** Distance from p to the polygon's outline. */
export function distanceToRing(p: Point, ring: readonly Point[]): number {
  let best = Infinity;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    best = Math.min(best, distanceToSegment(p, a, b));
  }
  return best;
}

export function insideBounds(p: LatLon, bounds: readonly [LatLon, LatLon]): boolean {
  const [sw, ne] = bounds;
  return p.lat >= sw.lat && p.lat <= ne.lat && p.lon >= sw.lon && p.lon <= ne.lon;
}
