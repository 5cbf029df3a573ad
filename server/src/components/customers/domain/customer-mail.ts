/**
 * Mails to customers: written to the outbox in the transaction that decides to send them, delivered after it
 * commits by the instance that wrote them; any instance's sweep (a timer, at start and at the next mail) takes the
 * retries that are due and the mails pending for MAIL_LEFT_BEHIND_MS without an attempt (their writer crashed).
 *
 * Delivery goes through a MailDelivery: SMTP (smtp-mail.ts, MAIL_SMTP_URL) or the sandbox mailbox
 * (src/shared/sandbox-mailbox.ts, development) — kept in memory for tests and, with a data directory, appended to
 * `<DATA_DIR>/sandbox-mailbox/<address>.jsonl` (0600) for `npm start`'s simulated customers.
 *
 * A failed delivery is either transient (the server unreachable, a timeout, a 4xx answer: retried with backoff from
 * MAIL_RETRY_BASE_MS, up to MAIL_MAX_ATTEMPTS) or a refusal of the mail itself (MailRejectedError, a 5xx answer to
 * its recipient or content: failed at once). Either way the mail ends delivered or failed, counted in
 * `fleetdesk_mail_deliveries_total{outcome}`; nothing throws out of the outbox.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { backoffDelay } from '../../../../../src/shared/backoff.js';
import { SANDBOX_MAILBOX_DIR, sandboxMailboxFile, type SandboxMail } from '../../../../../src/shared/sandbox-mailbox.js';
import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/log.js';
import { errorFields } from '../../../platform/log.js';
import { METRIC_PREFIX } from '../../../platform/metrics.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../../platform/private-files.js';
import { WorkerLoop } from '../../../platform/worker-loop.js';
import { claimDueMails, recordAttempt, type OutboxMail } from '../data/signups.repository.js';

export interface MailDelivery {
  /** Resolves once the provider took the mail; throws MailRejectedError when it refused this mail for good. */
  deliver(mail: OutboxMail): Promise<void>;
  /** What it delivers to, safe for logs (no password). */
  readonly description: string;
  close?(): Promise<void> | void;
}

/** The provider refused this mail for good (e.g. 550 no such mailbox): retrying would get the same answer. */
export class MailRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailRejectedError';
  }
}

/** The sandbox mailbox: every mail kept in memory (tests read it), and written to `dir` when there is one. */
export class SandboxMailbox implements MailDelivery {
  private readonly mails: SandboxMail[] = [];
  readonly description: string;

  constructor(private readonly dataDir: string | undefined) {
    this.description = `the sandbox mailbox (${dataDir === undefined ? 'memory' : join(dataDir, SANDBOX_MAILBOX_DIR)})`;
  }

  async deliver(mail: OutboxMail): Promise<void> {
    const line: SandboxMail = { to: mail.to, kind: mail.kind, subject: mail.subject, body: mail.body, sentAt: Date.now() };
    if (this.dataDir !== undefined) {
      const dir = await ensurePrivateDir(join(this.dataDir, SANDBOX_MAILBOX_DIR));
      await appendFile(join(dir, sandboxMailboxFile(mail.to)), `${JSON.stringify(line)}\n`, { mode: PRIVATE_FILE_MODE });
    }
    this.mails.push(line);
  }

  /** The mails delivered to `address`, oldest first. */
  read(address: string): SandboxMail[] {
    const key = address.trim().toLowerCase();
    return this.mails.filter((m) => m.to.trim().toLowerCase() === key);
  }
}

/**
 * How old a never-tried mail must be before any instance's sweep delivers it: younger ones are being delivered by the
 * instance that wrote them (once), older ones were left behind by a crash.
 */
export const MAIL_LEFT_BEHIND_MS = 30_000;
const MAX_RETRY_MS = 300_000;

export interface MailOutboxOptions {
  /** first retry after a transient failure (doubling, up to 5 min) */
  retryBaseMs?: number;
  /** attempts before a transiently failing mail is given up */
  maxAttempts?: number;
  leftBehindMs?: number;
  /** how long a claimed mail stays with the sweep that took it (longer than one delivery can take) */
  leaseMs?: number;
  /** how often the sweep looks for due mails */
  pollIntervalMs?: number;
  metrics?: Registry;
}

export type MailOutcome = 'delivered' | 'retry' | 'failed';

export class MailOutbox {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly loop: WorkerLoop;
  private readonly deliveries: Counter<'outcome'>;
  private readonly settings: Required<Omit<MailOutboxOptions, 'metrics'>>;
  private delivered = 0;

