/**
 * The sandbox provider's own books: payment methods, holds with their captures and refunds, and the stored
 * answer of every idempotency key. It refuses what a real provider refuses (capture above the hold, a second
 * capture, refunds above what was captured, anything on a voided hold). Plain data, so it can be saved to a file.
 */
import { randomBytes } from 'node:crypto';

export type MethodBehaviour = 'ok' | 'decline' | 'flaky';

/** The three sandbox tokens, with the test card each one stands for (Stripe's test card numbers). */
export const SANDBOX_TOKENS: Readonly<Record<string, { behaviour: MethodBehaviour; brand: string; last4: string }>> = Object.freeze({
  tok_sandbox_ok: { behaviour: 'ok', brand: 'visa', last4: '4242' },
  tok_sandbox_decline: { behaviour: 'decline', brand: 'visa', last4: '0002' },
  tok_sandbox_flaky: { behaviour: 'flaky', brand: 'mastercard', last4: '4444' },
});

export interface SandboxPaymentMethod {
  id: string;
  behaviour: MethodBehaviour;
  brand: string;
  last4: string;
  createdAt: string;
}

export interface SandboxMovement {
  id: string;
  amountCents: number;
  idempotencyKey: string;
  createdAt: string;
}

export type HoldStatus = 'authorized' | 'declined' | 'captured' | 'voided';

export interface SandboxHold {
  id: string;
  /** the merchant's own reference (Fleetdesk: its payment id) — holds can be found by it */
  reference: string;
  paymentMethodId: string;
  amountCents: number;
  currency: string;
  status: HoldStatus;
  capturedCents: number;
  refundedCents: number;
  declineCode: string | null;
  idempotencyKey: string;
  captures: SandboxMovement[];
  refunds: SandboxMovement[];
  createdAt: string;
  updatedAt: string;
  /** ledger order (the listing's cursor) */
  seq: number;
}

export interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
}

export interface LedgerEvent {
  type: 'hold.authorized' | 'hold.declined' | 'hold.captured' | 'hold.voided' | 'refund.succeeded';
  hold: SandboxHold;
  refund?: SandboxMovement;
  idempotencyKey: string;
}

export interface LedgerSnapshot {
  version: 1;
  seq: number;
  methods: SandboxPaymentMethod[];
  holds: SandboxHold[];
  answers: Array<[string, StoredAnswer]>;
}

/** A refusal, answered as `{error: {type, code, message}}` with `status`. */
export class SandboxError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'invalid_request_error' | 'card_error' | 'idempotency_error' | 'api_error' | 'authentication_error',
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
  toBody(): unknown {
    return { error: { type: this.type, code: this.code, message: this.message }, ...this.extra };
  }
}

const MAX_AMOUNT = 100_000_000;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

export class SandboxLedger {
  readonly methods = new Map<string, SandboxPaymentMethod>();
  readonly holds = new Map<string, SandboxHold>();
  readonly answers = new Map<string, StoredAnswer>();
  private readonly byReference = new Map<string, string[]>();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  createPaymentMethod(token: unknown): SandboxPaymentMethod {
    if (typeof token !== 'string' || !Object.hasOwn(SANDBOX_TOKENS, token)) {
      throw new SandboxError(
        400,
        'invalid_request_error',
        'token_invalid',
        'unknown token (sandbox tokens: tok_sandbox_ok, tok_sandbox_decline, tok_sandbox_flaky)',
      );
    }
    const card = SANDBOX_TOKENS[token]!;
    const method: SandboxPaymentMethod = {
      id: newId('pm'),
      behaviour: card.behaviour,
      brand: card.brand,
      last4: card.last4,
      createdAt: this.iso(),
    };
    this.methods.set(method.id, method);
    return method;
  }

  method(id: string): SandboxPaymentMethod {
    const method = this.methods.get(id);
    if (!method) throw new SandboxError(404, 'invalid_request_error', 'payment_method_not_found', `no payment method ${id}`);
    return method;
  }

  hold(id: string): SandboxHold {
    const hold = this.holds.get(id);
    if (!hold) throw new SandboxError(404, 'invalid_request_error', 'hold_not_found', `no hold ${id}`);
    return hold;
  }

  holdsByReference(reference: string): SandboxHold[] {
    return (this.byReference.get(reference) ?? []).map((id) => this.holds.get(id)!);
  }

  /** `declined` is decided by the caller (method behaviour + decline rate). */
  authorize(
    input: { paymentMethodId: unknown; amountCents: unknown; currency: unknown; reference: unknown },
    idempotencyKey: string,
    declined: boolean,
  ): { hold: SandboxHold; event: LedgerEvent } {
    const paymentMethodId = requireString(input.paymentMethodId, 'paymentMethodId', 100);
    const amountCents = requireAmount(input.amountCents, 'amountCents');
    const currency = requireCurrency(input.currency);
    const reference = requireString(input.reference, 'reference', 200);
    this.method(paymentMethodId);
    const at = this.iso();
    const hold: SandboxHold = {
      id: newId('hold'),
      reference,
      paymentMethodId,
      amountCents,
      currency,
      status: declined ? 'declined' : 'authorized',
      capturedCents: 0,
      refundedCents: 0,
      declineCode: declined ? 'card_declined' : null,
      idempotencyKey,
      captures: [],
      refunds: [],
      createdAt: at,
      updatedAt: at,
      seq: ++this.seq,
    };
    this.holds.set(hold.id, hold);
    this.byReference.set(reference, [...(this.byReference.get(reference) ?? []), hold.id]);
    return { hold, event: { type: declined ? 'hold.declined' : 'hold.authorized', hold, idempotencyKey } };
  }

