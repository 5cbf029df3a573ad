-- Issue 14 (support desk, money and audit): staff may put a failed payment operation back into the outbox
-- (same row, same provider idempotency key, so a retry can never charge twice); `retries` counts how often staff
-- did, while `attempts` counts the provider calls since the last retry. The audit viewer filters by who (actor),
-- what (action) and when (at) besides the target: one index each, newest first as the viewer pages.
alter table payment_operations add column retries integer not null default 0 check (retries >= 0);

create index audit_log_actor_idx on audit_log (actor, id desc);
create index audit_log_action_idx on audit_log (action, id desc);
create index audit_log_at_idx on audit_log (at desc);
