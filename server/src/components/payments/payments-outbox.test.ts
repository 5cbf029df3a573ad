/**
 * The payments outbox under faults, against a provider that really misbehaves over HTTP (the sandbox): timeouts
 * whose operation was applied but whose answer was lost, timeouts that were never applied, 5xx — no double
 * charge, no orphan hold, every operation executed exactly once, across a server restart mid-flight and with
 * two server instances sharing one database; reconciliation agrees with the provider afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import type { ServerConfig } from '../../platform/config.js';
import { openDatabase } from '../../platform/db/index.js';
import { createLogger } from '../../platform/log.js';
import { startPaymentSandbox, type PaymentSandbox } from '../../sandbox/payment-provider/index.js';
import { dbBackends } from '../../testing/backends.js';
import { waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';
import type { ProviderHold } from './index.js';
import {
  customerWithMethod,
  holdRequest,
  inBatches,
  paymentIdOf,
  providerLedger,
  QUIET_PAYMENTS,
  type TestCustomer,
} from '../../testing/payments.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every capture queued the way rentals do it: one transaction per rental end. */
async function enqueueCaptures(
  server: ServerHandle,
  rentals: ReadonlyArray<{ rentalId: string; paymentId: string; amountCents: number }>,
): Promise<void> {
  await inBatches(rentals, 10, (r) =>
    server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: r.rentalId, paymentId: r.paymentId, amountCents: r.amountCents, currency: 'EUR' }),
    ),
  );
}

/** Exactly one live hold per payment at the provider, captured once for the expected amount. */
function expectOneCaptureEach(ledger: readonly ProviderHold[], rentals: ReadonlyArray<{ paymentId: string; amountCents: number }>): void {
  const byReference = new Map<string, ProviderHold[]>();
  for (const h of ledger) byReference.set(h.reference, [...(byReference.get(h.reference) ?? []), h]);
  const wrong = rentals
    .map((r) => ({ r, holds: byReference.get(r.paymentId) ?? [] }))
    .filter(({ r, holds }) => holds.length !== 1 || holds[0]!.captures.length !== 1 || holds[0]!.capturedCents !== r.amountCents)
    .map(({ r, holds }) => ({
      paymentId: r.paymentId,
      holds: holds.map((h) => ({ status: h.status, captures: h.captures.length, capturedCents: h.capturedCents })),
    }));
  expect(wrong).toEqual([]);
}

async function placeHolds(
  server: ServerHandle,
  customer: TestCustomer,
  count: number,
): Promise<Array<{ rentalId: string; paymentId: string; amountCents: number }>> {
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    10,
    async (i) => {
      const amountCents = 1_000 + i;
      const req = holdRequest(customer, 5_000);
      const outcome = await server.payments.authorizeHold(req, 20_000);
      expect(outcome.status).toBe('authorized');
      return { rentalId: req.rentalId, paymentId: outcome.paymentId, amountCents };
    },
  );
}

