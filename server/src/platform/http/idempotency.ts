/**
 * `Idempotency-Key` with Stripe's semantics, for every route that declares `config: { idempotent: true }`
 * (route-config.ts). The header is optional; with it:
 *
 * - first request with the key: executes; its response (status, a subset of headers, body) is stored for 24 h;
 * - same key + same request: the stored response is replayed, with `Idempotent-Replayed: true`;
 * - same key + different request (body, path params or query): 422 `idempotency_key_reuse`;
 * - same key while the first request is still executing: 409 `idempotency_request_in_flight` (Retry-After: 1);
 * - malformed key (not 1–255 printable ASCII characters): 400 `idempotency_key_invalid`.
 *
 * Keys are scoped per principal (customer or staff id) + method + route template, so two callers never share one.
 * The database decides who executes (primary key on (scope, key)), so this holds across server instances.
 * A 5xx (or 429) response is not stored — the row is deleted and a retry executes again; a request whose instance
 * dies mid-way holds the key only until its lock expires (default 60 s), after which a retry with the same
 * request takes the key over.
 *
 * What this cannot do: make the handler and the stored response one transaction. If an instance dies after the
 * handler committed but before the response was stored, a retry after the lock expiry executes again; the
 * business rules in the database (no-overlap constraint, payment idempotency keys) are the second line there.
 * Multipart bodies are not part of the fingerprint (they are read by the handler, after this hook).
 *
 * The hooks are attached per route (onRoute), after every global hook: authentication has run (the principal is
 * known) and the body has been validated before the key is looked at. Install before the routes are registered.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../db/index.js';
import { errorFields, type Logger } from '../log.js';
import { METRIC_PREFIX } from '../metrics.js';
import { problem, sendProblem } from './problem.js';
import type { HttpApp } from './server.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** 1–255 printable ASCII characters (space included, as Stripe allows). */
const KEY_SYNTAX = /^[\x20-\x7e]{1,255}$/;
/** Response headers worth replaying; everything else (date, content-length, …) is the new response's own. */
const REPLAYED_HEADERS = ['content-type', 'location', 'content-language', 'etag', 'link'] as const;

export interface IdempotencyOptions {
  db: Db;
  log: Logger;
  /** the instance's registry: `fleetdesk_idempotency_requests_total{outcome}` */
  metrics?: Registry;
  /** how long an executing request holds its key before a retry may take it over (default 60 s) */
  lockTtlMs?: number;
  /** how long a stored response is replayed (default 24 h) */
  retentionMs?: number;
  /** how often expired keys are deleted (default 10 min; 0 = never, tests) */
  purgeIntervalMs?: number;
}

type Outcome = 'executed' | 'replayed' | 'key_reuse' | 'in_flight' | 'invalid_key' | 'lock_taken_over' | 'released' | 'store_lost';

interface Claim {
  scope: string;
  key: string;
  token: string;
}

