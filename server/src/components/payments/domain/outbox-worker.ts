/**
 * The payments outbox worker. Operations are rows committed with the change that decided them; this worker (on
 * every server instance) claims due ones with `for update skip locked`, calls the provider under the row's own
 * idempotency key, and records the outcome. No definite answer → the same key again after a backoff (doubling,
 * with jitter); after `maxAttempts` claims the operation is `failed` (counted, logged, listed for staff).
 *
 * Claims are leases: a worker that dies mid-call leaves its operation `in_flight` until the lease runs out, then
 * any instance claims it again — the idempotency key makes the repeat harmless (the provider answers with what
 * it already did). Authorizations are placed by authorizeHold itself; the worker only rescues the ones whose
 * caller vanished without a definite answer (their hold, if any, is voided: no orphan holds).
 */
import { backoffDelay, PLUS_MINUS_20_PERCENT } from '../../../../../src/shared/backoff.js';
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { WorkerLoop } from '../../../platform/worker-loop.js';
import {
  claimAbandonedAuthorizations,
  claimDueOperations,
  countOpenOperations,
  findPaymentOperation,
  getMethod,
  getPayment,
  rescheduleOperation,
  type OperationRecord,
} from '../data/payments.repository.js';
import { abandonAuthorization } from './authorization.js';
import { isUnavailable, ProviderError, type PaymentProvider, type ProviderHold } from '../model.js';
import { settleOperation, type OperationResult } from './settlement.js';

export interface OutboxSettings {
  /** per provider call */
  callTimeoutMs: number;
  /** first retry after this; doubles per attempt up to maxDelayMs */
  retryBaseMs: number;
  maxDelayMs: number;
  /** claims before giving up (→ failed) */
  maxAttempts: number;
  /** provider calls in flight at once on this instance */
  concurrency: number;
  /** background pass at least this often (NOTIFY wakes it sooner) */
  pollMs: number;
}

export interface OutboxObserver {
  failed(op: OperationRecord, error: string): void;
  settled(op: OperationRecord): void;
}

