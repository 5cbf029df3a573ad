/**
 * The operating zone as the alert engine needs it: "how far outside (or inside) is this position?", in metres,
 * cheap enough for every telemetry sample. A bounding box answers most samples without touching the polygon;
 * the polygon (ray casting) and the distance to its edges (a local flat projection: the zone is a city, so the
 * error is far below GPS noise) are computed only near the boundary.
 */

/** GeoJSON order: `[lon, lat]`; the ring may be closed (first = last) or not. */
export type LonLat = readonly [number, number];

export interface OperatingZone {
  id: string;
  polygon: readonly LonLat[];
}

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

export interface ZoneGeometry {
  readonly zoneId: string;
  /**
   * Signed distance to the zone boundary in metres: > 0 outside, < 0 inside. With `limitM`, a position more
   * than `limitM` outside the bounding box is answered from the box alone: a value > `limitM`, a lower bound of
   * the true distance (enough to know "far outside"). Everything else is exact.
   */
  signedDistanceM(lat: number, lon: number, limitM?: number): number;
  /** true when the position is inside the polygon (boundary counts as inside) */
  contains(lat: number, lon: number): boolean;
}

/**
 * Several operating zones as one: inside any of them is inside; the signed distance is the nearest (the most
 * negative inside, the smallest outside). One zone is that zone's own geometry; none is null.
 */
export function createZonesGeometry(zones: readonly OperatingZone[]): ZoneGeometry | null {
  const parts = zones.map(createZoneGeometry);
  if (parts.length <= 1) return parts[0] ?? null;
  return {
    zoneId: parts.map((p) => p.zoneId).join('+'),
    contains: (lat, lon) => parts.some((p) => p.contains(lat, lon)),
    signedDistanceM: (lat, lon, limitM) => Math.min(...parts.map((p) => p.signedDistanceM(lat, lon, limitM))),
  };
}

export function createZoneGeometry(zone: OperatingZone): ZoneGeometry {
  const ring = zone.polygon.slice();
  if (ring.length > 1 && ring[0]![0] === ring[ring.length - 1]![0] && ring[0]![1] === ring[ring.length - 1]![1]) ring.pop();
  if (ring.length < 3) throw new Error(`operating zone ${zone.id} needs a polygon of at least 3 points`);
  for (const [lon, lat] of ring) {
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
      throw new Error(`operating zone ${zone.id} has an invalid point [${lon}, ${lat}]`);
    }
  }
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minLon = Infinity;
  let maxLon = -Infinity;
  for (const [lon, lat] of ring) {
    minLat = Math.min(minLat, lat);
    maxLat = Math.max(maxLat, lat);
    minLon = Math.min(minLon, lon);
    maxLon = Math.max(maxLon, lon);
  }
  // Local equirectangular projection around the zone's centre: metres east (x) and north (y).
  const lat0 = (minLat + maxLat) / 2;
  const lon0 = (minLon + maxLon) / 2;
  const mPerDegLat = EARTH_RADIUS_M * RAD;
  const mPerDegLon = mPerDegLat * Math.cos(lat0 * RAD);
  const n = ring.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  ring.forEach(([lon, lat], i) => {
    xs[i] = (lon - lon0) * mPerDegLon;
    ys[i] = (lat - lat0) * mPerDegLat;
  });
  const boxMinX = (minLon - lon0) * mPerDegLon;
  const boxMaxX = (maxLon - lon0) * mPerDegLon;
  const boxMinY = (minLat - lat0) * mPerDegLat;
  const boxMaxY = (maxLat - lat0) * mPerDegLat;

  const inside = (x: number, y: number): boolean => {
    if (x < boxMinX || x > boxMaxX || y < boxMinY || y > boxMaxY) return false;
    let result = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = xs[i]!;
      const yi = ys[i]!;
      const xj = xs[j]!;
      const yj = ys[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
    }
    return result;
  };

  const edgeDistance = (x: number, y: number): number => {
    let best = Infinity;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const ax = xs[j]!;
      const ay = ys[j]!;
      const dx = xs[i]! - ax;
      const dy = ys[i]! - ay;
      const len2 = dx * dx + dy * dy;
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2));
      const ex = ax + t * dx - x;
      const ey = ay + t * dy - y;
      const d2 = ex * ex + ey * ey;
      if (d2 < best) best = d2;
    }
    return Math.sqrt(best);
  };

  return {
    zoneId: zone.id,
    contains(lat, lon) {
      const x = (lon - lon0) * mPerDegLon;
      const y = (lat - lat0) * mPerDegLat;
      return inside(x, y) || edgeDistance(x, y) === 0;
    },
    signedDistanceM(lat, lon, limitM = Infinity) {
      const x = (lon - lon0) * mPerDegLon;
      const y = (lat - lat0) * mPerDegLat;
      // Bounding-box pre-check: the distance to the box is a lower bound of the distance to the polygon.
      const bx = Math.max(boxMinX - x, 0, x - boxMaxX);
      const by = Math.max(boxMinY - y, 0, y - boxMaxY);
      if (bx > limitM || by > limitM) return Math.max(bx, by);
      const d = edgeDistance(x, y);
      return inside(x, y) ? -d : d;
    },
  };
}
