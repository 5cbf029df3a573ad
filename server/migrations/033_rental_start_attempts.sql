-- Starts that failed (issue 14's leftover: support could not see them): a customer tapped "start" on a reservation
-- or booking and the payment hold was refused, or the car did not confirm (or refused) the unlock, or could not be
-- reached. The reservation is kept, the hold voided — and until now nothing but a cancelled command said it
-- happened. Written with the undo of the start (same transaction as the void and the lease release); a source keeps
-- its first 50 (the writer stops there: a customer tapping "start" in a loop cannot fill the disk).
create table rental_start_attempts (
  id                bigserial primary key,
  -- the reservation or booking the start was for
  source_id         text not null references allocations (id),
  -- the rental id the attempt would have had (its hold and unlock command carry it)
  attempt_id        text not null,
  at                timestamptz not null,
  failure           text not null check (failure in ('payment_declined', 'payment_unavailable', 'unlock_not_issued',
                                                      'unlock_timeout', 'unlock_failed', 'vehicle_unreachable',
                                                      'start_conflict', 'not_recorded')),
  -- in words: the provider's decline reason, the car's own reason for a refused unlock, what took the car…
  detail            text,
  unlock_command_id text,
  payment_id        text
);
create index rental_start_attempts_source_idx on rental_start_attempts (source_id, at);
