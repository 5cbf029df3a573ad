/** The telemetry columns that the latest state and the history share, as their bulk (COPY) writers list them. */
import type { CopyValue } from '../../../platform/db/index.js';
import type { VehicleLive } from '../../../../../src/shared/fleet.js';

export const TELEMETRY_COLUMNS = 'lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed';

/** The values of TELEMETRY_COLUMNS, in that order. */
export function telemetryValues(r: Omit<VehicleLive, 'id' | 'online'>): CopyValue[] {
  return [r.lat, r.lon, r.speedKph, r.headingDeg, r.energyPct, r.odometerKm, r.ignition, r.locked, r.doorsClosed];
}
