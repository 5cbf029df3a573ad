/**
 * Payments use cases: customers' payment methods, the rental hold (placed now, retried under one key until a
 * deadline), captures and voids queued in the caller's transaction, staff refunds, and what a rental's money did.
 * Reads never call the provider: a provider outage cannot block them.
 */
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { Logger } from '../../../platform/log.js';
import { recordAudit } from '../../audit/index.js';
import {
  findActiveMethod,
  findOperationByKey,
  findPaymentByKey,
  findPaymentOperation,
  getMethod,
  getOperationWithPayment,
  getPayment,
  insertOperation,
  insertPayment,
  insertPaymentMethod,
  isDuplicate,
  isLiveHoldConflict,
  isUnknownCustomer,
  listActiveMethods,
  listOperations,
  listStaleHolds,
  operationsForPayments,
  paymentsForRental,
  pendingRefundCents,
  recordAttemptError,
  removeMethod,
  requeueFailedOperation,
  updatePayment,
  type OperationRecord,
  type OperationWithPayment,
  type PaymentMethodRecord,
  type PaymentRecord,
} from '../data/payments.repository.js';
import { isUnavailable, ProviderError, type OperationKind, type OperationStatus, type PaymentProvider } from '../model.js';
import { abandonAuthorization, newId, operationKey } from './authorization.js';
import { settleOperation } from './settlement.js';

export interface PaymentMethodSummary {
  paymentMethodId: string;
  brand: string;
  last4: string;
  createdAt: string;
}

export type HoldOutcome =
  | { status: 'authorized'; paymentId: string }
  | { status: 'declined'; paymentId: string; reason: string }
  | { status: 'unavailable'; paymentId: string; reason: string };

export interface HoldRequest {
  rentalId: string;
  customerId: string;
  paymentMethodId: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
}

export type RentalPaymentStatus = 'none' | 'authorized' | 'capture_pending' | 'captured' | 'voided' | 'failed';

export interface OperationView {
  operationId: string;
  paymentId: string;
  kind: OperationKind;
  amountCents: number;
  currency: string;
  status: OperationStatus;
  attempts: number;
  lastError: string | null;
  providerRef: string | null;
  createdBy: string;
  reason: string | null;
  createdAt: string;
  completedAt: string | null;
  /** how often staff put it back into the outbox after it failed */
  retries: number;
}

/** An operation as the staff lists show it: with the rental and the customer its payment belongs to. */
export interface StaffOperationView extends OperationView {
  rentalId: string;
  customerId: string;
}

export interface RetryRequest {
  operationId: string;
  reason: string;
  actor: Actor;
}

export interface RentalPayments {
  held: number;
  captured: number;
  refunded: number;
  currency: string;
  status: RentalPaymentStatus;
  operations: OperationView[];
  /** the payment these amounts belong to (null: none) */
  paymentId: string | null;
  /** price above the hold that could not be captured */
  shortfall: number;
}

export interface RefundRequest {
  rentalId: string;
  amountCents: number;
  reason: string;
  actor: Actor;
  /** the request's Idempotency-Key: the same key returns the same refund */
  requestKey?: string;
}

export interface RefundView {
  refundId: string;
  rentalId: string;
  paymentId: string;
  amountCents: number;
  currency: string;
  status: OperationStatus;
  reason: string | null;
}

export interface PaymentsServiceDeps {
  db: Db;
  provider: PaymentProvider;
  log: Logger;
  /** per provider call */
  callTimeoutMs: number;
  /** wakes the outbox worker (after this instance queued something) */
  kickOutbox: () => void;
  now: () => number;
}

const MAX_AMOUNT = 10_000_000;
const CURRENCY = /^[A-Z]{3}$/;
/** epoch-ms values above this are absolute deadlines; smaller ones are durations */
const ABSOLUTE_DEADLINE_FLOOR = 1e12;
/** the customer waits: adding a payment method gets this many call timeouts in all */
const TOKENIZE_BUDGET_CALLS = 2;

