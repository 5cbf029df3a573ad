/**
 * The claim API rentals use (exported by the bookings index): the rental rows of `allocations` (kind = 'rental',
 * 009_bookings.sql) and the conversion of the reservation or booking a rental starts from. The bookings
 * component owns the table; the rentals component drives these steps inside its own transactions.
 *
 * Every function takes the caller's queryable (its transaction where it writes). Times are epoch ms in and out
 * (the caller's clock, stored exactly). Every write of a replicated row takes a fresh server_seq (no lock); a
 * transaction that checks the car's next claim before it inserts a rental takes `lockClaimants` first.
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { NewRental, RentalEnd, RentalFilter, RentalRow, SourceKind, StartSource } from '../model.js';
import { EXCLUSION_VIOLATION, lockClaimants, num, ts, UNIQUE_VIOLATION } from './allocations.repository.js';

/** timestamptz as epoch ms (float8: both drivers return a JS number); the rental columns are never 'infinity'. */
const ms = (expr: string) => `floor(extract(epoch from ${expr}) * 1000)::float8`;

interface RentalDbRow {
  id: string;
  customer_id: string;
  vehicle_id: string;
  status: 'active' | 'ended';
  source_id: string | null;
  source_kind: SourceKind | null;
  source_starts_at_ms: number | null;
  started_at_ms: number;
  ended_at_ms: number | null;
  return_by_ms: number | null;
  start_odometer_km: number | null;
  end_odometer_km: number | null;
  start_lat: number | null;
  start_lon: number | null;
  end_lat: number | null;
  end_lon: number | null;
  payment_id: string | null;
  unlock_command_id: string | null;
  lock_command_id: string | null;
  price: unknown;
  total_cents: number | null;
  currency: string | null;
  ended_by: string | null;
  end_reason: string | null;
  updated_at_ms: number;
  tariff_version_id: string | null;
}

const RENTAL_COLUMNS = `
  a.id, a.customer_id, a.vehicle_id, a.status, a.source_id, s.kind as source_kind, ${ms('lower(s.period)')} as source_starts_at_ms,
  ${ms('a.started_at')} as started_at_ms, ${ms('a.ended_at')} as ended_at_ms, ${ms('a.return_by')} as return_by_ms,
  a.start_odometer_km, a.end_odometer_km, a.start_lat, a.start_lon, a.end_lat, a.end_lon,
  a.payment_id, a.unlock_command_id, a.lock_command_id, a.price, a.total_cents, a.currency, a.ended_by, a.end_reason,
  ${ms('a.updated_at')} as updated_at_ms, a.tariff_version_id`;
const RENTAL_FROM = `allocations a left join allocations s on s.id = a.source_id`;

function toRental(r: RentalDbRow): RentalRow {
  return {
    id: r.id,
    customerId: r.customer_id,
    vehicleId: r.vehicle_id,
    status: r.status,
    sourceId: r.source_id,
    sourceKind: r.source_kind,
    sourceStartsAt: num(r.source_starts_at_ms),
    startedAt: Number(r.started_at_ms),
    endedAt: num(r.ended_at_ms),
    returnBy: num(r.return_by_ms),
    startOdometerKm: num(r.start_odometer_km),
    endOdometerKm: num(r.end_odometer_km),
    startLat: num(r.start_lat),
    startLon: num(r.start_lon),
    endLat: num(r.end_lat),
    endLon: num(r.end_lon),
    paymentId: r.payment_id,
    unlockCommandId: r.unlock_command_id,
    lockCommandId: r.lock_command_id,
    price: r.price,
    totalCents: num(r.total_cents),
    currency: r.currency,
    endedBy: r.ended_by,
    endReason: r.end_reason,
    updatedAt: Number(r.updated_at_ms),
    tariffVersionId: r.tariff_version_id,
  };
}

/**
 * The car is taken: an overlapping claim (exclusion constraint, 23P01) or another active rental of the vehicle
 * (unique index allocations_one_active_rental_per_vehicle, 23505).
 */
export function isAllocationConflict(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === EXCLUSION_VIOLATION || code === UNIQUE_VIOLATION;
}

// ------------------------------------------------------------------------------------------------ start

