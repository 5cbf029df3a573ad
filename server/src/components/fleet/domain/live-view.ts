/** What the desktop is given to seed its live view: the stored state, with "online" judged by the heartbeat. */
import type { VehicleLive } from '../../../../../src/shared/fleet.js';
import type { StoredLiveState } from '../data/vehicle-state.repository.js';
import type { VehicleLivenessView } from './vehicle-liveness.js';

export function toVehicleLive(state: StoredLiveState, nowMs: number, liveness: VehicleLivenessView): VehicleLive {
  const { vehicleId, ...rest } = state;
  // A device that died without its last will reaching us still says "online"; silence for longer than the
  // heartbeat timeout overrides it (the time the broker was down excepted).
  const online = state.online && liveness.isAlive(state.receivedAt, nowMs);
  const staleAgeMs = online ? liveness.staleAgeMs(state.receivedAt, nowMs) : undefined;
  return { id: vehicleId, ...rest, online, ...(staleAgeMs === undefined ? {} : { staleAgeMs }) };
}
