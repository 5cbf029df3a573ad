/**
 * Staff use cases on a vehicle's claims (reservations, bookings, rentals): read them, extend a booking, cancel a
 * reservation or booking. Every change is audited in its own transaction (actor, role, action, target, reason,
 * before, after). Customer names are shown to support and admin only.
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { Actor } from '../../../platform/http/actor.js';
import {
  claimTransaction,
  getAllocation,
  listAllocations,
  lockClaimants,
  setBookingEnd,
  setStatus,
} from '../data/allocations.repository.js';
import type { AllocationKind, AllocationRecord, AllocationStatus } from '../model.js';
import { announce, BOOKING_MAX_DAYS, DAY_MS, iso, parseInstant, type ClaimDeps } from './bookings-rules.js';
import { checkWindowMs } from './bookings.js';
import type { RecordAudit } from '../../audit/index.js';

/** What staff see of a claim. */
export interface StaffAllocationView {
  id: string;
  kind: AllocationKind;
  status: AllocationStatus;
  vehicleId: string;
  customerId: string;
  /** support and admin only (absent for dispatchers) */
  customerName?: string | null;
  /** the blocked period; `periodEnd` null = open-ended (an active rental with nothing booked after it) */
  periodStart: string;
  periodEnd: string | null;
  /** reservation: created → expires; booking: the customer's window */
  startsAt: string | null;
  endsAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  returnBy: string | null;
  sourceId: string | null;
  rentalId: string | null;
  cancelReason: string | null;
  cancelledBy: string | null;
  totalCents: number | null;
  currency: string | null;
  createdAt: string;
  updatedAt: string;
  serverSeq: number;
}

const SEES_CUSTOMERS: ReadonlySet<string> = new Set(['support', 'admin']);

export function staffView(r: AllocationRecord, showCustomer: boolean): StaffAllocationView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    vehicleId: r.vehicleId,
    customerId: r.customerId,
    ...(showCustomer ? { customerName: r.customerName ?? null } : {}),
    periodStart: iso(r.periodStart)!,
    periodEnd: iso(r.periodEnd),
    startsAt: iso(r.startsAt),
    endsAt: iso(r.endsAt),
    startedAt: iso(r.startedAt),
    endedAt: iso(r.endedAt),
    returnBy: iso(r.returnBy),
    sourceId: r.sourceId,
    rentalId: r.rentalId,
    cancelReason: r.cancelReason,
    cancelledBy: r.cancelledBy,
    totalCents: r.totalCents,
    currency: r.currency,
    createdAt: iso(r.createdAt)!,
    updatedAt: iso(r.updatedAt)!,
    serverSeq: r.serverSeq,
  };
}

/** The audit's before/after: the business fields, not the bookkeeping. */
function auditState(r: AllocationRecord) {
  return {
    kind: r.kind,
    status: r.status,
    vehicleId: r.vehicleId,
    customerId: r.customerId,
    startsAt: iso(r.startsAt),
    endsAt: iso(r.endsAt),
    periodEnd: iso(r.periodEnd),
    cancelReason: r.cancelReason,
  };
}

export interface StaffListFilter {
  vehicleId?: string;
  customerId?: string;
  kind?: AllocationKind;
  status?: AllocationStatus;
  limit: number;
}

export class StaffBookings {
  constructor(
    private readonly deps: ClaimDeps,
    private readonly audit: RecordAudit,
  ) {}

  async list(filter: StaffListFilter, actor: Actor): Promise<StaffAllocationView[]> {
    const show = SEES_CUSTOMERS.has(actor.role);
    const rows = await listAllocations(this.deps.db, {
      vehicleId: filter.vehicleId,
      customerId: filter.customerId,
      kinds: filter.kind ? [filter.kind] : undefined,
      statuses: filter.status ? [filter.status] : undefined,
      limit: filter.limit,
      withCustomerName: show,
    });
    return rows.map((r) => staffView(r, show));
  }

  async get(id: string, actor: Actor): Promise<StaffAllocationView> {
    const show = SEES_CUSTOMERS.has(actor.role);
    const r = await getAllocation(this.deps.db, id, { withCustomerName: show });
    if (!r) throw notFound(id);
    return staffView(r, show);
  }

  /** A booking's window gets a later end (409 when the car is taken then). */
  async extend(id: string, endsAtIso: string, reason: string, actor: Actor): Promise<StaffAllocationView> {
    const newEnd = parseInstant(endsAtIso, 'endsAt');
    const before = await getAllocation(this.deps.db, id);
    if (!before) throw notFound(id);
    const result = await claimTransaction(this.deps.db, before.vehicleId, async (tx) => {
      await lockClaimants(tx, { vehicleId: before.vehicleId });
      const now = this.deps.now();
      const r = await getAllocation(tx, id, { forUpdate: true });
      if (!r) throw notFound(id);
      if (r.kind !== 'booking') throw new AppError('not_a_booking', `${id} is a ${r.kind}: only bookings can be extended`, { status: 409 });
      if (r.status !== 'confirmed' || r.endsAt === null || r.startsAt === null || r.endsAt <= now) {
        throw new AppError('booking_not_extendable', `Booking ${id} is ${r.status === 'confirmed' ? 'over' : r.status}`, { status: 409 });
      }
      if (newEnd <= r.endsAt)
        throw new AppError('not_an_extension', 'endsAt must be later than the booking’s current end', { status: 400 });
      if (newEnd - r.startsAt > BOOKING_MAX_DAYS * DAY_MS)
        throw new AppError('booking_too_long', `A booking lasts at most ${BOOKING_MAX_DAYS} days`, { status: 400 });
      checkWindowMs(r.startsAt, newEnd, now, false);
      await setBookingEnd(tx, id, newEnd, now);
      const after = (await getAllocation(tx, id, { withCustomerName: true }))!;
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'booking.extended',
        targetType: 'booking',
        targetId: id,
        reason,
        before: auditState(r),
        after: auditState(after),
      });
      return after;
    });
    announce(this.deps, result);
    return staffView(result, SEES_CUSTOMERS.has(actor.role));
  }

  /** A reservation or booking is cancelled on the customer's behalf (rentals are ended, not cancelled). */
  async cancel(id: string, reason: string, actor: Actor): Promise<StaffAllocationView> {
    const result = await this.deps.db.transaction(async (tx) => {
      const now = this.deps.now();
      const r = await getAllocation(tx, id, { forUpdate: true });
      if (!r) throw notFound(id);
      if (r.kind === 'rental') throw new AppError('not_cancellable', `${id} is a rental: end it instead`, { status: 409 });
      const open: AllocationStatus = r.kind === 'reservation' ? 'held' : 'confirmed';
      if (r.status !== open) throw new AppError('not_cancellable', `${r.kind} ${id} is ${r.status}`, { status: 409 });
      await setStatus(tx, id, [open], 'cancelled', { cancelReason: reason, cancelledBy: actor.id, at: now });
      const after = (await getAllocation(tx, id, { withCustomerName: true }))!;
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: `${r.kind}.cancelled`,
        targetType: r.kind,
        targetId: id,
        reason,
        before: auditState(r),
        after: auditState(after),
      });
      return after;
    });
    announce(this.deps, result);
    return staffView(result, SEES_CUSTOMERS.has(actor.role));
  }
}

function notFound(id: string): AppError {
  return new AppError('allocation_not_found', `No reservation, booking or rental ${id}`, { status: 404 });
}
