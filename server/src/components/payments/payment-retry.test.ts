/**
 * Staff retry of failed payment operations (POST /ops/v1/payments/operations/{id}/retry) on PGlite and PostgreSQL,
 * against the sandbox provider: a capture the outbox gave up on while the provider was failing is retried once it
 * is healed and settles with ONE capture at the provider — also when two staff (or two clicks, or two server
 * instances) retry at once; roles, bad input, and the audit entry written with the requeue.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { startPaymentSandbox, type PaymentSandbox } from '../../sandbox/payment-provider/index.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { waitFor } from '../../testing/devices.js';
import { customerWithMethod, holdRequest, json, QUIET_PAYMENTS, type TestCustomer } from '../../testing/payments.js';

interface StaffOperation {
  operationId: string;
  paymentId: string;
  rentalId: string;
  customerId: string;
  kind: string;
  status: string;
  attempts: number;
  retries: number;
  lastError: string | null;
}

const PROBLEM = /^application\/problem\+json/;
const API_KEY = 'sk_sandbox_retry_test';
const SECRET = 'whsec_retry_test_0123456789';

describe.each(dbBackends())('payment operation retry on $name', (backend) => {
  let server: ServerHandle;
  /** a second instance on the same database (PostgreSQL only: PGlite is one process's) */
  let second: ServerHandle | undefined;
  let cleanup: () => Promise<void>;
  /** one provider for both instances */
  let sandbox: PaymentSandbox;
  let ok: TestCustomer;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    sandbox = await startPaymentSandbox({ apiKey: API_KEY });
    const config = {
      ...QUIET_PAYMENTS,
      ...created.overrides,
      paymentMaxAttempts: 3,
      paymentProviderUrl: sandbox.url,
      paymentProviderApiKey: API_KEY,
      paymentWebhookSecret: SECRET,
    };
    server = await startServer(config);
    sandbox.setWebhookTarget({ url: `${server.httpUrl}/webhooks/payments`, secret: SECRET });
    if (backend.name === 'postgres') second = await startServer(config);
    ok = await customerWithMethod(server, 'tok_sandbox_ok');
  });
  afterAll(async () => {
    await second?.stop();
    await server?.stop();
    await sandbox?.close();
    await cleanup?.();
  });

  const call = async (target: ServerHandle, method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    json(
      await fetch(`${target.httpUrl}/ops/v1${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );

  /** A capture queued while every provider call fails: the outbox gives up after its attempts. */
  async function failedCapture(amountCents: number): Promise<{ rentalId: string; paymentId: string; op: StaffOperation }> {
    const req = holdRequest(ok, 5_000);
    const { paymentId, status } = await server.payments.authorizeHold(req, 5_000);
    expect(status).toBe('authorized');
    sandbox.updateSettings({ errorRate: 1 });
    try {
      await server.db.transaction((tx) =>
        server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents, currency: 'EUR' }),
      );
      await server.payments.drainOutbox();
    } finally {
      sandbox.updateSettings({ errorRate: 0 });
    }
    const support = await staffHeaders(server, 'support');
    const list = await call(server, 'GET', '/payments/operations?status=failed&kind=capture', support);
    const op = (list.body.operations as StaffOperation[]).find((o) => o.paymentId === paymentId);
    expect(op).toMatchObject({ rentalId: req.rentalId, customerId: ok.customerId, status: 'failed', attempts: 3, retries: 0 });
    expect(op!.lastError).toMatch(/gave up after 3 attempts/);
    expect((await server.payments.rentalPayments(req.rentalId)).status).toBe('failed');
    return { rentalId: req.rentalId, paymentId, op: op! };
  }

  const auditOf = (rentalId: string) =>
    server.db.query<{ actor: string; role: string; action: string; reason: string; before: Record<string, unknown> }>(
      `select actor, role, action, reason, before from audit_log where target_type = 'rental' and target_id = $1 and action = 'payment.operation_retried'`,
      [rentalId],
    );

  it('support retries a capture that failed while the provider was down: pending, then settled with one capture; audited with who and why', async () => {
    const { rentalId, paymentId, op } = await failedCapture(1_800);
    const dispatcher = await staffHeaders(server, 'dispatcher');
    const refused = await call(server, 'POST', `/payments/operations/${op.operationId}/retry`, dispatcher, { reason: 'try again' });
    expect([refused.status, refused.type]).toEqual([403, expect.stringMatching(PROBLEM)]);
    expect((await auditOf(rentalId)).rows).toEqual([]);

    const support = await staffHeaders(server, 'support', 'agent-sam');
    const retried = await call(server, 'POST', `/payments/operations/${op.operationId}/retry`, support, { reason: 'provider back up' });
    expect(retried.status).toBe(202);
    expect(retried.body.retried).toBe(true);
    expect(retried.body.operation).toMatchObject({ operationId: op.operationId, rentalId, retries: 1 });
    expect(['pending', 'in_flight', 'succeeded']).toContain((retried.body.operation as StaffOperation).status);

    const settled = await waitFor(
      async () => {
        const now = await call(server, 'GET', `/payments/operations/${op.operationId}`, support);
        return (now.body as unknown as StaffOperation).status === 'succeeded' ? (now.body as unknown as StaffOperation) : undefined;
      },
      { what: 'the retried capture settled', timeoutMs: 20_000 },
    );
    expect(settled).toMatchObject({ retries: 1, attempts: 1 });
    expect(await server.payments.rentalPayments(rentalId)).toMatchObject({ status: 'captured', captured: 1_800 });
    const holds = await server.payments.provider.findHoldsByReference(paymentId);
    expect(holds.map((h) => [h.status, h.captures.length, h.capturedCents])).toEqual([['captured', 1, 1_800]]);

    const audit = (await auditOf(rentalId)).rows;
    expect(audit).toEqual([
      {
        actor: 'agent-sam',
        role: 'support',
        action: 'payment.operation_retried',
        reason: 'provider back up',
        before: expect.objectContaining({ operationId: op.operationId, status: 'failed', attempts: 3, paymentStatus: 'failed' }),
      },
    ]);

    // once settled, another retry changes nothing
    const again = await call(server, 'POST', `/payments/operations/${op.operationId}/retry`, support, { reason: 'again' });
    expect([again.status, again.body.retried]).toEqual([202, false]);
    expect((await auditOf(rentalId)).rows).toHaveLength(1);
  });

  it('two retries at once (two agents, two instances on PostgreSQL): one requeue, one audit entry, one capture at the provider', async () => {
    const { rentalId, paymentId, op } = await failedCapture(900);
    const [a, b] = [await staffHeaders(server, 'support', 'agent-a'), await staffHeaders(second ?? server, 'admin', 'agent-b')];
    const results = await Promise.all([
      call(server, 'POST', `/payments/operations/${op.operationId}/retry`, a, { reason: 'retry from desk A' }),
      call(second ?? server, 'POST', `/payments/operations/${op.operationId}/retry`, b, { reason: 'retry from desk B' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([202, 202]);
    expect(results.map((r) => r.body.retried).sort()).toEqual([false, true]);
    await server.payments.drainOutbox();
    expect(await server.payments.rentalPayments(rentalId)).toMatchObject({ status: 'captured', captured: 900 });
    expect((await server.payments.provider.findHoldsByReference(paymentId))[0]!.captures).toHaveLength(1);
    expect((await auditOf(rentalId)).rows).toHaveLength(1);
    const now = await call(server, 'GET', `/payments/operations/${op.operationId}`, a);
    expect(now.body).toMatchObject({ status: 'succeeded', retries: 1 });

    // the same Idempotency-Key twice (a double click): the first answer replayed
    const other = await failedCapture(700);
    const key = `retry-${randomUUID()}`;
    const send = () =>
      call(
        server,
        'POST',
        `/payments/operations/${other.op.operationId}/retry`,
        { ...a, 'idempotency-key': key },
        { reason: 'double click' },
      );
    const first = await send();
    const replay = await send();
    expect([first.status, first.body.retried, replay.status, replay.body.retried]).toEqual([202, true, 202, true]);
    await server.payments.drainOutbox();
    expect((await server.payments.provider.findHoldsByReference(other.paymentId))[0]!.captures).toHaveLength(1);
    expect((await auditOf(other.rentalId)).rows).toHaveLength(1);
  });

  it('a refund that failed is retried into one refund; one that no longer fits what was captured is refused and not requeued', async () => {
    const req = holdRequest(ok, 3_000);
    const { paymentId } = await server.payments.authorizeHold(req, 5_000);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req.rentalId, paymentId, amountCents: 3_000, currency: 'EUR' }),
    );
    await server.payments.drainOutbox();
    const support = await staffHeaders(server, 'support');
    sandbox.updateSettings({ errorRate: 1 });
    let refundId: string;
    try {
      const refund = await call(server, 'POST', `/rentals/${req.rentalId}/refunds`, support, { amountCents: 2_000, reason: 'late car' });
      expect(refund.status).toBe(202);
      refundId = refund.body.refundId as string;
      await server.payments.drainOutbox();
    } finally {
      sandbox.updateSettings({ errorRate: 0 });
    }
    expect((await call(server, 'GET', `/payments/operations/${refundId}`, support)).body).toMatchObject({
      kind: 'refund',
      status: 'failed',
    });
    // meanwhile another refund took most of the money: the failed one no longer fits
    const other = await call(server, 'POST', `/rentals/${req.rentalId}/refunds`, support, { amountCents: 1_500, reason: 'goodwill' });
    expect(other.status).toBe(202);
    await server.payments.drainOutbox();
    const tooMuch = await call(server, 'POST', `/payments/operations/${refundId}/retry`, support, { reason: 'again' });
    expect([tooMuch.status, tooMuch.type, tooMuch.body.code]).toEqual([409, expect.stringMatching(PROBLEM), 'refund_exceeds_captured']);
    expect((await call(server, 'GET', `/payments/operations/${refundId}`, support)).body).toMatchObject({ status: 'failed', retries: 0 });
    expect((await auditOf(req.rentalId)).rows).toEqual([]);

    // a failed refund that still fits: retried into exactly one refund at the provider
    const req2 = holdRequest(ok, 2_000);
    const hold2 = await server.payments.authorizeHold(req2, 5_000);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: req2.rentalId, paymentId: hold2.paymentId, amountCents: 2_000, currency: 'EUR' }),
    );
    await server.payments.drainOutbox();
    sandbox.updateSettings({ errorRate: 1 });
    let refund2: string;
    try {
      refund2 = (await call(server, 'POST', `/rentals/${req2.rentalId}/refunds`, support, { amountCents: 500, reason: 'dirty' })).body
        .refundId as string;
      await server.payments.drainOutbox();
    } finally {
      sandbox.updateSettings({ errorRate: 0 });
    }
    expect((await call(server, 'POST', `/payments/operations/${refund2}/retry`, support, { reason: 'healed' })).body.retried).toBe(true);
    await server.payments.drainOutbox();
    expect(await server.payments.rentalPayments(req2.rentalId)).toMatchObject({ captured: 2_000, refunded: 500 });
    expect((await server.payments.provider.findHoldsByReference(hold2.paymentId))[0]!.refunds).toHaveLength(1);
  });

  it('bad input and what cannot be retried: 4xx problems, nothing changed', async () => {
    const support = await staffHeaders(server, 'support');
    const req = holdRequest(ok, 1_000);
    const { paymentId } = await server.payments.authorizeHold(req, 5_000);
    const authorize = (await server.payments.rentalPayments(req.rentalId)).operations.find((o) => o.kind === 'authorize')!;
    expect(authorize.paymentId).toBe(paymentId);
    const cases: Array<[string, unknown, number, string?]> = [
      [`/payments/operations/${authorize.operationId}/retry`, { reason: 'x' }, 409, 'operation_not_retryable'],
      ['/payments/operations/pop_missing/retry', { reason: 'x' }, 404, 'operation_not_found'],
      [`/payments/operations/${authorize.operationId}/retry`, {}, 400],
      [`/payments/operations/${authorize.operationId}/retry`, { reason: '   ' }, 400],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await call(server, 'POST', path, support, body);
      expect([res.status, res.type], `${path} ${JSON.stringify(body)}`).toEqual([status, expect.stringMatching(PROBLEM)]);
      if (code) expect(res.body.code).toBe(code);
    }
    expect((await call(server, 'GET', '/payments/operations/pop_missing', support)).status).toBe(404);
    expect((await call(server, 'POST', `/payments/operations/${authorize.operationId}/retry`, {}, { reason: 'x' })).status).toBe(401);
  });
});