/** The customer's own reservation or booking (another customer's → null: existence is not revealed). */
export async function findStartSource(q: Queryable, customerId: string, kind: SourceKind, id: string): Promise<StartSource | null> {
  const { rows } = await q.query<{
    id: string;
    kind: SourceKind;
    vehicle_id: string;
    customer_id: string;
    status: string;
    starts_at_ms: number;
    ends_at_ms: number;
    start_attempt_id: string | null;
    start_attempt_expires_at_ms: number | null;
    rental_id: string | null;
    tariff_version_id: string | null;
  }>(
    `select a.id, a.kind, a.vehicle_id, a.customer_id, a.status,
            ${ms('coalesce(a.starts_at, lower(a.period))')} as starts_at_ms, ${ms('coalesce(a.ends_at, upper(a.period))')} as ends_at_ms,
            a.start_attempt_id, ${ms('a.start_attempt_expires_at')} as start_attempt_expires_at_ms, a.tariff_version_id,
            (select r.id from allocations r where r.source_id = a.id and r.kind = 'rental' limit 1) as rental_id
       from allocations a where a.id = $1 and a.customer_id = $2 and a.kind = $3`,
    [id, customerId, kind],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    kind: r.kind,
    vehicleId: r.vehicle_id,
    customerId: r.customer_id,
    status: r.status,
    startsAt: Number(r.starts_at_ms),
    endsAt: Number(r.ends_at_ms),
    startAttemptId: r.start_attempt_id,
    startAttemptExpiresAt: num(r.start_attempt_expires_at_ms),
    rentalId: r.rental_id,
    tariffVersionId: r.tariff_version_id,
  };
}

/**
 * Claims the source for one start attempt until `leaseUntil` (cross-instance: one guarded UPDATE), so two
 * concurrent starts of one reservation never both place a hold and unlock the car. The lease columns are not
 * replicated business fields: no new server_seq.
 */
export async function claimStartSource(tx: Queryable, id: string, attemptId: string, now: number, leaseUntil: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    `update allocations set start_attempt_id = $2, start_attempt_expires_at = ${ts('$4')}
      where id = $1 and ((kind = 'reservation' and status = 'held') or (kind = 'booking' and status = 'confirmed'))
        and (start_attempt_id is null or start_attempt_expires_at <= ${ts('$3')})`,
    [id, attemptId, now, leaseUntil],
  );
  return rowCount === 1;
}

/**
 * For the abandoned-start sweep, inside its transaction: false when `attemptId` became a
 * rental (any status) or is a start still within its lease; otherwise clears any expired claim it left on its
 * reservation or booking — a start that wakes up later can no longer convert it — and answers true.
 */
export async function abandonStartAttempt(tx: Queryable, attemptId: string, now: number): Promise<boolean> {
  const { rows } = await tx.query<{ id: string }>(
    `select id from allocations where id = $1 or (start_attempt_id = $1 and start_attempt_expires_at > ${ts('$2')}) limit 1`,
    [attemptId, now],
  );
  if (rows.length > 0) return false;
  await tx.query('update allocations set start_attempt_id = null, start_attempt_expires_at = null where start_attempt_id = $1', [
    attemptId,
  ]);
  return true;
}

/** Gives the lease back (the attempt failed; the reservation stays as it was). Inside the caller's transaction. */
export async function releaseStartSource(tx: Queryable, id: string, attemptId: string): Promise<void> {
  await tx.query(
    'update allocations set start_attempt_id = null, start_attempt_expires_at = null where id = $1 and start_attempt_id = $2',
    [id, attemptId],
  );
}

/**
 * lower(period) of the next claim on the vehicle after `after` (a booking's period already starts its buffer
 * before the customer's window), ignoring `excludeId`; null when nothing is booked after it. This is a rental's
 * returnBy.
 */
export async function nextAllocationStart(
  q: Queryable,
  vehicleId: string,
  after: number,
  excludeId: string | null,
): Promise<number | null> {
  const { rows } = await q.query<{ next_ms: number | null }>(
    `select ${ms('min(lower(period))')} as next_ms from allocations
      where vehicle_id = $1 and status in ('held', 'confirmed', 'active') and lower(period) > ${ts('$2')} and ($3::text is null or id <> $3)`,
    [vehicleId, after, excludeId],
  );
  return num(rows[0]?.next_ms);
}

/**
 * In the start transaction (after `lockClaimants` for the car and the customer): the source leaves the blocking statuses. Only the attempt
 * holding the lease converts it; a reservation that expired while the car was unlocking still converts (the
 * lease said it was being started). False when it was cancelled or taken meanwhile.
 */
