-- Less PostgreSQL CPU per reservation (issue 12 §4). Measured on bench:api's database (pg_stat_statements with
-- nested statements, a perf profile of one backend making 2,000 claims in a row):
--
-- 1. A claim was two plpgsql functions, one inside the other: fleetdesk_claim_checked (029) read the customer and
--    the car, then ran `select * from fleetdesk_claim(…)` (027/029). The inner call cost ~0.12 ms beyond the
--    statements it ran (of ~0.6 ms per claim): a second function's entry, its statement's executor, and the claim
--    row handed back as a composite and unpacked again. Now ONE function makes the whole claim;
--    fleetdesk_claim (same signature and answers as before) is a thin SQL wrapper around it with the customer's
--    and the car's checks turned off.
-- 2. The exclusion constraint's key was the text vehicle id (btree_gist's gbt_text): every claim searched the gist
--    twice — the conflict check and the constraint's own check — detoasting and comparing text keys on every
--    entry visited (gistgettuple ~10 % of the backend's CPU; ~0.036 ms per lookup against ~0.010 for the key
--    below, same data). The key is now hashtextextended(vehicle_id, 0), an int8: the constraint still refuses two
--    overlapping blocking claims on one car (the same car gives the same hash), under any concurrency, across
--    instances. Two DIFFERENT cars with the same 64-bit hash would also exclude each other (a needless 409, never
--    a double booking): for n cars the chance that any two collide is about n² / 2^65 — 1e-11 for 20,000 cars.
--    The hash of text is the one PostgreSQL uses for hash partitioning (stable across platforms; a major upgrade
--    that changed it would need a REINDEX, as hash partitions would). The conflict check finds a car's open
--    claims through the same key (a text-only `vehicle_id =` cannot use the index any more; other readers by car
--    have allocations_vehicle_idx).
-- 3. Statistics: the claim's checks are planned once per connection from the table's statistics. When autovacuum
--    analyzes `allocations` at a moment when nothing is held (a quiet night), the plans believe that no row is
--    held, take the partial index allocations_open_idx for every check (`Rows Removed by Filter` = every held
--    claim) and keep doing so until the next analyze — which, by default, waits for 10 % of the table to change.
--    The table is analyzed after 1,000 changed rows instead (autovacuum visits at most once per naptime, 1 min;
--    an analyze samples at most 30,000 rows whatever the table's size), which bounds that window to about a
--    minute once claims are made again.

alter table allocations drop constraint allocations_no_overlap;
alter table allocations add constraint allocations_no_overlap
  exclude using gist (hashtextextended(vehicle_id, 0) with =, period with &&)
  where (status in ('held', 'confirmed', 'active', 'ended'));

alter table allocations set (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);

drop function fleetdesk_claim_checked(text, text, text, text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz,
  boolean, boolean, int, int, boolean, boolean, timestamptz, timestamptz, timestamptz, boolean, timestamptz);
drop function fleetdesk_claim(text, text, text, text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text,
  boolean, int, int, boolean, boolean, timestamptz, timestamptz);

-- A reservation or booking, everything in one function (one statement for the server, its own transaction):
--   with p_checks, first 029's checks of the customer and the car (read before the claimant locks: nothing that
--   changes them takes those locks) — refusals 'customer_unknown', 'customer_blocked', 'licence_not_verified'
--   (`licence_status` says which), 'payment_method_required', 'vehicle_not_found', 'tariff_unknown' (the server
--   types the car and calls again), 'maintenance', 'offline' (p_needs_online: offline, no position, or last heard
--   before p_listable_since) — and `tariff`, the tariff version in force at p_tariff_at (now when null) with the
--   type's free hold; the claim stores its id when p_store_tariff_version;
--   without p_checks, none of that, and the claim stores p_tariff_version_id;
-- then 027's claim: the car's and the customer's claimant locks (fleetdesk_lock_claimants), under them the checks
-- 'reservation_limit', 'booking_limit', 'active_rental', 'conflict' (one statement, in that order, after the locks
-- are granted so its snapshot sees every claim committed under them), the customer's lapsed holds expired
-- (p_expire_reservations), and the insert: `claim` is the new row (held reservation or confirmed booking). The
-- first refusal answers and nothing is written; an overlap that slips past the checks is still the exclusion
-- constraint's to refuse (23P01), a second held reservation the unique index's (23505).
create function fleetdesk_claim_checked(
  p_id text,
  p_kind text,
  p_vehicle_id text,
  p_customer_id text,
  p_period_start timestamptz,
  p_period_end timestamptz,
  p_starts_at timestamptz,
  p_ends_at timestamptz,
  p_now timestamptz,
  p_tariff_version_id text,
  p_expire_reservations boolean,
  p_max_open_reservations int,
  p_max_open_bookings int,
  p_refuse_active_rental boolean,
  p_refuse_conflict boolean,
  p_check_from timestamptz,
  p_check_until timestamptz,
  p_checks boolean,
  p_store_tariff_version boolean,
  p_tariff_at timestamptz,
  p_needs_online boolean,
  p_listable_since timestamptz,
  out refusal text,
  out licence_status text,
  out tariff jsonb,
  out claim allocations
) language plpgsql volatile as $$
declare
  c record;
  v record;
  v_tariff_version_id text := p_tariff_version_id;
