-- A reservation or booking in ONE statement, checks included (issue 12 §4). After 027 a claim was still five
-- statements: the customer, the payment method, the tariff and the car's state read side by side, then
-- fleetdesk_claim. Each was parsed and planned afresh by PostgreSQL and carried by the server's driver — four fifths
-- of the claim's statements, and a large part of its CPU on both sides, for reads. fleetdesk_claim_checked makes the
-- same reads inside one function (plpgsql keeps their plans per connection), refuses in the same order, and then
-- claims through fleetdesk_claim (027; below, its checks made by one statement).
--
-- The refusals, checked in this order (the first one answers; nothing is written then):
--   'customer_unknown'         no such customer                                    → 401 unauthorized
--   'customer_blocked'         the customer is blocked                             → 403 customer_blocked
--   'licence_not_verified'     the licence's effective status is not 'verified'    → 403 licence_not_verified
--                              (`licence_status` says which: a verified licence past its expiry date counts as
--                              'expired', as the customers component's effectiveLicenceStatus says)
--   'payment_method_required'  no active payment method                            → 402 payment_method_required
--   'vehicle_not_found'        no such car                                         → 404 vehicle_not_found
--   'tariff_unknown'           the car has no tariff in force at p_tariff_at: the server types the car (or answers
--                              500 tariff_missing, as loadTariff does) and calls again
--   'maintenance'              the car is not in service                           → 409 vehicle_unavailable
--   'offline'                  p_needs_online and the car is offline, has no position, or was last heard before
--                              p_listable_since (the fleet component's liveness: heartbeat timeout, broker outage
--                              excused)                                            → 409 vehicle_unavailable
--   then fleetdesk_claim's: 'reservation_limit', 'booking_limit', 'active_rental', 'conflict' (under the claimant
--   locks), and its constraint errors (23P01, 23505).
-- These reads come before the claimant locks, as before: nothing that changes them takes those locks.
--
-- `tariff` is the tariff version in force at p_tariff_at (now when null) with the type's free hold, keyed like the
-- pricing component's Tariff; p_store_tariff_version stores its id with the claim (bookings are charged with it).

-- fleetdesk_claim (027) as it was, its four checks made by one statement instead of one each (every statement a
-- plpgsql function runs starts and ends an executor: a good part of a claim's CPU). A CASE evaluates its branches
-- in order and stops at the first that holds, so the checks and their order are 027's; the statement starts after
-- the locks are granted, so its snapshot sees every claim committed under them.
create or replace function fleetdesk_claim(
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
) language plpgsql volatile as $$
begin
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
                   where vehicle_id = p_vehicle_id and status in ('held', 'confirmed', 'active')
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
          tstzrange(p_period_start, p_period_end, '[)'), p_starts_at, p_ends_at, p_now, p_now, p_tariff_version_id,
          fleetdesk_next_seq())
  returning * into claim;
end $$;

-- the rental a reservation or booking turned into (every read of a claim asks): an index instead of a scan
create index allocations_source_idx on allocations (source_id) where source_id is not null;

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
  p_store_tariff_version boolean,
  p_expire_reservations boolean,
  p_max_open_reservations int,
  p_max_open_bookings int,
  p_refuse_active_rental boolean,
  p_refuse_conflict boolean,
  p_check_from timestamptz,
  p_check_until timestamptz,
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
  f record;
begin
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

  select * into f
    from fleetdesk_claim(p_id, p_kind, p_vehicle_id, p_customer_id, p_period_start, p_period_end, p_starts_at, p_ends_at,
                         p_now, case when p_store_tariff_version then tariff ->> 'versionId' end, p_expire_reservations,
                         p_max_open_reservations, p_max_open_bookings, p_refuse_active_rental, p_refuse_conflict,
                         p_check_from, p_check_until);
  refusal := f.refusal;
  claim := f.claim;
end $$;
