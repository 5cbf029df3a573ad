/**
 * What the rentals component's layers share: the vehicle's telemetry as a rental reads it (latest state, samples)
 * and the zones a rental may end in.
 */

/** GeoJSON order `[lon, lat]`; the ring may be closed (first = last) or not. */
export type LonLat = readonly [number, number];

export interface EndZone {
  id: string;
  polygon: readonly LonLat[];
  /** operating: a rental may end inside; no_parking: it may not (default operating) */
  kind?: 'operating' | 'no_parking';
}

/** The vehicle's latest telemetry as stored (vehicle_state). */
export interface LatestVehicleState {
  lat: number;
  lon: number;
  speedKph: number;
  ignition: boolean;
  doorsClosed: boolean;
  locked: boolean;
  odometerKm: number;
  /** epoch ms when the server received this telemetry */
  telemetryAt: number;
}

export interface UsageSample {
  /** epoch ms, server receive time */
  at: number;
  speedKph: number;
  ignition: boolean;
  odometerKm: number;
}
