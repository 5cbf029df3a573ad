-- Offline replica (issue 4): the tables the desktop replicates besides alerts and commands, tombstones for
-- deletions, the coarse vehicle snapshot, and a NOTIFY per replicated table so SSE streams on every server
-- instance wake up. Every replicated row takes server_seq = nextval('replication_seq') under the replication
-- advisory lock (platform/db/replication.ts) inside its writing transaction.

-- Vehicles: operator-editable service state and a coarse copy of the live state (fleet snapshot job).
alter table vehicles
  add column service_state text not null default 'available' check (service_state in ('available', 'maintenance')),
  add column lat           double precision,
  add column lon           double precision,
  add column online        boolean not null default false,
  add column energy_pct    double precision,
  add column last_seen_at  timestamptz,
  add column snapshot_at   timestamptz;

create table tasks (
  id           text primary key check (char_length(id) between 1 and 100),
  vehicle_id   text not null,
  kind         text not null check (kind in ('cleaning', 'refuel', 'repair', 'inspection')),
  status       text not null check (status in ('open', 'assigned', 'done', 'cancelled')),
  assignee     text,
  note         text not null default '' check (char_length(note) <= 2000),
  alert_id     text,
  created_by   text not null,
  created_at   timestamptz not null,
  due_at       timestamptz,
  completed_at timestamptz,
  server_seq   bigint not null,
  updated_at   timestamptz not null default now(),
  check (status <> 'assigned' or assignee is not null)
);
create index tasks_server_seq_idx on tasks (server_seq);
create index tasks_vehicle_idx on tasks (vehicle_id, created_at desc);
create index tasks_status_idx on tasks (status, created_at desc);

create table notes (
  id          text primary key check (char_length(id) between 1 and 100),
  target_type text not null check (target_type in ('vehicle', 'alert', 'customer', 'rental')),
  target_id   text not null,
  text        text not null check (char_length(text) between 1 and 4000),
  author      text not null,
  created_at  timestamptz not null,
  server_seq  bigint not null,
  updated_at  timestamptz not null default now()
);
create index notes_server_seq_idx on notes (server_seq);
create index notes_target_idx on notes (target_type, target_id, created_at desc);

create table zones (
  id         text primary key,
  name       text not null,
  kind       text not null check (kind in ('operating', 'no_parking', 'service')),
  polygon    jsonb not null,
  server_seq bigint not null,
  updated_at timestamptz not null default now()
);
create index zones_server_seq_idx on zones (server_seq);

-- The replica's `requests` collection: actions with external effects, executed at most once, never after expiry.
create table sync_requests (
  id         text primary key check (char_length(id) between 1 and 100),
  kind       text not null check (kind in ('vehicle_command')),
  payload    jsonb not null,
  created_by text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  status     text not null check (status in ('pending', 'done', 'failed', 'expired', 'rejected')),
  result     jsonb,
  server_seq bigint not null,
  updated_at timestamptz not null default now()
);
create index sync_requests_server_seq_idx on sync_requests (server_seq);
create index sync_requests_pending_idx on sync_requests (created_at) where status = 'pending';

-- Deleted documents (`_deleted: true` on pull), filled by the delete triggers below; `row` is the deleted row
-- (to_jsonb) so the tombstone still carries a schema-valid document. Purged after SYNC_TOMBSTONE_DAYS.
create table sync_tombstones (
  collection text not null,
  doc_id     text not null,
  row        jsonb,
  server_seq bigint not null,
  deleted_at timestamptz not null default now(),
  primary key (collection, doc_id)
);
create index sync_tombstones_seq_idx on sync_tombstones (collection, server_seq);
create index sync_tombstones_deleted_idx on sync_tombstones (deleted_at);

-- Per collection: tombstones up to this seq were purged; a pull from an older (non-zero) checkpoint gets 410.
create table sync_retention (
  collection         text primary key,
  purged_through_seq bigint not null
);

