/**
 * Idempotency-Key semantics against a tiny route registered here, on PGlite and (with DATABASE_URL) PostgreSQL,
 * with two HTTP server instances sharing one database (the database decides who executes).
 *
 * The principal is set by a small onRequest hook from a test header instead of a signed token: what is under
 * test is the idempotency hook pair, which only reads `request.principal` (the auth hook's job is tested with it).
 */
import { randomUUID } from 'node:crypto';
import { Type } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../../src/shared/errors.js';
import { startServer, type ServerHandle } from '../../app.js';
import { READY_TO_BOOK, signUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import type { Principal } from '../auth/principal.js';
import { openDatabase, type Db } from '../db/index.js';
import { createLogger } from '../log.js';
import { createPlatformMetrics } from '../metrics.js';
import { installIdempotency, purgeExpiredKeys } from './idempotency.js';
import { createHttpServer, listenHttp, type HttpApp } from './index.js';

interface Instance {
  app: HttpApp;
  url: string;
}

/** Per-test state the routes read: how often each handler ran, and an optional gate holding the handler. */
class Harness {
  executions = 0;
  flakyCalls = 0;
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;
}

async function startInstance(db: Db, h: Harness): Promise<Instance> {
  const log = createLogger({ level: 'silent' });
  const metrics = createPlatformMetrics();
  const app = createHttpServer({ log, metrics, readiness: {} });
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    const customer = request.headers['x-test-customer'];
    request.principal =
      typeof customer === 'string' ? ({ kind: 'customer', customerId: customer } satisfies Principal) : { kind: 'anonymous' };
  });
  installIdempotency(app, { db, log, metrics: metrics.registry, purgeIntervalMs: 0 });
  await app.register(
    async (v1) => {
      v1.post(
        '/test/shops/:shop/orders',
        {
          config: { auth: 'customer', idempotent: true },
          schema: {
            params: Type.Object({ shop: Type.String() }),
            body: Type.Object({
              item: Type.String(),
              qty: Type.Integer(),
              note: Type.Optional(Type.Object({ a: Type.Integer(), b: Type.Integer() })),
            }),
          },
        },
        async (request, reply) => {
          h.executions++;
          h.entered?.();
          if (h.gate) await h.gate;
          const orderId = randomUUID();
          return reply
            .code(201)
            .header('location', `/v1/test/orders/${orderId}`)
            .send({ orderId, shop: (request.params as { shop: string }).shop, ...(request.body as object) });
        },
      );
      v1.post(
        '/test/declines',
        { config: { auth: 'customer', idempotent: true }, schema: { body: Type.Object({ n: Type.Integer() }) } },
        async () => {
          h.executions++;
          throw new AppError('payment_declined', 'declined', { status: 402 });
        },
      );
      v1.post(
        '/test/flaky',
        { config: { auth: 'customer', idempotent: true }, schema: { body: Type.Object({ n: Type.Integer() }) } },
        async (_request, reply) => {
          h.flakyCalls++;
          if (h.flakyCalls === 1) throw new AppError('provider_down', 'try again', { status: 503 });
          if (h.flakyCalls === 2) throw new Error('boom'); // an unexpected 500
          return reply.code(201).send({ call: h.flakyCalls });
        },
      );
      v1.post('/test/plain', { config: { auth: 'customer' } }, async () => ({ executions: ++h.executions }));
    },
    { prefix: '/v1' },
  );
  const url = await listenHttp(app, '127.0.0.1', 0);
  return { app, url };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function post(instance: Instance, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${instance.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-customer': 'cust-1', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

/** Resolves once the gated handler has been entered; `release()` lets it finish. */
function holdHandler(h: Harness): { entered: Promise<void>; release: () => void } {
  let release!: () => void;
  h.gate = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (h.entered = resolve));
  return {
    entered,
    release: () => {
      h.gate = undefined;
      h.entered = undefined;
      release();
    },
  };
}

describe.each(dbBackends())('Idempotency-Key ($name)', (backend) => {
  const h = new Harness();
  let cleanup: () => Promise<void> = async () => undefined;
  const dbs: Db[] = [];
  let a: Instance;
  let b: Instance;
  let db: Db;
  let overrides: { databaseUrl?: string; dataDir: string };
  const order = '/v1/test/shops/berlin/orders';

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    overrides = created.overrides;
    const log = createLogger({ level: 'silent' });
    db = await openDatabase(created.overrides, log);
    dbs.push(db);
    // PostgreSQL: a second connection pool, as a second server process would have. PGlite is one in-process
    // database, so the second HTTP instance shares its handle.
    const dbB = backend.name === 'postgres' ? await openDatabase(created.overrides, log) : db;
    if (dbB !== db) dbs.push(dbB);
    a = await startInstance(db, h);
    b = await startInstance(dbB, h);
  });

  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    for (const d of dbs) await d.close();
    await cleanup();
  });

  it('executes every time without the header', async () => {
    const before = h.executions;
    const first = await post(a, order, { item: 'x', qty: 1 });
    const second = await post(a, order, { item: 'x', qty: 1 });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.orderId).not.toBe(second.body.orderId);
    expect(h.executions - before).toBe(2);
  });

  it('replays the first response for the same key and request, on either instance, with Idempotent-Replayed', async () => {
    const key = randomUUID();
    const before = h.executions;
    const first = await post(a, order, { item: 'coffee', qty: 2, note: { a: 1, b: 2 } }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // the same JSON with its keys in another order is the same request
    const again = await post(b, order, '{"note":{"b":2,"a":1},"qty":2,"item":"coffee"}', { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(h.executions - before).toBe(1);
  });

  it('stores 4xx outcomes too: a declined request is answered the same way again without running again', async () => {
    const key = randomUUID();
    const before = h.executions;
    const first = await post(a, '/v1/test/declines', { n: 1 }, { 'idempotency-key': key });
    const again = await post(b, '/v1/test/declines', { n: 1 }, { 'idempotency-key': key });
    expect(first.status).toBe(402);
    expect(again.status).toBe(402);
    expect(again.body.code).toBe('payment_declined');
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(h.executions - before).toBe(1);
  });

  it('answers 422 idempotency_key_reuse for the same key with another body or other path params', async () => {
    const key = randomUUID();
    expect((await post(a, order, { item: 'tea', qty: 1 }, { 'idempotency-key': key })).status).toBe(201);
    const before = h.executions;
    const otherBody = await post(b, order, { item: 'tea', qty: 2 }, { 'idempotency-key': key });
    expect(otherBody.status).toBe(422);
    expect(otherBody.headers.get('content-type')).toContain('application/problem+json');
    expect(otherBody.body).toMatchObject({
      status: 422,
      code: 'idempotency_key_reuse',
      type: 'urn:fleetdesk:problem:idempotency_key_reuse',
    });
    const otherShop = await post(a, '/v1/test/shops/paris/orders', { item: 'tea', qty: 1 }, { 'idempotency-key': key });
    expect(otherShop.status).toBe(422);
    expect(h.executions).toBe(before);
  });

  it('scopes keys per principal and per route', async () => {
    const key = randomUUID();
    const before = h.executions;
    const one = await post(a, order, { item: 'cake', qty: 1 }, { 'idempotency-key': key });
    const otherCustomer = await post(a, order, { item: 'cake', qty: 1 }, { 'idempotency-key': key, 'x-test-customer': 'cust-2' });
    const otherRoute = await post(a, '/v1/test/declines', { n: 1 }, { 'idempotency-key': key });
    expect([one.status, otherCustomer.status, otherRoute.status]).toEqual([201, 201, 402]);
    expect(otherCustomer.headers.get('idempotent-replayed')).toBeNull();
    expect(otherCustomer.body.orderId).not.toBe(one.body.orderId);
    expect(h.executions - before).toBe(3);
  });

  it('rejects malformed keys with 400 idempotency_key_invalid and does not execute', async () => {
    const before = h.executions;
    for (const bad of ['x'.repeat(256), 'tab\there', 'caf\u00e9']) {
      const res = await post(a, order, { item: 'x', qty: 1 }, { 'idempotency-key': bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code).toBe('idempotency_key_invalid');
    }
    expect(h.executions).toBe(before);
    expect((await post(a, order, { item: 'x', qty: 1 }, { 'idempotency-key': 'k'.repeat(255) })).status).toBe(201);
    expect((await post(a, order, { item: 'x', qty: 1 }, { 'idempotency-key': 'a key with spaces & symbols!~' })).status).toBe(201);
  });

  it('validates the body before looking at the key: a bad body is 400 validation and does not burn the key', async () => {
    const key = randomUUID();
    const bad = await post(a, order, { item: 'x' }, { 'idempotency-key': key });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation');
    expect((await post(a, order, { item: 'x', qty: 3 }, { 'idempotency-key': key })).status).toBe(201);
  });

  it('answers 409 idempotency_request_in_flight while the first request runs, then replays its response', async () => {
    const key = randomUUID();
    const held = holdHandler(h);
    const first = post(a, order, { item: 'soup', qty: 1 }, { 'idempotency-key': key });
    await held.entered;
    const during = await post(b, order, { item: 'soup', qty: 1 }, { 'idempotency-key': key });
    expect(during.status).toBe(409);
    expect(during.body).toMatchObject({ code: 'idempotency_request_in_flight' });
    expect(during.headers.get('retry-after')).toBe('1');
    held.release();
    const done = await first;
    expect(done.status).toBe(201);
    const after = await post(b, order, { item: 'soup', qty: 1 }, { 'idempotency-key': key });
    expect(after.status).toBe(201);
    expect(after.text).toBe(done.text);
  });

  it('runs concurrent identical requests on two instances exactly once', async () => {
    const key = randomUUID();
    const before = h.executions;
    const held = holdHandler(h);
    const body = { item: 'bike', qty: 1 };
    const n = 40;
    // n requests at once, alternating instances; the one that wins is held until all the others have answered.
    let answered = 0;
    let othersAnswered!: () => void;
    const others = new Promise<void>((resolve) => (othersAnswered = resolve));
    const racing = Array.from({ length: n }, (_, i) =>
      post(i % 2 === 0 ? a : b, order, body, { 'idempotency-key': key }).then((x) => {
        if (++answered === n - 1) othersAnswered();
        return x;
      }),
    );
    await held.entered;
    await others;
    held.release();
    const answers = await Promise.all(racing);
    const executed = answers.filter((x) => x.status === 201);
    expect(executed).toHaveLength(1);
    expect(executed[0]!.headers.get('idempotent-replayed')).toBeNull();
    expect(answers.filter((x) => x.status === 409)).toHaveLength(n - 1);
    expect(h.executions - before).toBe(1);
    const retry = await post(b, order, body, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.text).toBe(executed[0]!.text);
  });

  it('does not store 5xx answers: the retry runs again, and its success is then replayed', async () => {
    const key = randomUUID();
    h.flakyCalls = 0;
    const first = await post(a, '/v1/test/flaky', { n: 1 }, { 'idempotency-key': key });
    expect(first.status).toBe(503);
    const second = await post(b, '/v1/test/flaky', { n: 1 }, { 'idempotency-key': key });
    expect(second.status).toBe(500);
    const third = await post(a, '/v1/test/flaky', { n: 1 }, { 'idempotency-key': key });
    expect(third.status).toBe(201);
    expect(third.body).toEqual({ call: 3 });
    const fourth = await post(b, '/v1/test/flaky', { n: 1 }, { 'idempotency-key': key });
    expect(fourth.status).toBe(201);
    expect(fourth.headers.get('idempotent-replayed')).toBe('true');
    expect(h.flakyCalls).toBe(3);
  });

  it('lets a retry take over a key whose executing request stopped (lock expired); the taker-over is what gets replayed', async () => {
    const key = randomUUID();
    const body = { item: 'lamp', qty: 1 };
    const held = holdHandler(h);
    const stuck = post(a, order, body, { 'idempotency-key': key });
    await held.entered;
    // As if instance A died: its lock runs out (moved into the past instead of waiting 60 s).
    const moved = await db.query(
      `update idempotency_keys set locked_until = now() - interval '1 second' where key = $1 and state = 'in_flight'`,
      [key],
    );
    expect(moved.rowCount).toBe(1);
    // a different request under the same key is still a reuse, stopped or not
    expect((await post(b, order, { item: 'lamp', qty: 9 }, { 'idempotency-key': key })).status).toBe(422);
    h.gate = undefined;
    h.entered = undefined;
    const takeover = await post(b, order, body, { 'idempotency-key': key });
    expect(takeover.status).toBe(201);
    expect(takeover.headers.get('idempotent-replayed')).toBeNull();
    held.release();
    const late = await stuck; // A finishes after all: its answer reaches its client but is not stored
    expect(late.status).toBe(201);
    const replay = await post(a, order, body, { 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(takeover.text);
  });

  it('forgets keys after their retention: an expired key executes again, and the purge deletes it', async () => {
    const key = randomUUID();
    expect((await post(a, order, { item: 'old', qty: 1 }, { 'idempotency-key': key })).status).toBe(201);
    await db.query(`update idempotency_keys set expires_at = now() - interval '1 second' where key = $1`, [key]);
    const before = h.executions;
    const fresh = await post(b, order, { item: 'new', qty: 1 }, { 'idempotency-key': key });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(h.executions - before).toBe(1);
    await db.query(`update idempotency_keys set expires_at = now() - interval '1 second' where key = $1`, [key]);
    expect(await purgeExpiredKeys(db)).toBeGreaterThanOrEqual(1);
    const { rows } = await db.query('select count(*)::int as n from idempotency_keys where key = $1', [key]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('takes a key without waiting for its WAL flush in that transaction only: the connection commits synchronously afterwards', async () => {
    // one connection, so the statements below run where the key was taken
    const one = await openDatabase({ ...overrides, dbPoolMax: 1 }, createLogger({ level: 'silent' }));
    try {
      const key = randomUUID();
      const begin = 'select claimed, taken_over from fleetdesk_idempotency_begin($1, $2, $3, $4, 60000, 86400000)';
      const inside = await one.transaction(async (tx) => {
        const { rows } = await tx.query(begin, ['customer:wal', key, 'f'.repeat(64), 'token-1']);
        return { rows, setting: (await tx.query<{ s: string }>('select current_setting($1) as s', ['synchronous_commit'])).rows[0] };
      });
      expect(inside).toEqual({ rows: [{ claimed: true, taken_over: false }], setting: { s: 'off' } });
      const held = await one.query(begin, ['customer:wal', key, 'f'.repeat(64), 'token-2']);
      expect(held.rows).toEqual([{ claimed: false, taken_over: null }]);
      expect((await one.query('select current_setting($1) as s', ['synchronous_commit'])).rows).toEqual([{ s: 'on' }]);
    } finally {
      await one.close();
    }
  });

  it('leaves routes without `idempotent` alone', async () => {
    const key = randomUUID();
    const first = await post(a, '/v1/test/plain', {}, { 'idempotency-key': key });
    const second = await post(a, '/v1/test/plain', {}, { 'idempotency-key': key });
    expect((second.body.executions as number) - (first.body.executions as number)).toBe(1);
    const { rows } = await db.query('select count(*)::int as n from idempotency_keys where key = $1', [key]);
    expect(rows[0]).toEqual({ n: 0 });
  });
});

/** The same semantics through the whole server: the real auth hook, then the idempotency hooks, on POST /v1/reservations. */
describe.each(dbBackends())('Idempotency-Key on a real route ($name)', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void> = async () => undefined;
  let cars: string[] = [];

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      logLevel: 'silent',
      seedVehicles: 3,
    });
    cars = (await server.db.query<{ id: string }>('select id from vehicles order by id')).rows.map((r) => r.id);
    for (const [i, id] of cars.entries()) {
      await server.db.query(
        `insert into vehicle_state (vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed, online, seq, device_ts, received_at)
         values ($1, $2, 13.405, 0, 0, 80, 1000, false, true, true, true, 1, $3::bigint, now())`,
        [id, 52.515 + i * 0.001, Date.now()],
      );
    }
    // twice: a call joins a refresh already running, which may have read the state before the writes above
    await server.bookings.refreshAvailability();
    await server.bookings.refreshAvailability();
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup();
  });

  it('replays a reservation, refuses the key with another car, and keeps customers apart', async () => {
    const alice = await signUpCustomer(server, READY_TO_BOOK);
    const bob = await signUpCustomer(server, READY_TO_BOOK);
    const key = randomUUID();
    const reserve = async (headers: Record<string, string>, vehicleId: string) => {
      const res = await fetch(`${server.httpUrl}/v1/reservations`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ vehicleId }),
      });
      return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Record<string, unknown> };
    };
    const first = await reserve(alice.headers, cars[0]!);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = await reserve(alice.headers, cars[0]!);
    expect(again).toEqual({ ...first, replayed: 'true' });
    const otherCar = await reserve(alice.headers, cars[1]!);
    expect([otherCar.status, otherCar.body.code]).toEqual([422, 'idempotency_key_reuse']);
    // Bob's identical request with the same key is his own: it executes, and the car is taken
    const bobs = await reserve(bob.headers, cars[0]!);
    expect(bobs.status).toBe(409);
    expect(bobs.replayed).toBeNull();
    const { rows } = await server.db.query<{ n: number }>(
      `select count(*)::int as n from allocations where kind = 'reservation' and customer_id = $1`,
      [alice.customerId],
    );
    expect(rows[0]?.n).toBe(1);
    // without a token the key is never looked at: 401 first
    const anonymous = await fetch(`${server.httpUrl}/v1/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ vehicleId: cars[0] }),
    });
    expect(anonymous.status).toBe(401);
  });
});
