-- Fleet registry and latest live state.
--
-- Replication: rows that desktops replicate carry `server_seq`, taken from the one sequence `replication_seq`
-- inside the writing transaction. Writers take the replication advisory lock (see
-- server/src/platform/db/replication.ts) before nextval, so commit order equals sequence order and a client
-- pulling "everything after checkpoint N" can never skip a row that committed late.

create sequence if not exists replication_seq as bigint;

create table vehicles (
  id          text primary key,
  plate       text not null unique,
  make        text not null,
  model       text not null,
  energy_type text not null check (energy_type in ('fuel', 'electric')),
  home_zone   text not null,
  server_seq  bigint not null default nextval('replication_seq'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create index vehicles_server_seq_idx on vehicles (server_seq);

-- Latest known state, one row per vehicle, written in batches by ingestion. High-rate telemetry is not
-- replicated through the sync protocol (it reaches desktops over MQTT), so this table has no server_seq.
-- The telemetry history will be its own table partitioned by day; this one stays small (one row per car).
-- Telemetry columns are null until the first telemetry arrives (a status message can come first).
create table vehicle_state (
  vehicle_id   text primary key references vehicles (id) on delete cascade,
  lat          double precision check (lat between -90 and 90),
  lon          double precision check (lon between -180 and 180),
  speed_kph    double precision,
  heading_deg  double precision,
  energy_pct   double precision,
  odometer_km  double precision,
  ignition     boolean,
  locked       boolean,
  doors_closed boolean,
  online       boolean not null default false,
  -- device sequence number of the telemetry this row holds; writes with a seq <= this one are ignored
  seq          bigint,
  -- device clock of that telemetry, epoch ms (kept as sent: device clocks drift, no time-zone meaning)
  device_ts    bigint,
  -- when the server last heard from the vehicle (any message), the basis of "last seen" and the heartbeat
  received_at  timestamptz,
  updated_at   timestamptz not null default now()
);
