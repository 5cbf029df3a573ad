/** Test support: valid device-protocol payloads and server-contract objects. */
import type { Telemetry } from '../../shared/device-protocol.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';

export function telemetry(seq: number, overrides: Partial<Telemetry> = {}): Telemetry {
  return {
    v: 1,
    seq,
    ts: 1_700_000_000_000 + seq * 1000,
    lat: 52.52,
    lon: 13.405,
    speedKph: 30,
    headingDeg: 90,
    fuelPct: 55,
    odometerKm: 12_345,
    ignition: true,
    locked: false,
    doorsClosed: true,
    ...overrides,
  };
}

export function vehicleInfo(id: string, overrides: Partial<VehicleInfo> = {}): VehicleInfo {
  return { id, plate: `B-FD ${id.slice(-4)}`, make: 'VW', model: 'ID.3', energyType: 'electric', homeZone: 'berlin-inner', ...overrides };
}

export function vehicleLive(id: string, seq: number, overrides: Partial<VehicleLive> = {}): VehicleLive {
  return {
    id,
    lat: 52.5,
    lon: 13.4,
    speedKph: 0,
    headingDeg: 0,
    energyPct: 80,
    odometerKm: 1000,
    ignition: false,
    locked: true,
    doorsClosed: true,
    online: true,
    seq,
    deviceTs: 1_700_000_000_000 + seq * 1000,
    receivedAt: Date.now(),
    ...overrides,
  };
}

/** Polls until `predicate` holds (real timers), failing with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
