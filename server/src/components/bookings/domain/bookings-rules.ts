/**
 * What reservations, bookings and staff actions share: the settings, the ports they use, who may create a claim,
 * whether a car can be claimed, (how database refusals become 409 problems is data/allocations.repository.ts's claimTransaction).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import { parseIsoInstant } from '../../../../../src/shared/instant.js';
import type { Db } from '../../../platform/db/index.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import type { ClaimRefusal } from '../data/allocations.repository.js';
import { reservationLimit, vehicleUnavailable, type AllocationRecord, type VehicleUsability } from '../model.js';

export interface BookingSettings {
  /** free reservation hold, also the default hold (RESERVATION_HOLD_MIN) */
  holdMin: number;
  /** longest hold a customer may ask for (RESERVATION_MAX_HOLD_MIN) */
  maxHoldMin: number;
  /** kept free before every booking (BOOKING_BUFFER_MIN) */
  bufferMin: number;
}

/**
 * fleet component: is a car last heard at `receivedAt` offered to customers at `now`? (heard within the heartbeat
 * timeout — or, while the broker is down, seen recently enough before: its outage is not the car's)
 */
export interface VehicleListability {
  isListable(receivedAt: number, now: number): boolean;
}

/** A reservation must leave at least this much driving after its hold before the car's next claim. */
export const RESERVATION_MIN_DRIVE_MIN = 15;
export const BOOKING_MIN_MIN = 15;
export const BOOKING_MAX_DAYS = 7;
export const BOOKING_MAX_AHEAD_DAYS = 90;
/** A booking may start this far in the past (clock skew between the app and us, a slow network). */
export const BOOKING_PAST_TOLERANCE_MS = 60_000;
/** Open (future or running) bookings per customer, so one account cannot hold the fleet. */
export const MAX_OPEN_BOOKINGS = 10;

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export interface CustomerEligibilityPort {
  /** `licenceStatus`: `verified` is the only one that may claim a car */
  eligibility(customerId: string): Promise<{ exists: boolean; blocked: boolean; licenceStatus: string }>;
  /** whether the customer has a usable payment method (the payments component) */
  hasPaymentMethod(customerId: string): Promise<boolean>;
}

export interface ClaimDeps {
  db: Db;
  customers: CustomerEligibilityPort;
  events: DomainEvents;
  settings: BookingSettings;
  liveness: VehicleListability;
  now: () => number;
}

/**
 * Claiming a car (a reservation or a booking) needs an existing, unblocked customer with a verified driver licence
 * (403 `licence_not_verified`) and a payment method (402 `payment_method_required`): an account that could never
 * start a rental cannot hold cars either (issue 13 §4: a script could otherwise sign up and book the whole fleet).
 */
export async function assertMayCreate(customers: CustomerEligibilityPort, customerId: string): Promise<void> {
  // both reads at once (one round trip of waiting); the answers are judged in the same order as ever
  const [e, hasPaymentMethod] = await Promise.all([customers.eligibility(customerId), customers.hasPaymentMethod(customerId)]);
  if (!e.exists) throw new AppError('unauthorized', 'Unknown customer: sign in again', { status: 401 });
  if (e.blocked) throw new AppError('customer_blocked', 'This account is blocked: contact support', { status: 403 });
  if (e.licenceStatus !== 'verified')
    throw new AppError(
      'licence_not_verified',
      `A verified driver licence is needed to reserve or book a car (yours is ${e.licenceStatus}; PUT /v1/me/driver-licence)`,
      { status: 403 },
    );
  if (!hasPaymentMethod)
    throw new AppError('payment_method_required', 'Add a payment method before reserving or booking a car (POST /v1/me/payment-methods)', {
      status: 402,
    });
}

/**
 * The car exists (404 otherwise), is not in maintenance, and — when it is claimed for now — is online (heard from
 * within the heartbeat timeout; a car that never reported a position cannot be found by the customer either).
 */
export function checkVehicleClaimable(
  vehicleId: string,
  v: VehicleUsability | undefined,
  needsOnline: boolean,
  now: number,
  liveness: VehicleListability,
): void {
  if (!v) throw new AppError('vehicle_not_found', `No vehicle ${vehicleId}`, { status: 404 });
  if (v.serviceState !== 'available') throw vehicleUnavailable(vehicleId, 'it is in maintenance');
  if (needsOnline && (!v.online || v.receivedAt === null || !liveness.isListable(v.receivedAt, now) || !v.hasPosition)) {
    throw vehicleUnavailable(vehicleId, 'it is offline');
  }
}

/**
 * Awaits independent reads started side by side (one round trip of waiting instead of one each) and fails like
 * running them one after the other would: with the first failure in argument order, whatever finished first.
 */
export async function inOrder<T extends readonly unknown[]>(...reads: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(reads);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A refusal of the claim checks (claimCar, evaluated under the claimant locks) as its 409 problem. */
export function claimRefused(vehicleId: string, refusal: ClaimRefusal): AppError {
  switch (refusal) {
    case 'reservation_limit':
      return reservationLimit();
    case 'booking_limit':
      return new AppError('booking_limit', `At most ${MAX_OPEN_BOOKINGS} open bookings per customer`, { status: 409 });
    case 'active_rental':
      return vehicleUnavailable(vehicleId, 'it is in a rental');
    case 'conflict':
      return vehicleUnavailable(vehicleId, 'it is reserved or booked now or soon');
  }
}

/** After commit: tell this instance (the availability index listens) and whoever else is on the bus. */
export function announce(
  deps: Pick<ClaimDeps, 'events' | 'now'>,
  a: Pick<AllocationRecord, 'id' | 'kind' | 'vehicleId' | 'customerId' | 'status'> &
    Partial<Pick<AllocationRecord, 'periodStart' | 'periodEnd'>>,
): void {
  const holds = (a.status === 'held' || a.status === 'confirmed') && a.periodStart !== undefined;
  deps.events.emit('allocation.changed', {
    allocationId: a.id,
    kind: a.kind,
    vehicleId: a.vehicleId,
    customerId: a.customerId,
    status: a.status,
    at: deps.now(),
    ...(holds ? { period: { start: a.periodStart!, end: a.periodEnd ?? null } } : {}),
  });
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Parses an ISO-8601 instant from the API; anything else is a 400 problem. */
export function parseInstant(value: string, field: string): number {
  // Date.parse accepts many shapes; the schema already asked for date-time, this rejects what slips through.
  const ms = parseIsoInstant(value);
  if (!Number.isFinite(ms))
    throw new AppError('invalid_date', `${field} must be an ISO-8601 date-time with a time zone, e.g. 2025-06-01T10:00:00Z`, {
      status: 400,
    });
  return ms;
}
