-- Refused ends of a rental (issue 14: a rental's evidence shows its end checks and what blocked them): who tried,
-- when, and the blockers judged from the car's telemetry then. Written when an end is refused (customer or staff);
-- a rental keeps its first 50 (the writer stops there: a customer tapping "end" in a loop cannot fill the disk).
create table rental_end_attempts (
  id        bigserial primary key,
  rental_id text not null references allocations (id),
  at        timestamptz not null,
  by_kind   text not null check (by_kind in ('customer', 'staff')),
  by_id     text not null,
  -- [{code, message}]
  blockers  jsonb not null
);
create index rental_end_attempts_rental_idx on rental_end_attempts (rental_id, at);
