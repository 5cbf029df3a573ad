-- Vehicle registry administration (issue 14): a VIN per vehicle (null for cars registered before it was
-- recorded, e.g. the demo fleet; unique when present) and retirement. A retired car keeps its row and its
-- history (telemetry, rentals, audit) but leaves the active fleet: the registry's id set (ingestion), the
-- availability index and GBFS, and the desks' replica (its `vehicles` document is sent as deleted).
alter table vehicles
  add column vin        text check (vin is null or vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
  add column retired_at timestamptz;
create unique index vehicles_vin_key on vehicles (vin) where vin is not null;
