/**
 * Abuse limits (issue 13 §4, §9) through @fastify/rate-limit, with its counters in the database so they hold across
 * server instances (PostgreSQL) and on the embedded PGlite alike. A route says which limit it takes in its config:
 *
 *   app.post('/auth/signup', { config: { auth: 'public', abuseLimit: 'signup' } }, …)
 *
 * Each limit counts twice, and either count refuses: per client IP (`request.ip`, so TRUST_PROXY decides what the
 * client is behind a load balancer) and per account — the e-mail of a signup or login, the signed-in customer of a
 * reservation, booking or licence submission. Every request counts (answered, refused or failed), in a fixed window
 * that starts with the first request. Over the limit: 429 `rate_limited` problem with `Retry-After` (seconds until
 * the window ends). Limits run at preValidation: after authentication, before the body is checked or the handler runs.
 *
 * Loopback clients are exempt in development mode (RATE_LIMIT_LOOPBACK=auto): `npm start`'s simulated customers
 * and the tests all come from 127.0.0.1, and a limit that only the demo hits would teach nothing. In production
 * mode `auto` means limited — behind a proxy on the same host without TRUST_PROXY every client would be loopback.
 */
import { createHash } from 'node:crypto';
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { LimitRule } from '../config.js';
import type { Queryable } from '../db/index.js';
import { problem, sendProblem } from './problem.js';
import type { HttpApp } from './server.js';

export const ABUSE_LIMITS = ['signup', 'login', 'staff-login', 'claims', 'licence'] as const;
export type AbuseLimitName = (typeof ABUSE_LIMITS)[number];

export interface AbuseLimitRules {
  perIp: LimitRule;
  perAccount: LimitRule;
}

export interface AbuseLimitsOptions {
  db: Queryable;
  rules: Record<AbuseLimitName, AbuseLimitRules>;
  exemptLoopback: boolean;
}

/** What a limit is about, for the refusal's words. */
const WHAT: Record<AbuseLimitName, { requests: string; account: string }> = {
  signup: { requests: 'sign-ups', account: 'e-mail address' },
  login: { requests: 'sign-in attempts', account: 'e-mail address' },
  'staff-login': { requests: 'sign-in attempts', account: 'e-mail address' },
  claims: { requests: 'reservations and bookings', account: 'account' },
  licence: { requests: 'licence submissions', account: 'account' },
};

/** The account a request counts against: the e-mail it signs up or in with, or the signed-in customer. */
function accountOf(limit: AbuseLimitName, request: FastifyRequest): string | undefined {
  if (limit === 'claims' || limit === 'licence') return request.principal?.kind === 'customer' ? request.principal.customerId : undefined;
  const email = (request.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase() : undefined;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Deletes expired counters about once every this many increments (no timer to dispose of). */
const PURGE_EVERY = 500;

/** @fastify/rate-limit's store contract over the `rate_limit_counters` table (migration 024); the database's clock. */
export function databaseRateLimitStore(db: Queryable): new () => FastifyRateLimitStore {
  let sincePurge = 0;
  return class DatabaseRateLimitStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const purge = ++sincePurge >= PURGE_EVERY;
      if (purge) sincePurge = 0;
      // one statement: concurrent requests on any instance serialize on the row, none is lost
      db.query<{ hits: number; ttl_ms: string | number }>(
        `insert into rate_limit_counters as c (key, hits, resets_at)
           values ($1, 1, clock_timestamp() + $2 * interval '1 millisecond')
         on conflict (key) do update set
           hits = case when c.resets_at <= clock_timestamp() then 1 else c.hits + 1 end,
           resets_at = case when c.resets_at <= clock_timestamp() then excluded.resets_at else c.resets_at end
         returning hits, greatest(0, ceil(extract(epoch from (resets_at - clock_timestamp())) * 1000))::bigint as ttl_ms`,
        [hashKey(key), timeWindow],
      )
        .then(async ({ rows }) => {
          if (purge) await db.query(`delete from rate_limit_counters where resets_at < clock_timestamp()`);
          const row = rows[0]!;
          callback(null, { current: Number(row.hits), ttl: Number(row.ttl_ms) });
        })
        .catch((err: Error) => callback(err));
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Registers the plugin and adds each route's limit (its `config.abuseLimit`) as it is declared: call before the
 * routes are registered.
 */
export async function installAbuseLimits(app: HttpApp, options: AbuseLimitsOptions): Promise<void> {
  await app.register(rateLimit, { global: false, store: databaseRateLimitStore(options.db) });
  const exempt = (request: FastifyRequest) => options.exemptLoopback && LOOPBACK.test(request.ip);
  const limiters = Object.fromEntries(
    ABUSE_LIMITS.map((name) => {
      const rules = options.rules[name];
      const limiter = (scope: 'ip' | 'account', rule: LimitRule) =>
        app.createRateLimit({
          max: rule.max,
          timeWindow: rule.windowMs,
          keyGenerator: (request) => (scope === 'ip' ? `${name}:ip:${request.ip}` : `${name}:account:${accountOf(name, request)}`),
        });
      const perIp = limiter('ip', rules.perIp);
      const perAccount = limiter('account', rules.perAccount);
      const hook: preValidationHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
        // an exempt client is not counted at all (before the limiters: no keys built, no promises to settle)
        if (exempt(request)) return undefined;
        const account = accountOf(name, request);
        const results = await Promise.all([
          perIp(request).then((r) => ({ scope: 'ip' as const, r })),
          ...(account === undefined ? [] : [perAccount(request).then((r) => ({ scope: 'account' as const, r }))]),
        ]);
        // the count that refuses longest decides the answer
        let worst: { scope: 'ip' | 'account'; retryAfterS: number; max: number; windowMs: number } | undefined;
        for (const { scope, r } of results)
          if (!r.isAllowed && r.isExceeded && (worst === undefined || r.ttlInSeconds > worst.retryAfterS))
            worst = { scope, retryAfterS: Math.max(1, r.ttlInSeconds), max: r.max, windowMs: r.timeWindow };
        if (worst === undefined) return undefined;
        void reply.header('retry-after', String(worst.retryAfterS));
        const from = worst.scope === 'ip' ? 'this address' : `this ${WHAT[name].account}`;
        return sendProblem(
          reply,
          problem(
            429,
            'rate_limited',
            `Too many ${WHAT[name].requests} from ${from} (at most ${worst.max} in ${Math.round(worst.windowMs / 1000)} s); try again in ${worst.retryAfterS} s`,
            request.url,
          ),
        );
      };
      return [name, hook];
    }),
  ) as Record<AbuseLimitName, preValidationHookHandler>;

  app.addHook('onRoute', (route) => {
    const name = route.config?.abuseLimit;
    if (name === undefined) return;
    const hook = limiters[name];
    route.preValidation = [...(route.preValidation === undefined ? [] : [route.preValidation].flat()), hook];
  });
}
