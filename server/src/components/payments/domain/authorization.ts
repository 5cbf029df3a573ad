/** Giving up on an authorization without a definite answer, so that no hold the provider may hold survives. */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../../platform/db/index.js';
import { finishOperation, insertOperation, updatePayment, type OperationRecord } from '../data/payments.repository.js';

export const newId = (prefix: 'pay' | 'pm' | 'pop'): string => `${prefix}_${randomUUID().replace(/-/g, '')}`;

/** Provider idempotency keys of a payment's single operations: fixed, so every retry (any instance) repeats them. */
export const operationKey = (paymentId: string, kind: 'authorize' | 'capture' | 'void'): string => `${paymentId}:${kind}`;

/**
 * Marks the in-flight authorization failed and queues a void of whatever the provider may hold under our
 * reference (the worker finds the hold by reference, or makes the authorization definite first). Returns false
 * when the authorization was meanwhile recorded (then there is nothing to abandon).
 */
export async function abandonAuthorization(tx: Queryable, op: OperationRecord, reason: string): Promise<boolean> {
  if (!(await finishOperation(tx, op.id, { status: 'failed', lastError: reason }))) return false;
  await updatePayment(tx, op.paymentId, { status: 'void_pending' }, ['authorizing']);
  await insertOperation(tx, {
    id: newId('pop'),
    paymentId: op.paymentId,
    kind: 'void',
    amountCents: op.amountCents,
    currency: op.currency,
    idempotencyKey: operationKey(op.paymentId, 'void'),
    status: 'pending',
    createdBy: 'system',
    reason: 'authorization unanswered: release any hold',
  });
  return true;
}
