/**
 * Login rate limiting: failed attempts counted per email and per client IP in fixed windows, in the database so
 * that every instance sees the same counters. At the limit, further attempts are refused (429 with Retry-After)
 * before any password is checked, whether or not the password would have been right. A success clears the
 * email's counter (not the IP's: one address trying many accounts stays limited).
 */
import type { Db } from '../db/index.js';

export interface LoginThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerIp: number;
  windowS: number;
}

export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly limits: LoginThrottleLimits,
  ) {}

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  async retryAfterS(scope: string, email: string, ip: string): Promise<number> {
    const { rows } = await this.db.query<{ key: string; failures: number; remaining_s: number }>(
      `select key, failures, ceil(extract(epoch from (window_start_at + make_interval(secs => $2::int) - now())))::int as remaining_s
         from login_throttle where key = any($1::text[]) and window_start_at + make_interval(secs => $2::int) > now()`,
      [[emailKey(scope, email), ipKey(scope, ip)], this.limits.windowS],
    );
    let wait = 0;
    for (const row of rows) {
      const max = row.key.startsWith(`${scope}:email:`) ? this.limits.maxFailuresPerEmail : this.limits.maxFailuresPerIp;
      if (row.failures >= max) wait = Math.max(wait, Math.max(1, row.remaining_s));
    }
    return wait;
  }

  async recordFailure(scope: string, email: string, ip: string): Promise<void> {
    // A window that has passed starts over at 1; otherwise the counter goes up.
    await this.db.query(
      `insert into login_throttle (key, failures, window_start_at)
       select k, 1, now() from unnest($1::text[]) as k
       on conflict (key) do update set
         failures = case when login_throttle.window_start_at + make_interval(secs => $2::int) <= now() then 1 else login_throttle.failures + 1 end,
         window_start_at = case when login_throttle.window_start_at + make_interval(secs => $2::int) <= now() then now() else login_throttle.window_start_at end`,
      [[emailKey(scope, email), ipKey(scope, ip)], this.limits.windowS],
    );
  }

  async recordSuccess(scope: string, email: string): Promise<void> {
    await this.db.query('delete from login_throttle where key = $1', [emailKey(scope, email)]);
  }

  /** Drops windows that have passed (housekeeping). */
  async purgeExpired(): Promise<number> {
    const { rowCount } = await this.db.query(`delete from login_throttle where window_start_at + make_interval(secs => $1::int) <= now()`, [
      this.limits.windowS,
    ]);
    return rowCount;
  }
}

const emailKey = (scope: string, email: string) => `${scope}:email:${email.trim().toLowerCase()}`;
const ipKey = (scope: string, ip: string) => `${scope}:ip:${ip}`;
