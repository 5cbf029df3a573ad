/**
 * What the bookings component's layers share and other components see of it: the claims on a car (rows of
 * `allocations`: reservations, bookings, rentals), the rental view of them the claim API reads and writes, and
 * the domain errors a refused claim becomes (the data layer maps the database's refusals onto them).
 */
import { AppError } from '../../../../src/shared/errors.js';

export type AllocationKind = 'reservation' | 'booking' | 'rental';
export type AllocationStatus = 'held' | 'confirmed' | 'active' | 'ended' | 'converted' | 'cancelled' | 'expired';
/** Statuses that hold the car (the exclusion constraint's WHERE clause). */
export const BLOCKING_STATUSES: readonly AllocationStatus[] = ['held', 'confirmed', 'active', 'ended'];
/** Statuses of claims that are still open (not history). */
export const OPEN_STATUSES: readonly AllocationStatus[] = ['held', 'confirmed', 'active'];

export interface AllocationRecord {
  id: string;
  kind: AllocationKind;
  status: AllocationStatus;
  vehicleId: string;
  customerId: string;
  /** only when asked for (staff views) */
  customerName?: string | null;
  /** the blocked period [periodStart, periodEnd); periodEnd null = open-ended ('infinity') */
  periodStart: number;
  periodEnd: number | null;
  /** reservation: created → expires; booking: the customer's window; null for rentals */
  startsAt: number | null;
  endsAt: number | null;
  /** rentals */
  startedAt: number | null;
  endedAt: number | null;
  returnBy: number | null;
  /** a rental: the reservation/booking it started from */
  sourceId: string | null;
  /** a reservation/booking: the rental it turned into */
  rentalId: string | null;
  cancelReason: string | null;
  cancelledBy: string | null;
  totalCents: number | null;
  currency: string | null;
  createdAt: number;
  updatedAt: number;
  serverSeq: number;
}

export type SourceKind = 'reservation' | 'booking';

export interface StartSource {
  id: string;
  kind: SourceKind;
  vehicleId: string;
  customerId: string;
  status: string;
  /** starts_at: reservation created / the customer's booked start (lower(period) of a booking is earlier: buffer) */
  startsAt: number;
  /** ends_at: reservation hold ends / booking ends */
  endsAt: number;
  startAttemptId: string | null;
  startAttemptExpiresAt: number | null;
  /** the rental this source was converted into (when converted) */
  rentalId: string | null;
  /** the tariff version the claim was priced with (a booking's quote), null when none */
  tariffVersionId: string | null;
}

export interface RentalRow {
  id: string;
  customerId: string;
  vehicleId: string;
  status: 'active' | 'ended';
  sourceId: string | null;
  sourceKind: SourceKind | null;
  /** lower(period) of the source: when the reservation began holding the car */
  sourceStartsAt: number | null;
  startedAt: number;
  endedAt: number | null;
  returnBy: number | null;
  startOdometerKm: number | null;
  endOdometerKm: number | null;
  startLat: number | null;
  startLon: number | null;
  endLat: number | null;
  endLon: number | null;
  paymentId: string | null;
  unlockCommandId: string | null;
  lockCommandId: string | null;
  price: unknown;
  totalCents: number | null;
  currency: string | null;
  endedBy: string | null;
  endReason: string | null;
  updatedAt: number;
  /** the tariff version the rental is priced with (null: started before versions existed) */
  tariffVersionId: string | null;
}

export interface NewRental {
  id: string;
  customerId: string;
  vehicleId: string;
  sourceId: string;
  startedAt: number;
  returnBy: number | null;
  startOdometerKm: number | null;
  startLat: number | null;
  startLon: number | null;
  paymentId: string;
  unlockCommandId: string;
  currency: string;
  tariffVersionId: string | null;
}

export interface RentalEnd {
  id: string;
  endedAt: number;
  endOdometerKm: number | null;
  endLat: number | null;
  endLon: number | null;
  price: unknown;
  totalCents: number;
  currency: string;
  endedBy: string;
  endReason: string | null;
  lockCommandId: string;
}

export interface RentalFilter {
  customerId?: string;
  vehicleId?: string;
  status?: 'active' | 'ended';
  limit: number;
}

export function vehicleUnavailable(vehicleId: string, why: string): AppError {
  return new AppError('vehicle_unavailable', `Vehicle ${vehicleId} is not available: ${why}`, { status: 409 });
}

export function reservationLimit(): AppError {
  return new AppError('reservation_limit', 'You already hold a reservation: cancel it or start the rental first', { status: 409 });
}
