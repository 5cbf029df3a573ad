/**
 * The `allocations` table (reservations, bookings, rentals) as the replica's read-only `rentals` collection (read by
 * the sync component's pull). The customer's window: `starts_at`/`ends_at` for reservations and bookings (their
 * period may start earlier: the buffer before a booking), `started_at` and `ended_at` (else the period's end, null
 * when open-ended) for rentals. Period bounds come as `starts_ms`/`ends_ms` from the pull's row expression, or
 * parsed from the range text (tombstones).
 */
import { HISTORY_HORIZON, type RentalDoc } from '../../../../../src/shared/sync-protocol.js';
import {
  intOrNull,
  statusIn,
  json,
  ms,
  msOrNull,
  num,
  parseRange,
  str,
  strOrNull,
  type ReplicatedRow,
  type ReplicatedTable,
} from '../../../platform/db/replicated-rows.js';

function rentalDoc(r: ReplicatedRow): RentalDoc {
  const range = typeof r.period === 'string' ? parseRange(r.period) : { lower: null, upper: null };
  const lower = r.starts_ms !== undefined && r.starts_ms !== null ? Number(r.starts_ms) : range.lower;
  const upper = r.starts_ms !== undefined ? (r.ends_ms === null || r.ends_ms === undefined ? null : Number(r.ends_ms)) : range.upper;
  const rental = r.kind === 'rental';
  const startsMs = msOrNull(rental ? r.started_at : r.starts_at) ?? lower ?? ms(r.created_at);
  const endsMs = msOrNull(rental ? r.ended_at : r.ends_at) ?? upper;
  const price = r.price === null || r.price === undefined ? null : json<RentalDoc['price']>(r.price);
  return {
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    kind: r.kind as RentalDoc['kind'],
    vehicleId: str(r.vehicle_id),
    customerId: str(r.customer_id),
    status: r.status as RentalDoc['status'],
    startsAt: Math.round(startsMs),
    endsAt: endsMs === null ? null : Math.round(endsMs),
    sourceId: strOrNull(r.source_id),
    startedAt: msOrNull(r.started_at),
    endedAt: msOrNull(r.ended_at),
    returnBy: msOrNull(r.return_by),
    startOdometerKm: num(r.start_odometer_km),
    endOdometerKm: num(r.end_odometer_km),
    startLat: num(r.start_lat),
    startLon: num(r.start_lon),
    endLat: num(r.end_lat),
    endLon: num(r.end_lon),
    price: price && typeof price === 'object' && !Array.isArray(price) ? price : null,
    totalCents: intOrNull(r.total_cents),
    currency: strOrNull(r.currency),
    paymentId: strOrNull(r.payment_id),
    unlockCommandId: strOrNull(r.unlock_command_id),
    lockCommandId: strOrNull(r.lock_command_id),
    cancelReason: strOrNull(r.cancel_reason),
    cancelledBy: strOrNull(r.cancelled_by),
    endedBy: strOrNull(r.ended_by),
    endReason: strOrNull(r.end_reason),
    createdAt: ms(r.created_at),
  };
}

export const allocationDocs: ReplicatedTable<RentalDoc> = {
  table: 'allocations',
  idColumn: 'id',
  rowJson: `to_jsonb(t) || jsonb_build_object(
      'starts_ms', extract(epoch from lower(t.period)) * 1000,
      'ends_ms', case when upper_inf(t.period) or upper(t.period) = 'infinity' then null else extract(epoch from upper(t.period)) * 1000 end)`,
  toDoc: rentalDoc,
  // (the predicate of allocations_sync_closed_idx, migration 032)
  horizon: { closed: statusIn(HISTORY_HORIZON.rentals.closedStatuses) },
};