/** The row holding a key (all null: none any more). */
interface KeyRow {
  fingerprint: string | null;
  state: 'in_flight' | 'done' | null;
  locked: boolean | null;
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

/** fleetdesk_idempotency_begin's answer: the key taken (`claimed`), or the row holding it. */
interface BeginRow extends KeyRow {
  claimed: boolean;
  taken_over: boolean | null;
}

const claims = new WeakMap<FastifyRequest, Claim>();

/** Installs the hooks on every route registered afterwards with `config.idempotent`. */
export function installIdempotency(app: HttpApp, options: IdempotencyOptions): void {
  const { db } = options;
  const log = options.log.child({ component: 'idempotency' });
  const lockTtlMs = options.lockTtlMs ?? 60_000;
  const retentionMs = options.retentionMs ?? 24 * 3_600_000;
  const outcomes = options.metrics
    ? new Counter({
        name: `${METRIC_PREFIX}idempotency_requests_total`,
        help: 'Requests carrying an Idempotency-Key, by outcome',
        labelNames: ['outcome'],
        registers: [options.metrics],
      })
    : undefined;
  const count = (outcome: Outcome) => outcomes?.inc({ outcome });

  const preHandler: preHandlerHookHandler = async (request, reply) => {
    const raw = request.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return;
    if (typeof raw !== 'string' || !KEY_SYNTAX.test(raw)) {
      count('invalid_key');
      return sendProblem(
        reply,
        problem(400, 'idempotency_key_invalid', 'Idempotency-Key must be 1–255 printable ASCII characters.', request.url),
      );
    }
    const scope = requestScope(request);
    const fingerprint = requestFingerprint(request);
    const token = randomUUID();
    // Two attempts: the row we conflicted with may be released (5xx) or purged before it is read.
    for (let attempt = 0; attempt < 2; attempt++) {
      // one round trip: the key taken, or the row that holds it (fleetdesk_idempotency_begin, 031_reserve_cpu.sql)
      const { rows } = await db.query<BeginRow>(BEGIN_SQL, [scope, raw, fingerprint, token, lockTtlMs, retentionMs], {
        prepared: 'fleetdesk_idempotency_begin',
      });
      const row = rows[0]!;
      if (row.claimed) {
        claims.set(request, { scope, key: raw, token });
        count(row.taken_over ? 'lock_taken_over' : 'executed');
        if (row.taken_over) log.warn('idempotency key taken over after its lock expired', { reqId: request.id, scope });
        return;
      }
      if (row.fingerprint === null) continue;
      if (row.fingerprint !== fingerprint) {
        count('key_reuse');
        return sendProblem(
          reply,
          problem(422, 'idempotency_key_reuse', 'This Idempotency-Key was already used with a different request.', request.url),
        );
      }
      if (row.state === 'done') {
        count('replayed');
        return replay(reply, row);
      }
      // in flight (its lock may have expired a moment ago: the next retry takes it over)
      count('in_flight');
      reply.header('retry-after', '1');
      return sendProblem(
        reply,
        problem(
          409,
          'idempotency_request_in_flight',
          'A request with this Idempotency-Key is still being processed; retry later.',
          request.url,
        ),
      );
    }
    count('in_flight');
    reply.header('retry-after', '1');
    return sendProblem(
      reply,
      problem(409, 'idempotency_request_in_flight', 'A request with this Idempotency-Key is changing state; retry.', request.url),
    );
  };

  const onSend: onSendHookHandler = async (request, reply, payload) => {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const status = reply.statusCode;
    try {
      const body = payloadText(payload);
      if (status >= 500 || status === 429 || body === undefined) {
        // Not a result worth keeping: let the client's retry execute again.
        await db.query('delete from idempotency_keys where scope = $1 and key = $2 and lock_token = $3', [
          claim.scope,
          claim.key,
          claim.token,
        ]);
        count('released');
        return payload;
      }
      const headers = replayedHeaders(reply);
      const { rowCount } = await db.query(
        `update idempotency_keys set state = 'done', status_code = $4, response_headers = $5::jsonb, response_body = $6, lock_token = null, locked_until = null
          where scope = $1 and key = $2 and lock_token = $3 and state = 'in_flight'`,
        [claim.scope, claim.key, claim.token, status, JSON.stringify(headers), body],
        { prepared: 'fleetdesk_idempotency_store' },
      );
      if (rowCount === 0) {
        // The lock expired while we ran and a retry took the key over: it will store its own response.
        count('store_lost');
        log.warn('idempotent response not stored: the key was taken over', { reqId: request.id, scope: claim.scope });
      }
    } catch (err) {
      // The response goes out anyway; the key stays in flight until its lock expires.
      count('store_lost');
      log.error('storing an idempotent response failed', { reqId: request.id, scope: claim.scope, ...errorFields(err) });
    }
    return payload;
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.idempotent !== true) return;
    // Route-level hooks run after all global ones: authentication and validation are done by then.
    route.preHandler = [...toArray(route.preHandler), preHandler];
    route.onSend = [...toArray(route.onSend), onSend];
  });

  const purgeMs = options.purgeIntervalMs ?? 600_000;
  let timer: NodeJS.Timeout | undefined;
  if (purgeMs > 0) {
    timer = setInterval(() => {
      purgeExpiredKeys(db).catch((err: unknown) => log.warn('purging expired idempotency keys failed', errorFields(err)));
    }, purgeMs);
    timer.unref();
  }
  app.addHook('onClose', async () => clearInterval(timer));
}

/** Deletes keys past their retention; returns how many (every instance may run it: harmless). */
export async function purgeExpiredKeys(db: Db): Promise<number> {
  const { rowCount } = await db.query('delete from idempotency_keys where expires_at <= now()');
  return rowCount;
}

/**
 * Takes the key as in flight — or takes over a row that has expired, or whose executing request's lock expired
 * (same request only: a different body is a key reuse) — and when another request holds it, reads that row: see
 * fleetdesk_idempotency_begin in 031_reserve_cpu.sql (its commit does not wait for the WAL flush, and why that loses
 * nothing).
 */
const BEGIN_SQL = 'select * from fleetdesk_idempotency_begin($1, $2, $3, $4, $5, $6)';

function requestScope(request: FastifyRequest): string {
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const principal = request.principal as FastifyRequest['principal'] | undefined;
  if (principal?.kind === 'customer') return `customer:${principal.customerId} ${route}`;
  if (principal?.kind === 'staff') return `staff:${principal.staffId} ${route}`;
  // A route that requires a caller but has none means the auth hook did not run first: refuse rather than let
  // every caller share one key space.
  const auth = request.routeOptions.config.auth;
  if (auth !== undefined && auth !== 'public')
    throw new Error('idempotency: no principal on an authenticated route (is the auth hook installed?)');
  return `anonymous ${route}`;
}

/** sha256 over the canonical JSON of what identifies the request: path params, query and the parsed body. */
export function requestFingerprint(request: Pick<FastifyRequest, 'params' | 'query' | 'body'>): string {
  const body = Buffer.isBuffer(request.body) ? { bytes: request.body.toString('base64') } : request.body;
  return createHash('sha256')
    .update(canonicalJson({ params: request.params ?? null, query: request.query ?? null, body: body ?? null }))
    .digest('hex');
}

/** JSON with object keys sorted at every level, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function replay(reply: FastifyReply, row: KeyRow): FastifyReply {
  for (const [name, value] of Object.entries(row.response_headers ?? {})) reply.header(name, value);
  return reply
    .code(row.status_code ?? 200)
    .header(REPLAYED_HEADER, 'true')
    .send(row.response_body ?? '');
}

function replayedHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

/** The serialized body, or undefined for a stream (not storable: the key is released instead). */
function payloadText(payload: unknown): string | undefined {
  if (payload === null || payload === undefined) return '';
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return undefined;
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
