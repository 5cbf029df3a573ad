-- Tariff versions (issue 14, admin: tariffs). A vehicle type's prices are a list of versions, each in force from
-- its `effective_from` until the next one's. A version is never changed once used (in force, or quoted to a
-- booking): a change is a new version effective from now or later; a version not yet in force and not quoted may
-- be withdrawn (`withdrawn_at`), which is how it is replaced. A rental is priced with the version its claim was
-- priced with: `allocations.tariff_version_id`, set on a booking when it is quoted (the version in force at the
-- booked start) and on a rental when it starts (its booking's version, else the one in force at the start).
--
-- `tariffs` keeps one row per type for what is not versioned: the free reservation hold (a platform setting,
-- RESERVATION_HOLD_MIN) and the figures a brand-new type starts with; every type's first version (effective from
-- -infinity) is copied from it, here for the existing types and by the pricing component for new ones.

create table tariff_versions (
  id                               text primary key check (char_length(id) between 1 and 100),
  vehicle_type_id                  text not null references vehicle_types (id),
  effective_from                   timestamptz not null,
  currency                         text not null check (currency ~ '^[A-Z]{3}$'),
  per_minute_driving_cents         integer not null check (per_minute_driving_cents >= 0),
  per_minute_parked_cents          integer not null check (per_minute_parked_cents >= 0),
  included_km                      integer not null check (included_km >= 0),
  per_km_cents                     integer not null check (per_km_cents >= 0),
  daily_cap_cents                  integer not null check (daily_cap_cents >= 0),
  reservation_fee_per_minute_cents integer not null check (reservation_fee_per_minute_cents >= 0),
  created_by                       text not null,
  created_at                       timestamptz not null default now(),
  withdrawn_at                     timestamptz,
  withdrawn_by                     text
);
-- one live version per type and start time (a withdrawn one leaves its slot free)
create unique index tariff_versions_type_from_idx on tariff_versions (vehicle_type_id, effective_from) where withdrawn_at is null;

insert into tariff_versions (id, vehicle_type_id, effective_from, currency, per_minute_driving_cents, per_minute_parked_cents,
                             included_km, per_km_cents, daily_cap_cents, reservation_fee_per_minute_cents, created_by)
select 'tv_' || vehicle_type_id || '_1', vehicle_type_id, '-infinity', currency, per_minute_driving_cents, per_minute_parked_cents,
       included_km, per_km_cents, daily_cap_cents, reservation_fee_per_minute_cents, 'system'
  from tariffs;

alter table allocations add column tariff_version_id text references tariff_versions (id);
