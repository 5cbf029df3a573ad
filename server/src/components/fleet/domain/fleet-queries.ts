/** Read use cases of the fleet component. */
import type { VehicleInfo, VehicleLive } from '../../../../../src/shared/fleet.js';
import type { VehicleStateRepository } from '../data/vehicle-state.repository.js';
import { toVehicleLive } from './live-view.js';
import type { VehicleLivenessView } from './vehicle-liveness.js';
import type { VehicleRegistry } from './vehicle-registry.js';

export interface FleetQueries {
  listVehicles(): Promise<VehicleInfo[]>;
  /** changes exactly when `listVehicles()`'s answer does: the registry list's entity tag */
  vehicleListTag(): Promise<string>;
  liveFleet(): Promise<VehicleLive[]>;
}

export function createFleetQueries(
  registry: VehicleRegistry,
  states: VehicleStateRepository,
  liveness: VehicleLivenessView,
  now: () => number = Date.now,
): FleetQueries {
  return {
    listVehicles: () => registry.list(),
    vehicleListTag: () => registry.listTag(),
    async liveFleet() {
      const stored = await states.listLive();
      const at = now();
      return stored.map((s) => toVehicleLive(s, at, liveness));
    },
  };
}
