/**
 * The payments component: payment methods, rental holds, captures/voids/refunds through an outbox with retries
 * under fixed idempotency keys, signed provider webhooks, reconciliation, and the provider's health. Behind the
 * payment-provider contract (model.ts); without PAYMENT_PROVIDER_URL it starts the sandbox
 * provider in-process on a random port (a real HTTP service all the same, so network faults are real).
 * Other components reach it only through this file.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db, Queryable } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import { startPaymentSandbox, type PaymentSandbox, type SandboxSettings } from '../../sandbox/payment-provider/index.js';
import { paymentMethodRoutes } from './api/payment-methods.routes.js';
import { staffPaymentRoutes } from './api/staff-payments.routes.js';
import { webhookRoutes } from './api/webhooks.routes.js';
import { countOperationsByStatus } from './data/payments.repository.js';
import { HttpPaymentProvider } from './data/http-payment-provider.js';
import { OutboxWorker } from './domain/outbox-worker.js';
import { OPERATION_KINDS, OPERATION_STATUSES, type PaymentProvider } from './model.js';
import { PaymentsService, type HoldOutcome, type PaymentMethodSummary, type RentalPayments } from './domain/payments-service.js';
import { ProviderHealth, type ProviderHealthView } from './domain/provider-health.js';
import { reconcile, type ReconciliationReport } from './domain/reconciliation.js';

export type {
  HoldOutcome,
  HoldRequest,
  PaymentMethodSummary,
  RentalPayments,
  RefundView,
  OperationView,
} from './domain/payments-service.js';
export type { ReconciliationReport, Mismatch } from './domain/reconciliation.js';
export type { PaymentProvider, ProviderHold, ProviderWebhookEvent } from './model.js';
export type { ProviderHealthView } from './domain/provider-health.js';
export { ProviderError } from './model.js';
export { HttpPaymentProvider } from './data/http-payment-provider.js';
export { signatureHeader, verifySignature, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TOLERANCE_S } from './domain/webhook-signature.js';

/** The contract other components code against (team rules). */
export interface PaymentsComponent {
  /** the customer's default (newest) usable payment method, or null */
  defaultPaymentMethod(customerId: string): Promise<PaymentMethodSummary | null>;
  /** Places a hold NOW (retries provider timeouts/5xx with the same idempotency key until deadlineMs: a duration, or an epoch-ms time). */
  authorizeHold(
    input: { rentalId: string; customerId: string; paymentMethodId: string; amountCents: number; currency: string; idempotencyKey: string },
    deadlineMs: number,
  ): Promise<HoldOutcome>;
  /** Queue a capture in the CALLER's transaction (outbox): committed with the rental change, executed with retries. */
  enqueueCapture(tx: Queryable, input: { rentalId: string; paymentId: string; amountCents: number; currency: string }): Promise<void>;
  enqueueVoid(tx: Queryable, input: { rentalId: string; paymentId: string; reason: string }): Promise<void>;
  /** What has happened to a rental's money (database only: works while the provider is down). */
  rentalPayments(rentalId: string): Promise<RentalPayments>;
  /** Holds still authorized (neither captured nor voided) placed more than `olderThanMs` ago, oldest first. */
  staleHolds(olderThanMs: number, limit: number): Promise<Array<{ paymentId: string; rentalId: string }>>;
  reconcile(): Promise<ReconciliationReport>;
  /** Runs the outbox until no operation is open, ignoring backoff delays (tests). */
  drainOutbox(): Promise<void>;
  /** '/v1' customer routes, '/ops/v1' staff routes, '/webhooks' the provider's webhooks */
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

/** What the composition root and tests get besides the contract. */
export interface StartedPayments extends PaymentsComponent {
  /** the provider in use (the embedded sandbox's URL without PAYMENT_PROVIDER_URL) */
  providerUrl: string;
  /** the contract over HTTP, with this instance's timeouts and metrics (tests read the provider's ledger with it) */
  provider: PaymentProvider;
  /** the embedded sandbox, when there is one (tests: settings, stats) */
  sandbox: PaymentSandbox | undefined;
  providerHealth(): ProviderHealthView;
  /** Asks the provider's health endpoint now (also every `healthProbeMs`); the view above then reflects it. */
  probeProvider(): Promise<void>;
  /** The server listens: the embedded sandbox sends its webhooks to `<httpUrl>/webhooks/payments`. */
  serverListening(httpUrl: string): void;
}

export interface PaymentsOptions {
  db: Db;
  log: Logger;
  metrics: Registry;
  /** provider base URL; absent = the embedded sandbox */
  providerUrl?: string;
  providerApiKey?: string;
  /** shared with the provider for webhook signatures; required with providerUrl, generated for the sandbox */
  webhookSecret?: string;
  callTimeoutMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  /** 0 = no periodic reconciliation */
  reconcileIntervalS: number;
  /** embedded sandbox: its fault settings, and where it keeps its ledger (absent = in memory) */
  sandbox?: Partial<SandboxSettings>;
  sandboxLedgerDir?: string;
  /** outbox tuning (defaults suit production) */
  concurrency?: number;
  pollMs?: number;
  maxDelayMs?: number;
  healthProbeMs?: number;
  now?: () => number;
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 5 * 60_000;
const DEFAULT_HEALTH_PROBE_MS = 15_000;
const OUTBOX_CHANNEL = 'fleetdesk_payment_outbox';

export async function startPaymentsComponent(options: PaymentsOptions): Promise<StartedPayments> {
  const log = options.log.child({ component: 'payments' });
  const now = options.now ?? Date.now;
  const disposers: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    while (disposers.length > 0) await disposers.pop()!();
  };
  try {
    let sandbox: PaymentSandbox | undefined;
    let providerUrl = options.providerUrl;
    let webhookSecret = options.webhookSecret;
    let apiKey = options.providerApiKey;
    if (!providerUrl) {
      webhookSecret ??= randomBytes(32).toString('hex');
      apiKey ??= `sk_sandbox_${randomBytes(16).toString('hex')}`;
      sandbox = await startPaymentSandbox({
        port: 0,
        apiKey,
        settings: options.sandbox,
        ledgerFile: options.sandboxLedgerDir ? join(options.sandboxLedgerDir, 'payment-sandbox-ledger.json') : undefined,
        log: (msg, fields) => log.info(`sandbox: ${msg}`, fields),
      });
      disposers.push(() => sandbox!.close());
      providerUrl = sandbox.url;
      log.info('embedded payment sandbox started', { url: sandbox.url });
    }
    if (!webhookSecret) throw new Error('a webhook secret is required with an external payment provider (PAYMENT_WEBHOOK_SECRET)');

    const metrics = createMetrics(options.metrics, options.db, log);
    const health = new ProviderHealth(now);
    const provider = new HttpPaymentProvider({
      baseUrl: providerUrl,
      apiKey,
      timeoutMs: options.callTimeoutMs,
      observe: (operation, outcome, seconds) => {
        metrics.calls.inc({ operation, outcome });
        metrics.callDuration.observe({ operation }, seconds);
        health.observe(outcome);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}payment_provider_up`,
      help: 'Payment provider answering (1) or not (0), as this instance sees it (probe + recent calls)',
      registers: [options.metrics],
      collect() {
        this.set(health.up ? 1 : 0);
      },
    });

    const worker = new OutboxWorker(
      options.db,
      provider,
      {
        callTimeoutMs: options.callTimeoutMs,
        retryBaseMs: options.retryBaseMs,
        maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        maxAttempts: options.maxAttempts,
        concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
        pollMs: options.pollMs ?? DEFAULT_POLL_MS,
      },
      { failed: (op) => metrics.failed.inc({ kind: op.kind }), settled: (op) => metrics.settled.inc({ kind: op.kind }) },
      log,
    );
    const service = new PaymentsService({
      db: options.db,
      provider,
      log,
      callTimeoutMs: options.callTimeoutMs,
      kickOutbox: () => worker.kick(),
      now,
    });

    const runReconciliation = async (): Promise<ReconciliationReport> => {
      try {
        const report = await reconcile(options.db, provider, options.callTimeoutMs, now);
        metrics.mismatches.set(report.mismatches.length);
        metrics.reconciliations.inc({ outcome: report.mismatches.length === 0 ? 'clean' : 'mismatches' });
        if (report.mismatches.length > 0)
          log.warn('payment reconciliation found mismatches', { count: report.mismatches.length, first: report.mismatches.slice(0, 5) });
        else log.info('payment reconciliation clean', { checked: report.checked, inProgress: report.inProgress });
        return report;
      } catch (err) {
        metrics.reconciliations.inc({ outcome: 'error' });
        throw err;
      }
    };

    // Wake on every instance's new operations (NOTIFY at commit); the poll covers lost notifications and backoff.
    const unlisten = await options.db.listen(OUTBOX_CHANNEL, () => worker.kick());
    disposers.push(unlisten);
    worker.start();
    disposers.push(() => worker.stop());

    const timers: NodeJS.Timeout[] = [];
    disposers.push(() => timers.forEach((t) => clearInterval(t)));
    const probe = () =>
      provider.health({ timeoutMs: Math.min(options.callTimeoutMs, 5_000) }).then(
        () => health.probed(null),
        (err: unknown) => health.probed(err instanceof Error ? err.message : String(err)),
      );
    void probe();
    timers.push(setInterval(() => void probe(), options.healthProbeMs ?? DEFAULT_HEALTH_PROBE_MS));
    if (options.reconcileIntervalS > 0) {
      let reconciling = false;
      timers.push(
        setInterval(() => {
          if (reconciling) return;
          reconciling = true;
          runReconciliation()
            .catch((err: unknown) => log.warn('periodic payment reconciliation failed', errorFields(err)))
            .finally(() => (reconciling = false));
        }, options.reconcileIntervalS * 1000),
      );
    }
    for (const t of timers) t.unref();

    log.info('payments started', {
      provider: sandbox ? 'embedded sandbox' : 'external',
      callTimeoutMs: options.callTimeoutMs,
      maxAttempts: options.maxAttempts,
    });
    let stopping: Promise<void> | undefined;
    return {
      providerUrl,
      provider,
      sandbox,
      defaultPaymentMethod: (customerId) => service.defaultPaymentMethod(customerId),
      authorizeHold: (input, deadlineMs) => service.authorizeHold(input, deadlineMs),
      enqueueCapture: (tx, input) => service.enqueueCapture(tx, input),
      enqueueVoid: (tx, input) => service.enqueueVoid(tx, input),
      rentalPayments: (rentalId) => service.rentalPayments(rentalId),
      staleHolds: (olderThanMs, limit) => service.staleHolds(olderThanMs, limit),
      reconcile: runReconciliation,
      drainOutbox: () => worker.drain(),
      providerHealth: () => health.view(),
      probeProvider: probe,
      serverListening(httpUrl) {
        sandbox?.setWebhookTarget({ url: `${httpUrl}/webhooks/payments`, secret: webhookSecret });
      },
      async registerRoutes(app, prefix) {
        if (prefix === '/v1') await app.register(paymentMethodRoutes(service), { prefix });
        else if (prefix === '/ops/v1')
          await app.register(staffPaymentRoutes({ service, reconcile: runReconciliation, providerHealth: () => health.view() }, prefix), {
            prefix,
          });
        else if (prefix === '/webhooks') {
          await app.register(
            webhookRoutes({ db: options.db, secret: webhookSecret, log, now, received: (outcome) => metrics.webhooks.inc({ outcome }) }),
            { prefix },
          );
        } else throw new Error(`payments has no routes for ${prefix} (use /v1, /ops/v1 or /webhooks)`);
      },
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function createMetrics(registry: Registry, db: Db, log: Logger) {
  const failed = new Counter({
    name: `${METRIC_PREFIX}payment_operations_failed_total`,
    help: 'Payment operations the outbox gave up on (or the provider refused), by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const settled = new Counter({
    name: `${METRIC_PREFIX}payment_operations_settled_total`,
    help: 'Payment operations completed by this instance’s outbox, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of OPERATION_KINDS) {
    failed.inc({ kind }, 0);
    settled.inc({ kind }, 0);
  }
  new Gauge({
    name: `${METRIC_PREFIX}payment_operations`,
    help: 'Payment operations by status, all instances',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      try {
        const counts = await countOperationsByStatus(db);
        for (const status of OPERATION_STATUSES) this.set({ status }, counts[status]);
      } catch (err) {
        log.warn('counting payment operations failed', errorFields(err));
      }
    },
  });
  return {
    failed,
    settled,
    calls: new Counter({
      name: `${METRIC_PREFIX}payment_provider_calls_total`,
      help: 'Calls to the payment provider, by operation and outcome (ok, declined, rejected, timeout, server_error, network_error, in_progress)',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    callDuration: new Histogram({
      name: `${METRIC_PREFIX}payment_provider_call_duration_seconds`,
      help: 'Payment provider call duration, by operation',
      labelNames: ['operation'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    mismatches: new Gauge({
      name: `${METRIC_PREFIX}payment_reconciliation_mismatches`,
      help: 'Mismatches found by the last reconciliation run on this instance',
      registers: [registry],
    }),
    reconciliations: new Counter({
      name: `${METRIC_PREFIX}payment_reconciliations_total`,
      help: 'Reconciliation runs, by outcome (clean, mismatches, error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: `${METRIC_PREFIX}payment_webhooks_total`,
      help: 'Provider webhooks received, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
