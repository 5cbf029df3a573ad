/**
 * SQL of the payments component: payment methods, payments, the operations outbox and received webhooks.
 * Every state change is a guarded UPDATE (`where status in (…)`), so when the worker, a webhook, authorizeHold
 * or a second server instance race to record the same outcome, exactly one of them does.
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { OperationKind, OperationStatus, PaymentStatus } from '../model.js';

export interface PaymentMethodRecord {
  id: string;
  customerId: string;
  providerMethodId: string;
  brand: string;
  last4: string;
  status: 'active' | 'removed';
  createdAt: number;
}

export interface PaymentRecord {
  id: string;
  rentalId: string;
  customerId: string;
  paymentMethodId: string;
  idempotencyKey: string;
  currency: string;
  requestedCents: number;
  heldCents: number;
  capturedCents: number;
  refundedCents: number;
  shortfallCents: number;
  status: PaymentStatus;
  providerRef: string | null;
  declineReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OperationRecord {
  id: string;
  paymentId: string;
  kind: OperationKind;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  status: OperationStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  providerRef: string | null;
  createdBy: string;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
  /** how often staff put it back into the outbox after it failed */
  retries: number;
}

/** An operation with the rental and customer its payment belongs to (the staff lists). */
export interface OperationWithPayment extends OperationRecord {
  rentalId: string;
  customerId: string;
}

const ms = (column: string, alias: string) => `floor(extract(epoch from ${column}) * 1000)::float8 as ${alias}`;

const METHOD_COLUMNS = `id, customer_id, provider_method_id, brand, last4, status, ${ms('created_at', 'created_ms')}`;
const PAYMENT_COLUMNS = `id, rental_id, customer_id, payment_method_id, idempotency_key, currency, requested_cents, held_cents, captured_cents,
  refunded_cents, shortfall_cents, status, provider_ref, decline_reason, ${ms('created_at', 'created_ms')}, ${ms('updated_at', 'updated_ms')}`;
/** The operation columns, each qualified with `t.` when the table has an alias `t` (joins). */
const operationColumns = (t = '') =>
  `${t}id, ${t}payment_id, ${t}kind, ${t}amount_cents, ${t}currency, ${t}idempotency_key, ${t}status, ${t}attempts,
  ${ms(`${t}next_attempt_at`, 'next_ms')}, ${t}last_error, ${t}provider_ref, ${t}created_by, ${t}reason, ${t}retries,
  ${ms(`${t}created_at`, 'created_ms')}, ${ms(`${t}updated_at`, 'updated_ms')}, ${ms(`${t}completed_at`, 'completed_ms')}`;
const OPERATION_COLUMNS = operationColumns();
/** an operation `o` joined with its payment `p` */
const OPERATION_WITH_PAYMENT_COLUMNS = `${operationColumns('o.')}, p.rental_id, p.customer_id`;

type Row = Record<string, unknown>;

function toMethod(r: Row): PaymentMethodRecord {
  return {
    id: r.id as string,
    customerId: r.customer_id as string,
    providerMethodId: r.provider_method_id as string,
    brand: r.brand as string,
    last4: r.last4 as string,
    status: r.status as PaymentMethodRecord['status'],
    createdAt: Number(r.created_ms),
  };
}

function toPayment(r: Row): PaymentRecord {
  return {
    id: r.id as string,
    rentalId: r.rental_id as string,
    customerId: r.customer_id as string,
    paymentMethodId: r.payment_method_id as string,
    idempotencyKey: r.idempotency_key as string,
    currency: r.currency as string,
    requestedCents: Number(r.requested_cents),
    heldCents: Number(r.held_cents),
    capturedCents: Number(r.captured_cents),
    refundedCents: Number(r.refunded_cents),
    shortfallCents: Number(r.shortfall_cents),
    status: r.status as PaymentStatus,
    providerRef: (r.provider_ref as string | null) ?? null,
    declineReason: (r.decline_reason as string | null) ?? null,
    createdAt: Number(r.created_ms),
    updatedAt: Number(r.updated_ms),
  };
}

function toOperation(r: Row): OperationRecord {
  return {
    id: r.id as string,
    paymentId: r.payment_id as string,
    kind: r.kind as OperationKind,
    amountCents: Number(r.amount_cents),
    currency: r.currency as string,
    idempotencyKey: r.idempotency_key as string,
    status: r.status as OperationStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_ms),
    lastError: (r.last_error as string | null) ?? null,
    providerRef: (r.provider_ref as string | null) ?? null,
    createdBy: r.created_by as string,
    reason: (r.reason as string | null) ?? null,
    createdAt: Number(r.created_ms),
    updatedAt: Number(r.updated_ms),
    completedAt: r.completed_ms === null || r.completed_ms === undefined ? null : Number(r.completed_ms),
    retries: Number(r.retries ?? 0),
  };
}