export async function convertSource(tx: Queryable, sourceId: string, attemptId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `update allocations set status = 'converted', start_attempt_id = null, start_attempt_expires_at = null,
            server_seq = fleetdesk_next_seq(), updated_at = now()
      where id = $1 and start_attempt_id = $2
        and ((kind = 'reservation' and status in ('held', 'expired')) or (kind = 'booking' and status = 'confirmed'))`,
    [sourceId, attemptId],
  );
  return rowCount === 1;
}

/** In the start transaction: the rental row, period [startedAt, returnBy or infinity). 23P01 when it overlaps. */
export async function insertRental(tx: Queryable, r: NewRental): Promise<void> {
  await tx.query(
    `insert into allocations (id, kind, vehicle_id, customer_id, status, period, source_id, started_at, return_by,
                              start_odometer_km, start_lat, start_lon, payment_id, unlock_command_id, currency, tariff_version_id, server_seq)
     values ($1, 'rental', $2, $3, 'active', tstzrange(${ts('$4')}, coalesce(${ts('$5')}, 'infinity'::timestamptz), '[)'), $6, ${ts('$4')},
             ${ts('$5')}, $7, $8, $9, $10, $11, $12, $13, fleetdesk_next_seq())`,
    [
      r.id,
      r.vehicleId,
      r.customerId,
      r.startedAt,
      r.returnBy,
      r.sourceId,
      r.startOdometerKm,
      r.startLat,
      r.startLon,
      r.paymentId,
      r.unlockCommandId,
      r.currency,
      r.tariffVersionId,
    ],
  );
}

// ------------------------------------------------------------------------------------------------ end

/**
 * In the end transaction: active → ended, period closed at the end (or kept at returnBy when the rental
 * overran it: the car was promised to the next booking from then on), price stored. Null when it was not
 * active (ended concurrently).
 */
export async function endRental(tx: Queryable, e: RentalEnd): Promise<RentalRow | null> {
  const { rows } = await tx.query<{ id: string }>(
    `update allocations set status = 'ended', ended_at = ${ts('$2')},
            period = tstzrange(started_at, greatest(started_at + interval '1 millisecond', least(${ts('$2')}, coalesce(return_by, 'infinity'::timestamptz))), '[)'),
            end_odometer_km = $3, end_lat = $4, end_lon = $5, price = $6::jsonb, total_cents = $7, currency = $8,
            ended_by = $9, end_reason = $10, lock_command_id = $11, server_seq = fleetdesk_next_seq(), updated_at = now()
      where id = $1 and kind = 'rental' and status = 'active'
      returning id`,
    [
      e.id,
      e.endedAt,
      e.endOdometerKm,
      e.endLat,
      e.endLon,
      JSON.stringify(e.price),
      e.totalCents,
      e.currency,
      e.endedBy,
      e.endReason,
      e.lockCommandId,
    ],
  );
  if (rows.length === 0) return null;
  return getRental(tx, e.id, {});
}

// ------------------------------------------------------------------------------------------------ reads

/** A rental; with `customerId` only that customer's (another's → null). */
export async function getRental(q: Queryable, id: string, scope: { customerId?: string }): Promise<RentalRow | null> {
  const { rows } = await q.query<RentalDbRow>(
    `select ${RENTAL_COLUMNS} from ${RENTAL_FROM} where a.id = $1 and a.kind = 'rental' and ($2::text is null or a.customer_id = $2)`,
    [id, scope.customerId ?? null],
  );
  return rows[0] ? toRental(rows[0]) : null;
}

export async function listRentals(q: Queryable, filter: RentalFilter): Promise<RentalRow[]> {
  const { rows } = await q.query<RentalDbRow>(
    `select ${RENTAL_COLUMNS} from ${RENTAL_FROM}
      where a.kind = 'rental' and ($1::text is null or a.customer_id = $1) and ($2::text is null or a.vehicle_id = $2) and ($3::text is null or a.status = $3)
      order by a.started_at desc, a.id limit $4`,
    [filter.customerId ?? null, filter.vehicleId ?? null, filter.status ?? null, filter.limit],
  );
  return rows.map(toRental);
}

/** The claim API as one object: what the rentals component is given (a port it can replace in tests). */
export const rentalClaims = {
  lockClaimants,
  findStartSource,
  claimStartSource,
  abandonStartAttempt,
  releaseStartSource,
  nextAllocationStart,
  convertSource,
  insertRental,
  endRental,
  getRental,
  listRentals,
  isAllocationConflict,
};
export type RentalClaims = typeof rentalClaims;
