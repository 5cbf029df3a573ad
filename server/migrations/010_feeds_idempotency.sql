-- Feeds and platform (issue 5): Idempotency-Key records for the HTTP API, and the GBFS vehicle-id rotation.

-- One row per (scope, key): scope = principal + method + route template (platform/http/idempotency.ts), so two
-- customers, or two routes, never share a key. The primary key is what makes one request win across every server
-- instance: whoever inserts the row executes; everyone else replays, or is told 409/422.
create table idempotency_keys (
  scope            text not null check (char_length(scope) between 1 and 1000),
  key              text not null check (char_length(key) between 1 and 255),
  -- sha256 (hex) of the canonical request (path params, query, body)
  fingerprint      text not null check (char_length(fingerprint) = 64),
  state            text not null check (state in ('in_flight', 'done')),
  -- the executing request; its lock expires so a crashed instance never blocks retries for good
  lock_token       text,
  locked_until     timestamptz,
  status_code      integer check (status_code between 100 and 599),
  -- the replayed subset of the response headers (content-type, location, ...)
  response_headers jsonb,
  response_body    text,
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null,
  primary key (scope, key),
  check ((state = 'in_flight' and lock_token is not null and locked_until is not null)
      or (state = 'done' and status_code is not null and response_body is not null))
);
create index idempotency_keys_expires_idx on idempotency_keys (expires_at);

-- GBFS vehicle ids rotate after every rental (the public id is HMAC(secret, vehicle id + rotation)), so a trip
-- cannot be followed from one feed snapshot to the next. The counter lives here so every instance publishes the
-- same id; `last_rental_id` makes a repeated `rental.ended` for the same rental a no-op.
create table gbfs_vehicle_rotations (
  vehicle_id     text primary key references vehicles (id) on delete cascade,
  rotation       integer not null check (rotation >= 0),
  last_rental_id text,
  updated_at     timestamptz not null default now()
);

-- One row: the HMAC secret, created by the first instance that starts (insert ... on conflict do nothing).
create table gbfs_settings (
  id                integer primary key default 1 check (id = 1),
  vehicle_id_secret text not null check (char_length(vehicle_id_secret) >= 32),
  created_at        timestamptz not null default now()
);
