-- The sync horizon (SYNC_HISTORY_DAYS, docs/sync-protocol.md "History horizon"): a closed allocation (ended,
-- converted, cancelled, expired) or a closed task (done, cancelled) untouched for longer than the horizon leaves
-- every desk's replica. The row stays where it is (the staff API, payments, audit and the timeline still read it);
-- the sync component's job retires it — its server_seq becomes negative — and gives it a tombstone with a seq of
-- its own transaction, so a desk that held it receives a deletion like any other (retention, 410 and watermark
-- rules unchanged).
--
-- Why a negative seq and not a flag: every pull reads `server_seq > checkpoint` (≥ 0) in seq order through the
-- server_seq index, so a retired row is simply never read — not by a first sync either, which would otherwise step
-- over every retired row ever — and the pull's statement and plan stay exactly as they were (a flag column in the
-- pull's WHERE made PGlite, which never analyzes, estimate a handful of rows and sort the whole table per page).
--
-- A later change to a retired row (any update taking a new server_seq, which is positive) brings it back: the
-- trigger below removes its tombstone in the same transaction, as a re-created document's insert does
-- (fleetdesk_sync_untombstone), and the row replicates again from its new seq — for SYNC_HISTORY_DAYS more, since
-- the horizon counts from the last change (updated_at).

-- The job's candidates: closed and still in the replica, oldest change first.
create index allocations_sync_closed_idx on allocations (updated_at)
  where server_seq > 0 and status in ('ended', 'converted', 'cancelled', 'expired');
create index tasks_sync_closed_idx on tasks (updated_at) where server_seq > 0 and status in ('done', 'cancelled');

create function fleetdesk_sync_unretire() returns trigger language plpgsql as $$
begin
  delete from sync_tombstones where collection = tg_argv[0] and doc_id = (to_jsonb(new) ->> tg_argv[1]);
  return new;
end $$;

create trigger allocations_sync_unretire before update on allocations for each row
  when (old.server_seq < 0 and new.server_seq > 0) execute function fleetdesk_sync_unretire('rentals', 'id');
create trigger tasks_sync_unretire before update on tasks for each row
  when (old.server_seq < 0 and new.server_seq > 0) execute function fleetdesk_sync_unretire('tasks', 'id');
