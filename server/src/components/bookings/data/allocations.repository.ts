/**
 * SQL of `allocations` (009_bookings.sql): ONE table for reservations, bookings and rentals, whose exclusion
 * constraint `allocations_no_overlap` guarantees that no two blocking claims on one vehicle overlap in time.
 *
 * Rules for every writer (reservations, bookings, rentals, staff):
 * - the table is replicated (`rentals` collection): every write takes `server_seq = fleetdesk_next_seq()`
 *   (platform/db/replication.ts; no lock);
 * - a writer that checks before it claims (the car free after a hold, no active rental, the customer's open
 *   bookings and reservations) takes the claimant locks of that car and customer FIRST (before locking any row):
 *   `claimCarChecked` (reservations, bookings: the customer's and the car's checks, the locks, the claim's checks
 *   and the insert in one statement, `fleetdesk_claim_checked` of 030_claim_one_function.sql; `fleetdesk_claim` is
 *   the same without the customer's and the car's checks) or `lockClaimants(tx, …)` at the start of a transaction (rentals, staff). It serializes the claims on that car and by that customer across instances — and only
 *   those — so such checks cannot race. Overlaps themselves are the exclusion constraint's to refuse in any case;
 * - an overlapping insert/update fails with SQLSTATE 23P01 (`isExclusionViolation`) → answer 409;
 * - times are epoch ms in and out (the caller's clock, stored exactly).
 */
import type { AppError } from '../../../../../src/shared/errors.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { Tariff } from '../../pricing/index.js';
import { reservationLimit, vehicleUnavailable, type AllocationKind, type AllocationRecord, type AllocationStatus } from '../model.js';

/** Epoch ms (a parameter) as timestamptz, exactly. */
export const ts = (param: string) => `(timestamptz 'epoch' + (${param})::bigint * interval '1 millisecond')`;
/** timestamptz as epoch ms (float8: both drivers return a JS number); 'infinity' → null. */
const ms = (expr: string) =>
  `(case when ${expr} is null or ${expr} = 'infinity'::timestamptz then null else floor(extract(epoch from ${expr}) * 1000)::float8 end)`;

/** SQLSTATE of a violated exclusion constraint (allocations_no_overlap), on both backends. */
export const EXCLUSION_VIOLATION = '23P01';
/** SQLSTATE of a violated unique index (one held reservation per customer, one active rental per vehicle). */
export const UNIQUE_VIOLATION = '23505';

export function isExclusionViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === EXCLUSION_VIOLATION;
}

/** The unique index that failed, when `err` is a unique violation (`allocations_one_…`), else undefined. */
export function uniqueViolation(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || (err as { code?: unknown }).code !== UNIQUE_VIOLATION) return undefined;
  const e = err as { constraint?: unknown; message?: unknown };
  if (typeof e.constraint === 'string') return e.constraint;
  const m = typeof e.message === 'string' ? /"([^"]+)"/.exec(e.message) : null;
  return m?.[1] ?? 'unknown';
}

/**
 * Serializes this transaction with every other one that claims the same car or for the same customer, on any
 * instance, until it ends (transaction-scoped advisory locks, taken in one statement in key order, so two
 * transactions locking overlapping sets never deadlock on them; the keys are fleetdesk_lock_claimants', the
 * same `fleetdesk_claim` takes). Call it before any row lock.
 */
export async function lockClaimants(tx: Queryable, claimants: { vehicleId?: string; customerId?: string }): Promise<void> {
  const keys = [
    ...(claimants.vehicleId === undefined ? [] : [`vehicle:${claimants.vehicleId}`]),
    ...(claimants.customerId === undefined ? [] : [`customer:${claimants.customerId}`]),
  ];
  if (keys.length === 0) return;
  await tx.query(`select fleetdesk_lock_claimants($1::text[])`, [keys]);
}

/** The database refused a claim on `vehicleId` (a constraint): the 409 problem it means, else undefined. */
function claimConflict(err: unknown, vehicleId: string): AppError | undefined {
  if (isExclusionViolation(err)) return vehicleUnavailable(vehicleId, 'it is taken for (part of) that time');
  const unique = uniqueViolation(err);
  if (unique === 'allocations_one_held_reservation_per_customer') return reservationLimit();
  if (unique === 'allocations_one_active_rental_per_vehicle') return vehicleUnavailable(vehicleId, 'it is in a rental');
  return undefined;
}

