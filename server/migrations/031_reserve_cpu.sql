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
