/**
 * The replica's vehicles (registry + service state) by id, for the parts of the UI that render outside React
 * (the grid's value getters): plate when the live registry lacks it, "maintenance" on the State column.
 */
import type { VehicleInfo, VehicleLive } from '../../../shared/fleet.js';
import type { VehicleDoc } from '../../../shared/sync-protocol.js';

const byId = new Map<string, VehicleDoc>();
const listeners = new Set<() => void>();

export const replicaVehicles = {
  get: (id: string): VehicleDoc | undefined => byId.get(id),
  all: (): IterableIterator<VehicleDoc> => byId.values(),
  replace(docs: readonly VehicleDoc[]): void {
    byId.clear();
    for (const d of docs) byId.set(d.id, d);
    for (const l of listeners) l();
  },
  subscribe(cb: () => void): () => void {
    listeners.add(cb);
    return () => listeners.delete(cb);
  },
};

/**
 * A replica vehicle as the fleet store's last-known fallback. Only what the replica really knows: registry,
 * coarse position, energy and when it was last seen. It is shown offline (there is no live link to vouch for
 * it); motion fields are neutral (standing, ignition off) and the card labels the values with their age.
 */
export function lastKnownFromReplica(d: VehicleDoc): { info: VehicleInfo; live: VehicleLive | undefined } {
  const info: VehicleInfo = { id: d.id, plate: d.plate, make: d.make, model: d.model, energyType: d.energyType, homeZone: d.homeZone };
  if (d.lat === null || d.lon === null || d.lastSeenAt === null) return { info, live: undefined };
  return {
    info,
    live: {
      id: d.id,
      lat: d.lat,
      lon: d.lon,
      speedKph: 0,
      headingDeg: 0,
      energyPct: d.energyPct ?? 0,
      odometerKm: 0,
      ignition: false,
      locked: true,
      doorsClosed: true,
      online: false,
      seq: -1,
      deviceTs: d.lastSeenAt,
      receivedAt: d.lastSeenAt,
    },
  };
}
