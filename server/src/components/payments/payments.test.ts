/**
 * The payments component through its API and its contract with the other components, on PGlite and PostgreSQL,
 * against the embedded sandbox provider (a real HTTP service): payment methods, holds, captures/voids queued in
 * the caller's transaction, staff refunds, failures visible to staff, webhooks, a provider outage, bad input.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { listAudit } from '../audit/index.js';
import { dbBackends } from '../../testing/backends.js';
import { staffHeaders } from '../../testing/auth.js';
import { waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';
import { signatureHeader } from './index.js';
import {
  customerWithMethod,
  holdRequest,
  json,
  paymentIdOf,
  providerLedger,
  QUIET_PAYMENTS,
  type TestCustomer,
} from '../../testing/payments.js';

const WEBHOOK_SECRET = 'whsec_payments_test_0123456789';
const PROBLEM = 'application/problem+json';

describe.each(dbBackends())('payments on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let ok: TestCustomer;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET_PAYMENTS, ...created.overrides, paymentWebhookSecret: WEBHOOK_SECRET });
    ok = await customerWithMethod(server, 'tok_sandbox_ok');
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.httpUrl}${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** An authorized hold captured for `capture` cents (through the outbox). */
  async function capturedRental(customer: TestCustomer, hold: number, capture: number): Promise<{ rentalId: string; paymentId: string }> {
    const req = holdRequest(customer, hold);
    const outcome = await server.payments.authorizeHold(req, 5_000);
    expect(outcome.status).toBe('authorized');
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId: outcome.paymentId, amountCents: capture, currency: 'EUR' }),
    );
    await server.payments.drainOutbox();
    return { rentalId: req.rentalId, paymentId: outcome.paymentId };
  }

  it('customer payment methods: add → 201, list newest first (the default), remove; another customer’s method is 404', async () => {
    const customer = await customerWithMethod(server, 'tok_sandbox_ok');
    const added = await json(await post('/v1/me/payment-methods', { token: 'tok_sandbox_decline' }, customer.headers));
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      paymentMethodId: expect.stringMatching(/^pm_/),
      last4: '0002',
      brand: 'visa',
      createdAt: expect.any(String),
    });
    const list = await json(await fetch(`${server.httpUrl}/v1/me/payment-methods`, { headers: customer.headers }));
    expect(list.status).toBe(200);
    const methods = list.body.paymentMethods as Array<{ paymentMethodId: string }>;
    expect(methods.map((m) => m.paymentMethodId)).toEqual([added.body.paymentMethodId, customer.paymentMethodId]);
    expect((await server.payments.defaultPaymentMethod(customer.customerId))?.paymentMethodId).toBe(added.body.paymentMethodId);

    // someone else's method: not found, for reading through the hold and for deleting
    const other = await fetch(`${server.httpUrl}/v1/me/payment-methods/${customer.paymentMethodId}`, {
      method: 'DELETE',
      headers: ok.headers,
    });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toContain(PROBLEM);
    await expect(
      server.payments.authorizeHold({ ...holdRequest(ok), paymentMethodId: customer.paymentMethodId }, 2_000),
    ).rejects.toMatchObject({ code: 'payment_method_not_found', status: 422 });

    const removed = await fetch(`${server.httpUrl}/v1/me/payment-methods/${String(added.body.paymentMethodId)}`, {
      method: 'DELETE',
      headers: customer.headers,
    });
    expect(removed.status).toBe(204);
    expect((await server.payments.defaultPaymentMethod(customer.customerId))?.paymentMethodId).toBe(customer.paymentMethodId);
    const again = await fetch(`${server.httpUrl}/v1/me/payment-methods/${String(added.body.paymentMethodId)}`, {
      method: 'DELETE',
      headers: customer.headers,
    });
    expect(again.status).toBe(404);
  });

  it('bad input gets a 4xx problem+json, never a 5xx', async () => {
    const staff = await staffHeaders(server, 'support');
    const cases: Array<[string, Promise<Response>, number, string?]> = [
      ['no token', post('/v1/me/payment-methods', {}, ok.headers), 400],
      ['token of the wrong type', post('/v1/me/payment-methods', { token: 42 }, ok.headers), 400],
      ['token too long', post('/v1/me/payment-methods', { token: 'x'.repeat(201) }, ok.headers), 400],
      ['not JSON', post('/v1/me/payment-methods', '{"token":', ok.headers), 400],
      ['unknown token', post('/v1/me/payment-methods', { token: 'tok_visa_4242' }, ok.headers), 422, 'payment_token_invalid'],
      ['not signed in', post('/v1/me/payment-methods', { token: 'tok_sandbox_ok' }), 401],
      ['refund: amount as words', post(`/ops/v1/rentals/r1/refunds`, { amountCents: 'ten', reason: 'x' }, staff), 400],
      ['refund: negative', post(`/ops/v1/rentals/r1/refunds`, { amountCents: -5, reason: 'x' }, staff), 400],
      ['refund: huge', post(`/ops/v1/rentals/r1/refunds`, { amountCents: 1e12, reason: 'x' }, staff), 400],
      ['refund: no reason', post(`/ops/v1/rentals/r1/refunds`, { amountCents: 5 }, staff), 400],
      ['refund: blank reason', post(`/ops/v1/rentals/r1/refunds`, { amountCents: 5, reason: '   ' }, staff), 400],
      [
        'refund: unknown rental',
        post(`/ops/v1/rentals/${randomUUID()}/refunds`, { amountCents: 5, reason: 'goodwill' }, staff),
        404,
        'rental_payment_not_found',
      ],
      ['operations: bad status', fetch(`${server.httpUrl}/ops/v1/payments/operations?status=nope`, { headers: staff }), 400],
      ['operations: bad limit', fetch(`${server.httpUrl}/ops/v1/payments/operations?limit=0`, { headers: staff }), 400],
      ['webhook: not JSON', post('/webhooks/payments', 'nope'), 400],
    ];
    for (const [what, request, status, code] of cases) {
      const res = await json(await request);
      expect({ what, status: res.status }).toEqual({ what, status });
      expect(res.type).toContain(PROBLEM);
      if (code) expect(res.body.code).toBe(code);
    }
    await expect(server.payments.authorizeHold({ ...holdRequest(ok), amountCents: 0 }, 1_000)).rejects.toMatchObject({ status: 422 });
    await expect(server.payments.authorizeHold({ ...holdRequest(ok), currency: 'euro' }, 1_000)).rejects.toMatchObject({ status: 422 });
  });

  it('places holds now: authorized on tok_sandbox_ok, declined on tok_sandbox_decline; the same key returns the same payment and outcome', async () => {
    const req = holdRequest(ok, 3_000);
    const first = await server.payments.authorizeHold(req, 5_000);
    expect(first).toEqual({ status: 'authorized', paymentId: expect.stringMatching(/^pay_/) });
    expect(await server.payments.authorizeHold(req, 5_000)).toEqual(first);
    await expect(server.payments.authorizeHold({ ...req, amountCents: 3_001 }, 5_000)).rejects.toMatchObject({
      code: 'idempotency_key_reused',
      status: 422,
    });
    await expect(server.payments.authorizeHold({ ...req, idempotencyKey: `other-${randomUUID()}` }, 5_000)).rejects.toMatchObject({
      code: 'payment_hold_exists',
      status: 409,
    });
    expect(await server.payments.rentalPayments(req.rentalId)).toMatchObject({
      status: 'authorized',
      held: 3_000,
      captured: 0,
      currency: 'EUR',
      paymentId: first.paymentId,
    });

    const decliner = await customerWithMethod(server, 'tok_sandbox_decline');
    const declinedReq = holdRequest(decliner, 3_000);
    const declined = await server.payments.authorizeHold(declinedReq, 5_000);
    expect(declined).toMatchObject({ status: 'declined', reason: 'card_declined' });
    expect(await server.payments.authorizeHold(declinedReq, 5_000)).toEqual(declined);
    expect((await server.payments.rentalPayments(declinedReq.rentalId)).status).toBe('failed');
    // a declined attempt does not block a new hold for the same rental
    const retry = await server.payments.authorizeHold(
      { ...holdRequest(ok, 3_000, declinedReq.rentalId), idempotencyKey: `again-${randomUUID()}` },
      5_000,
    );
    expect(retry.status).toBe('authorized');
  });

  it('captures and voids are queued in the caller’s transaction (nothing on rollback) and executed once by the outbox', async () => {
    const req = holdRequest(ok, 5_000);
    const { paymentId } = await server.payments.authorizeHold(req, 5_000);
    await expect(
      server.db.transaction(async (tx) => {
        await server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 4_000, currency: 'EUR' });
        throw new Error('the rental change failed');
      }),
    ).rejects.toThrow('the rental change failed');
    await server.payments.drainOutbox();
    expect(await server.payments.rentalPayments(req.rentalId)).toMatchObject({
      status: 'authorized',
      captured: 0,
      operations: [expect.objectContaining({ kind: 'authorize' })],
    });

    await expect(
      server.db.transaction((tx) =>
        server.payments.enqueueCapture(tx, { rentalId: 'another-rental', paymentId, amountCents: 1, currency: 'EUR' }),
      ),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      server.db.transaction((tx) =>
        server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 1, currency: 'USD' }),
      ),
    ).rejects.toMatchObject({ status: 422 });
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 4_000, currency: 'EUR' }),
    );
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 4_000, currency: 'EUR' }),
    ); // asked twice
    await expect(
      server.db.transaction((tx) =>
        server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 3_999, currency: 'EUR' }),
      ),
    ).rejects.toMatchObject({
      code: 'capture_already_requested',
    });
    await expect(
      server.db.transaction((tx) => server.payments.enqueueVoid(tx, { rentalId: req.rentalId, paymentId, reason: 'x' })),
    ).rejects.toMatchObject({ status: 409 });
    await server.payments.drainOutbox();
    const captured = await server.payments.rentalPayments(req.rentalId);
    expect(captured).toMatchObject({ status: 'captured', held: 5_000, captured: 4_000, shortfall: 0 });
    expect(captured.operations.filter((o) => o.kind === 'capture')).toEqual([
      expect.objectContaining({ status: 'succeeded', amountCents: 4_000, attempts: 1 }),
    ]);

    // price above the hold: the hold is captured, the rest recorded as a shortfall; a zero price voids the hold
    const big = holdRequest(ok, 2_000);
    const bigHold = await server.payments.authorizeHold(big, 5_000);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: big.rentalId, paymentId: bigHold.paymentId, amountCents: 2_600, currency: 'EUR' }),
    );
    const free = holdRequest(ok, 2_000);
    const freeHold = await server.payments.authorizeHold(free, 5_000);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: free.rentalId, paymentId: freeHold.paymentId, amountCents: 0, currency: 'EUR' }),
    );
    const cancelled = holdRequest(ok, 2_000);
    const cancelledHold = await server.payments.authorizeHold(cancelled, 5_000);
    await server.db.transaction((tx) =>
      server.payments.enqueueVoid(tx, { rentalId: cancelled.rentalId, paymentId: cancelledHold.paymentId, reason: 'car did not unlock' }),
    );
    await server.db.transaction((tx) =>
      server.payments.enqueueVoid(tx, { rentalId: cancelled.rentalId, paymentId: cancelledHold.paymentId, reason: 'again' }),
    );
    await server.payments.drainOutbox();
    expect(await server.payments.rentalPayments(big.rentalId)).toMatchObject({ status: 'captured', captured: 2_000, shortfall: 600 });
    expect(await server.payments.rentalPayments(free.rentalId)).toMatchObject({ status: 'voided', captured: 0 });
    expect(await server.payments.rentalPayments(cancelled.rentalId)).toMatchObject({ status: 'voided', captured: 0 });

    const ledger = await providerLedger(server.payments.provider);
    const byRef = (id: string) => ledger.filter((h) => h.reference === id);
    expect(byRef(paymentId)).toEqual([
      expect.objectContaining({ status: 'captured', capturedCents: 4_000, captures: [expect.anything()] }),
    ]);
    expect(byRef(bigHold.paymentId)).toEqual([expect.objectContaining({ status: 'captured', capturedCents: 2_000 })]);
    expect(byRef(freeHold.paymentId)).toEqual([expect.objectContaining({ status: 'voided' })]);
    expect(byRef(cancelledHold.paymentId)).toEqual([expect.objectContaining({ status: 'voided' })]);
    const report = await server.payments.reconcile();
    for (const id of [paymentId, bigHold.paymentId, freeHold.paymentId, cancelledHold.paymentId])
      expect(report.mismatches.filter((m) => m.paymentId === id)).toEqual([]);
  });

  it('refunds: support/admin only, bounded by captured − refunded, idempotent by Idempotency-Key, audited, executed by the outbox', async () => {
    const { rentalId, paymentId } = await capturedRental(ok, 5_000, 4_000);
    const support = await staffHeaders(server, 'support', 'agent-anna');
    const admin = await staffHeaders(server, 'admin');
    const dispatcher = await staffHeaders(server, 'dispatcher');
    const refund = (body: unknown, headers: Record<string, string>, key?: string) =>
      post(`/ops/v1/rentals/${rentalId}/refunds`, body, { ...headers, ...(key ? { 'idempotency-key': key } : {}) });

    expect((await refund({ amountCents: 100, reason: 'x' }, dispatcher)).status).toBe(403);
    expect((await refund({ amountCents: 100, reason: 'x' }, ok.headers)).status).toBe(401);

    const first = await json(await refund({ amountCents: 1_500, reason: 'dirty car' }, support, 'refund-1'));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ rentalId, paymentId, amountCents: 1_500, currency: 'EUR', status: 'pending', reason: 'dirty car' });
    const replay = await json(await refund({ amountCents: 1_500, reason: 'dirty car' }, support, 'refund-1'));
    expect(replay.status).toBe(202);
    expect(replay.body.refundId).toBe(first.body.refundId);
    const reuse = await json(await refund({ amountCents: 1_600, reason: 'dirty car' }, support, 'refund-1'));
    expect(reuse.status).toBe(422);
    expect(reuse.type).toContain(PROBLEM);

    // 4,000 captured, 1,500 pending: at most 2,500 more
    const tooMuch = await json(await refund({ amountCents: 2_501, reason: 'more' }, admin, 'refund-2'));
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.code).toBe('refund_exceeds_captured');
    await server.payments.drainOutbox();
    expect(await server.payments.rentalPayments(rentalId)).toMatchObject({ captured: 4_000, refunded: 1_500 });
    const rest = await json(await refund({ amountCents: 2_500, reason: 'goodwill' }, admin, 'refund-3'));
    expect(rest.status).toBe(202);
    await server.payments.drainOutbox();
    expect((await json(await refund({ amountCents: 1, reason: 'one more' }, admin, 'refund-4'))).status).toBe(409);

    const view = await json(await fetch(`${server.httpUrl}/ops/v1/rentals/${rentalId}/payments`, { headers: support }));
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ status: 'captured', captured: 4_000, refunded: 4_000 });
    expect(
      (view.body.operations as Array<{ kind: string; status: string }>).filter((o) => o.kind === 'refund').map((o) => o.status),
    ).toEqual(['succeeded', 'succeeded']);
    expect((await fetch(`${server.httpUrl}/ops/v1/rentals/${rentalId}/payments`, { headers: dispatcher })).status).toBe(403);

    const hold = (await providerLedger(server.payments.provider)).find((h) => h.reference === paymentId)!;
    expect(hold).toMatchObject({ capturedCents: 4_000, refundedCents: 4_000 });
    expect(hold.refunds).toHaveLength(2);

    const audit = await listAudit(server.db, { targetType: 'rental', targetId: rentalId, limit: 20 });
    expect(audit.filter((a) => a.action === 'payment.refund_requested').map((a) => [a.actor, a.role, a.reason])).toEqual([
      [expect.any(String), 'admin', 'goodwill'],
      ['agent-anna', 'support', 'dirty car'],
    ]);
    expect(audit.filter((a) => a.action === 'payment.refunded')).toHaveLength(2);

    // nothing captured yet: 409
    const onlyHeld = holdRequest(ok, 1_000);
    await server.payments.authorizeHold(onlyHeld, 5_000);
    const notCaptured = await json(await post(`/ops/v1/rentals/${onlyHeld.rentalId}/refunds`, { amountCents: 100, reason: 'x' }, support));
    expect([notCaptured.status, notCaptured.body.code]).toEqual([409, 'payment_not_captured']);
  });

  it('an operation the provider refuses fails at once: counted, listed for staff, and reported by reconciliation', async () => {
    const req = holdRequest(ok, 2_000);
    const { paymentId } = await server.payments.authorizeHold(req, 5_000);
    const before = await metricValue(server.metrics, 'fleetdesk_payment_operations_failed_total', { kind: 'capture' });
    // someone releases the hold at the provider behind our back
    const holdId = (await server.payments.provider.findHoldsByReference(paymentId))[0]!.id;
    await server.payments.provider.void(holdId, `manual-${randomUUID()}`);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 2_000, currency: 'EUR' }),
    );
    await server.payments.drainOutbox();

    expect(await server.payments.rentalPayments(req.rentalId)).toMatchObject({ status: 'failed', captured: 0 });
    expect(await metricValue(server.metrics, 'fleetdesk_payment_operations_failed_total', { kind: 'capture' })).toBe(before + 1);
    const support = await staffHeaders(server, 'support');
    const failed = await json(await fetch(`${server.httpUrl}/ops/v1/payments/operations?status=failed&kind=capture`, { headers: support }));
    expect(failed.status).toBe(200);
    expect(failed.body.operations).toContainEqual(
      expect.objectContaining({ paymentId, kind: 'capture', status: 'failed', lastError: expect.stringContaining('hold_voided') }),
    );

    const admin = await staffHeaders(server, 'admin');
    expect((await post('/ops/v1/payments/reconciliation', {}, support)).status).toBe(403);
    const report = await json(await post('/ops/v1/payments/reconciliation', {}, admin));
    expect(report.status).toBe(200);
    expect(report.body.mismatches).toContainEqual(expect.objectContaining({ paymentId, problem: 'operation_failed' }));
    expect(await metricValue(server.metrics, 'fleetdesk_payment_reconciliation_mismatches')).toBeGreaterThanOrEqual(1);
  });

  it('webhooks: wrong or replayed-too-old signatures are rejected; events apply once by id; a webhook settles a capture whose answers were lost', async () => {
    const event = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ id, type: 'hold.captured', createdAt: new Date().toISOString(), data: { idempotencyKey: 'unknown-key' }, ...extra });
    const now = Math.floor(Date.now() / 1000);
    const send = (body: string, signature?: string) =>
      post('/webhooks/payments', body, signature ? { 'provider-signature': signature } : {});
    const body = event(`evt_${randomUUID()}`);
    for (const [signature, reason] of [
      [undefined, 'missing'],
      [signatureHeader('whsec_wrong_secret_0000000', now, body), 'mismatch'],
      [signatureHeader(WEBHOOK_SECRET, now - 301, body), 'too_old'],
      [signatureHeader(WEBHOOK_SECRET, now, body.replace('hold.captured', 'hold.voided')), 'mismatch'],
    ] as const) {
      const res = await json(await send(body, signature));
      expect([res.status, res.body.code, String(res.body.detail)]).toEqual([
        400,
        'webhook_signature_invalid',
        expect.stringContaining(reason),
      ]);
    }
    const accepted = await json(await send(body, signatureHeader(WEBHOOK_SECRET, now, body)));
    expect(accepted).toMatchObject({ status: 200, body: { received: true, outcome: 'ignored' } });
    expect((await json(await send(body, signatureHeader(WEBHOOK_SECRET, now, body)))).body.outcome).toBe('duplicate');

    // every answer of the provider is lost from now on, but it applies the capture and says so by webhook
    const req = holdRequest(ok, 3_000);
    const { paymentId } = await server.payments.authorizeHold(req, 5_000);
    const applied = await metricValue(server.metrics, 'fleetdesk_payment_webhooks_total', { outcome: 'applied' });
    server.payments.sandbox!.updateSettings({ timeoutRate: 1, lostReplyRate: 1 });
    try {
      await server.db.transaction((tx) =>
        server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 2_500, currency: 'EUR' }),
      );
      const done = await waitFor(
        async () => {
          const p = await server.payments.rentalPayments(req.rentalId);
          return p.status === 'captured' ? p : undefined;
        },
        { what: 'capture settled by webhook', timeoutMs: 15_000 },
      );
      expect(done).toMatchObject({ captured: 2_500 });
      const capture = done.operations.find((o) => o.kind === 'capture')!;
      expect(capture.status).toBe('succeeded');
    } finally {
      server.payments.sandbox!.updateSettings({ timeoutRate: 0 });
    }
    expect(await metricValue(server.metrics, 'fleetdesk_payment_webhooks_total', { outcome: 'applied' })).toBeGreaterThan(applied);
    expect((await server.payments.provider.findHoldsByReference(paymentId))[0]!.captures).toHaveLength(1);
  });

  it('a provider outage: adding a method answers 503, reads keep answering, the health gauge falls and recovers', async () => {
    const sandbox = server.payments.sandbox!;
    const support = await staffHeaders(server, 'support');
    const { rentalId } = await capturedRental(ok, 1_000, 1_000);
    const held = holdRequest(ok, 1_000);
    sandbox.updateSettings({ errorRate: 1 });
    try {
      const add = await json(await post('/v1/me/payment-methods', { token: 'tok_sandbox_ok' }, ok.headers));
      expect([add.status, add.body.code, add.type]).toEqual([503, 'payment_provider_unavailable', expect.stringContaining(PROBLEM)]);
      expect((await fetch(`${server.httpUrl}/v1/me/payment-methods`, { headers: ok.headers })).status).toBe(200);
      expect((await json(await fetch(`${server.httpUrl}/ops/v1/rentals/${rentalId}/payments`, { headers: support }))).body).toMatchObject({
        status: 'captured',
      });
      for (let i = 0; i < 5; i++) await server.payments.provider.health().catch(() => undefined);
      expect(await metricValue(server.metrics, 'fleetdesk_payment_provider_up')).toBe(0);
      expect((await json(await fetch(`${server.httpUrl}/ops/v1/payments/provider`, { headers: support }))).body).toMatchObject({
        up: false,
      });
      expect(
        await metricValue(server.metrics, 'fleetdesk_payment_provider_calls_total', { operation: 'tokenize', outcome: 'server_error' }),
      ).toBeGreaterThanOrEqual(1);
      // a hold during the outage: no definite answer → unavailable, and nothing may stay held afterwards
      expect((await server.payments.authorizeHold(held, 600)).status).toBe('unavailable');
    } finally {
      sandbox.updateSettings({ errorRate: 0 });
    }
    await server.payments.provider.health();
    expect(await metricValue(server.metrics, 'fleetdesk_payment_provider_up')).toBe(1);
    await server.payments.drainOutbox();
    expect((await server.payments.rentalPayments(held.rentalId)).status).toBe('voided');
    const holds = await server.payments.provider.findHoldsByReference(await paymentIdOf(server, held.rentalId));
    expect(holds.filter((h) => h.status === 'authorized' || h.status === 'captured')).toEqual([]);
  });
});
