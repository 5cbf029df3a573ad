-- Abuse limits (issue 13 §4, §9): the counters of @fastify/rate-limit's store (platform/http/abuse-limits.ts), in the
-- database so that every server instance counts against the same limit. One row per limit and client: the key is
-- the SHA-256 of "<limit>:<scope>:<value>" (no e-mail address or IP address is stored), `hits` the requests in the
-- window that ends at `resets_at`. One atomic upsert per request; rows past `resets_at` are deleted now and then.
create table rate_limit_counters (
  key       text primary key,
  hits      integer not null,
  resets_at timestamptz not null
);
create index rate_limit_counters_resets_at_idx on rate_limit_counters (resets_at);

-- Sign-up without account enumeration (issue 13 §9): a sign-up answers the same whether or not the address is a
-- customer's. A new address gets a pending sign-up and a confirmation link by e-mail; the account exists once the
-- link's token comes back (POST /v1/auth/verify-email). A taken address gets a notice to its owner instead.
create table customer_signups (
  email         text not null check (char_length(email) between 3 and 254),
  name          text not null check (char_length(name) between 1 and 200),
  phone         text not null check (char_length(phone) <= 40),
  password_hash text not null,
  -- SHA-256 of the token mailed to the address (the token itself is only in the mail)
  token_hash    text not null,
  expires_at    timestamptz not null,
  created_at    timestamptz not null default now()
);
create unique index customer_signups_email_idx on customer_signups (lower(email));
create index customer_signups_expires_at_idx on customer_signups (expires_at);

-- Mails to customers, written in the transaction that decides to send them, delivered after it commits.
create table mail_outbox (
  id           text primary key,
  to_address   text not null check (char_length(to_address) between 3 and 254),
  kind         text not null check (kind in ('verify_email', 'signup_notice')),
  subject      text not null,
  body         text not null,
  created_at   timestamptz not null default now(),
  delivered_at timestamptz
);
create index mail_outbox_pending_idx on mail_outbox (created_at) where delivered_at is null;
