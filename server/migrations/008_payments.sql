-- Payments (issue 5): customers' payment methods (tokenized by the provider), one payment per rental hold, the
-- outbox of provider operations (executed with retries under a fixed idempotency key each), and the provider's
-- webhooks (deduplicated by event id). Payments know rentals only by the id handed to authorizeHold (no FK:
-- this file runs before the allocations table exists, and payments must not depend on bookings).

create table payment_methods (
  id                 text primary key check (char_length(id) between 1 and 100),
  customer_id        text not null references customers (id),
  provider_method_id text not null unique,
  brand              text not null check (char_length(brand) between 1 and 40),
  last4              text not null check (last4 ~ '^[0-9]{4}$'),
  -- removed methods stay (payments reference them) but are never offered or used again
  status             text not null default 'active' check (status in ('active', 'removed')),
  created_at         timestamptz not null default now(),
  removed_at         timestamptz
);
create index payment_methods_customer_idx on payment_methods (customer_id, created_at desc) where status = 'active';

-- Amounts in integer minor units of `currency`.
--   authorizing → authorized → capture_pending → captured       (the usual way)
--   authorizing → declined                                      (the provider said no)
--   authorizing → void_pending → voided                         (no definite answer before the deadline: whatever
--                                                                the provider may have held is released)
--   authorized  → void_pending → voided                         (enqueueVoid: the rental did not start)
--   capture_pending | void_pending → failed                     (the outbox gave up: staff must look)
create table payments (
  id                text primary key check (char_length(id) between 1 and 100),
  rental_id         text not null check (char_length(rental_id) between 1 and 100),
  customer_id       text not null references customers (id),
  payment_method_id text not null references payment_methods (id),
  -- the caller's key for authorizeHold: the same key returns this payment again
  idempotency_key   text not null unique check (char_length(idempotency_key) between 1 and 255),
  currency          text not null check (currency ~ '^[A-Z]{3}$'),
  requested_cents   integer not null check (requested_cents > 0),
  held_cents        integer not null default 0 check (held_cents >= 0),
  captured_cents    integer not null default 0 check (captured_cents >= 0),
  refunded_cents    integer not null default 0 check (refunded_cents >= 0),
  -- price above the hold that could not be captured (collected some other way; shown to staff)
  shortfall_cents   integer not null default 0 check (shortfall_cents >= 0),
  status            text not null check (status in ('authorizing', 'authorized', 'declined', 'capture_pending', 'captured', 'void_pending', 'voided', 'failed')),
  provider_ref      text,
  decline_reason    text,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  check (captured_cents <= held_cents),
  check (refunded_cents <= captured_cents)
);
-- At most one live hold per rental (declined/voided/failed attempts may precede it).
create unique index payments_live_rental_idx on payments (rental_id) where status in ('authorizing', 'authorized', 'capture_pending', 'captured');
create index payments_rental_idx on payments (rental_id, created_at);
create index payments_provider_ref_idx on payments (provider_ref);

-- The outbox: one row per provider operation. It is written in the transaction that decides the operation
-- (the rental's end, a staff refund) and executed afterwards by a worker on any instance, with retries under the
-- row's own idempotency key — so a timeout is retried without ever charging twice.
create table payment_operations (
  id              text primary key check (char_length(id) between 1 and 100),
  payment_id      text not null references payments (id),
  kind            text not null check (kind in ('authorize', 'capture', 'void', 'refund')),
  amount_cents    integer not null check (amount_cents >= 0),
  currency        text not null check (currency ~ '^[A-Z]{3}$'),
  idempotency_key text not null unique check (char_length(idempotency_key) between 1 and 255),
  status          text not null check (status in ('pending', 'in_flight', 'succeeded', 'failed')),
  attempts        integer not null default 0 check (attempts >= 0),
  -- pending: when to try next; in_flight: until when the claim holds (a crashed worker's claim runs out)
  next_attempt_at timestamptz not null default now(),
  last_error      text,
  provider_ref    text,
  created_by      text not null,
  reason          text check (char_length(reason) <= 2000),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  completed_at    timestamptz
);
create index payment_operations_due_idx on payment_operations (next_attempt_at) where status in ('pending', 'in_flight');
create index payment_operations_payment_idx on payment_operations (payment_id, created_at);
create index payment_operations_failed_idx on payment_operations (updated_at desc) where status = 'failed';
-- One authorization, one capture and one void per payment, whoever asks twice.
create unique index payment_operations_single_idx on payment_operations (payment_id, kind) where kind in ('authorize', 'capture', 'void');

create table webhook_events (
  id          text primary key check (char_length(id) between 1 and 255),
  type        text not null,
  payload     jsonb not null,
  outcome     text not null,
  received_at timestamptz not null default now()
);
create index webhook_events_received_idx on webhook_events (received_at);

-- Wakes the outbox worker on every instance when work is queued (delivered at commit; PostgreSQL folds the
-- identical notifications of one transaction into one). Authorizations are run by their caller, not the worker.
create function fleetdesk_payments_outbox_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('fleetdesk_payment_outbox', '');
  return null;
end $$;
create trigger payment_operations_notify after insert on payment_operations for each row when (new.kind <> 'authorize')
  execute function fleetdesk_payments_outbox_notify();
