/** What the desktop is given to seed its live view: the stored state, with "online" judged by the heartbeat. */
import type { VehicleLive } from '../../../../../src/shared/fleet.js';
import type { StoredLiveState } from '../data/vehicle-state.repository.js';

export function toVehicleLive(state: StoredLiveState, nowMs: number, heartbeatTimeoutMs: number): VehicleLive {
  const { vehicleId, ...rest } = state;
  // A device that died without its last will reaching us still says "online"; silence for longer than the
  // heartbeat timeout overrides it.
  const online = state.online && nowMs - state.receivedAt <= heartbeatTimeoutMs;
  return { id: vehicleId, ...rest, online };
}
