/**
 * Port: "does this vehicle have an active rental right now?" — asked by the alert engine on the telemetry hot
 * path (door open while parked, movement without a rental), so an implementation must answer synchronously and
 * in O(1) from memory (no database access per call).
 *
 * Rentals do not exist yet (companion-server issue). Until they do, NO_ACTIVE_RENTALS says "never rented", so
 * every movement or open door of a parked car is reported. The rentals component will plug its in-memory view of
 * active rentals in here (startAlertsComponent({ rentals })); the engine re-asks on every sample, so a rental
 * that starts resolves an open `door_open_parked` alert at the vehicle's next telemetry.
 */
export interface ActiveRentalLookup {
  hasActiveRental(vehicleId: string): boolean;
}

export const NO_ACTIVE_RENTALS: ActiveRentalLookup = Object.freeze({ hasActiveRental: () => false });

/**
 * Port: "is this vehicle out of service (maintenance) right now?" — asked on the same hot path as the rentals, so
 * answered synchronously from memory (the bookings component's availability view, refreshed every second from the
 * vehicles table, so a change made on any server instance is seen). A moving car in maintenance raises
 * `moved_in_maintenance` instead of `movement_without_rental`.
 */
export interface ServiceStateLookup {
  inMaintenance(vehicleId: string): boolean;
}

export const NOTHING_IN_MAINTENANCE: ServiceStateLookup = Object.freeze({ inMaintenance: () => false });