/** Runs a claim-writing transaction; the database's refusals (constraint by constraint) become 409 problems. */
export async function claimTransaction<T>(db: Db, vehicleId: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(fn);
  } catch (err) {
    throw claimConflict(err, vehicleId) ?? err;
  }
}

interface AllocationDbRow {
  id: string;
  kind: AllocationKind;
  status: AllocationStatus;
  vehicle_id: string;
  customer_id: string;
  customer_name?: string | null;
  period_start_ms: number;
  period_end_ms: number | null;
  starts_at_ms: number | null;
  ends_at_ms: number | null;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  return_by_ms: number | null;
  source_id: string | null;
  rental_id: string | null;
  cancel_reason: string | null;
  cancelled_by: string | null;
  total_cents: number | null;
  currency: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  server_seq: number | string;
}

/** The columns of an AllocationDbRow; `rentalId`: how its rental_id is found. */
const columns = (rentalId: string) => `a.id, a.kind, a.status, a.vehicle_id, a.customer_id,
  ${ms('lower(a.period)')} as period_start_ms, ${ms('upper(a.period)')} as period_end_ms,
  ${ms('a.starts_at')} as starts_at_ms, ${ms('a.ends_at')} as ends_at_ms,
  ${ms('a.started_at')} as started_at_ms, ${ms('a.ended_at')} as ended_at_ms, ${ms('a.return_by')} as return_by_ms,
  a.source_id, ${rentalId} as rental_id,
  a.cancel_reason, a.cancelled_by, a.total_cents, a.currency,
  ${ms('a.created_at')} as created_at_ms, ${ms('a.updated_at')} as updated_at_ms, a.server_seq::float8 as server_seq`;
/** A stored claim: the rental it turned into, if any (allocations_source_idx, 029). */
const COLUMNS = columns(`(select r.id from allocations r where r.source_id = a.id and r.kind = 'rental' order by r.created_at limit 1)`);
/** A claim just inserted: nothing can have turned it into a rental yet. */
const NEW_CLAIM_COLUMNS = columns('null::text');

export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRecord(r: AllocationDbRow): AllocationRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    vehicleId: r.vehicle_id,
    customerId: r.customer_id,
    ...(r.customer_name === undefined ? {} : { customerName: r.customer_name }),
    periodStart: Number(r.period_start_ms),
    periodEnd: num(r.period_end_ms),
    startsAt: num(r.starts_at_ms),
    endsAt: num(r.ends_at_ms),
    startedAt: num(r.started_at_ms),
    endedAt: num(r.ended_at_ms),
    returnBy: num(r.return_by_ms),
    sourceId: r.source_id,
    rentalId: r.rental_id,
    cancelReason: r.cancel_reason,
    cancelledBy: r.cancelled_by,
    totalCents: num(r.total_cents),
    currency: r.currency,
    createdAt: Number(r.created_at_ms),
    updatedAt: Number(r.updated_at_ms),
    serverSeq: Number(r.server_seq),
  };
}

export interface NewClaim {
  id: string;
  kind: 'reservation' | 'booking';
  vehicleId: string;
  customerId: string;
  /** the blocked period [periodStart, periodEnd) */
  periodStart: number;
  periodEnd: number;
  /** the customer's window */
  startsAt: number;
  endsAt: number;
  createdAt: number;
  /** the tariff version the claim was quoted with */
  tariffVersionId?: string | null;
}

/** Why `claimCar` refused (nothing written): see `fleetdesk_claim_checked` in 030_claim_one_function.sql. */
export type ClaimRefusal = 'reservation_limit' | 'booking_limit' | 'active_rental' | 'conflict';

/** What a new claim is checked against under the claimant locks (the caller's rules, evaluated in the database). */
export interface ClaimRules {
  /** mark the customer's lapsed held reservations expired first */
  expireReservations: boolean;
  /** refuse when the customer already holds this many running reservations (undefined: not checked) */
  maxOpenReservations?: number;
  /** refuse when the customer already holds this many confirmed bookings not yet over (undefined: not checked) */
  maxOpenBookings?: number;
  /** refuse when the car is in an active rental (whatever its period: an overrunning one still has the car) */
  refuseActiveRental: boolean;
  /** refuse when another open claim (held, confirmed, active) meets [from, until) (undefined: the exclusion constraint alone) */
  refuseConflict?: { from: number; until: number };
}