function toOperationWithPayment(r: Row): OperationWithPayment {
  return { ...toOperation(r), rentalId: r.rental_id as string, customerId: r.customer_id as string };
}

// ---- refused writes: SQLSTATEs and constraint names stay in this file ---------------------------------------

const sqlState = (err: unknown): unknown => (err as { code?: unknown }).code;

/** insertPaymentMethod refused: the customer does not exist (its only foreign key). */
export const isUnknownCustomer = (err: unknown): boolean => sqlState(err) === '23503';

/** A unique key refused the row: the same method, payment or idempotency key is already stored. */
export const isDuplicate = (err: unknown): boolean => sqlState(err) === '23505';

/** insertPayment refused: the rental already has a live hold (payments_live_rental_idx). */
export function isLiveHoldConflict(err: unknown): boolean {
  if (!isDuplicate(err)) return false;
  const e = err as { constraint?: string; message?: string };
  return `${e.constraint ?? ''} ${e.message ?? ''}`.includes('payments_live_rental_idx');
}

// ---- payment methods ------------------------------------------------------------------------------------------

export async function insertPaymentMethod(
  q: Queryable,
  m: { id: string; customerId: string; providerMethodId: string; brand: string; last4: string },
): Promise<PaymentMethodRecord> {
  const { rows } = await q.query<Row>(
    `insert into payment_methods (id, customer_id, provider_method_id, brand, last4) values ($1, $2, $3, $4, $5) returning ${METHOD_COLUMNS}`,
    [m.id, m.customerId, m.providerMethodId, m.brand, m.last4],
  );
  return toMethod(rows[0]!);
}

/** Active methods of one customer, newest first. */
export async function listActiveMethods(q: Queryable, customerId: string, limit = 50): Promise<PaymentMethodRecord[]> {
  const { rows } = await q.query<Row>(
    `select ${METHOD_COLUMNS} from payment_methods where customer_id = $1 and status = 'active' order by created_at desc, id desc limit $2`,
    [customerId, limit],
  );
  return rows.map(toMethod);
}

/** The customer's own active method (another customer's id is "not found"). */
export async function findActiveMethod(q: Queryable, customerId: string, id: string): Promise<PaymentMethodRecord | null> {
  const { rows } = await q.query<Row>(
    `select ${METHOD_COLUMNS} from payment_methods where id = $1 and customer_id = $2 and status = 'active'`,
    [id, customerId],
  );
  return rows[0] ? toMethod(rows[0]) : null;
}

export async function removeMethod(q: Queryable, customerId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `update payment_methods set status = 'removed', removed_at = now() where id = $1 and customer_id = $2 and status = 'active'`,
    [id, customerId],
  );
  return rowCount === 1;
}

// ---- payments -------------------------------------------------------------------------------------------------

export async function insertPayment(
  q: Queryable,
  p: {
    id: string;
    rentalId: string;
    customerId: string;
    paymentMethodId: string;
    idempotencyKey: string;
    currency: string;
    requestedCents: number;
  },
): Promise<PaymentRecord> {
  const { rows } = await q.query<Row>(
    `insert into payments (id, rental_id, customer_id, payment_method_id, idempotency_key, currency, requested_cents, status)
     values ($1, $2, $3, $4, $5, $6, $7, 'authorizing') returning ${PAYMENT_COLUMNS}`,
    [p.id, p.rentalId, p.customerId, p.paymentMethodId, p.idempotencyKey, p.currency, p.requestedCents],
  );
  return toPayment(rows[0]!);
}