describe.each(dbBackends())('payments outbox under provider faults on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    // tok_sandbox_flaky: ~30% of the calls on the card time out (half of those applied, answer lost) or answer 5xx
    server = await startServer({
      ...QUIET_PAYMENTS,
      ...created.overrides,
      paymentSandboxFlakyPct: 30,
      paymentSandboxSeed: `outbox-${backend.name}`,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('200 holds on tok_sandbox_flaky, each captured through the outbox: exactly one capture per hold at the provider, reconciliation clean', async () => {
    const flaky = await customerWithMethod(server, 'tok_sandbox_flaky');
    const rentals = await placeHolds(server, flaky, 200);
    await enqueueCaptures(server, rentals);
    await server.payments.drainOutbox();

    const views = await inBatches(rentals, 20, (r) => server.payments.rentalPayments(r.rentalId));
    expect(views.filter((v, i) => v.status !== 'captured' || v.captured !== rentals[i]!.amountCents)).toEqual([]);
    expectOneCaptureEach(await providerLedger(server.payments.provider), rentals);

    // the faults really happened (otherwise this test would prove nothing)
    const stats = server.payments.sandbox!.stats();
    expect(stats.timeoutsApplied).toBeGreaterThan(0);
    expect(stats.timeoutsLost).toBeGreaterThan(0);
    expect(stats.injectedErrors).toBeGreaterThan(0);
    expect(stats.replays).toBeGreaterThan(0);
    const retried = views.flatMap((v) => v.operations).filter((o) => o.kind === 'capture' && o.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(
      await metricValue(server.metrics, 'fleetdesk_payment_provider_calls_total', { operation: 'capture', outcome: 'timeout' }),
    ).toBeGreaterThan(0);

    const report = await server.payments.reconcile();
    expect(report.mismatches).toEqual([]);
    expect(report.checked).toBeGreaterThanOrEqual(200);
    expect(report.inProgress).toBe(0);
    expect(await metricValue(server.metrics, 'fleetdesk_payment_reconciliation_mismatches')).toBe(0);
  }, 180_000);

  it('an authorization left unanswered until its deadline leaves no open hold — whether the provider applied it or never did', async () => {
    const customer = await customerWithMethod(server, 'tok_sandbox_ok');
    const sandbox = server.payments.sandbox!;
    const cases: Array<[string, number]> = [
      ['applied, answer lost', 1],
      ['never applied', 0],
    ];
    const unanswered: string[] = [];
    for (const [, lostReplyRate] of cases) {
      const req = holdRequest(customer, 2_500);
      sandbox.updateSettings({ timeoutRate: 1, lostReplyRate });
      try {
        const outcome = await server.payments.authorizeHold(req, 800);
        expect(outcome).toMatchObject({ status: 'unavailable' });
      } finally {
        sandbox.updateSettings({ timeoutRate: 0 });
      }
      unanswered.push(req.rentalId);
      const seen = await server.payments.provider.findHoldsByReference(await paymentIdOf(server, req.rentalId));
      expect(seen.length).toBe(lostReplyRate); // the provider holds money for it, or knows nothing of it
    }
    await server.payments.drainOutbox();
    for (const rentalId of unanswered) {
      expect((await server.payments.rentalPayments(rentalId)).status).toBe('voided');
      const holds = await server.payments.provider.findHoldsByReference(await paymentIdOf(server, rentalId));
      expect(holds.map((h) => h.status)).toEqual(['voided']); // found by reference, or made definite by replaying its key, then voided
    }
    expect((await server.payments.reconcile()).mismatches).toEqual([]);
  }, 120_000);
});

/** Servers with an external sandbox (it outlives them): restart and multi-instance cases. */
describe.each(dbBackends())('payments outbox across server instances on $name', (backend) => {
  const API_KEY = 'sk_sandbox_outbox_test';
  const SECRET = 'whsec_outbox_test_0123456789abcdef';
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await Promise.race([cleanups.pop()!().catch(() => undefined), sleep(20_000)]);
  });

  async function externalSandbox(): Promise<PaymentSandbox> {
    const sandbox = await startPaymentSandbox({
      apiKey: API_KEY,
      settings: { latencyMs: 40, flakyRate: 0.3, seed: `instances-${backend.name}` },
    });
    cleanups.push(() => sandbox.close());
    return sandbox;
  }

  async function start(config: Partial<ServerConfig>, sandbox: PaymentSandbox): Promise<ServerHandle> {
    const server = await startServer(config);
    cleanups.push(() => server.stop());
    sandbox.setWebhookTarget({ url: `${server.httpUrl}/webhooks/payments`, secret: SECRET });
    return server;
  }

  async function flakyCustomer(server: ServerHandle, sandbox: PaymentSandbox): Promise<TestCustomer> {
    sandbox.updateSettings({ flakyRate: 0 });
    try {
      return await customerWithMethod(server, 'tok_sandbox_flaky');
    } finally {
      sandbox.updateSettings({ flakyRate: 0.3 });
    }
  }

  it('server stopped while operations are in flight (answers lost), a new one on the same database: every operation executed exactly once, no orphan hold', async () => {
    const { overrides, cleanup } = await backend.create();
    cleanups.push(cleanup);
    const dataDir = backend.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'fleetdesk-payments-restart-')) : overrides.dataDir;
    if (backend.name === 'pglite') cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const sandbox = await externalSandbox();
    const config: Partial<ServerConfig> = {
      ...QUIET_PAYMENTS,
      ...overrides,
      dataDir,
      paymentProviderUrl: sandbox.url,
      paymentProviderApiKey: API_KEY,
      paymentWebhookSecret: SECRET,
    };

    const first = await start(config, sandbox);
    const flaky = await flakyCustomer(first, sandbox);
    const rentals = await placeHolds(first, flaky, 60);
    await enqueueCaptures(first, rentals);
    // let the background worker get going, then make every answer get lost and stop the server mid-flight
    const settledBefore = await waitForSettled(first, 10);
    sandbox.updateSettings({ timeoutRate: 1, lostReplyRate: 1 });
    const orphanRequest = holdRequest(flaky, 3_000);
    const orphanAttempt = first.payments.authorizeHold(orphanRequest, 1_500).catch((err: unknown) => err);
    // stop only once the orphan's hold is in the provider's ledger (its answer is lost: the server never learns it)
    await waitFor(
      async () => {
        const { paymentId } = await first.payments.rentalPayments(orphanRequest.rentalId).catch(() => ({ paymentId: undefined }));
        return paymentId !== undefined && paymentId !== null && sandbox.holds().some((h) => h.reference === paymentId);
      },
      { timeoutMs: 15_000, what: 'the orphan hold in the provider ledger' },
    );
    await first.stop();
    await orphanAttempt; // its server is gone: it can neither record nor abandon the hold it may have placed
    sandbox.updateSettings({ timeoutRate: 0 });
    const open = await openOperations(config);
    expect(settledBefore).toBeLessThan(60);
    expect(open).toBeGreaterThan(0);

    const second = await start(config, sandbox);
    await second.payments.drainOutbox(); // includes rescuing the abandoned authorization once its claim runs out
    const ledger = await providerLedger(second.payments.provider);
    expectOneCaptureEach(ledger, rentals);
    const views = await inBatches(rentals, 20, (r) => second.payments.rentalPayments(r.rentalId));
    expect(views.filter((v) => v.status !== 'captured')).toEqual([]);

    const orphanPayment = await paymentIdOf(second, orphanRequest.rentalId);
    expect((await second.payments.rentalPayments(orphanRequest.rentalId)).status).toBe('voided');
    expect(ledger.filter((h) => h.reference === orphanPayment && h.status !== 'voided')).toEqual([]);
    expect(sandbox.stats().timeoutsApplied).toBeGreaterThan(0);
    expect(sandbox.stats().replays).toBeGreaterThan(0); // operations applied before the stop were repeated under their key, not redone
    expect((await second.payments.reconcile()).mismatches).toEqual([]);
  }, 180_000);

  it.skipIf(backend.name !== 'postgres')(
    'two server instances drain one outbox: each operation executed once',
    async () => {
      const { overrides, cleanup } = await backend.create();
      cleanups.push(cleanup);
      const sandbox = await externalSandbox();
      const config: Partial<ServerConfig> = {
        ...QUIET_PAYMENTS,
        ...overrides,
        paymentProviderUrl: sandbox.url,
        paymentProviderApiKey: API_KEY,
        paymentWebhookSecret: SECRET,
      };
      const a = await start(config, sandbox);
      const b = await startServer(config);
      cleanups.push(() => b.stop());
      const flaky = await flakyCustomer(a, sandbox);
      const rentals = await placeHolds(a, flaky, 80);
      await enqueueCaptures(b, rentals);
      await Promise.all([a.payments.drainOutbox(), b.payments.drainOutbox()]);

      expectOneCaptureEach(await providerLedger(a.payments.provider), rentals);
      const settledA = await metricValue(a.metrics, 'fleetdesk_payment_operations_settled_total', { kind: 'capture' });
      const settledB = await metricValue(b.metrics, 'fleetdesk_payment_operations_settled_total', { kind: 'capture' });
      const webhookApplied =
        (await metricValue(a.metrics, 'fleetdesk_payment_webhooks_total', { outcome: 'applied' })) +
        (await metricValue(b.metrics, 'fleetdesk_payment_webhooks_total', { outcome: 'applied' }));
      // every capture recorded exactly once: by one instance's worker, or by a webhook
      expect(settledA + settledB + webhookApplied).toBeGreaterThanOrEqual(80);
      expect(settledA + settledB).toBeLessThanOrEqual(80);
      expect(settledA).toBeGreaterThan(0);
      expect(settledB).toBeGreaterThan(0);
      expect((await b.payments.reconcile()).mismatches).toEqual([]);
    },
    180_000,
  );

  async function waitForSettled(server: ServerHandle, atLeast: number): Promise<number> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const settled = await metricValue(server.metrics, 'fleetdesk_payment_operations_settled_total', { kind: 'capture' });
      if (settled >= atLeast || Date.now() > deadline) return settled;
      await sleep(10);
    }
  }

  async function openOperations(config: Partial<ServerConfig>): Promise<number> {
    // read straight from the database the stopped server left behind
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir! }, createLogger({ level: 'silent' }));
    try {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::float8 as n from payment_operations where status in ('pending', 'in_flight')`,
      );
      return Number(rows[0]!.n);
    } finally {
      await db.close();
    }
  }
});
