-- Identity (issue 5): customers (replicated to support desktops: server_seq) with their driver licence and its
-- checks, staff accounts, password credentials, refresh tokens, login throttling and the token signing secret.
-- Secrets (password hashes, refresh-token hashes) live in their own tables, never in a replicated row.

create table customers (
  id                 text primary key check (char_length(id) between 1 and 100),
  email              text not null check (char_length(email) between 3 and 254),
  name               text not null check (char_length(name) between 1 and 200),
  phone              text not null check (char_length(phone) <= 40),
  status             text not null default 'active' check (status in ('active', 'blocked')),
  blocked_reason     text check (char_length(blocked_reason) <= 2000),
  -- the driver licence as last submitted; `licence_status` is what the last check said ('expired' is also
  -- computed on read once licence_expires_on has passed)
  licence_number     text check (char_length(licence_number) between 1 and 40),
  licence_country    text check (licence_country ~ '^[A-Z]{2}$'),
  licence_expires_on date,
  licence_status     text not null default 'none' check (licence_status in ('none', 'pending', 'verified', 'rejected', 'expired')),
  licence_reason     text check (char_length(licence_reason) <= 500),
  licence_checked_at timestamptz,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  server_seq         bigint not null
);
create unique index customers_email_idx on customers (lower(email));
create index customers_server_seq_idx on customers (server_seq);
create index customers_licence_number_idx on customers (lower(licence_number));

create table customer_credentials (
  customer_id   text primary key references customers (id) on delete cascade,
  password_hash text not null,
  updated_at    timestamptz not null default now()
);

-- One row per submitted licence; the worker claims due pending rows (for update skip locked, so several
-- instances share the work) and retries provider failures with backoff. Survives restarts: the state is here.
create table licence_checks (
  id              bigint generated always as identity primary key,
  customer_id     text not null references customers (id) on delete cascade,
  number          text not null,
  country         text not null,
  expires_on      date not null,
  status          text not null check (status in ('pending', 'verified', 'rejected', 'expired', 'superseded')),
  reason          text,
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error      text,
  created_at      timestamptz not null default now(),
  finished_at     timestamptz
);
create index licence_checks_due_idx on licence_checks (next_attempt_at) where status = 'pending';
create index licence_checks_customer_idx on licence_checks (customer_id, id desc);

create table staff_accounts (
  id            text primary key check (id ~ '^[A-Za-z0-9_.@-]{1,100}$'),
  email         text not null check (char_length(email) between 3 and 254),
  name          text not null check (char_length(name) between 1 and 200),
  role          text not null check (role in ('dispatcher', 'support', 'admin')),
  password_hash text not null,
  active        boolean not null default true,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create unique index staff_accounts_email_idx on staff_accounts (lower(email));

-- Opaque refresh tokens, stored as sha256 only. Each refresh rotates (rotated_at set, a new row in the same
-- family); presenting a rotated token again revokes the whole family (stolen-token detection).
create table refresh_tokens (
  token_hash   text primary key,
  family_id    text not null,
  subject_kind text not null check (subject_kind in ('customer', 'staff')),
  subject_id   text not null,
  created_at   timestamptz not null default now(),
  expires_at   timestamptz not null,
  rotated_at   timestamptz,
  revoked_at   timestamptz
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_expires_idx on refresh_tokens (expires_at);

-- Failed-login counters (fixed windows) shared by every instance: key = '<scope>:email:<lower email>' or
-- '<scope>:ip:<address>'.
create table login_throttle (
  key             text primary key,
  failures        integer not null,
  window_start_at timestamptz not null
);

-- The access-token signing secret when AUTH_SECRET is not configured: generated once, shared by every instance.
create table auth_secrets (
  name       text primary key,
  secret     text not null,
  created_at timestamptz not null default now()
);

-- The desktop replica's `customers` collection wakes streams like every replicated table (006_sync.sql).
create trigger customers_sync_notify after insert or update or delete on customers for each statement execute function fleetdesk_sync_notify('customers');
