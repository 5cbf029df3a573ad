-- Zone versions (issue 14, admin: zones). `zones` stays the current state (replicated to every desk as the
-- `zones` collection; a retired zone is deleted there, so desks get its tombstone); every change — created,
-- edited, retired — also writes the whole zone as a new row here, in the same transaction as the change and its
-- audit entry, so a zone's history is kept.

alter table zones add column version integer not null default 1 check (version >= 1);

create table zone_versions (
  zone_id    text not null,
  version    integer not null check (version >= 1),
  name       text not null,
  kind       text not null check (kind in ('operating', 'no_parking', 'service')),
  polygon    jsonb not null,
  retired    boolean not null default false,
  changed_by text not null,
  changed_at timestamptz not null default now(),
  reason     text check (char_length(reason) <= 2000),
  primary key (zone_id, version)
);

-- the zones that exist already (the seeded operating zone) start their history as version 1
insert into zone_versions (zone_id, version, name, kind, polygon, changed_by, changed_at)
select id, version, name, kind, polygon, 'system', updated_at from zones;