export class PaymentsService {
  constructor(private readonly deps: PaymentsServiceDeps) {}

  // ---- payment methods ----------------------------------------------------------------------------------------

  async addPaymentMethod(customerId: string, token: string, requestKey?: string): Promise<PaymentMethodSummary> {
    const { provider, db, callTimeoutMs } = this.deps;
    // One provider key for all attempts of this request: a retried timeout never creates a second method.
    const key = requestKey ? `pm:${customerId}:${requestKey}` : `pm:${newId('pm')}`;
    const deadline = this.deps.now() + TOKENIZE_BUDGET_CALLS * callTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - this.deps.now();
      try {
        const method = await provider.tokenize(token, key, { timeoutMs: Math.max(1, Math.min(callTimeoutMs, remaining)) });
        const record = await this.storeMethod(db, customerId, method);
        return summary(record);
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'rejected') {
          throw new AppError('payment_token_invalid', `The payment provider refused this token (${err.code}).`, { status: 422 });
        }
        if (!isUnavailable(err)) throw err;
        if (this.deps.now() + 50 >= deadline) {
          throw new AppError('payment_provider_unavailable', 'The payment provider is not answering; please try again shortly.', {
            status: 503,
            cause: err,
          });
        }
        await sleep(backoffDelay(attempt + 1, { initialMs: 50, maxMs: deadline - this.deps.now() }));
      }
    }
  }

  private async storeMethod(
    db: Queryable,
    customerId: string,
    method: { id: string; brand: string; last4: string },
  ): Promise<PaymentMethodRecord> {
    try {
      return await insertPaymentMethod(db, {
        id: newId('pm'),
        customerId,
        providerMethodId: method.id,
        brand: method.brand.slice(0, 40),
        last4: method.last4,
      });
    } catch (err) {
      if (isUnknownCustomer(err)) throw new AppError('customer_not_found', 'No such customer.', { status: 404 });
      if (isDuplicate(err)) {
        // the same request again (same provider method): hand back what the first one stored
        const existing = (await listActiveMethods(db, customerId, 1000)).find((m) => m.providerMethodId === method.id);
        if (existing) return existing;
      }
      throw err;
    }
  }

  async listPaymentMethods(customerId: string): Promise<PaymentMethodSummary[]> {
    return (await listActiveMethods(this.deps.db, customerId)).map(summary);
  }

  async removePaymentMethod(customerId: string, paymentMethodId: string): Promise<void> {
    if (!(await removeMethod(this.deps.db, customerId, paymentMethodId)))
      throw new AppError('payment_method_not_found', 'No such payment method.', { status: 404 });
  }

  async defaultPaymentMethod(customerId: string): Promise<PaymentMethodSummary | null> {
    const [newest] = await listActiveMethods(this.deps.db, customerId, 1);
    return newest ? summary(newest) : null;
  }

  // ---- the rental hold ----------------------------------------------------------------------------------------

  /**
   * Places a hold now. Timeouts and 5xx are retried with the same provider key until the deadline (a duration in
   * ms, or an absolute epoch-ms time); without a definite answer by then the result is `unavailable` and a void of
   * whatever the provider may hold under our reference is queued, so no orphan hold survives. Calling again with
   * the same idempotencyKey returns the same payment (and, once known, the same outcome).
   */
  async authorizeHold(input: HoldRequest, deadlineMs: number): Promise<HoldOutcome> {
    checkHoldRequest(input);
    const deadlineAt = deadlineMs > ABSOLUTE_DEADLINE_FLOOR ? deadlineMs : this.deps.now() + Math.max(0, deadlineMs);
    const { payment, op, providerMethodId } = await this.openAuthorization(input, deadlineAt);
    if (op.status !== 'in_flight' || payment.status !== 'authorizing') return this.holdOutcome(payment.id);

    let lastError = 'no attempt made before the deadline';
    for (let attempt = op.attempts; ; attempt++) {
      const remaining = deadlineAt - this.deps.now();
      if (remaining < 20) break;
      try {
        const hold = await this.deps.provider.authorize(
          { paymentMethodId: providerMethodId, amountCents: input.amountCents, currency: input.currency, reference: payment.id },
          op.idempotencyKey,
          { timeoutMs: Math.min(this.deps.callTimeoutMs, remaining) },
        );
        await this.deps.db.transaction((tx) => settleOperation(tx, op, { kind: 'held', hold }));
        return this.holdOutcome(payment.id);
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'rejected') {
          await this.deps.db.transaction((tx) => settleOperation(tx, op, { kind: 'failed', error: `${err.code}: ${err.message}` }));
          return this.holdOutcome(payment.id);
        }
        if (!isUnavailable(err)) throw err;
        lastError = (err as Error).message;
        await recordAttemptError(this.deps.db, op.id, attempt + 1, lastError);
        // a parallel call with the same key (or the worker, once the claim ran out) may have settled it meanwhile
        const current = await getPayment(this.deps.db, payment.id);
        if (current && current.status !== 'authorizing') return this.holdOutcome(payment.id);
        await sleep(backoffDelay(attempt + 1, { initialMs: 25, maxMs: Math.max(0, deadlineAt - this.deps.now() - 20), maxExponent: 5 }));
      }
    }

    const abandoned = await this.deps.db.transaction(async (tx) => {
      const current = await findOperationByKey(tx, op.idempotencyKey);
      return current?.status === 'in_flight'
        ? abandonAuthorization(tx, current, `no definite answer before the deadline: ${lastError}`)
        : false;
    });
    if (abandoned) {
      this.deps.log.warn('hold unanswered before the deadline; any hold will be voided', {
        paymentId: payment.id,
        rentalId: input.rentalId,
      });
      this.deps.kickOutbox();
    }
    return this.holdOutcome(payment.id);
  }

  /** The payment and its authorize operation for this request: the existing ones for a known key, else new. */
  private async openAuthorization(
    input: HoldRequest,
    deadlineAt: number,
  ): Promise<{ payment: PaymentRecord; op: OperationRecord; providerMethodId: string }> {
    const { db } = this.deps;
    for (let round = 0; round < 2; round++) {
      const existing = await findPaymentByKey(db, input.idempotencyKey);
      if (existing) {
        if (
          existing.rentalId !== input.rentalId ||
          existing.customerId !== input.customerId ||
          existing.paymentMethodId !== input.paymentMethodId ||
          existing.requestedCents !== input.amountCents ||
          existing.currency !== input.currency
        ) {
          throw new AppError('idempotency_key_reused', 'This idempotency key was used for a different hold.', { status: 422 });
        }
        const op = await findPaymentOperation(db, existing.id, 'authorize');
        const method = await getMethod(db, existing.paymentMethodId);
        if (!op) throw new Error(`payment ${existing.id} has no authorize operation`);
        return { payment: existing, op, providerMethodId: method?.providerMethodId ?? '' };
      }
      try {
        return await db.transaction(async (tx) => {
          const method = await findActiveMethod(tx, input.customerId, input.paymentMethodId);
          if (!method) throw new AppError('payment_method_not_found', 'No such payment method for this customer.', { status: 422 });
          const payment = await insertPayment(tx, {
            id: newId('pay'),
            rentalId: input.rentalId,
            customerId: input.customerId,
            paymentMethodId: method.id,
            idempotencyKey: input.idempotencyKey,
            currency: input.currency,
            requestedCents: input.amountCents,
          });
          const { operation } = await insertOperation(tx, {
            id: newId('pop'),
            paymentId: payment.id,
            kind: 'authorize',
            amountCents: input.amountCents,
            currency: input.currency,
            idempotencyKey: operationKey(payment.id, 'authorize'),
            status: 'in_flight',
            createdBy: `customer:${input.customerId}`,
            // The claim outlives the deadline by one call: after that the worker rescues it (caller gone).
            leaseMs: Math.max(0, deadlineAt - this.deps.now()) + this.deps.callTimeoutMs + 5_000,
          });
          return { payment, op: operation, providerMethodId: method.providerMethodId };
        });
      } catch (err) {
        if (!isDuplicate(err)) throw err;
        if (isLiveHoldConflict(err)) throw new AppError('payment_hold_exists', 'This rental already has a payment hold.', { status: 409 });
        // a parallel call with the same key won the insert: join it (next round reads it)
      }
    }
    throw new Error('could not open the authorization');
  }

  private async holdOutcome(paymentId: string): Promise<HoldOutcome> {
    const payment = await getPayment(this.deps.db, paymentId);
    const op = await findPaymentOperation(this.deps.db, paymentId, 'authorize');
    if (!payment || !op) throw new Error(`payment ${paymentId} vanished`);
    if (op.status === 'succeeded') return { status: 'authorized', paymentId };
    if (payment.status === 'declined') return { status: 'declined', paymentId, reason: payment.declineReason ?? 'declined' };
    return { status: 'unavailable', paymentId, reason: 'The payment provider gave no definite answer in time; no hold remains.' };
  }

  // ---- outbox: captures and voids in the caller's transaction ------------------------------------------------

  async enqueueCapture(
    tx: Queryable,
    input: { rentalId: string; paymentId: string; amountCents: number; currency: string },
  ): Promise<void> {
    if (!Number.isSafeInteger(input.amountCents) || input.amountCents < 0 || input.amountCents > MAX_AMOUNT) {
      throw new AppError('invalid_amount', `amountCents must be an integer 0–${MAX_AMOUNT}`, { status: 422 });
    }
    const payment = await this.lockRentalPayment(tx, input.rentalId, input.paymentId);
    if (payment.currency !== input.currency)
      throw new AppError('currency_mismatch', `The hold is in ${payment.currency}.`, { status: 422 });
    const existing = await findPaymentOperation(tx, payment.id, 'capture');
    if (existing) {
      if (existing.amountCents + payment.shortfallCents === input.amountCents) return; // asked twice: once is enough
      throw new AppError('capture_already_requested', `A capture of ${existing.amountCents} is already queued for this payment.`, {
        status: 409,
      });
    }
    if (payment.status !== 'authorized') throw new AppError('payment_not_capturable', `The payment is ${payment.status}.`, { status: 409 });
    if (input.amountCents === 0) {
      await this.queueVoid(tx, payment, 'nothing to capture', 'system');
      return;
    }
    // The provider refuses a capture above the hold: take the hold, record the rest as a shortfall for staff.
    const amount = Math.min(input.amountCents, payment.heldCents);
    await insertOperation(tx, {
      id: newId('pop'),
      paymentId: payment.id,
      kind: 'capture',
      amountCents: amount,
      currency: payment.currency,
      idempotencyKey: operationKey(payment.id, 'capture'),
      status: 'pending',
      createdBy: 'system',
      reason: `rental ${input.rentalId} ended`,
    });
    await updatePayment(tx, payment.id, { status: 'capture_pending', shortfallCents: input.amountCents - amount }, ['authorized']);
    if (input.amountCents > amount)
      this.deps.log.warn('price above the hold: shortfall recorded', { paymentId: payment.id, shortfallCents: input.amountCents - amount });
  }

  async enqueueVoid(tx: Queryable, input: { rentalId: string; paymentId: string; reason: string }): Promise<void> {
    const payment = await this.lockRentalPayment(tx, input.rentalId, input.paymentId);
    if (await findPaymentOperation(tx, payment.id, 'void')) return;
    if (payment.status === 'declined' || payment.status === 'voided') return; // nothing is held
    if (payment.status !== 'authorized' && payment.status !== 'authorizing') {
      throw new AppError('payment_not_voidable', `The payment is ${payment.status}.`, { status: 409 });
    }
    await this.queueVoid(tx, payment, input.reason, 'system');
  }

  private async lockRentalPayment(tx: Queryable, rentalId: string, paymentId: string): Promise<PaymentRecord> {
    const payment = await getPayment(tx, paymentId, { forUpdate: true });
    if (!payment || payment.rentalId !== rentalId)
      throw new AppError('payment_not_found', 'No such payment for this rental.', { status: 404 });
    return payment;
  }

  private async queueVoid(tx: Queryable, payment: PaymentRecord, reason: string, createdBy: string): Promise<void> {
    await insertOperation(tx, {
      id: newId('pop'),
      paymentId: payment.id,
      kind: 'void',
      amountCents: payment.heldCents,
      currency: payment.currency,
      idempotencyKey: operationKey(payment.id, 'void'),
      status: 'pending',
      createdBy,
      reason: reason.slice(0, 2000),
    });
    await updatePayment(tx, payment.id, { status: 'void_pending' }, ['authorized', 'authorizing']);
  }

  // ---- refunds (staff) ----------------------------------------------------------------------------------------

  async requestRefund(request: RefundRequest): Promise<{ refund: RefundView; created: boolean }> {
    if (!Number.isSafeInteger(request.amountCents) || request.amountCents < 1 || request.amountCents > MAX_AMOUNT) {
      throw new AppError('invalid_amount', `amountCents must be an integer 1–${MAX_AMOUNT}`, { status: 422 });
    }
    const result = await this.deps.db.transaction(async (tx) => {
      const payments = await paymentsForRental(tx, request.rentalId, { forUpdate: true });
      if (payments.length === 0) throw new AppError('rental_payment_not_found', 'No payment is known for this rental.', { status: 404 });
      const payment = payments.find((p) => p.status === 'captured');
      if (!payment) throw new AppError('payment_not_captured', 'Nothing has been captured for this rental yet.', { status: 409 });
      const key = `${payment.id}:refund:${request.requestKey ?? newId('pop')}`;
      const existing = await findOperationByKey(tx, key);
      if (existing) {
        if (existing.amountCents !== request.amountCents || existing.reason !== request.reason) {
          throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for a different refund.', { status: 422 });
        }
        return { op: existing, payment, created: false };
      }
      const pending = await pendingRefundCents(tx, payment.id);
      const refundable = payment.capturedCents - payment.refundedCents - pending;
      if (request.amountCents > refundable) {
        throw new AppError(
          'refund_exceeds_captured',
          `At most ${refundable} ${payment.currency} cents can still be refunded (captured ${payment.capturedCents}, refunded ${payment.refundedCents}, pending ${pending}).`,
          { status: 409 },
        );
      }
      const { operation } = await insertOperation(tx, {
        id: newId('pop'),
        paymentId: payment.id,
        kind: 'refund',
        amountCents: request.amountCents,
        currency: payment.currency,
        idempotencyKey: key,
        status: 'pending',
        createdBy: request.actor.id,
        reason: request.reason,
      });
      await recordAudit(tx, {
        actor: request.actor.id,
        role: request.actor.role,
        action: 'payment.refund_requested',
        targetType: 'rental',
        targetId: request.rentalId,
        reason: request.reason,
        before: { capturedCents: payment.capturedCents, refundedCents: payment.refundedCents, pendingRefundCents: pending },
        after: { refundId: operation.id, paymentId: payment.id, amountCents: request.amountCents, currency: payment.currency },
      });
      return { op: operation, payment, created: true };
    });
    if (result.created) this.deps.kickOutbox();
    return { refund: refundView(result.op, request.rentalId), created: result.created };
  }

  // ---- retries (staff) ----------------------------------------------------------------------------------------

  /**
   * Puts a failed capture, void or refund back into the outbox: the same row with the same provider idempotency key,
   * so whatever the provider already did is answered again instead of done twice. Its payment goes back to the
   * pending status the operation settles (a refund's payment stays captured; the refund counts against what may
   * still be refunded again). Idempotent: an operation that is not failed (already retried by a colleague, or
   * settled since) is answered as it is, with `retried: false` and no audit entry.
   */
  async retryOperation(request: RetryRequest): Promise<{ operation: StaffOperationView; retried: boolean }> {
    const result = await this.deps.db.transaction(async (tx) => {
      const op = await getOperationWithPayment(tx, request.operationId, { forUpdate: true });
      if (!op) throw new AppError('operation_not_found', 'No such payment operation.', { status: 404 });
      if (op.kind === 'authorize') {
        throw new AppError(
          'operation_not_retryable',
          'A card authorization cannot be retried from the desk: the customer starts the rental again.',
          { status: 409 },
        );
      }
      if (op.status !== 'failed') return { op, retried: false };
      const payment = await getPayment(tx, op.paymentId, { forUpdate: true });
      if (!payment) throw new Error(`payment ${op.paymentId} of operation ${op.id} not found`);
      let paymentStatusAfter = payment.status;
      if (op.kind === 'refund') {
        const pending = await pendingRefundCents(tx, payment.id);
        const refundable = payment.capturedCents - payment.refundedCents - pending;
        if (payment.status !== 'captured' || op.amountCents > refundable) {
          throw new AppError(
            'refund_exceeds_captured',
            `At most ${Math.max(0, refundable)} ${payment.currency} cents can still be refunded: this refund cannot be retried.`,
            { status: 409 },
          );
        }
      } else {
        const pendingStatus = op.kind === 'capture' ? 'capture_pending' : 'void_pending';
        if (!(await updatePayment(tx, payment.id, { status: pendingStatus }, ['failed', pendingStatus]))) {
          throw new AppError('payment_not_retryable', `The payment is ${payment.status} now: there is nothing to retry.`, { status: 409 });
        }
        paymentStatusAfter = pendingStatus;
      }
      const requeued = await requeueFailedOperation(tx, op.id);
      if (!requeued) throw new Error(`operation ${op.id} left failed under its lock`);
      await recordAudit(tx, {
        actor: request.actor.id,
        role: request.actor.role,
        action: 'payment.operation_retried',
        targetType: 'rental',
        targetId: op.rentalId,
        reason: request.reason,
        // the same fields on both sides: the audit viewer shows what changed (status, attempts, the payment's status)
        before: { ...retryFacts(op), status: op.status, attempts: op.attempts, retries: op.retries, paymentStatus: payment.status },
        after: {
          ...retryFacts(op),
          status: requeued.status,
          attempts: requeued.attempts,
          retries: requeued.retries,
          paymentStatus: paymentStatusAfter,
        },
      });
      return { op: { ...requeued, rentalId: op.rentalId, customerId: op.customerId }, retried: true };
    });
    if (result.retried) this.deps.kickOutbox();
    return { operation: staffOperationView(result.op), retried: result.retried };
  }

  // ---- reads (database only) ----------------------------------------------------------------------------------

  staleHolds(olderThanMs: number, limit: number): Promise<Array<{ paymentId: string; rentalId: string }>> {
    return listStaleHolds(this.deps.db, this.deps.now() - olderThanMs, limit);
  }

  async rentalPayments(rentalId: string): Promise<RentalPayments> {
    const payments = await paymentsForRental(this.deps.db, rentalId);
    const operations = (
      await operationsForPayments(
        this.deps.db,
        payments.map((p) => p.id),
      )
    ).map(operationView);
    const current =
      payments.find((p) => ['authorizing', 'authorized', 'capture_pending', 'captured'].includes(p.status)) ??
      payments[payments.length - 1];
    if (!current) return { held: 0, captured: 0, refunded: 0, currency: 'EUR', status: 'none', operations, paymentId: null, shortfall: 0 };
    return {
      held: current.heldCents,
      captured: current.capturedCents,
      refunded: current.refundedCents,
      currency: current.currency,
      status: rentalStatus(current),
      operations,
      paymentId: current.id,
      shortfall: current.shortfallCents,
    };
  }

  async listOperations(filter: { status?: OperationStatus; kind?: OperationKind; limit: number }): Promise<StaffOperationView[]> {
    return (await listOperations(this.deps.db, filter)).map(staffOperationView);
  }

  async getOperation(operationId: string): Promise<StaffOperationView> {
    const op = await getOperationWithPayment(this.deps.db, operationId);
    if (!op) throw new AppError('operation_not_found', 'No such payment operation.', { status: 404 });
    return staffOperationView(op);
  }
}

