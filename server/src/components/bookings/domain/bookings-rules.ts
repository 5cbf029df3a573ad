/**
 * What reservations, bookings and staff actions share: the settings, the ports they use, a claim with its checks
 * and its refusals as problems (how database refusals become 409 problems is data/allocations.repository.ts's
 * claimTransaction).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import { parseIsoInstant } from '../../../../../src/shared/instant.js';
import type { Db } from '../../../platform/db/index.js';
import type { DomainEvents } from '../../../platform/domain-events.js';
import { loadTariff, type Tariff } from '../../pricing/index.js';
import {
  claimCarChecked,
  type ClaimCheckRefusal,
  type ClaimRefusal,
  type ClaimRules,
  type NewClaim,
} from '../data/allocations.repository.js';
import { reservationLimit, vehicleUnavailable, type AllocationRecord } from '../model.js';

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
  /** the earliest receive time for which isListable(receivedAt, now) holds (a claim checks it in the database) */
  listableSince(now: number): number;
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

export interface ClaimDeps {
  db: Db;
  events: DomainEvents;
  settings: BookingSettings;
  liveness: VehicleListability;
  now: () => number;
}

/**
 * Claims a car with every check, in one statement (claimCarChecked, 030_claim_one_function.sql): may this customer
 * claim at all — an existing, unblocked customer with a verified driver licence (403 `licence_not_verified`) and a
 * payment method (402 `payment_method_required`): an account that could never start a rental cannot hold cars
 * either (issue 13 §4: a script could otherwise sign up and book the whole fleet) —, the car (404 unknown, its
 * tariff, 409 in maintenance, and with `needsOnline` 409 offline: not heard within the fleet's liveness or never
 * placed), then the claim's own `rules` under the claimant locks. The first refusal in that order is thrown as
 * its problem. A car the pricing component has not typed yet is typed here (loadTariff), and the claim tried once
 * more.
 */
export async function claimWithChecks(
  deps: ClaimDeps,
  claim: NewClaim,
  rules: ClaimRules,
  checks: { tariffAt?: number; storeTariffVersion: boolean; needsOnline: boolean },
): Promise<{ record: AllocationRecord; tariff: Tariff }> {
  const attempt = () => claimCarChecked(deps.db, claim, rules, { ...checks, listableSince: deps.liveness.listableSince(claim.createdAt) });
  let result = await attempt();
  if ('refusal' in result && result.refusal === 'tariff_unknown') {
    await loadTariff(deps.db, claim.vehicleId, checks.tariffAt === undefined ? {} : { at: checks.tariffAt });
    result = await attempt();
  }
  if ('refusal' in result) throw claimRefused(claim.vehicleId, result.refusal, result.licenceStatus);
  return result;
}

/** A refusal of a claim (claimCar's rules under the claimant locks, or claimCarChecked's checks before them) as its problem. */
export function claimRefused(vehicleId: string, refusal: ClaimRefusal | ClaimCheckRefusal, licenceStatus?: string | null): AppError {
  switch (refusal) {
    case 'customer_unknown':
      return new AppError('unauthorized', 'Unknown customer: sign in again', { status: 401 });
    case 'customer_blocked':
      return new AppError('customer_blocked', 'This account is blocked: contact support', { status: 403 });
    case 'licence_not_verified':
      return new AppError(
        'licence_not_verified',
        `A verified driver licence is needed to reserve or book a car (yours is ${licenceStatus ?? 'none'}; PUT /v1/me/driver-licence)`,
        { status: 403 },
      );
    case 'payment_method_required':
      return new AppError(
        'payment_method_required',
        'Add a payment method before reserving or booking a car (POST /v1/me/payment-methods)',
        {
          status: 402,
        },
      );
    case 'vehicle_not_found':
      return new AppError('vehicle_not_found', `No vehicle ${vehicleId}`, { status: 404 });
    case 'tariff_unknown':
      // typed by loadTariff a moment ago, and still no tariff in force: as loadTariff answers it
      return new AppError('tariff_missing', `No tariff for the type of vehicle ${vehicleId}`, { status: 500 });
    case 'maintenance':
      return vehicleUnavailable(vehicleId, 'it is in maintenance');
    case 'offline':
      return vehicleUnavailable(vehicleId, 'it is offline');
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