export async function getPayment(q: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<PaymentRecord | null> {
  const { rows } = await q.query<Row>(`select ${PAYMENT_COLUMNS} from payments where id = $1${options.forUpdate ? ' for update' : ''}`, [
    id,
  ]);
  return rows[0] ? toPayment(rows[0]) : null;
}

export async function findPaymentByKey(q: Queryable, idempotencyKey: string): Promise<PaymentRecord | null> {
  const { rows } = await q.query<Row>(`select ${PAYMENT_COLUMNS} from payments where idempotency_key = $1`, [idempotencyKey]);
  return rows[0] ? toPayment(rows[0]) : null;
}

/** A rental's payments, oldest first. */
export async function paymentsForRental(q: Queryable, rentalId: string, options: { forUpdate?: boolean } = {}): Promise<PaymentRecord[]> {
  const { rows } = await q.query<Row>(
    `select ${PAYMENT_COLUMNS} from payments where rental_id = $1 order by created_at, id${options.forUpdate ? ' for update' : ''}`,
    [rentalId],
  );
  return rows.map(toPayment);
}

/** Holds still authorized (neither captured nor voided) that were placed before `before` (epoch ms), oldest first. */
export async function listStaleHolds(q: Queryable, before: number, limit: number): Promise<Array<{ paymentId: string; rentalId: string }>> {
  const { rows } = await q.query<{ id: string; rental_id: string }>(
    `select id, rental_id from payments where status = 'authorized' and created_at < to_timestamp($1::double precision / 1000) order by created_at limit $2`,
    [before, limit],
  );
  return rows.map((r) => ({ paymentId: r.id, rentalId: r.rental_id }));
}

/** Payments in id order after `afterId` (reconciliation pages through all of them). */
export async function listPayments(q: Queryable, afterId: string | null, limit: number): Promise<PaymentRecord[]> {
  const { rows } = await q.query<Row>(`select ${PAYMENT_COLUMNS} from payments where ($1::text is null or id > $1) order by id limit $2`, [
    afterId,
    limit,
  ]);
  return rows.map(toPayment);
}

export interface PaymentPatch {
  status?: PaymentStatus;
  heldCents?: number;
  capturedCents?: number;
  shortfallCents?: number;
  providerRef?: string | null;
  declineReason?: string | null;
  /** added to refunded_cents */
  addRefundedCents?: number;
}

const PATCH_COLUMNS: Record<Exclude<keyof PaymentPatch, 'addRefundedCents'>, string> = {
  status: 'status',
  heldCents: 'held_cents',
  capturedCents: 'captured_cents',
  shortfallCents: 'shortfall_cents',
  providerRef: 'provider_ref',
  declineReason: 'decline_reason',
};

/** Applies `patch` when the payment is in one of `from` (all statuses when omitted); returns whether it did. */
export async function updatePayment(q: Queryable, id: string, patch: PaymentPatch, from?: readonly PaymentStatus[]): Promise<boolean> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [id];
  for (const [key, column] of Object.entries(PATCH_COLUMNS) as Array<[keyof typeof PATCH_COLUMNS, string]>) {
    if (patch[key] === undefined) continue;
    params.push(patch[key]);
    sets.push(`${column} = $${params.length}`);
  }
  if (patch.addRefundedCents !== undefined) {
    params.push(patch.addRefundedCents);
    sets.push(`refunded_cents = refunded_cents + $${params.length}`);
  }
  let guard = '';
  if (from) {
    params.push([...from]);
    guard = ` and status = any($${params.length}::text[])`;
  }
  const { rowCount } = await q.query(`update payments set ${sets.join(', ')} where id = $1${guard}`, params);
  return rowCount === 1;
}

// ---- operations (outbox) --------------------------------------------------------------------------------------

export interface NewOperation {
  id: string;
  paymentId: string;
  kind: OperationKind;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  status: 'pending' | 'in_flight';
  createdBy: string;
  reason?: string | null;
  /** in_flight: the claim's end (ms from now) */
  leaseMs?: number;
}

/** Inserts the operation unless its idempotency key exists; returns the row (new or existing) and whether it is new. */
export async function insertOperation(q: Queryable, op: NewOperation): Promise<{ operation: OperationRecord; created: boolean }> {
  const { rows } = await q.query<Row>(
    `insert into payment_operations (id, payment_id, kind, amount_cents, currency, idempotency_key, status, attempts, next_attempt_at, created_by, reason)
     values ($1, $2, $3, $4, $5, $6, $7, case when $7 = 'in_flight' then 1 else 0 end, now() + ($8::int * interval '1 millisecond'), $9, $10)
     on conflict (idempotency_key) do nothing
     returning ${OPERATION_COLUMNS}`,
    [
      op.id,
      op.paymentId,
      op.kind,
      op.amountCents,
      op.currency,
      op.idempotencyKey,
      op.status,
      op.leaseMs ?? 0,
      op.createdBy,
      op.reason ?? null,
    ],
  );
  if (rows[0]) return { operation: toOperation(rows[0]), created: true };
  const existing = await findOperationByKey(q, op.idempotencyKey);
  if (!existing) throw new Error(`operation ${op.idempotencyKey} vanished`);
  return { operation: existing, created: false };
}