function rentalStatus(p: PaymentRecord): RentalPaymentStatus {
  switch (p.status) {
    case 'authorizing':
      return 'none';
    case 'authorized':
    case 'void_pending': // the money is still held until the void is done
      return 'authorized';
    case 'capture_pending':
      return 'capture_pending';
    case 'captured':
      return 'captured';
    case 'voided':
      return 'voided';
    case 'declined':
    case 'failed':
      return 'failed';
  }
}

function summary(m: PaymentMethodRecord): PaymentMethodSummary {
  return { paymentMethodId: m.id, brand: m.brand, last4: m.last4, createdAt: new Date(m.createdAt).toISOString() };
}

export function operationView(op: OperationRecord): OperationView {
  return {
    operationId: op.id,
    paymentId: op.paymentId,
    kind: op.kind,
    amountCents: op.amountCents,
    currency: op.currency,
    status: op.status,
    attempts: op.attempts,
    lastError: op.lastError,
    providerRef: op.providerRef,
    createdBy: op.createdBy,
    reason: op.reason,
    createdAt: new Date(op.createdAt).toISOString(),
    completedAt: op.completedAt === null ? null : new Date(op.completedAt).toISOString(),
    retries: op.retries,
  };
}

/** What identifies a retried operation in its audit entry (the same before and after). */
function retryFacts(op: OperationWithPayment) {
  return { operationId: op.id, kind: op.kind, amountCents: op.amountCents, currency: op.currency, lastError: op.lastError };
}

