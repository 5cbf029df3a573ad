-- A reservation or booking in ONE statement (issue 12 §4): the claimant locks, the checks made under them and the
-- insert, in a function the server calls outside any explicit transaction. Before, a claim was BEGIN, the lock,
-- the checks, the insert and COMMIT — five round trips with the car's and the customer's locks held across all
-- of them, so the server sat idle waiting for the database. Now it is one round trip; the statement is its own
-- transaction, so the locks are held from the lock call to its commit, as before.
--
-- Why the checks still cannot race: a VOLATILE plpgsql function takes a fresh snapshot for each statement it runs
-- (READ COMMITTED). The checks run in statements after pg_advisory_xact_lock returned, so they see every claim
-- committed by a transaction that held the same lock before (a transaction releases its locks only after its
-- commit is visible). What the checks refuse is said by `refusal` (nothing written then); an overlap that slips
-- past them is still the exclusion constraint's to refuse (23P01), a second held reservation the unique index's.

-- The claimant locks: hashtextextended of each tagged key ('vehicle:<id>', 'customer:<id>') with one seed, taken
-- in key order in one statement, so two transactions locking overlapping sets never deadlock on them. The one
-- definition of those keys, for the claim function below and for the server's lockClaimants (rentals, staff).
create function fleetdesk_lock_claimants(p_keys text[]) returns void language plpgsql volatile as $$
begin
  -- (the lock calls are evaluated after the sort: PostgreSQL postpones volatile output expressions past ORDER BY)
  perform pg_advisory_xact_lock(k) from (select distinct hashtextextended(x, 7346150003) as k from unnest(p_keys) x) s order by k;
end $$;

-- Claims a car for a customer: locks both, checks, optionally expires the customer's lapsed held reservations,
-- inserts. `refusal` (then `claim` is null and nothing is written):
--   'reservation_limit'  the customer holds p_max_open_reservations running reservations already (null: not checked)
--   'booking_limit'      the customer holds p_max_open_bookings confirmed bookings not yet over (null: not checked)
--   'active_rental'      p_refuse_active_rental and the car is in an active rental (even one overrunning its period)
--   'conflict'           p_refuse_conflict and another open claim on the car meets [p_check_from, p_check_until)
-- checked in that order. Otherwise `claim` is the inserted row (held reservation or confirmed booking).
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
) language plpgsql volatile as $$
begin
  perform fleetdesk_lock_claimants(array['vehicle:' || p_vehicle_id, 'customer:' || p_customer_id]);
  -- (each check leaves lapsed claims out by their end: the expiry below changes none of their answers)
  if p_max_open_reservations is not null and (
       select count(*) from allocations
        where customer_id = p_customer_id and kind = 'reservation' and status = 'held' and ends_at > p_now
     ) >= p_max_open_reservations then
    refusal := 'reservation_limit';
  elsif p_max_open_bookings is not null and (
       select count(*) from allocations
        where customer_id = p_customer_id and kind = 'booking' and status = 'confirmed' and ends_at > p_now
     ) >= p_max_open_bookings then
    refusal := 'booking_limit';
  elsif p_refuse_active_rental and exists (select 1 from allocations where vehicle_id = p_vehicle_id and status = 'active') then
    refusal := 'active_rental';
  elsif p_refuse_conflict and exists (
       select 1 from allocations
        where vehicle_id = p_vehicle_id and status in ('held', 'confirmed', 'active')
          and period && tstzrange(p_check_from, p_check_until, '[)')
     ) then
    refusal := 'conflict';
  end if;
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
