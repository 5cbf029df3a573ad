-- Device commands (one persistent record per command id, with every transition) and the audit log.
--
-- Both `commands` and `audit_log` are replicated to desktops: they carry `server_seq` from `replication_seq`,
-- taken under the replication advisory lock (server/src/platform/db/replication.ts) in the writing
-- transaction. A command's `server_seq` is bumped on every change.

create table commands (
  command_id         text primary key check (command_id ~ '^[A-Za-z0-9_-]{8,64}$'),
  vehicle_id         text not null references vehicles (id),
  type               text not null check (type in ('lock', 'unlock', 'immobilize', 'release', 'locate', 'honk_flash')),
  params             jsonb not null default '{}'::jsonb,
  status             text not null check (status in ('queued', 'sent', 'received', 'succeeded', 'failed', 'expired', 'cancelled')),
  -- why it was issued (staff reason, or e.g. "rental r-123 started")
  reason             text not null check (char_length(reason) between 1 and 500),
  issued_by          text not null,
  issued_by_role     text not null,
  -- kept to tell an idempotent retry (same body) from a conflicting reuse of the id
  ttl_seconds        integer not null check (ttl_seconds between 5 and 86400),
  created_at         timestamptz not null,
  expires_at         timestamptz not null,
  sent_at            timestamptz,
  received_at        timestamptz,
  finished_at        timestamptz,
  last_result_reason text,
  -- details of the device's final result (e.g. the position for `locate`)
  result_data        jsonb,
  -- publishes so far (first send + resends) and when the next resend of a `sent` command is due
  send_attempts      integer not null default 0,
  next_attempt_at    timestamptz,
  server_seq         bigint not null default nextval('replication_seq'),
  updated_at         timestamptz not null default now(),
  check (expires_at > created_at)
);
-- open commands of a vehicle (dispatch when it comes online) and expiry sweeps: partial, so they stay small
create index commands_open_by_vehicle_idx on commands (vehicle_id, created_at) where status in ('queued', 'sent', 'received');
create index commands_open_by_expiry_idx on commands (expires_at) where status in ('queued', 'sent', 'received');
create index commands_vehicle_created_idx on commands (vehicle_id, created_at desc);
create index commands_server_seq_idx on commands (server_seq);

create table command_transitions (
  id          bigint generated always as identity primary key,
  command_id  text not null references commands (command_id) on delete cascade,
  from_status text,
  to_status   text not null,
  at          timestamptz not null,
  detail      text
);
create index command_transitions_command_idx on command_transitions (command_id, id);

-- Who changed what, when and why: one row per staff mutation and per command transition, written in the same
-- transaction as the change (server/src/components/audit).
create table audit_log (
  id          bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  actor       text not null,
  role        text not null,
  action      text not null,
  target_type text not null,
  target_id   text not null,
  reason      text,
  before      jsonb,
  after       jsonb,
  server_seq  bigint not null default nextval('replication_seq')
);
create index audit_log_target_idx on audit_log (target_type, target_id, id desc);
create index audit_log_server_seq_idx on audit_log (server_seq);
