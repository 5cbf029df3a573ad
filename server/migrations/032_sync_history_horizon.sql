-- The sync horizon (SYNC_HISTORY_DAYS, docs/sync-protocol.md "History horizon"): a closed allocation (ended,
-- converted, cancelled, expired) or a closed task (done, cancelled) untouched for longer than the horizon leaves
-- every desk's replica. The row stays where it is (the staff API, payments, audit and the timeline still read it);
-- the sync component's job marks it retired (`sync_retired_at`) and gives it a tombstone with a seq of its own
-- transaction, so a desk that held it receives a deletion like any other (retention, 410 and watermark rules
-- unchanged). The pull reads only unretired rows.
--
-- A later change to a retired row (any update taking a new server_seq) brings it back: the trigger below clears the
-- mark and removes the tombstone in the same transaction, as a re-created document's insert does
-- (fleetdesk_sync_untombstone), and the row replicates again from its new seq — for SYNC_HISTORY_DAYS more, since
-- the horizon counts from the last change (updated_at).
alter table allocations add column sync_retired_at timestamptz;
alter table tasks add column sync_retired_at timestamptz;

-- The pull walks the replicated rows by server_seq from the client's checkpoint: with history leaving the replica,
-- an index of the live rows only keeps a first sync from stepping over every retired row ever (a few hundred
-- thousand a month at 20,000 cars). The replica's heads and the tombstone purge's re-stamp read it too (same
-- predicate). The full indexes go: one index per write, not two.
create index allocations_sync_live_seq_idx on allocations (server_seq) where sync_retired_at is null;
drop index allocations_server_seq_idx;
create index tasks_sync_live_seq_idx on tasks (server_seq) where sync_retired_at is null;
drop index tasks_server_seq_idx;

-- The job's candidates: closed and still in the replica, oldest change first.
create index allocations_sync_closed_idx on allocations (updated_at)
  where sync_retired_at is null and status in ('ended', 'converted', 'cancelled', 'expired');
create index tasks_sync_closed_idx on tasks (updated_at) where sync_retired_at is null and status in ('done', 'cancelled');

create function fleetdesk_sync_unretire() returns trigger language plpgsql as $$
begin
  if old.sync_retired_at is not null and new.server_seq is distinct from old.server_seq then
    new.sync_retired_at := null;
    delete from sync_tombstones where collection = tg_argv[0] and doc_id = (to_jsonb(new) ->> tg_argv[1]);
  end if;
  return new;
end $$;

create trigger allocations_sync_unretire before update on allocations for each row
  when (old.sync_retired_at is not null) execute function fleetdesk_sync_unretire('rentals', 'id');
create trigger tasks_sync_unretire before update on tasks for each row
  when (old.sync_retired_at is not null) execute function fleetdesk_sync_unretire('tasks', 'id');