/** The parameters $1–$17 both claim functions share ($10: the tariff version stored with the claim). */
function claimParams(c: NewClaim, rules: ClaimRules, tenth: unknown): unknown[] {
  return [
    c.id,
    c.kind,
    c.vehicleId,
    c.customerId,
    c.periodStart,
    c.periodEnd,
    c.startsAt,
    c.endsAt,
    c.createdAt,
    tenth,
    rules.expireReservations,
    rules.maxOpenReservations ?? null,
    rules.maxOpenBookings ?? null,
    rules.refuseActiveRental,
    rules.refuseConflict !== undefined,
    rules.refuseConflict?.from ?? c.periodStart,
    rules.refuseConflict?.until ?? c.periodEnd,
  ];
}

const CLAIM_ARGS = `$1, $2, $3, $4, ${ts('$5')}, ${ts('$6')}, ${ts('$7')}, ${ts('$8')}, ${ts('$9')}, $10, $11, $12, $13, $14, $15, ${ts('$16')}, ${ts('$17')}`;

/**
 * Runs a claim statement, prepared once per connection under `name` (parsing and planning the claim's SQL anew
 * cost PostgreSQL about 0.35 ms of CPU per claim, nearly as much as running it); the database's own refusals
 * (overlap, a second held reservation) thrown as 409 problems.
 */
async function runClaim<R>(q: Queryable, vehicleId: string, name: string, sql: string, params: unknown[]): Promise<R> {
  try {
    return (await q.query<R>(sql, params, { prepared: name })).rows[0]!;
  } catch (err) {
    throw claimConflict(err, vehicleId) ?? err;
  }
}

/**
 * Claims a car: in ONE statement (its own transaction when `q` is the Db, so one round trip), takes the car's and
 * the customer's claimant locks, checks `rules` and inserts the reservation (`held`) or booking (`confirmed`).
 * A refusal of the rules comes back as `{ refusal }` (nothing written); the database's own refusals (overlap,
 * a second held reservation) are thrown as their 409 problems.
 */
export async function claimCar(
  q: Queryable,
  c: NewClaim,
  rules: ClaimRules,
): Promise<{ record: AllocationRecord } | { refusal: ClaimRefusal }> {
  const row = await runClaim<AllocationDbRow & { refusal: ClaimRefusal | null }>(
    q,
    c.vehicleId,
    'fleetdesk_claim',
    `select f.refusal, ${NEW_CLAIM_COLUMNS} from fleetdesk_claim(${CLAIM_ARGS}) f left join lateral (select (f.claim).*) a on f.refusal is null`,
    claimParams(c, rules, c.tariffVersionId ?? null),
  );
  return row.refusal === null ? { record: toRecord(row) } : { refusal: row.refusal };
}

/** Why `claimCarChecked` refused before the claim's own rules (nothing written): see 030_claim_one_function.sql. */
export type ClaimCheckRefusal =
  | 'customer_unknown'
  | 'customer_blocked'
  | 'licence_not_verified'
  | 'payment_method_required'
  | 'vehicle_not_found'
  | 'tariff_unknown'
  | 'maintenance'
  | 'offline';

/** What `claimCarChecked` checks before the claimant locks, besides the customer and the car themselves. */
export interface ClaimChecks {
  /** quote (and with `storeTariffVersion`, store) the tariff version in force then (undefined: now) */
  tariffAt?: number;
  storeTariffVersion: boolean;
  /** the car must be online, with a position, heard at or after `listableSince` (epoch ms) */
  needsOnline: boolean;
  listableSince: number;
}

export type CheckedClaim =
  { record: AllocationRecord; tariff: Tariff } | { refusal: ClaimRefusal | ClaimCheckRefusal; licenceStatus: string | null };

/**
 * A claim with everything it is checked against, in ONE statement (fleetdesk_claim_checked, 030): the customer
 * (exists, not blocked, a verified licence not past its expiry date, an active payment method), the car (exists,
 * has a tariff in force — returned for the answer —, in service, and with `needsOnline` online with a position
 * heard recently enough), then claimCar's locks, rules and insert. The first refusal in that order comes back as
 * `{ refusal }` (nothing written; `licenceStatus`: the effective status for 'licence_not_verified').
 */
