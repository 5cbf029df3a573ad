/**
 * The replica → fleet store wiring: the replica's last-known vehicles fill in what the host cannot give (offline
 * start, server and broker down). Fed from `replicaVehicles` (kept by useOpenReplica), at most once a second.
 */
import { useEffect } from 'react';
import type { VehicleInfo, VehicleLive } from '../../../shared/fleet.js';
import type { VehicleDoc } from '../../../shared/sync-protocol.js';
import type { FleetStore } from './fleet-store';
import { replicaVehicles } from './vehicle-index';

export function useReplicaLastKnown(store: FleetStore): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const apply = () => {
      timer = undefined;
      store.setLastKnown([...replicaVehicles.all()].map(lastKnownFromReplica));
    };
    apply();
    const unsubscribe = replicaVehicles.subscribe(() => {
      timer ??= setTimeout(apply, 1_000); // at most once a second: the vehicles collection changes often
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [store]);
}

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
