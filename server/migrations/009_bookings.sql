-- Bookings (issue 5): vehicle types and their tariffs, and ONE allocation table for reservations, bookings and
-- rentals, so that a single exclusion constraint guarantees that no two claims on one vehicle overlap in time —
-- under any concurrency, across any number of server instances (the database decides, not application code).
--
-- CHANGED by bookings-core (tell rentals): added `starts_at`/`ends_at` (the customer's own window of a reservation
-- or booking — for a booking lower(period) is NOT startsAt, see the buffer below); the partial unique indexes
-- `allocations_one_held_reservation_per_customer` and `allocations_one_active_rental_per_vehicle` (SQLSTATE 23505,
-- answer 409); a trigger that clears vehicles.vehicle_type_id when make/model/energy_type change (the type is
-- derived again), and `vehicles_untyped_idx`.
--
-- How the kinds hold a car (period = tstzrange, lower bound inclusive, upper exclusive; B = BOOKING_BUFFER_MIN,
-- default 15):
--   reservation  [created, created + hold)            free hold RESERVATION_HOLD_MIN (default 15 min), up to
--                                                     RESERVATION_MAX_HOLD_MIN (60) with the tariff's fee beyond
--   booking      [max(startsAt − B, booked at), endsAt)   starts_at/ends_at keep the customer's window; the period
--                                                     also covers the B minutes before it, so two bookings are at
--                                                     least B apart and whoever drives before a booking has B of slack
--   rental       [startedAt, returnBy)  while active  returnBy = lower(period) of the car's next claim (i.e. the next
--                                                     booking's start minus B), or 'infinity' when nothing follows
--                [startedAt, least(endedAt, returnBy))  once ended (ended_at keeps the real end)
-- Open-ended active rental vs future booking: while a car is rented with nothing booked after it, its period runs
-- to 'infinity', so booking that car for any later window answers 409 (we cannot know when it comes back); a
-- booking made BEFORE the rental started stays valid and caps the rental: the renter is told `returnBy`.
-- A rental overrunning its returnBy keeps the car (one active rental per vehicle, unique index): reservations and
-- rentals of that car are refused until it ends; the booking after it is the one that suffers (ops sees it).
-- A reservation also needs the car free for RESERVATION_MIN_DRIVE (15 min) after its hold (checked under the
-- replication lock that every allocation write takes), so a reservation is always good for a real trip.
-- Rows stop blocking when they leave the blocking statuses (cancelled, expired, converted into a rental).
-- A reservation whose period has passed no longer overlaps anything new even before the sweeper marks it expired.

create extension if not exists btree_gist;

create table vehicle_types (
  id          text primary key check (char_length(id) between 1 and 100),
  name        text not null,
  make        text not null,
  model       text not null,
  propulsion  text not null check (propulsion in ('combustion', 'electric')),
  max_range_m integer not null check (max_range_m > 0),
  updated_at  timestamptz not null default now()
);

-- Prices in integer minor units of `currency`.
create table tariffs (
  vehicle_type_id                  text primary key references vehicle_types (id),
  currency                         text not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
  per_minute_driving_cents         integer not null check (per_minute_driving_cents >= 0),
  per_minute_parked_cents          integer not null check (per_minute_parked_cents >= 0),
  included_km                      integer not null check (included_km >= 0),
  per_km_cents                     integer not null check (per_km_cents >= 0),
  daily_cap_cents                  integer not null check (daily_cap_cents >= 0),
  free_hold_minutes                integer not null default 15 check (free_hold_minutes >= 0),
  reservation_fee_per_minute_cents integer not null check (reservation_fee_per_minute_cents >= 0),
  updated_at                       timestamptz not null default now()
);

alter table vehicles add column vehicle_type_id text references vehicle_types (id);

