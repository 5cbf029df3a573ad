/**
 * Zones as admins draw them: operating (rentals may end inside), no-parking (rentals may not end inside) and
 * service (depots, workshops: shown to staff only). The server checks every polygon with `checkZonePolygon` before
 * it writes one; the desk runs the same check to say what is wrong before it sends.
 *
 * A valid polygon: a closed ring (first point = last point) of [lon, lat] pairs (GeoJSON order) with at least 3
 * and at most ZONE_MAX_POINTS distinct points, coordinates within lat ±85 / lon ±180, edges that do not cross or
 * touch except at shared corners of neighbours, an area from ZONE_MIN_AREA_M2 (a few parking bays) to
 * ZONE_MAX_AREA_M2 (a large city), and no side longer than ZONE_MAX_EXTENT_KM.
 */
import type { ZoneDoc } from './sync-protocol.js';

export type ZoneKind = ZoneDoc['kind'];
export const ZONE_KINDS: readonly ZoneKind[] = ['operating', 'no_parking', 'service'];

export const ZONE_MAX_POINTS = 1000;
/** 100 m²: about four parking bays */
export const ZONE_MIN_AREA_M2 = 100;
/** 2,500 km²: Berlin is about 890 km² */
export const ZONE_MAX_AREA_M2 = 2_500_000_000;
export const ZONE_MAX_EXTENT_KM = 100;
export const ZONE_NAME_MAX = 100;

export type ZonePolygonProblem =
  | 'zone_polygon_malformed'
  | 'zone_ring_open'
  | 'zone_too_few_points'
  | 'zone_too_many_points'
  | 'zone_coordinates_out_of_range'
  | 'zone_self_intersecting'
  | 'zone_too_small'
  | 'zone_too_large';

export type ZonePolygonCheck =
  { ok: true; ring: Array<[number, number]>; areaM2: number } | { ok: false; code: ZonePolygonProblem; message: string };

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

const fail = (code: ZonePolygonProblem, message: string): ZonePolygonCheck => ({ ok: false, code, message });

export function checkZonePolygon(polygon: unknown): ZonePolygonCheck {
  if (!Array.isArray(polygon) || polygon.some((p) => !Array.isArray(p) || p.length !== 2 || p.some((x) => typeof x !== 'number')))
    return fail('zone_polygon_malformed', 'The outline must be a list of [longitude, latitude] points.');
  const points = polygon as Array<[number, number]>;
  if (points.some(([lon, lat]) => !Number.isFinite(lon) || !Number.isFinite(lat) || lat < -85 || lat > 85 || lon < -180 || lon > 180))
    return fail('zone_coordinates_out_of_range', 'A point lies outside latitude ±85° / longitude ±180°.');
  if (points.length < 2) return fail('zone_too_few_points', 'A zone needs at least 3 distinct points.');
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1])
    return fail('zone_ring_open', 'The outline is not closed: its last point must repeat its first.');
  // consecutive repeats (a double click) are dropped; what is left must be distinct points
  const ring: Array<[number, number]> = [];
  for (const p of points.slice(0, -1)) {
    const prev = ring[ring.length - 1];
    if (!prev || prev[0] !== p[0] || prev[1] !== p[1]) ring.push([p[0], p[1]]);
  }
  if (ring.length > 1 && ring[0]![0] === ring[ring.length - 1]![0] && ring[0]![1] === ring[ring.length - 1]![1]) ring.pop();
  if (new Set(ring.map((p) => `${p[0]},${p[1]}`)).size < 3) return fail('zone_too_few_points', 'A zone needs at least 3 distinct points.');
  if (ring.length > ZONE_MAX_POINTS) return fail('zone_too_many_points', `A zone has at most ${ZONE_MAX_POINTS} points.`);

  // a local flat projection (metres) around the zone: exact enough for a city-sized outline
  const lats = ring.map((p) => p[1]);
  const lons = ring.map((p) => p[0]);
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const lon0 = (Math.min(...lons) + Math.max(...lons)) / 2;
  const mPerDegLat = EARTH_RADIUS_M * RAD;
  const mPerDegLon = mPerDegLat * Math.cos(lat0 * RAD);
  const xy = ring.map(([lon, lat]) => [(lon - lon0) * mPerDegLon, (lat - lat0) * mPerDegLat] as const);
  const width = (Math.max(...lons) - Math.min(...lons)) * mPerDegLon;
  const height = (Math.max(...lats) - Math.min(...lats)) * mPerDegLat;
  if (Math.max(width, height) > ZONE_MAX_EXTENT_KM * 1000)
    return fail(
      'zone_too_large',
      `A zone spans at most ${ZONE_MAX_EXTENT_KM} km; this one spans ${Math.round(Math.max(width, height) / 1000)} km.`,
    );

  const n = xy.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // neighbouring edges share a corner by design
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsMeet(xy[i]!, xy[(i + 1) % n]!, xy[j]!, xy[(j + 1) % n]!))
        return fail('zone_self_intersecting', 'The outline crosses itself; move the points so that no two edges cross.');
    }
  }
  // collinear neighbours folding back onto each other also make a degenerate outline
  for (let i = 0; i < n; i++) {
    const a = xy[(i + n - 1) % n]!;
    const b = xy[i]!;
    const c = xy[(i + 1) % n]!;
    if (cross(a, b, c) === 0 && (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0)
      return fail('zone_self_intersecting', 'The outline doubles back on itself; move the points so that no two edges overlap.');
  }

  let twiceArea = 0;
  for (let i = 0; i < n; i++) {
    const [x1, y1] = xy[i]!;
    const [x2, y2] = xy[(i + 1) % n]!;
    twiceArea += x1 * y2 - x2 * y1;
  }
  const areaM2 = Math.abs(twiceArea) / 2;
  if (areaM2 < ZONE_MIN_AREA_M2)
    return fail('zone_too_small', `A zone covers at least ${ZONE_MIN_AREA_M2} m²; this one covers ${Math.round(areaM2)} m².`);
  if (areaM2 > ZONE_MAX_AREA_M2)
    return fail('zone_too_large', `A zone covers at most ${ZONE_MAX_AREA_M2 / 1e6} km²; this one covers ${Math.round(areaM2 / 1e6)} km².`);
  return { ok: true, ring: [...ring, [ring[0]![0], ring[0]![1]]], areaM2 };
}

type Pt = readonly [number, number];
const cross = (a: Pt, b: Pt, c: Pt): number => (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
const within = (a: Pt, b: Pt, p: Pt): boolean =>
  Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);

/** Do segments ab and cd share any point (crossing, touching, or overlapping)? */
function segmentsMeet(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && within(c, d, a)) || (d2 === 0 && within(c, d, b)) || (d3 === 0 && within(a, b, c)) || (d4 === 0 && within(a, b, d));
}

/** A zone as the staff API answers it (GET /ops/v1/zones). */
export interface ZoneView {
  id: string;
  name: string;
  kind: ZoneKind;
  /** closed ring, [lon, lat] */
  polygon: Array<[number, number]>;
  version: number;
  updatedAt: number;
}

export interface ZoneVersionView {
  zoneId: string;
  version: number;
  name: string;
  kind: ZoneKind;
  polygon: Array<[number, number]>;
  retired: boolean;
  changedBy: string;
  changedAt: number;
  reason: string | null;
}