export async function claimCarChecked(q: Queryable, c: NewClaim, rules: ClaimRules, checks: ClaimChecks): Promise<CheckedClaim> {
  // Of the inserted row only what the database decided comes back (its status and server_seq): the rest is this
  // claim's own values, stored exactly (epoch ms ↔ timestamptz) — building the row's JSON with its times as epoch ms
  // cost PostgreSQL ~0.05 ms per claim, about a tenth of it.
  const row = await runClaim<{
    refusal: ClaimRefusal | ClaimCheckRefusal | null;
    licence_status: string | null;
    tariff: Tariff | null;
    status: AllocationStatus | null;
    server_seq: number | null;
  }>(
    q,
    c.vehicleId,
    'fleetdesk_claim_checked',
    `select f.refusal, f.licence_status, f.tariff, (f.claim).status, (f.claim).server_seq::float8 as server_seq
       from fleetdesk_claim_checked(${CLAIM_ARGS}, true, $18, ${ts('$19')}, $20, ${ts('$21')}) f`,
    [...claimParams(c, rules, null), checks.storeTariffVersion, checks.tariffAt ?? null, checks.needsOnline, checks.listableSince],
  );
  if (row.refusal !== null) return { refusal: row.refusal, licenceStatus: row.licence_status };
  return { record: newClaimRecord(c, row.status!, Number(row.server_seq)), tariff: row.tariff! };
}

/** The record of a claim just inserted (fleetdesk_claim_checked's insert): nothing can have changed it yet. */
function newClaimRecord(c: NewClaim, status: AllocationStatus, serverSeq: number): AllocationRecord {
  return {
    id: c.id,
    kind: c.kind,
    status,
    vehicleId: c.vehicleId,
    customerId: c.customerId,
    periodStart: c.periodStart,
    periodEnd: c.periodEnd,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    startedAt: null,
    endedAt: null,
    returnBy: null,
    sourceId: null,
    rentalId: null,
    cancelReason: null,
    cancelledBy: null,
    totalCents: null,
    currency: null,
    createdAt: c.createdAt,
    updatedAt: c.createdAt,
    serverSeq,
  };
}

export interface AllocationScope {
  /** only this customer's (another's → undefined: existence is not revealed) */
  customerId?: string;
  kind?: AllocationKind;
  /** lock the row (`for update`) */
  forUpdate?: boolean;
  withCustomerName?: boolean;
}

