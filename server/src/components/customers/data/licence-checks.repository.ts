/**
 * SQL for licence checks (`licence_checks`): the durable queue of the licence worker. A check is claimed with
 * `for update skip locked` (several instances share the queue) and a lease: the claim raises `attempts` and
 * pushes `next_attempt_at` past the provider timeout, so a check whose worker died is picked up again later.
 * Results are written only by the claim that is still current (same attempt, still pending).
 */
import type { Db, Queryable } from '../../../platform/db/index.js';

export type LicenceCheckStatus = 'pending' | 'verified' | 'rejected' | 'expired' | 'superseded';

export interface ClaimedCheck {
  id: string;
  customerId: string;
  customerName: string;
  number: string;
  country: string;
  expiresOn: string;
  attempt: number;
}

/** Supersedes the customer's pending checks and queues a new one (in the caller's transaction). */
export async function insertCheck(
  tx: Queryable,
  check: { customerId: string; number: string; country: string; expiresOn: string; status: 'pending' | 'expired'; reason?: string },
): Promise<string> {
  await tx.query(`update licence_checks set status = 'superseded', finished_at = now() where customer_id = $1 and status = 'pending'`, [
    check.customerId,
  ]);
  const { rows } = await tx.query<{ id: string }>(
    `insert into licence_checks (customer_id, number, country, expires_on, status, reason, finished_at)
     values ($1, $2, $3, $4::date, $5, $6, case when $5 = 'pending' then null else now() end)
     returning id::text as id`,
    [check.customerId, check.number, check.country, check.expiresOn, check.status, check.reason ?? null],
  );
  return rows[0]!.id;
}

export async function claimDueChecks(db: Db, limit: number, leaseMs: number): Promise<ClaimedCheck[]> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      id: string;
      customer_id: string;
      name: string;
      number: string;
      country: string;
      expires_on: string;
      attempts: number;
    }>(
      `with due as (
         select id from licence_checks where status = 'pending' and next_attempt_at <= now()
          order by next_attempt_at limit $1 for update skip locked
       )
       update licence_checks l set attempts = l.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::float8 / 1000)
         from due, customers c
        where l.id = due.id and c.id = l.customer_id
       returning l.id::text as id, l.customer_id, c.name, l.number, l.country, to_char(l.expires_on, 'YYYY-MM-DD') as expires_on, l.attempts`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({
      id: r.id,
      customerId: r.customer_id,
      customerName: r.name,
      number: r.number,
      country: r.country,
      expiresOn: r.expires_on,
      attempt: r.attempts,
    }));
  });
}

/** Records the provider's answer; false when this claim is no longer current (superseded, or claimed again). */
export async function finishCheck(
  tx: Queryable,
  check: ClaimedCheck,
  status: 'verified' | 'rejected',
  reason: string | null,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `update licence_checks set status = $3, reason = $4, finished_at = now(), last_error = null where id = $1::bigint and attempts = $2 and status = 'pending'`,
    [check.id, check.attempt, status, reason],
  );
  return rowCount === 1;
}

/** A failed attempt: try again after `retryInMs` (unless this claim is no longer current). */
export async function failAttempt(db: Queryable, check: ClaimedCheck, error: string, retryInMs: number): Promise<void> {
  await db.query(
    `update licence_checks set last_error = $3, next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)
      where id = $1::bigint and attempts = $2 and status = 'pending'`,
    [check.id, check.attempt, error.slice(0, 500), retryInMs],
  );
}

export async function latestCheck(
  db: Queryable,
  customerId: string,
): Promise<{ id: string; status: LicenceCheckStatus; attempts: number; lastError: string | null } | null> {
  const { rows } = await db.query<{ id: string; status: LicenceCheckStatus; attempts: number; last_error: string | null }>(
    `select id::text as id, status, attempts, last_error from licence_checks where customer_id = $1 order by id desc limit 1`,
    [customerId],
  );
  const row = rows[0];
  return row ? { id: row.id, status: row.status, attempts: row.attempts, lastError: row.last_error } : null;
}
