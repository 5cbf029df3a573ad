/**
 * The sweeper: marks reservations whose hold ended and bookings whose window ended (no-shows) `expired`. An
 * expired hold is harmless before that (its period lies in the past), so this is bookkeeping for the customer's
 * and staff's views and the replica — every instance may run it; the guarded UPDATE (row locks) makes each row
 * expire once.
 */
import { errorFields, type Logger } from '../../../platform/log.js';
import { expireDue, hasDue, type ExpiredClaim } from '../data/allocations.repository.js';
import { announce, type ClaimDeps } from './bookings-rules.js';

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ExpiredClaim[]> | undefined;

  constructor(
    private readonly deps: ClaimDeps,
    private readonly log: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.log.warn('expiry sweep failed; will retry', errorFields(err)));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Expires what is due now; returns the rows it expired. */
  sweep(): Promise<ExpiredClaim[]> {
    return (this.running ??= this.run().finally(() => (this.running = undefined)));
  }

  private async run(): Promise<ExpiredClaim[]> {
    const now = this.deps.now();
    if (!(await hasDue(this.deps.db, now))) return [];
    const expired = await expireDue(this.deps.db, now);
    for (const e of expired) announce(this.deps, { ...e, status: 'expired' });
    if (expired.length > 0) this.log.debug('reservations/bookings expired', { count: expired.length });
    return expired;
  }
}
