/**
 * Bookings: a customer claims a car for a future time window [startsAt, endsAt) (15 min – 7 days, starting at
 * most 90 days ahead, not more than a minute in the past). The row's period also covers BOOKING_BUFFER_MIN before
 * the window (never before now), so the exclusion constraint keeps bookings that far apart and a rental starting
 * before the booking must be back by then (its returnBy). An active rental with nothing booked after it holds the
 * car open-ended, so booking that car for any later window answers 409 (see 009_bookings.sql).
 *
 * A booking that ends without having been turned into a rental expires (no-show); the customer may start the
 * rental anywhere in the window (rentals component).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { estimateWindow, type PriceBreakdown } from '../../pricing/index.js';
import { getAllocation, listAllocations, setStatus } from '../data/allocations.repository.js';
import type { AllocationRecord, AllocationStatus } from '../model.js';
import {
  announce,
  claimWithChecks,
  BOOKING_MAX_AHEAD_DAYS,
  BOOKING_MAX_DAYS,
  BOOKING_MIN_MIN,
  BOOKING_PAST_TOLERANCE_MS,
  DAY_MS,
  iso,
  MAX_OPEN_BOOKINGS,
  MINUTE_MS,
  parseInstant,
  type ClaimDeps,
} from './bookings-rules.js';

export type BookingStatus = Extract<AllocationStatus, 'confirmed' | 'converted' | 'cancelled' | 'expired'>;

export interface BookingView {
  bookingId: string;
  vehicleId: string;
  status: BookingStatus;
  startsAt: string;
  endsAt: string;
  createdAt: string;
  rentalId: string | null;
  cancelReason: string | null;
}

export interface BookingEstimate {
  currency: string;
  /** the window's time cost if every minute is driven (daily cap applied), distance within the allowance */
  amountCents: number;
  basis: string;
  lines: PriceBreakdown['lines'];
}

export interface BookingCreated extends BookingView {
  estimate: BookingEstimate;
}

/** Validates a window from the API (400 problems); returns epoch ms. */
export function checkWindow(startsAtIso: string, endsAtIso: string, now: number): { startsAt: number; endsAt: number } {
  const startsAt = parseInstant(startsAtIso, 'startsAt');
  const endsAt = parseInstant(endsAtIso, 'endsAt');
  checkWindowMs(startsAt, endsAt, now);
  return { startsAt, endsAt };
}

export function checkWindowMs(startsAt: number, endsAt: number, now: number, checkStart = true): void {
  const bad = (code: string, msg: string) => new AppError(code, msg, { status: 400 });
  if (checkStart && startsAt < now - BOOKING_PAST_TOLERANCE_MS) throw bad('booking_in_past', 'startsAt must not be in the past');
  if (endsAt <= startsAt) throw bad('invalid_window', 'endsAt must be after startsAt');
  if (endsAt - startsAt < BOOKING_MIN_MIN * MINUTE_MS)
    throw bad('booking_too_short', `A booking lasts at least ${BOOKING_MIN_MIN} minutes`);
  if (endsAt - startsAt > BOOKING_MAX_DAYS * DAY_MS) throw bad('booking_too_long', `A booking lasts at most ${BOOKING_MAX_DAYS} days`);
  if (checkStart && startsAt > now + BOOKING_MAX_AHEAD_DAYS * DAY_MS)
    throw bad('booking_too_far_ahead', `A booking starts at most ${BOOKING_MAX_AHEAD_DAYS} days ahead`);
}

export function bookingView(r: AllocationRecord): BookingView {
  return {
    bookingId: r.id,
    vehicleId: r.vehicleId,
    status: r.status as BookingStatus,
    startsAt: iso(r.startsAt ?? r.periodStart)!,
    endsAt: iso(r.endsAt ?? r.periodEnd ?? r.periodStart)!,
    createdAt: iso(r.createdAt)!,
    rentalId: r.rentalId,
    cancelReason: r.cancelReason,
  };
}

export class Bookings {
  constructor(private readonly deps: ClaimDeps) {}

  async create(customerId: string, input: { vehicleId: string; startsAt: string; endsAt: string }): Promise<BookingCreated> {
    const { settings } = this.deps;
    const { startsAt, endsAt } = checkWindow(input.startsAt, input.endsAt, this.deps.now());
    const now = this.deps.now();
    // Starting within the free hold, a booking is an instant claim: the car must be usable now and not rented.
    const startsSoon = startsAt < now + settings.holdMin * MINUTE_MS;
    const periodStart = Math.max(startsAt - settings.bufferMin * MINUTE_MS, now);
    // One statement: may this customer claim (401/403/402), the car (404, the tariff version in force at the booked
    // start — quoted here and stored with the booking: the rental it becomes is charged with it —, maintenance, and
    // offline when it starts soon), then under the car's and the customer's locks the customer's open bookings, an
    // active rental when it starts soon — then the insert (an overlap is the exclusion constraint's to refuse:
    // 23P01 → 409).
    const { record, tariff } = await claimWithChecks(
      this.deps,
      {
        id: `bkg_${randomUUID()}`,
        kind: 'booking',
        vehicleId: input.vehicleId,
        customerId,
        periodStart,
        periodEnd: endsAt,
        startsAt,
        endsAt,
        createdAt: now,
      },
      { expireReservations: false, maxOpenBookings: MAX_OPEN_BOOKINGS, refuseActiveRental: startsSoon },
      { tariffAt: startsAt, storeTariffVersion: true, needsOnline: startsSoon },
    );
    const price = estimateWindow(tariff, startsAt, endsAt);
    const estimate: BookingEstimate = {
      currency: price.currency,
      amountCents: price.totalCents,
      basis: 'every minute of the window driving, distance within the included kilometres, daily cap applied',
      lines: price.lines,
    };
    announce(this.deps, record);
    return { ...bookingView(record), estimate };
  }

  async get(customerId: string, id: string): Promise<BookingView> {
    const r = await getAllocation(this.deps.db, id, { customerId, kind: 'booking' });
    if (!r) throw notFound(id);
    return bookingView(r);
  }

  async list(customerId: string, filter: { status?: BookingStatus; limit: number }): Promise<BookingView[]> {
    const rows = await listAllocations(this.deps.db, {
      customerId,
      kinds: ['booking'],
      statuses: filter.status ? [filter.status] : undefined,
      limit: filter.limit,
    });
    return rows.map(bookingView);
  }

  /** The customer cancels (also during the window, before starting): confirmed → cancelled; again → the same answer. */
  async cancel(customerId: string, id: string): Promise<BookingView> {
    const result = await this.deps.db.transaction(async (tx) => {
      const now = this.deps.now();
      const r = await getAllocation(tx, id, { customerId, kind: 'booking', forUpdate: true });
      if (!r) throw notFound(id);
      if (r.status === 'cancelled') return { r, changed: false };
      if (r.status !== 'confirmed' || (r.endsAt !== null && r.endsAt <= now)) {
        throw new AppError('booking_not_cancellable', `Booking ${id} is ${r.status === 'confirmed' ? 'over' : r.status}`, { status: 409 });
      }
      await setStatus(tx, id, ['confirmed'], 'cancelled', {
        cancelReason: 'cancelled by the customer',
        cancelledBy: `customer:${customerId}`,
        at: now,
      });
      return { r: (await getAllocation(tx, id))!, changed: true };
    });
    if (result.changed) announce(this.deps, result.r);
    return bookingView(result.r);
  }
}

export function notFound(id: string): AppError {
  return new AppError('booking_not_found', `No booking ${id}`, { status: 404 });
}
