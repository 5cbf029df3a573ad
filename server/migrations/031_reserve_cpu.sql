-- Less PostgreSQL CPU per reservation (issue 12 bar 4), measured on bench:api's database and in isolation.
--
-- 1. Idempotency-Key (platform/http/idempotency.ts). A keyed request was three transactions: the key taken as in
--    flight, the handler's claim, the response stored — each with its own synchronous commit. On this machine a
--    synchronous commit costs the backend ~0.1–0.15 ms of CPU (the WAL write and fdatasync; a one-row insert
--    alone ~0.01–0.02 ms), and the key's two statements were parsed and planned afresh on every request.
--    fleetdesk_idempotency_begin takes the key in one prepared statement — or, when it is taken, reads the row
--    that holds it in the same round trip (before: a second statement) — and commits WITHOUT waiting for the
--    WAL flush (synchronous_commit off for that transaction only). That loses nothing: the in-flight row only
--    keeps a second execution of the same request out. Whatever the request then makes durable — the handler's
--    own writes (a claim), the stored response — commits synchronously later, and a synchronous commit flushes
--    the whole WAL up to its own record, this row's commit included (the WAL is one sequence). So after a crash
--    either the key row survived, or nothing that the request did survived either, and a retry executing again
--    is what the client would get had the request never arrived. The response is still stored with a
--    synchronous commit (a replay after a crash must find it).

create function fleetdesk_idempotency_begin(
  p_scope text,
  p_key text,
  p_fingerprint text,
  p_token text,
  p_lock_ms integer,
  p_retention_ms bigint,
  out claimed boolean,
  out taken_over boolean,
  out fingerprint text,
  out state text,
  out locked boolean,
  out status_code integer,
  out response_headers jsonb,
  out response_body text
) language plpgsql volatile as $$
#variable_conflict use_column
begin
  perform set_config('synchronous_commit', 'off', true);
  -- insert the key as in flight — or take over a row that has expired, or whose executing request's lock expired
  -- (same request only: a different body is a key reuse)
  insert into idempotency_keys as k (scope, key, fingerprint, state, lock_token, locked_until, created_at, expires_at)
  values (p_scope, p_key, p_fingerprint, 'in_flight', p_token, now() + p_lock_ms * interval '1 millisecond', now(),
          now() + p_retention_ms * interval '1 millisecond')
  on conflict (scope, key) do update
     set fingerprint = excluded.fingerprint, state = 'in_flight', lock_token = excluded.lock_token,
         locked_until = excluded.locked_until, status_code = null, response_headers = null, response_body = null,
         created_at = excluded.created_at, expires_at = excluded.expires_at
   where k.expires_at <= now()
      or (k.state = 'in_flight' and k.locked_until <= now() and k.fingerprint = excluded.fingerprint)
  returning (k.xmax::text <> '0') into taken_over;
  claimed := found;
  if claimed then
    return;
  end if;
  -- held by another request: the row that holds it (a new statement, so a new snapshot: the row the insert waited
  -- for is visible). Not found (released or purged meanwhile): every field null, and the caller tries again.
  select k.fingerprint, k.state, k.locked_until > now(), k.status_code, k.response_headers, k.response_body
    into fingerprint, state, locked, status_code, response_headers, response_body
    from idempotency_keys k
   where k.scope = p_scope and k.key = p_key and k.expires_at > now();
end $$;

-- 2. The claim's checks could not keep their plans (030 §3 only bounded the window). Each check finds the car's or
--    the customer's few open claims through an index made for it (the exclusion constraint's gist for the car's
--    conflicts, allocations_one_held_reservation_per_customer for the customer's hold and the expiry of lapsed
--    ones, allocations_one_active_rental_per_vehicle for the car's rental). But the planner may also read an index
--    that does not name the car or the customer, when its partial predicate is implied by the check's `status = …`:
--    allocations_open_idx (kind, status), whose index condition `kind = 'reservation' and status = 'held'` selects
--    every held claim, or any such partial index read whole. It prices those reads by how many rows the statistics
--    say have that status, and statistics taken while nothing was held say none: the read then looks free, and
--    every claim reads every held claim until the next analyze (bench:api's database, 8,500 held: the conflict
--    check 1.4–1.6 ms and the customer's 0.9 ms instead of 0.02–0.04 ms; with the gist read whole instead, 3.7 ms).
--    Two changes, both needed (each alone was measured to leave a trap):
--    - allocations_open_idx is keyed by the car: a check by car finds only that car's open claims through it, and
--      a check by customer can only read it whole, never through an index condition on kind and status.
--      Its readers — the sweeper (expireDue, hasDue) and the availability index's open claims — read all open
--      claims through it, as before (a few more: the active rentals too, for the sweeper);
--    - `status` and `kind` keep no statistics: their estimates are PostgreSQL's fixed defaults (an equality 0.5 %
--      of the table, so an open-status index read whole is priced at a few percent of the table, what open claims
--      are at a busy moment), whatever was held when the table was analyzed. Their present statistics are dropped
--      by re-declaring the columns' type (the same type: no table rewrite; the table's indexes are rebuilt once,
--      here), which the table's owner may do (deleting from pg_statistic needs a superuser). Every other column
--      keeps its statistics, and 030's analyze threshold stays.

drop index allocations_open_idx;
create index allocations_open_idx on allocations (vehicle_id) where status in ('held', 'confirmed', 'active');
alter table allocations alter column status type text, alter column kind type text;
alter table allocations alter column status set statistics 0, alter column kind set statistics 0;

-- 3. The claim's statements always run their generic plans (made once per connection, for any car, customer and
--    time). PostgreSQL's plan cache otherwise plans each call afresh for as long as its estimate of the generic plan
--    exceeds the average of the custom ones — which these checks' estimates (a period overlap, the defaults of §2)
--    can make it do for good: measured on bench:api's database, 0.93 ms of backend CPU per claim planned per call
--    against 0.58–0.63 ms with the generic plans (forced custom plans: 1.2–1.3 ms). The generic plans are the ones
--    §2 is about: each check through its car's or its customer's index, whatever the statistics said.
alter function fleetdesk_claim_checked(text, text, text, text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz,
  text, boolean, int, int, boolean, boolean, timestamptz, timestamptz, boolean, boolean, timestamptz, boolean, timestamptz)
  set plan_cache_mode = force_generic_plan;
