-- Abuse limits (issue 13 §4, §9): the counters of @fastify/rate-limit's store (platform/http/abuse-limits.ts), in the
-- database so that every server instance counts against the same limit. One row per limit and client: the key is
-- the SHA-256 of "<limit>:<scope>:<value>" (no e-mail address or IP address is stored), `hits` the requests in the
-- window that ends at `resets_at`. One atomic upsert per request; rows past `resets_at` are deleted now and then.
create table rate_limit_counters (
  key       text primary key,
  hits      integer not null,
  resets_at timestamptz not null
);
create index rate_limit_counters_resets_at_idx on rate_limit_counters (resets_at);
