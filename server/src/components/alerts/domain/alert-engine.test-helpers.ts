/** Test helpers shared by the engine and component tests. */
import type { VehicleLive } from '../../../../../src/shared/fleet.js';

export const LAT = 52.515;
const M_PER_DEG_LON = 6_371_008.8 * (Math.PI / 180) * Math.cos((LAT * Math.PI) / 180);
/** A longitude `m` metres outside (m > 0) or inside (m < 0) the zone's west edge, at LAT. */
export const westEdge = (m: number) => 13.335 - m / M_PER_DEG_LON;

/** A parked, locked, healthy car in the middle of the zone. */
export function sample(at: number, overrides: Partial<VehicleLive> = {}): VehicleLive {
  return {
    id: 'v1',
    lat: LAT,
    lon: 13.4,
    speedKph: 0,
    headingDeg: 0,
    energyPct: 80,
    odometerKm: 1000,
    ignition: false,
    locked: true,
    doorsClosed: true,
    online: true,
    seq: at,
    deviceTs: at,
    receivedAt: at,
    ...overrides,
  };
}
