/** Test support: replica documents as the server sends them, valid by the shared sync schemas. See README.md. */
import type { VehicleLive } from '../../../shared/fleet.js';
import type { AlertDoc, RentalDoc, TaskDoc, VehicleDoc } from '../../../shared/sync-protocol.js';

/** An open, unassigned low-battery warning, seen once at t = 1. */
export function alertDoc(overrides: Partial<AlertDoc> = {}): AlertDoc {
  return {
    id: 'a1',
    updatedAt: 1,
    vehicleId: 'veh-1',
    kind: 'low_battery',
    severity: 'warning',
    status: 'open',
    assignee: null,
    resolution: null,
    openedAt: 1,
    lastSeenAt: 1,
    occurrences: 1,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    ...overrides,
  };
}

/** An open, unassigned cleaning task of veh-1 with no due date. */
export function taskDoc(overrides: Partial<TaskDoc> = {}): TaskDoc {
  return {
    id: 't1',
    updatedAt: 0,
    vehicleId: 'veh-1',
    kind: 'cleaning',
    status: 'open',
    assignee: null,
    note: 'seats dirty',
    alertId: null,
    createdBy: 'op-1',
    createdAt: 1_700_000_000_000,
    dueAt: null,
    completedAt: null,
    ...overrides,
  };
}

/** A registered, available fuel car with no last-known position. */
export function vehicleDoc(overrides: Partial<VehicleDoc> = {}): VehicleDoc {
  return {
    id: 'veh-1',
    updatedAt: 1,
    plate: 'B-FD 1',
    make: 'VW',
    model: 'Golf',
    energyType: 'fuel',
    homeZone: 'Mitte',
    serviceState: 'available',
    lat: null,
    lon: null,
    online: false,
    energyPct: null,
    lastSeenAt: null,
    ...overrides,
  };
}

/** A held reservation of veh-1 from t = 0, open-ended. */
export function rentalDoc(overrides: Partial<RentalDoc> = {}): RentalDoc {
  return {
    id: 'r1',
    updatedAt: 1,
    kind: 'reservation',
    vehicleId: 'veh-1',
    customerId: 'c1',
    status: 'held',
    startsAt: 0,
    endsAt: null,
    sourceId: null,
    startedAt: null,
    endedAt: null,
    returnBy: null,
    startOdometerKm: null,
    endOdometerKm: null,
    startLat: null,
    startLon: null,
    endLat: null,
    endLon: null,
    price: null,
    totalCents: null,
    currency: null,
    paymentId: null,
    unlockCommandId: null,
    lockCommandId: null,
    cancelReason: null,
    cancelledBy: null,
    endedBy: null,
    endReason: null,
    createdAt: 0,
    ...overrides,
  };
}

/** A car's live state as the host pushes it: online, parked and locked in Berlin. */
export function liveVehicle(id: string, patch: Partial<VehicleLive> = {}): VehicleLive {
  return {
    id,
    lat: 52.5,
    lon: 13.4,
    speedKph: 0,
    headingDeg: 0,
    energyPct: 50,
    odometerKm: 1,
    ignition: false,
    locked: true,
    doorsClosed: true,
    online: true,
    seq: 1,
    deviceTs: 0,
    receivedAt: 0,
    ...patch,
  };
}
