/**
 * Processes pending licence checks from the database queue: claims due checks, asks the provider (with a
 * timeout), writes the decision onto the customer (replicated: new server_seq) or schedules a retry with
 * exponential backoff (base LICENCE_RETRY_BASE_MS, doubling, at most 5 min; retried until the provider answers).
 * Polls every second and is woken at once by a submission on this instance; all state is in the database, so a
 * restart or another instance resumes where this one stopped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { METRIC_PREFIX } from '../../../platform/metrics.js';
import { WorkerLoop } from '../../../platform/worker-loop.js';
import { setLicenceOutcome } from '../data/customers.repository.js';
import { claimDueChecks, failAttempt, finishCheck, type ClaimedCheck } from '../data/licence-checks.repository.js';
import type { LicenceCheckProvider } from './licence-provider.js';

export interface LicenceWorkerOptions {
  db: Db;
  provider: LicenceCheckProvider;
  log: Logger;
  metrics: Registry;
  timeoutMs: number;
  retryBaseMs: number;
  pollIntervalMs?: number;
  batchSize?: number;
}

const MAX_RETRY_MS = 300_000;

export interface LicenceProviderHealth {
  /** failed calls since the last answer */
  consecutiveFailures: number;
  lastError: string | null;
  /** epoch ms */
  lastAnswerAt: number | null;
  lastFailureAt: number | null;
}

export class LicenceWorker {
  private readonly loop: WorkerLoop;
  private readonly inFlight = new Set<AbortController>();
  private readonly checks: Counter<'outcome'>;
  private readonly providerUp: Gauge;
  private readonly health: LicenceProviderHealth = { consecutiveFailures: 0, lastError: null, lastAnswerAt: null, lastFailureAt: null };

  constructor(private readonly options: LicenceWorkerOptions) {
    this.checks = new Counter({
      name: `${METRIC_PREFIX}licence_checks_total`,
      help: 'Licence check outcomes on this instance: verified, rejected, expired (no provider call), provider_error (retried)',
      labelNames: ['outcome'],
      registers: [options.metrics],
    });
    this.providerUp = new Gauge({
      name: `${METRIC_PREFIX}licence_provider_up`,
      help: '1 when the last licence-provider call answered, 0 when it failed or timed out',
      registers: [options.metrics],
    });
    this.providerUp.set(1);
    this.loop = new WorkerLoop(
      () => this.pass(),
      (err) => {
        if (!this.loop.stopped) this.options.log.error('licence worker pass failed', errorFields(err));
      },
    );
  }

  /** counts a check that ended without a provider call (licence already expired at submission) */
  countExpired(): void {
    this.checks.inc({ outcome: 'expired' });
  }

  start(): void {
    this.loop.start(this.options.pollIntervalMs ?? 1_000);
  }

  /** Runs a pass now (coalesced: a pass already running runs once more afterwards). */
  kick(): void {
    this.loop.kick();
  }

  /** How the provider answered the last calls of this instance (integration health). */
  providerHealth(): LicenceProviderHealth {
    return { ...this.health };
  }

  /** Processes every due check until none is left (tests). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  async stop(): Promise<void> {
    const ended = this.loop.stop();
    // In-flight calls are abandoned: their claims lapse after the lease and another pass (or instance) retries.
    for (const controller of this.inFlight) controller.abort();
    await ended;
  }

  /** One batch of due checks; true when there was one (then the loop goes again at once). */
  private async pass(): Promise<boolean> {
    const claimed = await claimDueChecks(this.options.db, this.options.batchSize ?? 10, this.options.timeoutMs + 5_000);
    if (claimed.length === 0) return false;
    await Promise.all(claimed.map((check) => this.process(check)));
    return true;
  }

  private async process(check: ClaimedCheck): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    try {
      const decision = await this.options.provider.check(
        { checkId: check.id, number: check.number, country: check.country, expiresOn: check.expiresOn, holderName: check.customerName },
        controller.signal,
      );
      if (decision.outcome !== 'verified' && decision.outcome !== 'rejected') throw new Error(`provider answered an unknown outcome`);
      this.providerUp.set(1);
      Object.assign(this.health, { consecutiveFailures: 0, lastAnswerAt: Date.now() });
      const reason = decision.outcome === 'rejected' ? (decision.reason ?? 'rejected by the licence provider').slice(0, 500) : null;
      const applied = await this.options.db.transaction(async (tx) => {
        if (!(await finishCheck(tx, check, decision.outcome, reason))) return false;
        await setLicenceOutcome(tx, check.customerId, decision.outcome, reason);
        return true;
      });
      if (applied) {
        this.checks.inc({ outcome: decision.outcome });
        this.options.log.info('licence checked', {
          customerId: check.customerId,
          checkId: check.id,
          outcome: decision.outcome,
          attempt: check.attempt,
        });
      }
    } catch (err) {
      if (this.loop.stopped) return;
      this.providerUp.set(0);
      this.checks.inc({ outcome: 'provider_error' });
      const retryInMs = backoffDelay(check.attempt, { initialMs: this.options.retryBaseMs, maxMs: MAX_RETRY_MS, maxExponent: 20 });
      const message = controller.signal.aborted
        ? `no answer within ${this.options.timeoutMs} ms`
        : err instanceof Error
          ? err.message
          : String(err);
      Object.assign(this.health, {
        consecutiveFailures: this.health.consecutiveFailures + 1,
        lastError: message,
        lastFailureAt: Date.now(),
      });
      this.options.log.warn('licence provider failed; will retry', {
        checkId: check.id,
        attempt: check.attempt,
        retryInMs,
        error: message,
      });
      await failAttempt(this.options.db, check, message, retryInMs).catch((e: unknown) =>
        this.options.log.error('recording a licence retry failed', errorFields(e)),
      );
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}
