-- Two specific kinds of unexpected movement (issue 10 §3), raised instead of movement_without_rental when they
-- apply: a car in maintenance that moves (moved_in_maintenance), a car that rolls while locked with no rental —
-- towed, or driven without the car's own unlock (moved_while_locked). The kinds are declared once in
-- src/shared/alert-kinds.ts; this check follows that list.
alter table alerts drop constraint alerts_kind_check;
alter table alerts add constraint alerts_kind_check check (kind in ('device_offline', 'low_energy', 'door_open_parked',
  'movement_without_rental', 'zone_exit', 'crash', 'tamper', 'moved_in_maintenance', 'moved_while_locked'));
