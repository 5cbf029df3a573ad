/** The fleet component's shared entity types. */
import type { ServiceState } from '../../../../src/shared/sync-protocol.js';

/** Where a vehicle is and whether it can be used, as stored by any instance (bookings' availability index). */
export interface VehiclePosition {
  vehicleId: string;
  lat: number;
  lon: number;
  energyPct: number | null;
  /** online as judged now: last status online and heard from within the heartbeat timeout */
  online: boolean;
  /** epoch ms of the last message heard */
  receivedAt: number;
  serviceState: ServiceState;
}
