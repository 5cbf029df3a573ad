/**
 * Recording a provider outcome: the one place where an operation becomes final and the payment's amounts move.
 * The worker, authorizeHold and webhooks all come here; the operation's guarded transition decides who records
 * it, so an outcome is applied exactly once however many of them learn it.
 */
import type { Queryable } from '../../../platform/db/index.js';
import { recordAudit } from '../../audit/index.js';
import { finishOperation, getPayment, updatePayment, type OperationRecord } from '../data/payments.repository.js';
import type { ProviderHold } from '../model.js';

export type OperationResult =
  /** authorize answered: the hold is `authorized` or `declined` */
  | { kind: 'held'; hold: ProviderHold }
  | { kind: 'captured'; hold: ProviderHold }
  /** `hold` null: nothing was ever held (an unanswered authorization that the provider never applied) */
  | { kind: 'voided'; hold: ProviderHold | null }
  | { kind: 'refunded'; hold: ProviderHold; refundId: string }
  /** a definite refusal, or the outbox gave up */
  | { kind: 'failed'; error: string };

/** Applies `result` to `op` and its payment if the operation is still open; returns whether this call did. */
export async function settleOperation(tx: Queryable, op: OperationRecord, result: OperationResult): Promise<boolean> {
  const outcome = operationOutcome(op, result);
  if (!(await finishOperation(tx, op.id, outcome))) return false;

  switch (result.kind) {
    case 'held': {
      const { hold } = result;
      if (hold.status === 'declined') {
        await updatePayment(tx, op.paymentId, { status: 'declined', providerRef: hold.id, declineReason: hold.declineCode ?? 'declined' }, [
          'authorizing',
        ]);
      } else {
        await updatePayment(tx, op.paymentId, { status: 'authorized', providerRef: hold.id, heldCents: hold.amountCents }, ['authorizing']);
      }
      return true;
    }
    case 'captured':
      await updatePayment(tx, op.paymentId, { status: 'captured', capturedCents: result.hold.capturedCents, providerRef: result.hold.id }, [
        'capture_pending',
      ]);
      return true;
    case 'voided':
      await updatePayment(
        tx,
        op.paymentId,
        result.hold
          ? { status: 'voided', providerRef: result.hold.id, heldCents: result.hold.status === 'declined' ? 0 : result.hold.amountCents }
          : { status: 'voided', heldCents: 0 },
        ['void_pending'],
      );
      return true;
    case 'refunded': {
      await updatePayment(tx, op.paymentId, { addRefundedCents: op.amountCents });
      await auditRefund(tx, op, 'payment.refunded', null);
      return true;
    }
    case 'failed':
      if (op.kind === 'authorize')
        await updatePayment(tx, op.paymentId, { status: 'declined', declineReason: result.error.slice(0, 500) }, ['authorizing']);
      if (op.kind === 'capture') await updatePayment(tx, op.paymentId, { status: 'failed' }, ['capture_pending']);
      if (op.kind === 'void') await updatePayment(tx, op.paymentId, { status: 'failed' }, ['void_pending']);
      if (op.kind === 'refund') await auditRefund(tx, op, 'payment.refund_failed', result.error);
      return true;
  }
}

function operationOutcome(
  op: OperationRecord,
  result: OperationResult,
): { status: 'succeeded' | 'failed'; providerRef?: string | null; lastError?: string | null } {
  switch (result.kind) {
    case 'held':
      return result.hold.status === 'declined'
        ? { status: 'failed', providerRef: result.hold.id, lastError: `declined: ${result.hold.declineCode ?? 'declined'}` }
        : { status: 'succeeded', providerRef: result.hold.id };
    case 'captured':
      return {
        status: 'succeeded',
        providerRef: result.hold.captures.find((c) => c.idempotencyKey === op.idempotencyKey)?.id ?? result.hold.id,
      };
    case 'voided':
      return { status: 'succeeded', providerRef: result.hold?.id ?? null, lastError: result.hold ? null : 'nothing was held' };
    case 'refunded':
      return { status: 'succeeded', providerRef: result.refundId };
    case 'failed':
      return { status: 'failed', lastError: result.error.slice(0, 2000) };
  }
}

async function auditRefund(tx: Queryable, op: OperationRecord, action: string, error: string | null): Promise<void> {
  const payment = await getPayment(tx, op.paymentId);
  await recordAudit(tx, {
    actor: 'system',
    role: 'system',
    action,
    targetType: 'rental',
    targetId: payment?.rentalId ?? op.paymentId,
    reason: op.reason,
    after: {
      refundId: op.id,
      paymentId: op.paymentId,
      amountCents: op.amountCents,
      currency: op.currency,
      requestedBy: op.createdBy,
      ...(error ? { error } : {}),
    },
  });
}