begin
  if p_checks then
    select cu.status, cu.licence_status, cu.licence_expires_on,
           exists (select 1 from payment_methods pm where pm.customer_id = cu.id and pm.status = 'active') as has_payment_method
      into c from customers cu where cu.id = p_customer_id;
    if not found then
      refusal := 'customer_unknown';
      return;
    end if;
    if c.status = 'blocked' then
      refusal := 'customer_blocked';
      return;
    end if;
    licence_status := case
      when c.licence_status = 'verified' and c.licence_expires_on < (p_now at time zone 'UTC')::date then 'expired'
      else c.licence_status end;
    if licence_status <> 'verified' then
      refusal := 'licence_not_verified';
      return;
    end if;
    if not c.has_payment_method then
      refusal := 'payment_method_required';
      return;
    end if;

    select ve.service_state, s.online, s.received_at, (s.lat is not null and s.lon is not null) as has_position,
           (select jsonb_build_object(
                     'versionId', tv.id, 'vehicleTypeId', tv.vehicle_type_id, 'currency', tv.currency,
                     'perMinuteDrivingCents', tv.per_minute_driving_cents, 'perMinuteParkedCents', tv.per_minute_parked_cents,
                     'includedKm', tv.included_km, 'perKmCents', tv.per_km_cents, 'dailyCapCents', tv.daily_cap_cents,
                     'freeHoldMinutes', t.free_hold_minutes, 'reservationFeePerMinuteCents', tv.reservation_fee_per_minute_cents)
              from tariffs t join tariff_versions tv on tv.vehicle_type_id = t.vehicle_type_id
             where t.vehicle_type_id = ve.vehicle_type_id and tv.withdrawn_at is null
               and tv.effective_from <= coalesce(p_tariff_at, now())
             order by tv.effective_from desc limit 1) as tariff
      into v
      from vehicles ve left join vehicle_state s on s.vehicle_id = ve.id
     where ve.id = p_vehicle_id;
    if not found then
      refusal := 'vehicle_not_found';
      return;
    end if;
    if v.tariff is null then
      refusal := 'tariff_unknown';
      return;
    end if;
    tariff := v.tariff;
    if coalesce(v.service_state, 'available') <> 'available' then
      refusal := 'maintenance';
      return;
    end if;
    if p_needs_online and (v.online is not true or v.received_at is null or v.received_at < p_listable_since
                           or not v.has_position) then
      refusal := 'offline';
      return;
    end if;
    v_tariff_version_id := case when p_store_tariff_version then tariff ->> 'versionId' end;
  end if;

  perform fleetdesk_lock_claimants(array['vehicle:' || p_vehicle_id, 'customer:' || p_customer_id]);
  -- (each check leaves lapsed claims out by their end: the expiry below changes none of their answers)
  select case
           when p_max_open_reservations is not null and (
                  select count(*) from allocations
                   where customer_id = p_customer_id and kind = 'reservation' and status = 'held' and ends_at > p_now
                ) >= p_max_open_reservations then 'reservation_limit'
           when p_max_open_bookings is not null and (
                  select count(*) from allocations
                   where customer_id = p_customer_id and kind = 'booking' and status = 'confirmed' and ends_at > p_now
                ) >= p_max_open_bookings then 'booking_limit'
           when p_refuse_active_rental and exists (
                  select 1 from allocations where vehicle_id = p_vehicle_id and status = 'active'
                ) then 'active_rental'
           when p_refuse_conflict and exists (
                  select 1 from allocations
                   where hashtextextended(vehicle_id, 0) = hashtextextended(p_vehicle_id, 0) and vehicle_id = p_vehicle_id
                     and status in ('held', 'confirmed', 'active')
                     and period && tstzrange(p_check_from, p_check_until, '[)')
                ) then 'conflict'
         end
    into refusal;
  if refusal is not null then
    return;
  end if;
  if p_expire_reservations then
    -- the customer's lapsed holds leave 'held' first (one held reservation per customer: unique index), unless a
    -- rental start still holds its lease on one
    update allocations set status = 'expired', updated_at = p_now, server_seq = fleetdesk_next_seq()
     where customer_id = p_customer_id and kind = 'reservation' and status = 'held' and ends_at <= p_now
       and (start_attempt_expires_at is null or start_attempt_expires_at <= p_now);
  end if;
  insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, created_at, updated_at,
                           tariff_version_id, server_seq)
  values (p_id, p_kind, p_vehicle_id, p_customer_id, case when p_kind = 'reservation' then 'held' else 'confirmed' end,
          tstzrange(p_period_start, p_period_end, '[)'), p_starts_at, p_ends_at, p_now, p_now, v_tariff_version_id,
          fleetdesk_next_seq())
  returning * into claim;
end $$;

-- 027's claim alone (the caller has checked the customer and the car): the same parameters and answers as before.
create function fleetdesk_claim(
  p_id text,
  p_kind text,
  p_vehicle_id text,
  p_customer_id text,
  p_period_start timestamptz,
  p_period_end timestamptz,
  p_starts_at timestamptz,
  p_ends_at timestamptz,
  p_now timestamptz,
  p_tariff_version_id text,
  p_expire_reservations boolean,
  p_max_open_reservations int,
  p_max_open_bookings int,
  p_refuse_active_rental boolean,
  p_refuse_conflict boolean,
  p_check_from timestamptz,
  p_check_until timestamptz,
  out refusal text,
  out claim allocations
) language sql volatile as $$
  select f.refusal, f.claim
    from fleetdesk_claim_checked(p_id, p_kind, p_vehicle_id, p_customer_id, p_period_start, p_period_end, p_starts_at,
                                 p_ends_at, p_now, p_tariff_version_id, p_expire_reservations, p_max_open_reservations,
                                 p_max_open_bookings, p_refuse_active_rental, p_refuse_conflict, p_check_from,
                                 p_check_until, false, false, null, false, null) f
$$;
