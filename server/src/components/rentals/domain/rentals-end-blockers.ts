/**
 * May this rental end here and now? Judged from the vehicle's LATEST telemetry only (never from what the app
 * claims): the car must be inside the operating zone and outside every no-parking zone, doors closed, ignition off, standing still, and the
 * telemetry must be fresh enough to believe. Pure; the caller reads the state and the zones.
 */

import type { EndZone, LatestVehicleState, LonLat } from '../model.js';

export const END_BLOCKER_CODES = [
  'no_fresh_telemetry',
  'outside_operating_zone',
  'in_no_parking_zone',
  'doors_open',
  'ignition_on',
  'vehicle_moving',
] as const;
export type EndBlockerCode = (typeof END_BLOCKER_CODES)[number];

export interface EndBlocker {
  code: EndBlockerCode;
  message: string;
}

/** Above this the car is moving (GPS speed jitters around 0 when parked). */
export const MOVING_SPEED_KPH = 3;

export function judgeEndBlockers(
  state: LatestVehicleState | null,
  zones: readonly EndZone[],
  now: number,
  maxTelemetryAgeMs: number,
  noParkingZones: readonly EndZone[] = [],
): EndBlocker[] {
  if (!state)
    return [
      { code: 'no_fresh_telemetry', message: 'The car has not reported its state yet; wait a moment and try again, or call support.' },
    ];
  const blockers: EndBlocker[] = [];
  const ageMs = now - state.telemetryAt;
  if (!(ageMs <= maxTelemetryAgeMs)) {
    blockers.push({
      code: 'no_fresh_telemetry',
      message: `The car last reported ${Math.round(ageMs / 1000)} s ago (at most ${Math.round(maxTelemetryAgeMs / 1000)} s allowed); make sure it has reception and try again.`,
    });
  }
  if (!zones.some((z) => insidePolygon(z.polygon, state.lat, state.lon))) {
    blockers.push({
      code: 'outside_operating_zone',
      message: 'The car is outside the operating zone; park it inside the zone to end the rental.',
    });
  }
  if (noParkingZones.some((z) => insidePolygon(z.polygon, state.lat, state.lon))) {
    blockers.push({
      code: 'in_no_parking_zone',
      message: 'The car is in a no-parking zone; park it outside the marked area to end the rental.',
    });
  }
  if (!state.doorsClosed) blockers.push({ code: 'doors_open', message: 'A door is open; close all doors to end the rental.' });
  if (state.ignition) blockers.push({ code: 'ignition_on', message: 'The ignition is on; switch the engine off to end the rental.' });
  if (state.speedKph > MOVING_SPEED_KPH)
    blockers.push({ code: 'vehicle_moving', message: 'The car is moving; stop and park it to end the rental.' });
  return blockers;
}

/** Ray casting in lon/lat (a city-sized zone: planar is exact enough); a point on an edge counts as inside. */
export function insidePolygon(polygon: readonly LonLat[], lat: number, lon: number): boolean {
  const ring = polygon.slice();
  if (ring.length > 1 && ring[0]![0] === ring[ring.length - 1]![0] && ring[0]![1] === ring[ring.length - 1]![1]) ring.pop();
  if (ring.length < 3 || !Number.isFinite(lat) || !Number.isFinite(lon)) return false;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (onSegment(lon, lat, xi, yi, xj, yj)) return true;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function onSegment(x: number, y: number, x1: number, y1: number, x2: number, y2: number): boolean {
  const cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1);
  if (Math.abs(cross) > 1e-12) return false;
  return x >= Math.min(x1, x2) && x <= Math.max(x1, x2) && y >= Math.min(y1, y2) && y <= Math.max(y1, y2);
}