export async function getAllocation(q: Queryable, id: string, scope: AllocationScope = {}): Promise<AllocationRecord | undefined> {
  const name = scope.withCustomerName ? ', (select c.name from customers c where c.id = a.customer_id) as customer_name' : '';
  const { rows } = await q.query<AllocationDbRow>(
    `select ${COLUMNS}${name} from allocations a
      where a.id = $1 and ($2::text is null or a.customer_id = $2) and ($3::text is null or a.kind = $3) ${scope.forUpdate ? 'for update of a' : ''}`,
    [id, scope.customerId ?? null, scope.kind ?? null],
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export interface AllocationFilter {
  customerId?: string;
  vehicleId?: string;
  kinds?: readonly AllocationKind[];
  statuses?: readonly AllocationStatus[];
  limit: number;
  withCustomerName?: boolean;
}

/** Newest first (by the start of the blocked period, then creation). */
export async function listAllocations(q: Queryable, f: AllocationFilter): Promise<AllocationRecord[]> {
  const name = f.withCustomerName ? ', (select c.name from customers c where c.id = a.customer_id) as customer_name' : '';
  const { rows } = await q.query<AllocationDbRow>(
    `select ${COLUMNS}${name} from allocations a
      where ($1::text is null or a.customer_id = $1) and ($2::text is null or a.vehicle_id = $2)
        and ($3::text[] is null or a.kind = any($3::text[])) and ($4::text[] is null or a.status = any($4::text[]))
      order by lower(a.period) desc, a.created_at desc, a.id limit $5`,
    [f.customerId ?? null, f.vehicleId ?? null, f.kinds ? [...f.kinds] : null, f.statuses ? [...f.statuses] : null, f.limit],
  );
  return rows.map(toRecord);
}

/** Moves a row from one of `from` to `to` (cancel, expire); false when it was not in one of `from` (changed meanwhile). */
export async function setStatus(
  tx: Queryable,
  id: string,
  from: readonly AllocationStatus[],
  to: AllocationStatus,
  extra: { cancelReason?: string | null; cancelledBy?: string | null; at: number },
): Promise<boolean> {
  const result = await tx.query(
    `update allocations set status = $3, cancel_reason = coalesce($4, cancel_reason), cancelled_by = coalesce($5, cancelled_by),
            updated_at = ${ts('$6')}, server_seq = fleetdesk_next_seq()
      where id = $1 and status = any($2::text[])`,
    [id, [...from], to, extra.cancelReason ?? null, extra.cancelledBy ?? null, extra.at],
  );
  return result.rowCount === 1;
}

/** A booking's new end (staff extension): the period's upper bound moves with it; 23P01 on overlap. */
export async function setBookingEnd(tx: Queryable, id: string, endsAt: number, at: number): Promise<boolean> {
  const result = await tx.query(
    `update allocations set ends_at = ${ts('$2')}, period = tstzrange(lower(period), ${ts('$2')}, '[)'),
            updated_at = ${ts('$3')}, server_seq = fleetdesk_next_seq()
      where id = $1 and kind = 'booking' and status = 'confirmed'`,
    [id, endsAt, at],
  );
  return result.rowCount === 1;
}

export interface ExpiredClaim {
  id: string;
  kind: 'reservation' | 'booking';
  vehicleId: string;
  customerId: string;
}

/**
 * Reservations whose hold ended and bookings whose window ended without a rental become `expired` (a
 * reservation being started right now — live start lease — is left to the start attempt). `customerId`: only
 * that customer's reservations.
 */
export async function expireDue(
  tx: Queryable,
  now: number,
  options: { customerId?: string; limit?: number } = {},
): Promise<ExpiredClaim[]> {
  const { rows } = await tx.query<{ id: string; kind: 'reservation' | 'booking'; vehicle_id: string; customer_id: string }>(
    `update allocations set status = 'expired', updated_at = ${ts('$1')}, server_seq = fleetdesk_next_seq()
      where id in (
        select id from allocations
         where ((kind = 'reservation' and status = 'held') or (kind = 'booking' and status = 'confirmed'))
           and ends_at <= ${ts('$1')}
           and (start_attempt_expires_at is null or start_attempt_expires_at <= ${ts('$1')})
           and ($2::text is null or (customer_id = $2 and kind = 'reservation'))
         order by ends_at limit $3)
      returning id, kind, vehicle_id, customer_id`,
    [now, options.customerId ?? null, options.limit ?? 1000],
  );
  return rows.map((r) => ({ id: r.id, kind: r.kind, vehicleId: r.vehicle_id, customerId: r.customer_id }));
}

/** Is anything due for expiry? (cheap check before opening a write transaction) */
export async function hasDue(q: Queryable, now: number): Promise<boolean> {
  const { rows } = await q.query(
    `select 1 from allocations where ((kind = 'reservation' and status = 'held') or (kind = 'booking' and status = 'confirmed')) and ends_at <= ${ts('$1')} limit 1`,
    [now],
  );
  return rows.length > 0;
}

export interface OpenClaimRow {
  vehicleId: string;
  kind: AllocationKind;
  status: AllocationStatus;
  periodStart: number;
  periodEnd: number | null;
}

/**
 * What holds cars now or soon (the availability index): active rentals, and reservations/bookings whose period
 * meets [now, horizon). `vehicleId`: one car only (found by the exclusion constraint's key, the id's hash: 030).
 */
export async function openClaimsAround(q: Queryable, now: number, horizon: number, vehicleId?: string): Promise<OpenClaimRow[]> {
  const { rows } = await q.query<{
    vehicle_id: string;
    kind: AllocationKind;
    status: AllocationStatus;
    period_start_ms: number;
    period_end_ms: number | null;
  }>(
    `select vehicle_id, kind, status, ${ms('lower(period)')} as period_start_ms, ${ms('upper(period)')} as period_end_ms from allocations
      where status in ('held', 'confirmed', 'active')
        and ($3::text is null or (hashtextextended(vehicle_id, 0) = hashtextextended($3, 0) and vehicle_id = $3))
        and (status = 'active' or period && tstzrange(${ts('$1')}, ${ts('$2')}, '[)'))`,
    [now, horizon, vehicleId ?? null],
  );
  return rows.map((r) => ({
    vehicleId: r.vehicle_id,
    kind: r.kind,
    status: r.status,
    periodStart: Number(r.period_start_ms),
    periodEnd: num(r.period_end_ms),
  }));
}