export async function getOperation(q: Queryable, id: string): Promise<OperationRecord | null> {
  const { rows } = await q.query<Row>(`select ${OPERATION_COLUMNS} from payment_operations where id = $1`, [id]);
  return rows[0] ? toOperation(rows[0]) : null;
}

export async function findOperationByKey(q: Queryable, idempotencyKey: string): Promise<OperationRecord | null> {
  const { rows } = await q.query<Row>(`select ${OPERATION_COLUMNS} from payment_operations where idempotency_key = $1`, [idempotencyKey]);
  return rows[0] ? toOperation(rows[0]) : null;
}

export async function findPaymentOperation(q: Queryable, paymentId: string, kind: OperationKind): Promise<OperationRecord | null> {
  const { rows } = await q.query<Row>(
    `select ${OPERATION_COLUMNS} from payment_operations where payment_id = $1 and kind = $2 order by created_at limit 1`,
    [paymentId, kind],
  );
  return rows[0] ? toOperation(rows[0]) : null;
}

export async function operationsForPayments(q: Queryable, paymentIds: readonly string[]): Promise<OperationRecord[]> {
  if (paymentIds.length === 0) return [];
  const { rows } = await q.query<Row>(
    `select ${OPERATION_COLUMNS} from payment_operations where payment_id = any($1::text[]) order by created_at, id`,
    [[...paymentIds]],
  );
  return rows.map(toOperation);
}

/** Refunds not yet executed (they count against what may still be refunded). */
export async function pendingRefundCents(q: Queryable, paymentId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select coalesce(sum(amount_cents), 0)::float8 as n from payment_operations where payment_id = $1 and kind = 'refund' and status in ('pending', 'in_flight')`,
    [paymentId],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Claims due capture/void/refund operations for this worker: pending ones whose time has come (or all pending
 * ones with `ignoreBackoff`), and in-flight ones whose claim ran out (their worker died). `skip locked`: several
 * instances claim disjoint sets. The claim lasts `leaseMs`; attempts counts the claim.
 */
export async function claimDueOperations(
  tx: Queryable,
  options: { limit: number; leaseMs: number; ignoreBackoff: boolean },
): Promise<OperationRecord[]> {
  const { rows: due } = await tx.query<{ id: string }>(
    `select id from payment_operations
      where status in ('pending', 'in_flight') and kind <> 'authorize'
        and (next_attempt_at <= now() or ($2::boolean and status = 'pending'))
      order by next_attempt_at
      limit $1
      for update skip locked`,
    [options.limit, options.ignoreBackoff],
  );
  if (due.length === 0) return [];
  const { rows } = await tx.query<Row>(
    `update payment_operations
        set status = 'in_flight', attempts = attempts + 1, next_attempt_at = now() + ($2::int * interval '1 millisecond'), updated_at = now()
      where id = any($1::text[])
      returning ${OPERATION_COLUMNS}`,
    [due.map((r) => r.id), options.leaseMs],
  );
  return rows.map(toOperation);
}

/** Authorizations whose claim ran out: the caller (authorizeHold) is gone without a definite answer. */
export async function claimAbandonedAuthorizations(tx: Queryable, limit: number): Promise<OperationRecord[]> {
  const { rows } = await tx.query<Row>(
    `select ${OPERATION_COLUMNS} from payment_operations
      where kind = 'authorize' and status = 'in_flight' and next_attempt_at < now()
      order by next_attempt_at limit $1 for update skip locked`,
    [limit],
  );
  return rows.map(toOperation);
}

/** Records the final outcome if the operation is still open; returns whether this call did it. */
export async function finishOperation(
  q: Queryable,
  id: string,
  outcome: { status: 'succeeded' | 'failed'; providerRef?: string | null; lastError?: string | null },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update payment_operations
        set status = $2, provider_ref = coalesce($3, provider_ref), last_error = coalesce($4, last_error), completed_at = now(), updated_at = now()
      where id = $1 and status in ('pending', 'in_flight')`,
    [id, outcome.status, outcome.providerRef ?? null, outcome.lastError ?? null],
  );
  return rowCount === 1;
}