export class OutboxWorker {
  private readonly abort = new AbortController();
  /** background passes: one at a time per instance, another right after if asked meanwhile */
  private readonly loop: WorkerLoop;
  /** every pass under way (background and drain), awaited by stop() */
  private readonly passes = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly provider: PaymentProvider,
    private readonly settings: OutboxSettings,
    private readonly observer: OutboxObserver,
    private readonly log: Logger,
  ) {
    this.loop = new WorkerLoop(
      () => this.pass(false),
      (err) => this.log.error('payments outbox pass failed', errorFields(err)),
    );
  }

  /** The lease of a claim: the longest an execution may take (a void by reference makes up to three calls). */
  get leaseMs(): number {
    return 4 * this.settings.callTimeoutMs + 5_000;
  }

  start(): void {
    this.loop.start(this.settings.pollMs);
  }

  /** Runs a pass soon (coalesced: one pass at a time per instance, another right after if asked meanwhile). */
  kick(): void {
    this.loop.kick();
  }

  /** Until no operation is open: every pending one now, ignoring backoff delays (tests, scripts). */
  async drain(timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.loop.stopped) throw new Error('payments outbox stopped');
      await this.pass(true);
      const open = await countOpenOperations(this.db);
      if (open === 0) return;
      if (Date.now() > deadline) throw new Error(`payments outbox still has ${open} open operations after ${timeoutMs} ms`);
      // what is left is claimed elsewhere (another instance, authorizeHold) or waits for a lease to run out
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    const ended = this.loop.stop();
    this.abort.abort(); // in-flight calls end now; their operations go back to pending (see runOne)
    await Promise.allSettled([...this.passes, ended]);
  }

  private pass(ignoreBackoff: boolean): Promise<void> {
    const run = (async () => {
      await this.rescueAbandonedAuthorizations();
      // One claim for the first batch (an idle pass costs one transaction); each lane then claims on its own.
      const first = await this.claim(this.settings.concurrency, ignoreBackoff);
      await Promise.all(first.map((op) => this.lane(ignoreBackoff, op)));
    })();
    this.passes.add(run);
    void run.catch(() => undefined).finally(() => this.passes.delete(run));
    return run;
  }

  private claim(limit: number, ignoreBackoff: boolean): Promise<OperationRecord[]> {
    return this.db.transaction((tx) => claimDueOperations(tx, { limit, leaseMs: this.leaseMs, ignoreBackoff }));
  }

  /** Then one claim at a time, so a claim's lease starts when its call does. */
  private async lane(ignoreBackoff: boolean, first: OperationRecord): Promise<void> {
    let op: OperationRecord | undefined = first;
    while (op) {
      await this.runOne(op);
      if (this.loop.stopped) return;
      [op] = await this.claim(1, ignoreBackoff);
    }
  }

  private async rescueAbandonedAuthorizations(): Promise<void> {
    const rescued = await this.db.transaction(async (tx) => {
      const ops = await claimAbandonedAuthorizations(tx, 100);
      for (const op of ops) await abandonAuthorization(tx, op, 'no definite answer before the deadline (caller gone)');
      return ops;
    });
    if (rescued.length > 0)
      this.log.warn('abandoned authorizations: their holds will be voided', { payments: rescued.map((op) => op.paymentId) });
  }

  private async runOne(op: OperationRecord): Promise<void> {
    let result: OperationResult;
    try {
      result = await this.execute(op);
    } catch (err) {
      if (this.loop.stopped) {
        // Shutting down: hand the operation back at once instead of waiting for the lease.
        await rescheduleOperation(this.db, op.id, op.attempts, 0, 'interrupted by shutdown').catch(() => undefined);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      if (!isUnavailable(err) && !(err instanceof ProviderError))
        this.log.error('payment operation crashed', { operationId: op.id, ...errorFields(err) });
      if (isUnavailable(err) && op.attempts < this.settings.maxAttempts) {
        // ±20 % so that retries of many operations do not arrive together
        const delay = backoffDelay(op.attempts, {
          initialMs: this.settings.retryBaseMs,
          maxMs: this.settings.maxDelayMs,
          jitter: PLUS_MINUS_20_PERCENT,
        });
        await rescheduleOperation(this.db, op.id, op.attempts, delay, message);
        return;
      }
      result = {
        kind: 'failed',
        error:
          err instanceof ProviderError && err.kind === 'rejected'
            ? `${err.code}: ${message}`
            : `gave up after ${op.attempts} attempts: ${message}`,
      };
    }
    const settled = await this.db.transaction((tx) => settleOperation(tx, op, result));
    if (!settled) return; // someone else (webhook, another instance) recorded it first
    if (result.kind === 'failed') {
      this.observer.failed(op, result.error);
      this.log.error('payment operation failed', {
        operationId: op.id,
        paymentId: op.paymentId,
        kind: op.kind,
        attempts: op.attempts,
        error: result.error,
      });
    } else {
      this.observer.settled(op);
    }
  }

  private async execute(op: OperationRecord): Promise<OperationResult> {
    const payment = await getPayment(this.db, op.paymentId);
    if (!payment) throw new Error(`payment ${op.paymentId} of operation ${op.id} not found`);
    const call = { timeoutMs: this.settings.callTimeoutMs, signal: this.abort.signal };
    switch (op.kind) {
      case 'capture': {
        if (!payment.providerRef) return { kind: 'failed', error: 'no hold to capture' };
        return { kind: 'captured', hold: await this.provider.capture(payment.providerRef, op.amountCents, op.idempotencyKey, call) };
      }
      case 'refund': {
        if (!payment.providerRef) return { kind: 'failed', error: 'no hold to refund' };
        const { refund, hold } = await this.provider.refund(payment.providerRef, op.amountCents, op.idempotencyKey, call);
        return { kind: 'refunded', hold, refundId: refund.id };
      }
      case 'void':
        return this.executeVoid(op, payment.providerRef, payment.id, payment.paymentMethodId, call);
      case 'authorize':
        throw new Error('authorizations are not run by the outbox');
    }
  }

  /**
   * Voids the payment's hold. Without a hold id (the authorization went unanswered) the hold is looked up by our
   * reference; when none is found the authorization is replayed under its own key, which makes the provider's
   * answer definite — it returns the hold it placed, or places it now — and whatever was held is voided.
   */
  private async executeVoid(
    op: OperationRecord,
    holdId: string | null,
    paymentId: string,
    methodId: string,
    call: { timeoutMs: number; signal: AbortSignal },
  ): Promise<OperationResult> {
    if (holdId) return this.voidHold(holdId, op, call);
    const found = await this.provider.findHoldsByReference(paymentId, call);
    let target = found.find((h) => h.status === 'authorized') ?? found[0];
    if (!target) {
      const authorize = await findPaymentOperation(this.db, paymentId, 'authorize');
      const method = await getMethod(this.db, methodId);
      if (!authorize || !method) return { kind: 'voided', hold: null };
      target = await this.provider.authorize(
        {
          paymentMethodId: method.providerMethodId,
          amountCents: authorize.amountCents,
          currency: authorize.currency,
          reference: paymentId,
        },
        authorize.idempotencyKey,
        call,
      );
    }
    if (target.status !== 'authorized') return this.alreadyFinal(target);
    return this.voidHold(target.id, op, call);
  }

  private async voidHold(holdId: string, op: OperationRecord, call: { timeoutMs: number; signal: AbortSignal }): Promise<OperationResult> {
    try {
      return { kind: 'voided', hold: await this.provider.void(holdId, op.idempotencyKey, call) };
    } catch (err) {
      // not authorized any more: look at what it is
      if (err instanceof ProviderError && ['hold_voided', 'hold_declined', 'hold_already_captured'].includes(err.code)) {
        return this.alreadyFinal(await this.provider.getHold(holdId, call));
      }
      throw err;
    }
  }

  private alreadyFinal(hold: ProviderHold): OperationResult {
    if (hold.status === 'captured') return { kind: 'failed', error: `hold ${hold.id} is already captured: cannot void` };
    return { kind: 'voided', hold }; // voided by someone, or declined: nothing is held either way
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
