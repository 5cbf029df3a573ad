/**
 * The payments component's shared types: the statuses and kinds of payments and their operations, and the
 * payment-provider contract — what Fleetdesk needs from any card processor (the sandbox, or a real one behind an
 * adapter such as data/http-payment-provider.ts). Every money-moving call carries an idempotency key, and the
 * provider must answer a repeated key with the first answer — also when the first answer was lost in a timeout.
 * Holds carry our own reference (the payment id) so a hold whose authorization went unanswered can still be found
 * and voided.
 */

export type PaymentStatus =
  'authorizing' | 'authorized' | 'declined' | 'capture_pending' | 'captured' | 'void_pending' | 'voided' | 'failed';
export type OperationKind = 'authorize' | 'capture' | 'void' | 'refund';
export type OperationStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed';
export const OPERATION_STATUSES: readonly OperationStatus[] = ['pending', 'in_flight', 'succeeded', 'failed'];
export const OPERATION_KINDS: readonly OperationKind[] = ['authorize', 'capture', 'void', 'refund'];

export interface ProviderPaymentMethod {
  id: string;
  brand: string;
  last4: string;
}

export interface ProviderMovement {
  id: string;
  amountCents: number;
  idempotencyKey: string;
  createdAt: string;
}

export type ProviderHoldStatus = 'authorized' | 'declined' | 'captured' | 'voided';

export interface ProviderHold {
  id: string;
  /** our reference (the payment id) */
  reference: string;
  paymentMethodId: string;
  amountCents: number;
  currency: string;
  status: ProviderHoldStatus;
  capturedCents: number;
  refundedCents: number;
  declineCode: string | null;
  captures: ProviderMovement[];
  refunds: ProviderMovement[];
  createdAt: string;
}

export interface CallOptions {
  /** give up waiting after this long (the provider may still apply the call: retry with the same key) */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PaymentProvider {
  /** A reusable payment method from a client-side token. */
  tokenize(token: string, idempotencyKey: string, options?: CallOptions): Promise<ProviderPaymentMethod>;
  /** Places a hold; a decline is an answer (status `declined`), not an error. */
  authorize(
    input: { paymentMethodId: string; amountCents: number; currency: string; reference: string },
    idempotencyKey: string,
    options?: CallOptions,
  ): Promise<ProviderHold>;
  /** Holds placed with our reference (to find a hold whose authorization went unanswered). */
  findHoldsByReference(reference: string, options?: CallOptions): Promise<ProviderHold[]>;
  getHold(holdId: string, options?: CallOptions): Promise<ProviderHold>;
  /** Captures up to the hold, once; the rest of the hold is released. */
  capture(holdId: string, amountCents: number, idempotencyKey: string, options?: CallOptions): Promise<ProviderHold>;
  void(holdId: string, idempotencyKey: string, options?: CallOptions): Promise<ProviderHold>;
  /** Refunds up to captured − already refunded. */
  refund(
    holdId: string,
    amountCents: number,
    idempotencyKey: string,
    options?: CallOptions,
  ): Promise<{ refund: ProviderMovement; hold: ProviderHold }>;
  /** The provider's ledger in its own order, one page at a time (reconciliation). */
  listLedger(cursor: string | null, limit: number, options?: CallOptions): Promise<{ holds: ProviderHold[]; nextCursor: string | null }>;
  health(options?: CallOptions): Promise<void>;
}

/**
 * `unavailable`: no definite answer (timeout, connection failure, 5xx, 429, a request with the same key still in
 * progress) — retry with the SAME idempotency key. `rejected`: a definite refusal (4xx) — retrying will not help.
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'rejected',
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export const isUnavailable = (err: unknown): boolean => err instanceof ProviderError && err.kind === 'unavailable';

/** Provider operations, as labelled in metrics. */
export type ProviderOperation =
  'tokenize' | 'authorize' | 'find_holds' | 'get_hold' | 'capture' | 'void' | 'refund' | 'list_ledger' | 'health';
export type CallOutcome = 'ok' | 'declined' | 'rejected' | 'timeout' | 'server_error' | 'network_error' | 'in_progress';

/** Told about every call (metrics, provider health). */
export type CallObserver = (operation: ProviderOperation, outcome: CallOutcome, seconds: number) => void;

/** Signed provider webhook (after verification). */
export interface ProviderWebhookEvent {
  id: string;
  type: 'hold.authorized' | 'hold.declined' | 'hold.captured' | 'hold.voided' | 'refund.succeeded' | string;
  createdAt: string;
  data: { hold?: ProviderHold; refund?: ProviderMovement; idempotencyKey?: string };
}