create table allocations (
  id             text primary key check (char_length(id) between 1 and 100),
  kind           text not null check (kind in ('reservation', 'booking', 'rental')),
  vehicle_id     text not null references vehicles (id),
  customer_id    text not null references customers (id),
  status         text not null check (status in ('held', 'confirmed', 'active', 'ended', 'converted', 'cancelled', 'expired')),
  period         tstzrange not null check (not isempty(period) and not lower_inf(period)),
  -- a rental started from a reservation or a booking points at it
  source_id      text references allocations (id),
  -- reservation: created → expires; booking: the customer's startsAt → endsAt (lower(period) may be earlier: buffer)
  starts_at      timestamptz,
  ends_at        timestamptz,
  cancel_reason  text check (char_length(cancel_reason) <= 2000),
  cancelled_by   text,
  -- rental details (null for reservations and bookings)
  started_at     timestamptz,
  ended_at       timestamptz,
  return_by      timestamptz,
  start_odometer_km double precision,
  end_odometer_km   double precision,
  start_lat      double precision,
  start_lon      double precision,
  end_lat        double precision,
  end_lon        double precision,
  payment_id     text,
  unlock_command_id text,
  lock_command_id   text,
  -- (rentals) a start attempt's lease on a reservation/booking: POST /v1/rentals claims the row before placing the
  -- payment hold and unlocking, so two concurrent starts of one reservation never both unlock the car (any
  -- instance). Not replicated business fields; cleared on conversion or when the attempt fails.
  start_attempt_id         text,
  start_attempt_expires_at timestamptz,
  -- the price breakdown (pricing domain) stored with the rental, and its total
  price          jsonb,
  total_cents    integer check (total_cents >= 0),
  currency       text check (currency ~ '^[A-Z]{3}$'),
  ended_by       text,
  end_reason     text check (char_length(end_reason) <= 2000),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  server_seq     bigint not null,
  check ((kind = 'reservation' and status in ('held', 'converted', 'cancelled', 'expired'))
      or (kind = 'booking' and status in ('confirmed', 'converted', 'cancelled', 'expired'))
      or (kind = 'rental' and status in ('active', 'ended'))),
  check (kind <> 'rental' or started_at is not null),
  check (kind = 'rental' or (starts_at is not null and ends_at is not null and ends_at > starts_at)),
  constraint allocations_no_overlap exclude using gist (vehicle_id with =, period with &&)
    where (status in ('held', 'confirmed', 'active', 'ended'))
);
create index allocations_server_seq_idx on allocations (server_seq);
create index allocations_customer_idx on allocations (customer_id, created_at desc);
create index allocations_vehicle_idx on allocations (vehicle_id, lower(period) desc);
create index allocations_open_idx on allocations (kind, status) where status in ('held', 'confirmed', 'active');
-- one open reservation per customer (expired-but-unswept rows are expired first, in the same transaction)
create unique index allocations_one_held_reservation_per_customer on allocations (customer_id) where kind = 'reservation' and status = 'held';
-- a car overrunning its returnBy no longer overlaps the next claim's period: this keeps it at one active rental
create unique index allocations_one_active_rental_per_vehicle on allocations (vehicle_id) where status = 'active';

-- Vehicle types are derived from make/model/energy_type (bookings component: at start and every second for
-- vehicles registered later); a registry change of those fields clears the type so it is derived again.
create index vehicles_untyped_idx on vehicles (id) where vehicle_type_id is null;
create function fleetdesk_vehicle_type_reset() returns trigger language plpgsql as $$
begin
  if (new.make, new.model, new.energy_type) is distinct from (old.make, old.model, old.energy_type) then
    new.vehicle_type_id := null;
  end if;
  return new;
end $$;
create trigger vehicles_type_reset before update of make, model, energy_type on vehicles for each row execute function fleetdesk_vehicle_type_reset();

create table damage_reports (
  id          text primary key,
  rental_id   text not null references allocations (id),
  customer_id text not null references customers (id),
  text        text not null check (char_length(text) between 1 and 4000),
  -- [{file, contentType, bytes, sha256}] stored under <DATA_DIR>/damage-reports/<rental_id>/
  photos      jsonb not null default '[]'::jsonb,
  created_at  timestamptz not null default now()
);
create index damage_reports_rental_idx on damage_reports (rental_id, created_at);

create trigger allocations_sync_notify after insert or update or delete on allocations for each statement execute function fleetdesk_sync_notify('rentals');
create trigger allocations_sync_tombstone after delete on allocations for each row execute function fleetdesk_sync_tombstone('rentals', 'id');
create trigger allocations_sync_untombstone after insert on allocations for each row execute function fleetdesk_sync_untombstone('rentals', 'id');