  capture(holdId: string, input: { amountCents?: unknown }, idempotencyKey: string): { hold: SandboxHold; event: LedgerEvent } {
    const hold = this.hold(holdId);
    const amountCents = input.amountCents === undefined ? hold.amountCents : requireAmount(input.amountCents, 'amountCents');
    this.requireAuthorized(hold);
    if (amountCents > hold.amountCents) {
      throw new SandboxError(
        400,
        'invalid_request_error',
        'amount_too_large',
        `capture of ${amountCents} exceeds the hold of ${hold.amountCents}`,
      );
    }
    hold.captures.push({ id: newId('cap'), amountCents, idempotencyKey, createdAt: this.iso() });
    hold.capturedCents = amountCents;
    hold.status = 'captured'; // the rest of the hold is released, as with card networks
    hold.updatedAt = this.iso();
    return { hold, event: { type: 'hold.captured', hold, idempotencyKey } };
  }

  void(holdId: string, idempotencyKey: string): { hold: SandboxHold; event: LedgerEvent } {
    const hold = this.hold(holdId);
    this.requireAuthorized(hold);
    hold.status = 'voided';
    hold.updatedAt = this.iso();
    return { hold, event: { type: 'hold.voided', hold, idempotencyKey } };
  }

  refund(
    holdId: string,
    input: { amountCents?: unknown },
    idempotencyKey: string,
  ): { hold: SandboxHold; refund: SandboxMovement; event: LedgerEvent } {
    const hold = this.hold(holdId);
    if (hold.status !== 'captured')
      throw new SandboxError(409, 'invalid_request_error', 'hold_not_captured', `hold ${hold.id} is ${hold.status}: nothing to refund`);
    const refundable = hold.capturedCents - hold.refundedCents;
    const amountCents = input.amountCents === undefined ? refundable : requireAmount(input.amountCents, 'amountCents');
    if (amountCents > refundable) {
      throw new SandboxError(
        400,
        'invalid_request_error',
        'amount_too_large',
        `refund of ${amountCents} exceeds the ${refundable} still refundable`,
      );
    }
    const refund: SandboxMovement = { id: newId('re'), amountCents, idempotencyKey, createdAt: this.iso() };
    hold.refunds.push(refund);
    hold.refundedCents += amountCents;
    hold.updatedAt = this.iso();
    return { hold, refund, event: { type: 'refund.succeeded', hold, refund, idempotencyKey } };
  }

  /** Holds in ledger order after `afterSeq`. */
  list(afterSeq: number, limit: number): { holds: SandboxHold[]; nextCursor: string | null } {
    const holds = [...this.holds.values()].filter((h) => h.seq > afterSeq).sort((a, b) => a.seq - b.seq);
    const page = holds.slice(0, limit);
    return { holds: page, nextCursor: holds.length > limit ? String(page[page.length - 1]!.seq) : null };
  }

  private requireAuthorized(hold: SandboxHold): void {
    if (hold.status === 'captured')
      throw new SandboxError(409, 'invalid_request_error', 'hold_already_captured', `hold ${hold.id} is already captured`);
    if (hold.status === 'voided') throw new SandboxError(409, 'invalid_request_error', 'hold_voided', `hold ${hold.id} is voided`);
    if (hold.status === 'declined') throw new SandboxError(409, 'invalid_request_error', 'hold_declined', `hold ${hold.id} was declined`);
  }

  snapshot(): LedgerSnapshot {
    return {
      version: 1,
      seq: this.seq,
      methods: [...this.methods.values()],
      holds: [...this.holds.values()],
      answers: [...this.answers.entries()],
    };
  }

  restore(snapshot: LedgerSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`unknown ledger file version ${String(snapshot.version)}`);
    this.seq = snapshot.seq;
    for (const m of snapshot.methods) this.methods.set(m.id, m);
    for (const h of snapshot.holds) {
      this.holds.set(h.id, h);
      this.byReference.set(h.reference, [...(this.byReference.get(h.reference) ?? []), h.id]);
    }
    for (const [key, answer] of snapshot.answers) this.answers.set(key, answer);
  }
}

function requireString(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new SandboxError(400, 'invalid_request_error', 'parameter_invalid', `${name} must be a string of 1–${max} characters`);
  return value;
}

function requireAmount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_AMOUNT) {
    throw new SandboxError(400, 'invalid_request_error', 'parameter_invalid', `${name} must be an integer 1–${MAX_AMOUNT} (minor units)`);
  }
  return value;
}

function requireCurrency(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value))
    throw new SandboxError(400, 'invalid_request_error', 'parameter_invalid', 'currency must be an ISO 4217 code such as EUR');
  return value;
}
