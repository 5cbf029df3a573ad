/**
 * The bookings component: the claims on a car — reservations, bookings — and the in-memory availability index
 * (search, GBFS, "is this car rented?" for alerts). All claims on a car, rentals included, live in ONE table
 * (`allocations`) whose exclusion constraint makes a double booking impossible across any number of instances
 * (009_bookings.sql); the rentals component writes its rows through the claim API exported here (`rentalClaims`,
 * every step in the caller's transaction). Vehicle types, tariffs and prices are the pricing component's. Other
 * components reach it only through this file.
 *
 * Routes: registerRoutes(app, '/v1') → customer reservations and bookings, public availability and vehicle types;
 * registerRoutes(app, '/ops/v1') → staff views of a vehicle's claims, extend/cancel a booking.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import type { ActiveRentalLookup, ServiceStateLookup } from '../alerts/index.js';
import { recordAudit } from '../audit/index.js';
import type { PricingComponent } from '../pricing/index.js';
import { availabilityRoutes } from './api/availability.routes.js';
import { bookingRoutes } from './api/bookings.routes.js';
import { reservationRoutes } from './api/reservations.routes.js';
import { staffBookingRoutes } from './api/staff-bookings.routes.js';
import { listAllocations } from './data/allocations.repository.js';
import { AvailabilityService, type GbfsVehicle, type PositionsPort } from './domain/availability-service.js';
import { ExpirySweeper } from './domain/bookings-expiry.js';
import { RESERVATION_MIN_DRIVE_MIN, type BookingSettings, type ClaimDeps, type VehicleListability } from './domain/bookings-rules.js';
import { staffView, StaffBookings, type StaffAllocationView } from './domain/bookings-staff.js';
import { Bookings } from './domain/bookings.js';
import { Reservations } from './domain/reservations.js';

export { getAllocation, listAllocations } from './data/allocations.repository.js';
export { rentalClaims, type RentalClaims } from './data/rental-claims.repository.js';
export {
  BLOCKING_STATUSES,
  type AllocationKind,
  type AllocationRecord,
  type AllocationStatus,
  type NewRental,
  type RentalEnd,
  type RentalFilter,
  type RentalRow,
  type SourceKind,
  type StartSource,
} from './model.js';
export type { BookingSettings } from './domain/bookings-rules.js';
export type { GbfsVehicle } from './domain/availability-service.js';
export { allocationDocs } from './data/allocation-docs.js';

export interface BookingsComponent {
  /** alerts port: is the car in an active rental? (memory, O(1)) */
  activeRentals: ActiveRentalLookup;
  /** alerts port: is the car in maintenance? (memory, O(1); the availability view, refreshed every second) */
  serviceStates: ServiceStateLookup;
  /** the customer's rentals, newest first (staff "customer 360") */
  listRentalsForCustomer(customerId: string, limit: number): Promise<unknown[]>;
  /** in-memory availability (GBFS vehicle_status): every car not in a trip, with reserved/disabled flags */
  availableVehicles(): ReadonlyArray<GbfsVehicle>;
  /** when the availability index was last rebuilt (epoch ms; integration health) */
  availabilityAsOf(): number;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Re-reads every position and the claims into the availability index now (tests; changes also every second). */
  refreshAvailability(): Promise<void>;
  /** Expires due reservations and bookings now (tests; also every few seconds); returns how many. */
  sweepExpired(): Promise<number>;
  stop(): Promise<void>;
}

export interface BookingsOptions {
  db: Db;
  log: Logger;
  events: DomainEvents;
  metrics: Registry;
  /** fleet component: positions, energy, liveness and service state of every car */
  fleet: PositionsPort & { liveness: VehicleListability };
  /** pricing component: vehicle types (availability index, the public list of types) */
  pricing: PricingComponent;
  settings: BookingSettings;
  availabilityRefreshMs?: number;
  expirySweepMs?: number;
  now?: () => number;
}

