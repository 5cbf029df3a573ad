/**
 * Mails to customers: written to the outbox in the transaction that decides to send them, delivered after it
 * commits by the instance that wrote them (and by any instance's sweep — at start and at the next mail — once one has
 * been pending for MAIL_LEFT_BEHIND_MS: a crash or a failed delivery left it behind).
 *
 * Delivery goes to the sandbox mailbox (src/shared/sandbox-mailbox.ts) — kept in memory for tests and, with a data
 * directory, appended to `<DATA_DIR>/sandbox-mailbox/<address>.jsonl` (0600) for `npm start`'s simulated customers.
 * There is no adapter to a real mail provider yet: a production deployment needs one (README "Running in production").
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SANDBOX_MAILBOX_DIR, sandboxMailboxFile, type SandboxMail } from '../../../../../src/shared/sandbox-mailbox.js';
import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/log.js';
import { errorFields } from '../../../platform/log.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../../platform/private-files.js';
import { markDelivered, pendingMails, type OutboxMail } from '../data/signups.repository.js';

export interface MailDelivery {
  deliver(mail: OutboxMail): Promise<void>;
}

/** The sandbox mailbox: every mail kept in memory (tests read it), and written to `dir` when there is one. */
export class SandboxMailbox implements MailDelivery {
  private readonly mails: SandboxMail[] = [];

  constructor(private readonly dataDir: string | undefined) {}

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
 * How old a pending mail must be before any instance's sweep delivers it: younger ones are being delivered by the
 * instance that wrote them (into its own mailbox, once), older ones were left behind by a crash or a failure.
 */
export const MAIL_LEFT_BEHIND_MS = 30_000;

export class MailOutbox {
  private running: Promise<number> | undefined;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly delivery: MailDelivery,
    private readonly log: Logger,
    private readonly leftBehindMs = MAIL_LEFT_BEHIND_MS,
  ) {}

  /** A mail this instance just committed to the outbox: delivered at once, by this instance only. */
  send(mail: OutboxMail): void {
    const p: Promise<void> = this.deliverOne(mail).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * Waits for this instance's own deliveries, then delivers what was left behind (pending for longer than
   * `leftBehindMs`); one sweep at a time (a call during a sweep runs it once more after it).
   */
  async deliverPending(): Promise<number> {
    await Promise.all([...this.inFlight]);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.deliverPending();
      }
    });
    return this.running;
  }

  private async deliverOne(mail: OutboxMail): Promise<void> {
    try {
      await this.delivery.deliver(mail);
      await markDelivered(this.db, mail.id);
    } catch (err) {
      // left pending: a sweep delivers it once it counts as left behind
      this.log.warn('mail delivery failed', errorFields(err));
    }
  }

  private async run(): Promise<number> {
    let delivered = 0;
    try {
      for (const mail of await pendingMails(this.db, 100, this.leftBehindMs)) {
        await this.delivery.deliver(mail);
        await markDelivered(this.db, mail.id);
        delivered++;
      }
    } catch (err) {
      // left pending: the next sweep delivers it
      this.log.warn('mail delivery failed', errorFields(err));
    }
    return delivered;
  }
}
