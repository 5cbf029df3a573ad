-- Login throttle (issue 13 §5): growing delays instead of a lockout. Every attempt is counted before its password
-- is hashed; after the free failures, the next attempt on a key waits until next_attempt_at (the delay doubles
-- per failure, capped), whether the password is right or not — and once it has waited, the right one passes.
alter table login_throttle add column next_attempt_at timestamptz not null default now();
