-- Alerts raised by the server's alert engine (server/src/components/alerts).
--
-- One open alert per (vehicle, kind): the partial unique index below is what makes it true for several server
-- instances; writers insert with ON CONFLICT DO NOTHING and update the open row instead (occurrences,
-- last_seen_at). Lifecycle open → acknowledged → resolved. Every write takes server_seq from replication_seq
-- under the replication lock (see 001_fleet.sql): the desktop replica syncs alerts by it.
--
-- No foreign key to vehicles: ingestion only emits events for registered vehicles, and an alert is history that
-- must survive a vehicle being removed from the registry.

create table alerts (
  id              uuid primary key,
  vehicle_id      text not null,
  kind            text not null check (kind in ('device_offline', 'low_energy', 'door_open_parked',
                                                'movement_without_rental', 'zone_exit', 'crash', 'tamper')),
  severity        text not null check (severity in ('info', 'warning', 'critical')),
  status          text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  -- what the engine saw when it last raised the alert
  details         jsonb not null default '{}'::jsonb,
  -- how many times the condition started while this alert was open
  occurrences     integer not null default 1 check (occurrences >= 1),
  first_seen_at   timestamptz not null,
  last_seen_at    timestamptz not null,
  assignee        text,
  acknowledged_by text,
  acknowledged_at timestamptz,
  resolved_by     text,
  resolved_at     timestamptz,
  -- 'auto: <reason>' when the engine resolved it, else the staff member's note
  resolution      text,
  server_seq      bigint not null,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  check ((status = 'resolved') = (resolved_at is not null))
);

create unique index alerts_one_open_per_vehicle_kind on alerts (vehicle_id, kind) where status <> 'resolved';
create index alerts_server_seq_idx on alerts (server_seq);
create index alerts_status_last_seen_idx on alerts (status, last_seen_at desc);
create index alerts_vehicle_last_seen_idx on alerts (vehicle_id, last_seen_at desc);
