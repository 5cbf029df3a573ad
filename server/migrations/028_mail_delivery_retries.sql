-- A real mail provider (SMTP, issue 13): a delivery can fail. A transient failure (the server unreachable, a 4xx
-- answer) is retried with backoff — `attempts` made so far, the next one due at `next_attempt_at`; a permanent one
-- (a 5xx answer to this mail) or the last allowed attempt ends the mail as failed (`failed_at`, `last_error`, and the
-- body with its confirmation code cleared). `next_attempt_at` is also the lease of the instance delivering it: a
-- sweep claims a due mail by moving it forward, so two instances never send one mail at the same time. Null: never
-- tried — the instance that wrote it delivers it, another one only once it counts as left behind (created_at).
alter table mail_outbox
  add column attempts        integer not null default 0,
  add column next_attempt_at timestamptz,
  add column failed_at       timestamptz,
  add column last_error      text;

drop index mail_outbox_pending_idx;
create index mail_outbox_pending_idx on mail_outbox (coalesce(next_attempt_at, created_at))
  where delivered_at is null and failed_at is null;
