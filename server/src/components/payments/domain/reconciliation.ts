/**
 * Reconciliation: our ledger (payments) against the provider's (its holds, found by our reference). Payments
 * with an operation still under way are counted as in progress, not judged. A suspected mismatch is checked a
 * second time against fresh data from both sides before it is reported, because the two snapshots are taken
 * at different moments and an operation may complete in between.
 */
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db } from '../../../platform/db/index.js';
import { getPayment, listPayments, paymentIdsWithOpenOperations, type PaymentRecord } from '../data/payments.repository.js';
import { isUnavailable, type PaymentProvider, type ProviderHold } from '../model.js';

export interface Mismatch {
  paymentId: string;
  ours: unknown;
  provider: unknown;
  problem: string;
}

export interface ReconciliationReport {
  checked: number;
  /** payments skipped because an operation is still under way */
  inProgress: number;
  /** holds in the provider's ledger */
  providerHolds: number;
  mismatches: Mismatch[];
  startedAt: string;
  finishedAt: string;
}

const PAGE = 500;
const CALL_RETRIES = 4;

export async function reconcile(
  db: Db,
  provider: PaymentProvider,
  callTimeoutMs: number,
  now: () => number = Date.now,
): Promise<ReconciliationReport> {
  const startedAt = now();
  const call = <T>(fn: () => Promise<T>) => withRetries(fn, CALL_RETRIES);
  const byReference = new Map<string, ProviderHold[]>();
  let providerHolds = 0;
  let cursor: string | null = null;
  do {
    const page = await call(() => provider.listLedger(cursor, PAGE, { timeoutMs: callTimeoutMs }));
    for (const hold of page.holds) {
      providerHolds += 1;
      byReference.set(hold.reference, [...(byReference.get(hold.reference) ?? []), hold]);
    }
    cursor = page.nextCursor;
  } while (cursor);

  const mismatches: Mismatch[] = [];
  let checked = 0;
  let inProgress = 0;
  const busy = await paymentIdsWithOpenOperations(db);
  let after: string | null = null;
  for (;;) {
    const payments = await listPayments(db, after, PAGE);
    if (payments.length === 0) break;
    after = payments[payments.length - 1]!.id;
    for (const payment of payments) {
      const holds = byReference.get(payment.id) ?? [];
      byReference.delete(payment.id);
      if (busy.has(payment.id) || payment.status === 'authorizing' || payment.createdAt > startedAt) {
        inProgress += 1;
        continue;
      }
      checked += 1;
      if (!compare(payment, holds)) continue;
      // Confirm with fresh data from both sides: an operation may have completed between the two snapshots.
      const fresh = await getPayment(db, payment.id);
      const openNow = await paymentIdsWithOpenOperations(db);
      if (!fresh || openNow.has(payment.id)) {
        inProgress += 1;
        checked -= 1;
        continue;
      }
      const freshHolds = await call(() => provider.findHoldsByReference(payment.id, { timeoutMs: callTimeoutMs }));
      const problem = compare(fresh, freshHolds);
      if (problem) mismatches.push({ paymentId: payment.id, ours: ourSide(fresh), provider: freshHolds.map(theirSide), problem });
    }
  }
  // Holds under a reference we do not know: money held or taken without a payment of ours.
  for (const [reference, holds] of byReference) {
    const live = holds.filter((h) => h.status === 'authorized' || h.status === 'captured');
    if (live.length > 0)
      mismatches.push({ paymentId: reference, ours: null, provider: live.map(theirSide), problem: 'unknown_at_provider' });
  }
  return {
    checked,
    inProgress,
    providerHolds,
    mismatches,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(now()).toISOString(),
  };
}

/** The problem with this payment, or null when both ledgers agree. */
export function compare(p: PaymentRecord, holds: readonly ProviderHold[]): string | null {
  const live = holds.filter((h) => h.status === 'authorized' || h.status === 'captured');
  if (holds.some((h) => h.captures.length > 1)) return 'double_capture';
  if (!p.providerRef) {
    // declined before a hold, or voided with nothing held: the provider must hold nothing for us
    if (live.length > 0) return live.some((h) => h.status === 'captured') ? 'unexpected_capture' : 'orphan_hold';
    return p.status === 'declined' || p.status === 'voided' ? null : 'missing_at_provider';
  }
  const hold = holds.find((h) => h.id === p.providerRef);
  if (!hold) return 'missing_at_provider';
  if (live.some((h) => h.id !== hold.id)) return 'duplicate_hold';
  const expected: Record<PaymentRecord['status'], ProviderHold['status'][]> = {
    authorizing: ['authorized', 'declined'],
    authorized: ['authorized'],
    declined: ['declined'],
    capture_pending: ['authorized', 'captured'],
    captured: ['captured'],
    void_pending: ['authorized', 'voided'],
    voided: ['voided', 'declined'],
    failed: [], // an operation gave up: always worth a look, whatever the provider says
  };
  if (!expected[p.status].includes(hold.status)) return p.status === 'failed' ? 'operation_failed' : 'status_mismatch';
  if (hold.status !== 'declined' && hold.amountCents !== p.heldCents) return 'held_amount_mismatch';
  if (hold.capturedCents !== p.capturedCents) return 'captured_amount_mismatch';
  if (hold.refundedCents !== p.refundedCents) return 'refunded_amount_mismatch';
  return null;
}

function ourSide(p: PaymentRecord) {
  return {
    status: p.status,
    providerRef: p.providerRef,
    heldCents: p.heldCents,
    capturedCents: p.capturedCents,
    refundedCents: p.refundedCents,
    currency: p.currency,
  };
}

function theirSide(h: ProviderHold) {
  return {
    id: h.id,
    status: h.status,
    amountCents: h.amountCents,
    capturedCents: h.capturedCents,
    refundedCents: h.refundedCents,
    captures: h.captures.length,
    refunds: h.refunds.length,
  };
}

async function withRetries<T>(fn: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      if (i >= attempts)
        throw new AppError('payment_provider_unavailable', 'The payment provider is not answering; reconciliation could not run.', {
          status: 503,
          cause: err,
        });
      await new Promise((r) => setTimeout(r, backoffDelay(i + 1, { initialMs: 100, maxMs: Infinity })));
    }
  }
}
