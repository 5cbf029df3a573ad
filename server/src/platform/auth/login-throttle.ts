/**
 * Login throttling with growing delays, in the database so that every instance sees the same counters.
 *
 * Failures are counted per email and per client IP within a window (LOGIN_WINDOW_S from the first failure). The first
 * LOGIN_MAX_FAILURES_PER_EMAIL / _PER_IP failures of a key are free; after that every failure makes the next attempt
 * on that key wait, LOGIN_FIRST_DELAY_S (2 s), then twice as long per failure, up to LOGIN_MAX_DELAY_S. There is no lockout: once the delay has passed the
 * right password logs in, so guessing can slow an account down but never lock its owner out.
 *
 * An attempt is counted before its password is hashed (claim(), one transaction holding both keys' rows), as a
 * failure until the hash says otherwise: 200 guesses sent at once cannot all pass the check while the first are
 * still hashing — only the free ones do, and the rest wait their turn. A success clears the email's counter and
 * gives the IP's attempt back (one address trying many accounts stays slowed down; one office logging in does not).
 */
import type { Db } from '../db/index.js';

export interface LoginThrottleLimits {
  /** failures per email before delays start */
  maxFailuresPerEmail: number;
  /** failures per client IP before delays start */
  maxFailuresPerIp: number;
  /** failures are forgotten this long after the first of a window */
  windowS: number;
  /** the delay after the free failures (it doubles with every further failure) */
  firstDelayS: number;
  /** the longest delay between two attempts on one key */
  maxDelayS: number;
}

export type LoginClaim = { ok: true } | { ok: false; retryAfterS: number };

export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly limits: LoginThrottleLimits,
  ) {}

  /** The delay before the next attempt after `failures` failures on a key whose first `free` are free. */
  delayS(failures: number, free: number): number {
    if (failures < free) return 0;
    return Math.min(this.limits.maxDelayS, this.limits.firstDelayS * 2 ** Math.min(failures - free, 30));
  }

  /**
   * Counts an attempt before its password is checked: refused (with the seconds to wait) while either key is in
   * its delay; otherwise counted as a failure of both keys, and the next attempt's delay set as if it failed.
   */
  async claim(scope: string, email: string, ip: string): Promise<LoginClaim> {
    const keys = this.keys(scope, email, ip);
    return this.db.transaction(async (tx) => {
      await tx.query(
        `insert into login_throttle (key, failures, window_start_at, next_attempt_at)
         select k, 0, now(), now() from unnest($1::text[]) as k on conflict (key) do nothing`,
        [keys.map((k) => k.key)],
      );
      // in key order: two claims lock the same rows in the same order. clock_timestamp(), not now(): a claim that waited
      // for the lock must not compare against the time its transaction began (before the other one set the delay)
      const { rows } = await tx.query<{ key: string; failures: number; expired: boolean; wait_ms: number }>(
        `select key, failures, window_start_at + make_interval(secs => $2::int) <= now() as expired,
                greatest(0, extract(epoch from (next_attempt_at - clock_timestamp())) * 1000)::float8 as wait_ms
           from login_throttle where key = any($1::text[]) order by key for update`,
        [keys.map((k) => k.key), this.limits.windowS],
      );
      const waitMs = Math.max(0, ...rows.filter((r) => !r.expired).map((r) => r.wait_ms));
      if (waitMs > 0) return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
      for (const row of rows) {
        const failures = row.expired ? 1 : row.failures + 1;
        const free = keys.find((k) => k.key === row.key)!.free;
        await tx.query(
          `update login_throttle set failures = $2,
                  window_start_at = case when $3::boolean then now() else window_start_at end,
                  next_attempt_at = case when $4::int > 0 then clock_timestamp() + make_interval(secs => $4::int) else next_attempt_at end
            where key = $1`,
          [row.key, failures, row.expired, this.delayS(failures, free)],
        );
      }
      return { ok: true };
    });
  }

  /** The claimed attempt failed: its delay runs from now (the answer), not from when it was claimed. */
  async confirmFailure(scope: string, email: string, ip: string): Promise<void> {
    for (const { key, free } of this.keys(scope, email, ip)) {
      const { rows } = await this.db.query<{ failures: number }>('select failures from login_throttle where key = $1', [key]);
      if (!rows[0]) continue;
      const delay = this.delayS(rows[0].failures, free);
      if (delay > 0)
        await this.db.query(
          `update login_throttle set next_attempt_at = greatest(next_attempt_at, now() + make_interval(secs => $2::int)) where key = $1`,
          [key, delay],
        );
    }
  }

  /** The claimed attempt was right: the email starts over; the IP gets its attempt back. */
  async recordSuccess(scope: string, email: string, ip: string): Promise<void> {
    const [emailKey, ipKey] = this.keys(scope, email, ip);
    await this.db.query('delete from login_throttle where key = $1', [emailKey!.key]);
    const { rows } = await this.db.query<{ failures: number }>(
      'update login_throttle set failures = greatest(failures - 1, 0) where key = $1 returning failures',
      [ipKey!.key],
    );
    if (rows[0] && this.delayS(rows[0].failures, ipKey!.free) === 0)
      await this.db.query('update login_throttle set next_attempt_at = now() where key = $1', [ipKey!.key]);
  }

  /** Drops windows that have passed (housekeeping). */
  async purgeExpired(): Promise<number> {
    const { rowCount } = await this.db.query(
      `delete from login_throttle where window_start_at + make_interval(secs => $1::int) <= now() and next_attempt_at <= now()`,
      [this.limits.windowS],
    );
    return rowCount;
  }

  private keys(scope: string, email: string, ip: string): Array<{ key: string; free: number }> {
    return [
      { key: `${scope}:email:${email.trim().toLowerCase()}`, free: this.limits.maxFailuresPerEmail },
      { key: `${scope}:ip:${ip}`, free: this.limits.maxFailuresPerIp },
    ];
  }
}
