/**
 * Reservations: a customer holds a car for a short while (the free hold, RESERVATION_HOLD_MIN, default 15 min;
 * up to RESERVATION_MAX_HOLD_MIN for the tariff's fee per minute beyond the free hold, charged with the rental it
 * turns into). A reservation is the row `[now, now + hold)` in `allocations`: the exclusion constraint refuses it
 * when the car is taken, and once the hold has passed it overlaps nothing new even before the sweeper marks it
 * expired. One open reservation per customer (unique index + the customer's due ones expired first).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { reservationFeeCents } from '../../pricing/index.js';
import { getAllocation, listAllocations, setStatus } from '../data/allocations.repository.js';
import type { AllocationRecord, AllocationStatus } from '../model.js';
import { announce, claimWithChecks, iso, MINUTE_MS, RESERVATION_MIN_DRIVE_MIN, type ClaimDeps } from './bookings-rules.js';

export type ReservationStatus = Extract<AllocationStatus, 'held' | 'converted' | 'cancelled' | 'expired'>;

export interface ReservationView {
  reservationId: string;
  vehicleId: string;
  status: ReservationStatus;
  createdAt: string;
  expiresAt: string;
  holdMinutes: number;
  /** the end of the free part of the hold */
  freeUntil: string;
  /** the rental it turned into */
  rentalId: string | null;
}

export interface ReservationCreated extends ReservationView {
  freeHoldMinutes: number;
  currency: string;
  /** fee per minute held beyond the free hold (charged with the rental) */
  feePerMinuteAfterFreeHoldCents: number;
  /** the fee if the whole hold is used */
  maxFeeCents: number;
}

export class Reservations {
  constructor(private readonly deps: ClaimDeps) {}

  private view(r: AllocationRecord): ReservationView {
    const createdAt = r.startsAt ?? r.periodStart;
    const expiresAt = r.endsAt ?? r.periodEnd ?? createdAt;
    const free = Math.min(expiresAt, createdAt + this.deps.settings.holdMin * MINUTE_MS);
    return {
      reservationId: r.id,
      vehicleId: r.vehicleId,
      status: r.status as ReservationStatus,
      createdAt: iso(createdAt)!,
      expiresAt: iso(expiresAt)!,
      holdMinutes: Math.round((expiresAt - createdAt) / MINUTE_MS),
      freeUntil: iso(free)!,
      rentalId: r.rentalId,
    };
  }

  async create(customerId: string, input: { vehicleId: string; holdMinutes?: number }): Promise<ReservationCreated> {
    const { settings } = this.deps;
    const hold = input.holdMinutes ?? settings.holdMin;
    if (!Number.isInteger(hold) || hold < 1 || hold > settings.maxHoldMin) {
      throw new AppError('invalid_hold', `holdMinutes must be a whole number of minutes from 1 to ${settings.maxHoldMin}`, { status: 400 });
    }
    const now = this.deps.now();
    const until = now + hold * MINUTE_MS;
    // One statement: may this customer claim (401/403/402), the car (404, its tariff — it only shapes the answer —,
    // maintenance, offline), then under the car's and the customer's locks the customer's lapsed holds expired, at
    // most one running reservation, no active rental (even one overrunning its return time) and the car free long
    // enough after the hold for a real trip — then the insert.
    const { record, tariff } = await claimWithChecks(
      this.deps,
      {
        id: `res_${randomUUID()}`,
        kind: 'reservation',
        vehicleId: input.vehicleId,
        customerId,
        periodStart: now,
        periodEnd: until,
        startsAt: now,
        endsAt: until,
        createdAt: now,
      },
      {
        expireReservations: true,
        maxOpenReservations: 1,
        refuseActiveRental: true,
        refuseConflict: { from: now, until: until + RESERVATION_MIN_DRIVE_MIN * MINUTE_MS },
      },
      { storeTariffVersion: false, needsOnline: true },
    );
    announce(this.deps, record);
    return {
      ...this.view(record),
      freeHoldMinutes: Math.min(settings.holdMin, hold),
      currency: tariff.currency,
      feePerMinuteAfterFreeHoldCents: tariff.reservationFeePerMinuteCents,
      maxFeeCents: reservationFeeCents({ ...tariff, freeHoldMinutes: settings.holdMin }, hold),
    };
  }

  async get(customerId: string, id: string): Promise<ReservationView> {
    const r = await getAllocation(this.deps.db, id, { customerId, kind: 'reservation' });
    if (!r) throw notFound(id);
    return this.view(r);
  }

  async list(customerId: string, filter: { status?: ReservationStatus; limit: number }): Promise<ReservationView[]> {
    const rows = await listAllocations(this.deps.db, {
      customerId,
      kinds: ['reservation'],
      statuses: filter.status ? [filter.status] : undefined,
      limit: filter.limit,
    });
    return rows.map((r) => this.view(r));
  }

  /** The customer cancels: held → cancelled (again: the same answer); converted or expired → 409. */
  async cancel(customerId: string, id: string): Promise<ReservationView> {
    const record = await this.deps.db.transaction(async (tx) => {
      const now = this.deps.now();
      const r = await getAllocation(tx, id, { customerId, kind: 'reservation', forUpdate: true });
      if (!r) throw notFound(id);
      if (r.status === 'cancelled') return { r, changed: false };
      if (r.status !== 'held' || (r.endsAt !== null && r.endsAt <= now)) {
        throw new AppError('reservation_not_cancellable', `Reservation ${id} is ${r.status === 'held' ? 'expired' : r.status}`, {
          status: 409,
        });
      }
      await setStatus(tx, id, ['held'], 'cancelled', {
        cancelReason: 'cancelled by the customer',
        cancelledBy: `customer:${customerId}`,
        at: now,
      });
      return { r: (await getAllocation(tx, id))!, changed: true };
    });
    if (record.changed) announce(this.deps, record.r);
    return this.view(record.r);
  }
}

function notFound(id: string): AppError {
  return new AppError('reservation_not_found', `No reservation ${id}`, { status: 404 });
}
