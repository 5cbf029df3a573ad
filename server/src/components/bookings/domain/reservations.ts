/**
 * Reservations: a customer holds a car for a short while (the free hold, RESERVATION_HOLD_MIN, default 15 min;
 * up to RESERVATION_MAX_HOLD_MIN for the tariff's fee per minute beyond the free hold, charged with the rental it
 * turns into). A reservation is the row `[now, now + hold)` in `allocations`: the exclusion constraint refuses it
 * when the car is taken, and once the hold has passed it overlaps nothing new even before the sweeper marks it
 * expired. One open reservation per customer (unique index + the customer's due ones expired first).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { loadTariff, reservationFeeCents, type Tariff } from '../../pricing/index.js';
import {
  claimChecks,
  claimTransaction,
  getAllocation,
  insertClaim,
  listAllocations,
  lockClaimants,
  setStatus,
} from '../data/allocations.repository.js';
import { reservationLimit, vehicleUnavailable, type AllocationRecord, type AllocationStatus } from '../model.js';
import {
  announce,
  assertMayCreate,
  checkVehicleClaimable,
  iso,
  MINUTE_MS,
  RESERVATION_MIN_DRIVE_MIN,
  type ClaimDeps,
} from './bookings-rules.js';

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
    const { settings, db } = this.deps;
    const hold = input.holdMinutes ?? settings.holdMin;
    if (!Number.isInteger(hold) || hold < 1 || hold > settings.maxHoldMin) {
      throw new AppError('invalid_hold', `holdMinutes must be a whole number of minutes from 1 to ${settings.maxHoldMin}`, { status: 400 });
    }
    await assertMayCreate(this.deps.customers, customerId);
    const vehicleId = input.vehicleId;
    // Read before the lock (404 for an unknown car; the tariff only shapes the answer).
    const tariff: Tariff = await loadTariff(db, vehicleId);
    const record = await claimTransaction(db, vehicleId, async (tx) => {
      await lockClaimants(tx, { vehicleId, customerId });
      const now = this.deps.now();
      const until = now + hold * MINUTE_MS;
      // Beyond plain overlap: an active rental (even one overrunning its return time) keeps the car, and the car
      // must stay free long enough after the hold for a real trip.
      const checks = await claimChecks(tx, {
        vehicleId,
        customerId,
        now,
        from: now,
        until: until + RESERVATION_MIN_DRIVE_MIN * MINUTE_MS,
        expireReservations: true,
      });
      checkVehicleClaimable(vehicleId, checks.vehicle, true, now, this.deps.liveness);
      if (checks.openReservations > 0) throw reservationLimit();
      if (checks.activeRental) throw vehicleUnavailable(vehicleId, 'it is in a rental');
      if (checks.conflict) throw vehicleUnavailable(vehicleId, 'it is reserved or booked now or soon');
      const id = `res_${randomUUID()}`;
      return insertClaim(tx, {
        id,
        kind: 'reservation',
        vehicleId,
        customerId,
        periodStart: now,
        periodEnd: until,
        startsAt: now,
        endsAt: until,
        createdAt: now,
      });
    });
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
