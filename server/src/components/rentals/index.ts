/**
 * The rentals component: a customer starts a rental from their reservation or booking (payment hold, unlock),
 * ends it (end blockers, usage measured from telemetry, price, capture, lock), reads it and its receipt, and
 * reports damage; staff list rentals, read one with its evidence and end it on the customer's behalf. A rental is
 * a row of the bookings component's `allocations` table, written through its claim API; prices come from the
 * pricing component. Other components reach it only through this file.
 *
 * Routes: registerRoutes(app, '/v1') → the customer's rentals; registerRoutes(app, '/ops/v1') → staff rentals.
 */
import type { HttpApp } from '../../platform/http/index.js';
import { rentalCustomerRoutes, rentalStaffRoutes } from './api/rentals.routes.js';
import { createRentals, type RentalsOptions } from './domain/rentals.js';

export type { RentalsOptions, RentalSettings } from './domain/rentals.js';

export interface RentalsComponent {
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Voids holds of rental starts that never finished (also every minute); returns how many. */
  sweepAbandonedHolds(): Promise<number>;
  stop(): Promise<void>;
}

export async function startRentalsComponent(options: RentalsOptions): Promise<RentalsComponent> {
  const rentals = await createRentals(options);
  return {
    async registerRoutes(app, prefix) {
      await app.register(prefix.startsWith('/ops') ? rentalStaffRoutes(rentals) : rentalCustomerRoutes(rentals), { prefix });
    },
    sweepAbandonedHolds: () => rentals.sweepAbandonedHolds(),
    stop: () => rentals.stop(),
  };
}