/** Back to pending for another attempt after `delayMs` — only by the worker that holds this claim (attempts fence). */
export async function rescheduleOperation(
  q: Queryable,
  id: string,
  claimedAttempts: number,
  delayMs: number,
  lastError: string,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update payment_operations
        set status = 'pending', next_attempt_at = now() + ($3::int * interval '1 millisecond'), last_error = $4, updated_at = now()
      where id = $1 and status = 'in_flight' and attempts = $2`,
    [id, claimedAttempts, Math.max(0, Math.round(delayMs)), lastError],
  );
  return rowCount === 1;
}

export async function recordAttemptError(q: Queryable, id: string, attempts: number, lastError: string): Promise<void> {
  await q.query(
    `update payment_operations set attempts = greatest(attempts, $2), last_error = $3, updated_at = now() where id = $1 and status = 'in_flight'`,
    [id, attempts, lastError],
  );
}

/** Operations by status and kind, most recently changed first, with their rental and customer (staff lists). */
export async function listOperations(
  q: Queryable,
  filter: { status?: OperationStatus; kind?: OperationKind; limit: number },
): Promise<OperationWithPayment[]> {
  const { rows } = await q.query<Row>(
    `select ${OPERATION_WITH_PAYMENT_COLUMNS} from payment_operations o join payments p on p.id = o.payment_id
      where ($1::text is null or o.status = $1) and ($2::text is null or o.kind = $2)
      order by o.updated_at desc, o.id desc limit $3`,
    [filter.status ?? null, filter.kind ?? null, filter.limit],
  );
  return rows.map(toOperationWithPayment);
}

/** One operation with its rental and customer; `forUpdate` locks the operation's row (not the payment's). */
export async function getOperationWithPayment(
  q: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<OperationWithPayment | null> {
  const { rows } = await q.query<Row>(
    `select ${OPERATION_WITH_PAYMENT_COLUMNS} from payment_operations o join payments p on p.id = o.payment_id
      where o.id = $1${options.forUpdate ? ' for update of o' : ''}`,
    [id],
  );
  return rows[0] ? toOperationWithPayment(rows[0]) : null;
}

/**
 * A failed operation back into the outbox: pending now, a fresh attempt budget, counted as a staff retry. Guarded
 * on `failed`, so of two retries racing (two clicks, two instances) exactly one requeues it.
 */
export async function requeueFailedOperation(q: Queryable, id: string): Promise<OperationRecord | null> {
  const { rows } = await q.query<Row>(
    `update payment_operations
        set status = 'pending', attempts = 0, next_attempt_at = now(), completed_at = null, retries = retries + 1, updated_at = now()
      where id = $1 and status = 'failed'
      returning ${OPERATION_COLUMNS}`,
    [id],
  );
  return rows[0] ? toOperation(rows[0]) : null;
}

export async function countOperationsByStatus(q: Queryable): Promise<Record<OperationStatus, number>> {
  const { rows } = await q.query<{ status: OperationStatus; n: number }>(
    `select status, count(*)::float8 as n from payment_operations group by status`,
  );
  const counts = { pending: 0, in_flight: 0, succeeded: 0, failed: 0 } as Record<OperationStatus, number>;
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

export async function countOpenOperations(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::float8 as n from payment_operations where status in ('pending', 'in_flight')`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Open operations of payments (reconciliation skips payments still in progress). */
export async function paymentIdsWithOpenOperations(q: Queryable): Promise<Set<string>> {
  const { rows } = await q.query<{ payment_id: string }>(
    `select distinct payment_id from payment_operations where status in ('pending', 'in_flight')`,
  );
  return new Set(rows.map((r) => r.payment_id));
}

// ---- webhooks -------------------------------------------------------------------------------------------------

/** Records a received event once; false when its id was seen before. */
export async function insertWebhookEvent(
  q: Queryable,
  e: { id: string; type: string; payload: unknown; outcome: string },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `insert into webhook_events (id, type, payload, outcome) values ($1, $2, $3::jsonb, $4) on conflict (id) do nothing`,
    [e.id, e.type, JSON.stringify(e.payload), e.outcome],
  );
  return rowCount === 1;
}

export async function setWebhookOutcome(q: Queryable, id: string, outcome: string): Promise<void> {
  await q.query(`update webhook_events set outcome = $2 where id = $1`, [id, outcome]);
}

/** Any method by id, removed ones too (an operation on an older payment still needs its provider id). */
export async function getMethod(q: Queryable, id: string): Promise<PaymentMethodRecord | null> {
  const { rows } = await q.query<Row>(`select ${METHOD_COLUMNS} from payment_methods where id = $1`, [id]);
  return rows[0] ? toMethod(rows[0]) : null;
}
