-- Telemetry milestones for the evidence timeline (issue 11): a car's trips are its ignition changes, found until now
-- by a window over `telemetry_history` at every read (~370,000 samples read for one page of a car with 30 days of
-- 1 Hz history). The timeline component's materializer (components/timeline/domain/ignition-materializer.ts) now
-- derives them in the background, in batches of history past a watermark, and keeps them here; a timeline read
-- takes the changes up to the watermark from this table and derives only the recent tail after it from the
-- samples. Nothing is written on the ingestion path.

-- One row per ignition change: the sample (received_at, seq) whose ignition differs from the car's sample before it
-- in (received_at, seq) order, with the time of that previous sample (a read over a range counts a change only when
-- the sample before it is in the range too, as the window over the range did).
create table ignition_changes (
  vehicle_id  text not null,
  at          timestamptz not null,
  seq         bigint not null,
  prev_at     timestamptz not null,
  ignition    boolean not null,
  odometer_km double precision not null,
  lat         double precision not null,
  lon         double precision not null,
  energy_pct  double precision not null,
  primary key (vehicle_id, at, seq)
);

-- Per car, the last sample materialised (at or before the watermark): the sample the next batch's first one is
-- compared with, and the one a read compares the tail's first sample with.
create table ignition_change_cursors (
  vehicle_id text primary key,
  at         timestamptz not null,
  seq        bigint not null,
  ignition   boolean not null
);

-- How far the history is materialised: every sample with received_at <= watermark is in the two tables above. One
-- row, moved forward in the same transaction as the batch it covers.
create table ignition_change_progress (
  singleton  boolean primary key default true check (singleton),
  watermark  timestamptz not null,
  updated_at timestamptz not null default now()
);
