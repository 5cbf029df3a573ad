-- Telemetry history (partitioned by day), device events, and the clock skew of the latest state.

-- Device clock minus receive time (ms) of the telemetry the row holds; positive = device clock ahead.
alter table vehicle_state add column clock_skew_ms bigint;

-- Every accepted telemetry message, partitioned by day (UTC) on the server's receive time. Partitions
-- `telemetry_history_pYYYYMMDD` are created ahead (today + 2 days) and dropped after TELEMETRY_RETENTION_DAYS by
-- the fleet component's maintenance job; there is deliberately no default partition (it would block creating
-- the day's partition once it held rows). No foreign key: a vehicle's history outlives its registry row until
-- retention drops it, and the FK check would cost on every insert at fleet scale.
create table telemetry_history (
  vehicle_id    text not null,
  seq           bigint not null,
  device_ts     bigint not null,
  received_at   timestamptz not null,
  lat           double precision not null,
  lon           double precision not null,
  speed_kph     double precision not null,
  heading_deg   double precision not null,
  energy_pct    double precision not null,
  odometer_km   double precision not null,
  ignition      boolean not null,
  locked        boolean not null,
  doors_closed  boolean not null,
  clock_skew_ms bigint not null
) partition by range (received_at);
create index telemetry_history_vehicle_idx on telemetry_history (vehicle_id, received_at);

-- Device events (QoS 1: redeliveries are expected). The key drops a redelivery (same seq, same device ts)
-- while a device that reset its seq after a reboot and reuses a number (different ts) still gets its event
-- stored: a crash_detected event must never be lost to a seq collision.
create table vehicle_events (
  vehicle_id  text not null references vehicles (id) on delete cascade,
  seq         bigint not null,
  device_ts   bigint not null,
  received_at timestamptz not null,
  type        text not null,
  lat         double precision,
  lon         double precision,
  data        jsonb,
  primary key (vehicle_id, seq, device_ts)
);
create index vehicle_events_vehicle_received_idx on vehicle_events (vehicle_id, received_at);
