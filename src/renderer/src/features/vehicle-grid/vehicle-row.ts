/** One grid row: a vehicle's registry entry and latest live state, either of which may be missing. */
import type { VehicleInfo, VehicleLive } from '../../../../shared/fleet.js';
import type { FleetStore } from '../../data/fleet-store';

export interface VehicleRow {
  id: string;
  info: VehicleInfo | undefined;
  live: VehicleLive | undefined;
}

export function rowFor(store: FleetStore, id: string): VehicleRow {
  return { id, info: store.registry.get(id), live: store.live.get(id) };
}