-- Wakes every server instance's streams: one notification per statement (and per transaction, as PostgreSQL
-- folds identical notifications), delivered at commit.
create function fleetdesk_sync_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('fleetdesk_sync', tg_argv[0]);
  return null;
end $$;

create function fleetdesk_sync_tombstone_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('fleetdesk_sync', new.collection);
  return null;
end $$;

-- A deleted row becomes a tombstone with a fresh server_seq (under the replication lock, re-entrant).
create function fleetdesk_sync_tombstone() returns trigger language plpgsql as $$
begin
  perform pg_advisory_xact_lock(7346150002);
  insert into sync_tombstones (collection, doc_id, row, server_seq)
  values (tg_argv[0], (to_jsonb(old) ->> tg_argv[1]), to_jsonb(old), nextval('replication_seq'))
  on conflict (collection, doc_id) do update set row = excluded.row, server_seq = excluded.server_seq, deleted_at = now();
  return null;
end $$;

-- A re-created document is live again: its tombstone goes.
create function fleetdesk_sync_untombstone() returns trigger language plpgsql as $$
begin
  delete from sync_tombstones where collection = tg_argv[0] and doc_id = (to_jsonb(new) ->> tg_argv[1]);
  return null;
end $$;

create trigger vehicles_sync_notify after insert or update or delete on vehicles for each statement execute function fleetdesk_sync_notify('vehicles');
create trigger alerts_sync_notify after insert or update or delete on alerts for each statement execute function fleetdesk_sync_notify('alerts');
create trigger commands_sync_notify after insert or update or delete on commands for each statement execute function fleetdesk_sync_notify('commands');
create trigger tasks_sync_notify after insert or update or delete on tasks for each statement execute function fleetdesk_sync_notify('tasks');
create trigger notes_sync_notify after insert or update or delete on notes for each statement execute function fleetdesk_sync_notify('notes');
create trigger zones_sync_notify after insert or update or delete on zones for each statement execute function fleetdesk_sync_notify('zones');
create trigger sync_requests_sync_notify after insert or update or delete on sync_requests for each statement execute function fleetdesk_sync_notify('requests');
create trigger sync_tombstones_sync_notify after insert or update on sync_tombstones for each row execute function fleetdesk_sync_tombstone_notify();

create trigger vehicles_sync_tombstone after delete on vehicles for each row execute function fleetdesk_sync_tombstone('vehicles', 'id');
create trigger alerts_sync_tombstone after delete on alerts for each row execute function fleetdesk_sync_tombstone('alerts', 'id');
create trigger commands_sync_tombstone after delete on commands for each row execute function fleetdesk_sync_tombstone('commands', 'command_id');
create trigger tasks_sync_tombstone after delete on tasks for each row execute function fleetdesk_sync_tombstone('tasks', 'id');
create trigger notes_sync_tombstone after delete on notes for each row execute function fleetdesk_sync_tombstone('notes', 'id');
create trigger zones_sync_tombstone after delete on zones for each row execute function fleetdesk_sync_tombstone('zones', 'id');
create trigger sync_requests_sync_tombstone after delete on sync_requests for each row execute function fleetdesk_sync_tombstone('requests', 'id');

create trigger vehicles_sync_untombstone after insert on vehicles for each row execute function fleetdesk_sync_untombstone('vehicles', 'id');
create trigger alerts_sync_untombstone after insert on alerts for each row execute function fleetdesk_sync_untombstone('alerts', 'id');
create trigger commands_sync_untombstone after insert on commands for each row execute function fleetdesk_sync_untombstone('commands', 'command_id');
create trigger tasks_sync_untombstone after insert on tasks for each row execute function fleetdesk_sync_untombstone('tasks', 'id');
create trigger notes_sync_untombstone after insert on notes for each row execute function fleetdesk_sync_untombstone('notes', 'id');
create trigger zones_sync_untombstone after insert on zones for each row execute function fleetdesk_sync_untombstone('zones', 'id');
create trigger sync_requests_sync_untombstone after insert on sync_requests for each row execute function fleetdesk_sync_untombstone('requests', 'id');
