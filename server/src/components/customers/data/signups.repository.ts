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

/** Mails still pending that were written at least `olderThanMs` ago (by any instance), oldest first. */
export async function pendingMails(db: Queryable, limit: number, olderThanMs: number): Promise<OutboxMail[]> {
  const { rows } = await db.query<{ id: string; to_address: string; kind: CustomerMailKind; subject: string; body: string }>(
    `select id, to_address, kind, subject, body from mail_outbox
      where delivered_at is null and created_at < now() - $2::int * interval '1 millisecond'
      order by created_at limit $1`,
    [limit, olderThanMs],
  );
  return rows.map((r) => ({ id: r.id, to: r.to_address, kind: r.kind, subject: r.subject, body: r.body }));
}

/** Delivered: the body (a confirmation token) is not kept beyond delivery. */
export async function markDelivered(db: Queryable, id: string): Promise<void> {
  await db.query(`update mail_outbox set delivered_at = now(), body = '' where id = $1`, [id]);
}