  constructor(
    private readonly db: Db,
    private readonly delivery: MailDelivery,
    private readonly log: Logger,
    options: MailOutboxOptions = {},
  ) {
    this.settings = {
      retryBaseMs: options.retryBaseMs ?? 2_000,
      maxAttempts: options.maxAttempts ?? 10,
      leftBehindMs: options.leftBehindMs ?? MAIL_LEFT_BEHIND_MS,
      leaseMs: options.leaseMs ?? 120_000,
      pollIntervalMs: options.pollIntervalMs ?? 5_000,
    };
    this.deliveries = new Counter({
      name: `${METRIC_PREFIX}mail_deliveries_total`,
      help: 'Customer mail delivery attempts on this instance: delivered, retry (a transient failure, tried again later), failed (refused for good or out of attempts)',
      labelNames: ['outcome'],
      registers: [options.metrics ?? new Registry()],
    });
    this.loop = new WorkerLoop(
      () => this.sweep(),
      (err) => {
        if (!this.loop.stopped) this.log.warn('mail sweep failed; the next one tries again', errorFields(err));
      },
    );
  }

  /** Sweeps now and every pollIntervalMs (retries that are due, mails left behind). */
  start(): void {
    this.loop.start(this.settings.pollIntervalMs);
  }

  /** A mail this instance just committed to the outbox: delivered at once, by this instance only. */
  send(mail: OutboxMail): void {
    const p: Promise<void> = this.attempt(mail, 0).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * Waits for this instance's own deliveries, then sweeps until nothing is due; the number of mails this outbox
   * delivered meanwhile (tests).
   */
  async deliverPending(): Promise<number> {
    const before = this.delivered;
    await Promise.all([...this.inFlight]);
    await this.loop.drain();
    return this.delivered - before;
  }

  /** A sweep now (coalesced with a running one). */
  kick(): void {
    this.loop.kick();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all([...this.inFlight]);
    await this.delivery.close?.();
  }

  /** One batch of due mails, delivered one after another; true when the batch was full (the loop goes again). */
  private async sweep(): Promise<boolean> {
    const batch = 20;
    const claimed = await claimDueMails(this.db, batch, this.settings.leftBehindMs, this.settings.leaseMs);
    for (const mail of claimed) {
      if (this.loop.stopped) break; // the lease lapses: a later sweep (here or elsewhere) takes it
      await this.attempt(mail, mail.attempt);
    }
    return claimed.length === batch;
  }

  /** One delivery attempt and its outcome in the outbox; never throws. `claimed`: see recordAttempt. */
  private async attempt(mail: OutboxMail, claimed: number): Promise<void> {
    const attempt = Math.max(claimed, 1);
    let outcome: MailOutcome;
    let error = '';
    let refused = false;
    try {
      await this.delivery.deliver(mail);
      outcome = 'delivered';
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      refused = err instanceof MailRejectedError;
      outcome = refused || attempt >= this.settings.maxAttempts ? 'failed' : 'retry';
    }
    const retryInMs = backoffDelay(attempt, { initialMs: this.settings.retryBaseMs, maxMs: MAX_RETRY_MS });
    try {
      const recorded = await recordAttempt(
        this.db,
        mail.id,
        claimed,
        outcome === 'delivered'
          ? { delivered: true }
          : outcome === 'failed'
            ? { delivered: false, error }
            : { delivered: false, error, retryInMs },
      );
      if (!recorded) {
        this.log.warn('mail attempt overtaken by another sweep (its lease ran out); its outcome is not recorded', {
          mailId: mail.id,
          attempt,
        });
        return;
      }
    } catch (err) {
      // the outcome is lost: the mail stays pending and is tried again once its lease or left-behind time passes
      this.log.warn('mail outcome not recorded (database); it will be tried again', { mailId: mail.id, attempt, ...errorFields(err) });
      return;
    }
    this.deliveries.inc({ outcome });
    if (outcome === 'delivered') this.delivered++;
    else if (outcome === 'retry')
      this.log.warn('mail delivery failed; retried later', { mailId: mail.id, kind: mail.kind, attempt, retryInMs, error });
    else
      this.log.error('mail delivery failed for good', {
        mailId: mail.id,
        kind: mail.kind,
        attempt,
        reason: refused ? 'refused by the mail provider' : 'out of attempts',
        error,
      });
  }
}