function staffOperationView(op: OperationWithPayment): StaffOperationView {
  return { ...operationView(op), rentalId: op.rentalId, customerId: op.customerId };
}

function refundView(op: OperationRecord, rentalId: string): RefundView {
  return {
    refundId: op.id,
    rentalId,
    paymentId: op.paymentId,
    amountCents: op.amountCents,
    currency: op.currency,
    status: op.status,
    reason: op.reason,
  };
}

function checkHoldRequest(input: HoldRequest): void {
  const text = (v: unknown, max: number) => typeof v === 'string' && v.length >= 1 && v.length <= max;
  if (!text(input.rentalId, 100) || !text(input.customerId, 100) || !text(input.paymentMethodId, 100) || !text(input.idempotencyKey, 200)) {
    throw new AppError(
      'invalid_hold_request',
      'rentalId, customerId and paymentMethodId (≤ 100 characters) and idempotencyKey (≤ 200) are required.',
      { status: 422 },
    );
  }
  if (!Number.isSafeInteger(input.amountCents) || input.amountCents < 1 || input.amountCents > MAX_AMOUNT) {
    throw new AppError('invalid_amount', `amountCents must be an integer 1–${MAX_AMOUNT}`, { status: 422 });
  }
  if (!CURRENCY.test(input.currency))
    throw new AppError('invalid_currency', 'currency must be an ISO 4217 code such as EUR', { status: 422 });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
