/** Fleet domain types shared by the server, the desktop and the simulator. */

export type EnergyType = 'fuel' | 'electric';

/** A vehicle as registered (the registry; changes rarely). */
export interface VehicleInfo {
  id: string;
  plate: string;
  make: string;
  model: string;
  energyType: EnergyType;
  homeZone: string;
}

/** The latest known live state of one vehicle, as the desktop and the server keep it. */
export interface VehicleLive {
  id: string;
  lat: number;
  lon: number;
  speedKph: number;
  headingDeg: number;
  /** fuel or battery level, whichever the vehicle has (0–100) */
  energyPct: number;
  odometerKm: number;
  ignition: boolean;
  locked: boolean;
  doorsClosed: boolean;
  /** from the retained status / last will */
  online: boolean;
  /** device sequence number of the telemetry this state came from */
  seq: number;
  /** device clock (epoch ms) of that telemetry */
  deviceTs: number;
  /** when the receiver got it (epoch ms, receiver clock): the basis of "last seen" */
  receivedAt: number;
  /**
   * Set by the server when it cannot vouch for this state (its broker link is down, or the car has not published
   * since the link came back): the state's age in ms when answered. The car is not offline for that.
   */
  staleAgeMs?: number;
}

/** The live-state fields one telemetry message carries: VehicleLive without what the receiver adds. */
export type TelemetrySample = Omit<VehicleLive, 'id' | 'online' | 'receivedAt'>;

/**
 * The one mapping onto the VehicleLive contract (server ingestion, desktop live fleet and its seed from the server):
 * exactly the contract's fields are copied, so extras a source carries never pass on. Accepted telemetry proves a live
 * connection, hence online unless told otherwise.
 */
export function vehicleLive(id: string, s: TelemetrySample, receivedAt: number, online = true): VehicleLive {
  return {
    id,
    lat: s.lat,
    lon: s.lon,
    speedKph: s.speedKph,
    headingDeg: s.headingDeg,
    energyPct: s.energyPct,
    odometerKm: s.odometerKm,
    ignition: s.ignition,
    locked: s.locked,
    doorsClosed: s.doorsClosed,
    online,
    seq: s.seq,
    deviceTs: s.deviceTs,
    receivedAt,
  };
}

/** What the map and the grid colour a vehicle by in the walking skeleton. */
export type LiveDisplayState = 'moving' | 'parked' | 'offline';

/** Below this speed a vehicle counts as standing still (GPS jitter). */
export const MOVING_THRESHOLD_KPH = 2;

export function liveDisplayState(v: Pick<VehicleLive, 'online' | 'speedKph'>): LiveDisplayState {
  if (!v.online) return 'offline';
  return v.speedKph >= MOVING_THRESHOLD_KPH ? 'moving' : 'parked';
}
