-- Replication without a global lock (issue 12 §4). Until now every replicated write took one advisory lock
-- (7346150002) before nextval('replication_seq'), so commit order equalled sequence order — and every such write
-- in the system queued behind every other one. Now a replicated row's server_seq names the transaction that
-- wrote it:
--
--   server_seq = xid * 65536 + n + D
--
-- xid = pg_current_xact_id() (xid8, 64-bit, never wraps) of the writing transaction; n = how many seqs that
-- transaction took before (0, 1, 2, …, saturating at 65535); D = a constant fixed below so that every new seq is
-- above every seq taken from replication_seq before (clients keep their checkpoints).
--
-- A pull then returns only rows with server_seq < fleetdesk_seq_watermark() = xmin * 65536 + D, where xmin =
-- pg_snapshot_xmin(pg_current_snapshot()) of the pull's own statement (less the transactions of other databases
-- of the cluster, see below): every transaction with an xid below xmin
-- has ended, so every row below the watermark is final (visible to that statement if committed; nothing can
-- commit there later), and any transaction still in flight — or yet to start — writes at or above it. A client
-- therefore never advances its checkpoint past a seq an in-flight transaction holds (docs/sync-protocol.md and
-- server/src/platform/db/replication.ts give the whole argument). n only orders rows inside one transaction;
-- past 65535 they share a seq, and a pull never splits such a group (collections.ts).
--
-- Range: JS numbers (and float8) are exact to 2^53, so 2^37 (≈ 1.4e11) transactions after this migration: at
-- 100 writing transactions a second (any writes: telemetry batches count too) 43 years, at 1,000 a second 4.3.
-- fleetdesk_next_seq() refuses to go past 2^53 rather than hand out a seq a client could not hold exactly.

do $$
declare
  xid_now bigint := pg_current_xact_id()::text::bigint;
  last_seq bigint := (select case when is_called then last_value else 0 end from replication_seq);
  d bigint;
begin
  d := ((last_seq + 1 + 65535) / 65536 + 1 - xid_now) * 65536;
  execute format($f$
    create function fleetdesk_next_seq() returns bigint language plpgsql volatile as $body$
    declare
      n int := coalesce(nullif(current_setting('fleetdesk.seq_n', true), ''), '0')::int;
      seq bigint;
    begin
      -- a transaction-local counter (reset at commit/rollback), so one transaction's rows get distinct seqs
      if n < 65535 then
        perform set_config('fleetdesk.seq_n', (n + 1)::text, true);
      end if;
      seq := pg_current_xact_id()::text::bigint * 65536 + n + (%1$s);
      if seq >= 9007199254740992 then
        raise exception 'server_seq %% is past 2^53 (013_replication_xid_seq.sql): re-base the replication seqs', seq;
      end if;
      return seq;
    end $body$;

    -- Every seq below this is final for the calling statement's snapshot (see the header of this file): the
    -- snapshot's xmin — its oldest transaction still in progress — except that one positively seen running in
    -- ANOTHER database of the cluster (xids are cluster-wide, but such a transaction writes none of our rows)
    -- is passed over, so another database's long transaction does not stall this one's replicas. An xid not
    -- found (ended since, or hidden from an unprivileged role) counts as ours: wrong only towards waiting.
    -- STABLE, not volatile: it must read the calling statement's snapshot — a volatile function takes a newer
    -- one, whose xmin could pass a transaction that committed after the statement's (its rows unseen, yet final).
    create function fleetdesk_seq_watermark() returns bigint language sql stable as $body$
      with snap as (select pg_current_snapshot() as s),
      elsewhere as (
        select backend_xid::text as xid from pg_stat_get_activity(null)
         where backend_xid is not null and datid <> (select oid from pg_database where datname = current_database()))
      select coalesce(
               (select min(x::text::bigint) from snap, pg_snapshot_xip(snap.s) x
                 where (x::text::bigint %% 4294967296)::text not in (select xid from elsewhere)),
               (select pg_snapshot_xmax(s)::text::bigint from snap)
             ) * 65536 + (%1$s)
    $body$;
  $f$, d);
end $$;

alter table vehicles alter column server_seq set default fleetdesk_next_seq();
alter table commands alter column server_seq set default fleetdesk_next_seq();
alter table audit_log alter column server_seq set default fleetdesk_next_seq();

-- A deleted row becomes a tombstone with a fresh server_seq (of the deleting transaction; no lock).
create or replace function fleetdesk_sync_tombstone() returns trigger language plpgsql as $$
begin
  insert into sync_tombstones (collection, doc_id, row, server_seq)
  values (tg_argv[0], (to_jsonb(old) ->> tg_argv[1]), to_jsonb(old), fleetdesk_next_seq())
  on conflict (collection, doc_id) do update set row = excluded.row, server_seq = excluded.server_seq, deleted_at = now();
  return null;
end $$;

-- No NOTIFY from writing transactions any more: PostgreSQL serializes the commits of every transaction that
-- notified (one cluster-wide lock held until the commit is flushed) — the global lock again, by other means.
-- Server instances read every collection's highest seq instead (stream-hub.ts). The trigger functions stay,
-- as no-ops, for the triggers that call them.
create or replace function fleetdesk_sync_notify() returns trigger language plpgsql as $$
begin
  return null;
end $$;

create or replace function fleetdesk_sync_tombstone_notify() returns trigger language plpgsql as $$
begin
  return null;
end $$;

-- Nothing may take a seq the old way any more (it would land below clients' checkpoints).
drop sequence replication_seq;
