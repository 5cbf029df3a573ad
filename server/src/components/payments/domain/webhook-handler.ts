/**
 * Provider webhooks: verified (signature over the raw body, 5-minute tolerance), recorded once by event id, and
 * applied through the same settlement as the worker's own answers — so a webhook can finish an operation whose
 * answer was lost, and an event that arrives twice, or after the worker already knew, changes nothing.
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import { findOperationByKey, insertWebhookEvent, setWebhookOutcome } from '../data/payments.repository.js';
import type { OperationKind, ProviderHold, ProviderWebhookEvent } from '../model.js';
import { settleOperation, type OperationResult } from './settlement.js';
import { verifySignature } from './webhook-signature.js';

export type WebhookOutcome = 'duplicate' | 'applied' | 'already_recorded' | 'ignored';

/**
 * Authorizations are not settled from webhooks: their outcome belongs to the caller waiting in authorizeHold
 * (which learns it by repeating its key). A webhook settling one whose caller is gone would turn an abandoned
 * hold into an "authorized" payment nobody uses; left alone, the worker voids it when its claim runs out.
 */
const KIND_OF_EVENT: Record<string, Exclude<OperationKind, 'authorize'>> = {
  'hold.captured': 'capture',
  'hold.voided': 'void',
  'refund.succeeded': 'refund',
};

export async function handleWebhook(
  db: Db,
  secret: string,
  rawBody: string,
  signature: string | undefined,
  nowMs: number,
): Promise<{ eventId: string; outcome: WebhookOutcome }> {
  const check = verifySignature(signature, rawBody, secret, nowMs);
  if (!check.ok) throw new AppError('webhook_signature_invalid', `Webhook signature rejected (${check.reason}).`, { status: 400 });
  const event = parseEvent(rawBody);

  return db.transaction(async (tx) => {
    // refund settlements write the audit log: its lock comes first in the transaction
    if (!(await insertWebhookEvent(tx, { id: event.id, type: event.type, payload: event, outcome: 'received' })))
      return { eventId: event.id, outcome: 'duplicate' as const };
    const outcome = await apply(tx, event);
    await setWebhookOutcome(tx, event.id, outcome);
    return { eventId: event.id, outcome };
  });
}

async function apply(tx: Queryable, event: ProviderWebhookEvent): Promise<WebhookOutcome> {
  const kind = KIND_OF_EVENT[event.type];
  const key = event.data.idempotencyKey;
  const hold = event.data.hold;
  if (!kind || !key || !hold) return 'ignored';
  const op = await findOperationByKey(tx, key);
  if (!op || op.kind !== kind) return 'ignored';
  let result: OperationResult;
  switch (kind) {
    case 'capture':
      result = { kind: 'captured', hold };
      break;
    case 'void':
      result = { kind: 'voided', hold };
      break;
    case 'refund':
      if (!event.data.refund) return 'ignored';
      result = { kind: 'refunded', hold, refundId: event.data.refund.id };
      break;
  }
  return (await settleOperation(tx, op, result)) ? 'applied' : 'already_recorded';
}

function parseEvent(rawBody: string): ProviderWebhookEvent {
  let value: unknown;
  try {
    value = JSON.parse(rawBody);
  } catch {
    throw new AppError('webhook_invalid', 'The webhook body is not JSON.', { status: 400 });
  }
  const e = value as Partial<ProviderWebhookEvent> | null;
  if (
    !e ||
    typeof e !== 'object' ||
    typeof e.id !== 'string' ||
    e.id.length === 0 ||
    e.id.length > 255 ||
    typeof e.type !== 'string' ||
    !e.data ||
    typeof e.data !== 'object'
  ) {
    throw new AppError('webhook_invalid', 'A webhook needs id, type and data.', { status: 400 });
  }
  if (e.data.hold !== undefined && !isHold(e.data.hold)) throw new AppError('webhook_invalid', 'data.hold is malformed.', { status: 400 });
  if (e.data.idempotencyKey !== undefined && typeof e.data.idempotencyKey !== 'string')
    throw new AppError('webhook_invalid', 'data.idempotencyKey must be a string.', { status: 400 });
  return e as ProviderWebhookEvent;
}

function isHold(h: unknown): h is ProviderHold {
  const x = h as Partial<ProviderHold>;
  return (
    !!x &&
    typeof x.id === 'string' &&
    typeof x.status === 'string' &&
    ['authorized', 'declined', 'captured', 'voided'].includes(x.status) &&
    Number.isSafeInteger(x.amountCents) &&
    Number.isSafeInteger(x.capturedCents) &&
    Number.isSafeInteger(x.refundedCents) &&
    Array.isArray(x.captures) &&
    Array.isArray(x.refunds)
  );
}
