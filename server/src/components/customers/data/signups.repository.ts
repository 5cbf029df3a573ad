/** Pending sign-ups (an address not confirmed yet) and the customer mail outbox (migration 024). */
import type { CustomerMailKind } from '../../../../../src/shared/sandbox-mailbox.js';
import type { Queryable } from '../../../platform/db/index.js';

export interface PendingSignup {
  email: string;
  name: string;
  phone: string;
  passwordHash: string;
  tokenHash: string;
  ttlMs: number;
}

/** A new pending sign-up, or the address's earlier one replaced (only the mailbox's owner can confirm either). */
export async function upsertSignup(tx: Queryable, s: PendingSignup): Promise<void> {
  await tx.query(`delete from customer_signups where expires_at < now()`);
  await tx.query(
    `insert into customer_signups (email, name, phone, password_hash, token_hash, expires_at)
     values ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')
     on conflict (lower(email)) do update set email = excluded.email, name = excluded.name, phone = excluded.phone,
       password_hash = excluded.password_hash, token_hash = excluded.token_hash, expires_at = excluded.expires_at, created_at = now()`,
    [s.email, s.name, s.phone, s.passwordHash, s.tokenHash, s.ttlMs],
  );
}

/** Takes the address's pending sign-up if the token is its own and still valid (deleted: a token works once). */
export async function takeSignup(
  tx: Queryable,
  email: string,
  tokenHash: string,
): Promise<{ email: string; name: string; phone: string; passwordHash: string } | null> {
  const { rows } = await tx.query<{ email: string; name: string; phone: string; password_hash: string }>(
    `delete from customer_signups where lower(email) = lower($1) and token_hash = $2 and expires_at > now()
     returning email, name, phone, password_hash`,
    [email.trim(), tokenHash],
  );
  const row = rows[0];
  return row ? { email: row.email, name: row.name, phone: row.phone, passwordHash: row.password_hash } : null;
}

export async function emailTaken(db: Queryable, email: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from customers where lower(email) = lower($1)', [email.trim()]);
  return rows.length > 0;
}

export interface OutboxMail {
  id: string;
  to: string;
  kind: CustomerMailKind;
  subject: string;
  body: string;
}

export async function enqueueMail(tx: Queryable, mail: OutboxMail): Promise<void> {
  await tx.query(`insert into mail_outbox (id, to_address, kind, subject, body) values ($1, $2, $3, $4, $5)`, [
    mail.id,
    mail.to,
    mail.kind,
    mail.subject,
    mail.body,
  ]);
}

/** A mail taken for delivery: `attempt` is this delivery's number (1 = the first), also the mail's `attempts` now. */
export interface ClaimedMail extends OutboxMail {
  attempt: number;
}

/**
 * Claims up to `limit` mails due now (by any instance), oldest first: retries whose time has come, and mails never
 * tried that were written more than `leftBehindMs` ago (younger ones are their writer's to deliver). The claim
 * raises `attempts` and leases the mail for `leaseMs` (`for update skip locked`: instances never take the same one).
 */
export async function claimDueMails(db: Queryable, limit: number, leftBehindMs: number, leaseMs: number): Promise<ClaimedMail[]> {
  const { rows } = await db.query<{
    id: string;
    to_address: string;
    kind: CustomerMailKind;
    subject: string;
    body: string;
    attempts: number;
  }>(
    `with due as (
       select id from mail_outbox
        where delivered_at is null and failed_at is null
          and coalesce(next_attempt_at, created_at + $2::float8 * interval '1 millisecond') <= now()
        order by coalesce(next_attempt_at, created_at) limit $1 for update skip locked
     )
     update mail_outbox m set attempts = m.attempts + 1, next_attempt_at = now() + $3::float8 * interval '1 millisecond'
       from due where m.id = due.id
     returning m.id, m.to_address, m.kind, m.subject, m.body, m.attempts`,
    [limit, leftBehindMs, leaseMs],
  );
  return rows.map((r) => ({ id: r.id, to: r.to_address, kind: r.kind, subject: r.subject, body: r.body, attempt: r.attempts }));
}

/**
 * The end of one delivery attempt, written only while the attempt is still the mail's latest (its claim was not
 * overtaken): delivered, retried after `retryInMs`, or failed for good. Delivered and failed mails lose their body
 * (a confirmation code is not kept beyond its delivery). `claimed` is the attempt count the claim left on the mail
 * (0: the writer's own first attempt, made without a claim). False when the attempt was overtaken (nothing written).
 */
export async function recordAttempt(
  db: Queryable,
  id: string,
  claimed: number,
  outcome: { delivered: true } | { delivered: false; error: string; retryInMs?: number },
): Promise<boolean> {
  const guard = `id = $1 and delivered_at is null and failed_at is null and attempts = $2`;
  const attempts = Math.max(claimed, 1);
  const { rows } = outcome.delivered
    ? await db.query(`update mail_outbox set delivered_at = now(), body = '', attempts = $3 where ${guard} returning id`, [
        id,
        claimed,
        attempts,
      ])
    : outcome.retryInMs === undefined
      ? await db.query(`update mail_outbox set failed_at = now(), body = '', attempts = $3, last_error = $4 where ${guard} returning id`, [
          id,
          claimed,
          attempts,
          outcome.error.slice(0, 500),
        ])
      : await db.query(
          `update mail_outbox set attempts = $3, last_error = $4, next_attempt_at = now() + $5::float8 * interval '1 millisecond'
            where ${guard} returning id`,
          [id, claimed, attempts, outcome.error.slice(0, 500), outcome.retryInMs],
        );
  return rows.length > 0;
}