export async function startBookingsComponent(options: BookingsOptions): Promise<BookingsComponent> {
  const log = options.log.child({ component: 'bookings' });
  const { db, events } = options;
  const now = options.now ?? Date.now;
  const settings: BookingSettings = {
    holdMin: options.settings.holdMin,
    maxHoldMin: options.settings.maxHoldMin,
    bufferMin: options.settings.bufferMin,
  };

  const m = createMetrics(options.metrics);
  const availability = new AvailabilityService({
    db,
    positions: options.fleet,
    vehicleTypes: options.pricing,
    log,
    horizonMs: (settings.holdMin + RESERVATION_MIN_DRIVE_MIN) * 60_000,
    liveness: options.fleet.liveness,
    refreshMs: options.availabilityRefreshMs,
    now,
    observeRefresh: (seconds) => m.refreshSeconds.observe(seconds),
    beforeRefresh: async () => {
      const assigned = await options.pricing.ensureVehicleTypes();
      if (assigned > 0) log.info('vehicle types assigned to new vehicles', { assigned });
      return assigned > 0;
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}vehicles_available`,
    help: 'Vehicles a customer can reserve now, as this instance’s availability index sees them',
    registers: [options.metrics],
    collect() {
      this.set(availability.availableCount);
    },
  });
  await availability.start();

  const unsubscribe = [
    events.on('allocation.changed', (e) => {
      if (e.status === 'held' || e.status === 'confirmed') m.created.inc({ kind: e.kind });
      // a claim made or lengthened here: known without asking the database; anything else: re-read the car's claims
      if (e.period) availability.claimHeld(e.vehicleId, e.period);
      else void availability.vehicleChanged(e.vehicleId);
    }),
    events.on('rental.started', (e) => void availability.vehicleChanged(e.vehicleId, { activeRental: true })),
    events.on('rental.ended', (e) => void availability.vehicleChanged(e.vehicleId, { activeRental: false })),
  ];

  const deps: ClaimDeps = { db, events, settings, liveness: options.fleet.liveness, now };
  const reservations = new Reservations(deps);
  const bookings = new Bookings(deps);
  const staff = new StaffBookings(deps, recordAudit);
  const sweeper = new ExpirySweeper(deps, log);
  sweeper.start(options.expirySweepMs ?? 5_000);

  return {
    activeRentals: { hasActiveRental: (vehicleId) => availability.hasActiveRental(vehicleId) },
    serviceStates: { inMaintenance: (vehicleId) => availability.inMaintenance(vehicleId) },
    async listRentalsForCustomer(customerId, limit): Promise<StaffAllocationView[]> {
      const rows = await listAllocations(db, { customerId, kinds: ['rental'], limit, withCustomerName: true });
      return rows.map((r) => staffView(r, true));
    },
    availableVehicles: () => availability.gbfsVehicles(),
    availabilityAsOf: () => availability.asOf,
    async registerRoutes(app, prefix) {
      if (prefix.startsWith('/ops')) {
        await app.register(staffBookingRoutes(staff), { prefix });
        return;
      }
      await app.register(reservationRoutes(reservations, prefix), { prefix });
      await app.register(bookingRoutes(bookings, prefix), { prefix });
      await app.register(
        availabilityRoutes(availability, () => options.pricing.vehicleTypes()),
        { prefix },
      );
    },
    refreshAvailability: () => availability.refresh(true),
    sweepExpired: async () => (await sweeper.sweep()).length,
    async stop() {
      for (const off of unsubscribe) off();
      await sweeper.stop();
      await availability.stop().catch((err: unknown) => log.warn('stopping availability failed', errorFields(err)));
    },
  };
}

function createMetrics(metrics: Registry) {
  return {
    created: new Counter({
      name: `${METRIC_PREFIX}allocations_created_total`,
      help: 'Reservations and bookings created by this instance',
      labelNames: ['kind'],
      registers: [metrics],
    }),
    refreshSeconds: new Histogram({
      name: `${METRIC_PREFIX}availability_refresh_seconds`,
      help: 'Time to re-read positions and claims into the availability index',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [metrics],
    }),
  };
}
