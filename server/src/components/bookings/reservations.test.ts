/**
 * Reservations through the HTTP API: the lifecycle (reserve → read → cancel), the free hold and the paid longer
 * hold, one open reservation per customer, expiry (the sweeper, and an expired hold being harmless before it),
 * and every refusal as a problem: taken (also by booking/rental rows inserted directly), in maintenance, offline,
 * unknown, blocked customer, bad input, another customer's reservation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { READY_TO_BOOK, signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import {
  call,
  expectProblem,
  insertClaimRow,
  insertCustomerRow,
  MIN,
  placeVehicle,
  QUIET,
  setServiceState,
} from '../../testing/bookings.js';

const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;

describe.each(dbBackends())('reservations on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let ana: SignedUpCustomer;
  let ben: SignedUpCustomer;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 20 });
    for (let i = 1; i <= 20; i++) await placeVehicle(server, CAR(i), { lat: 52.52 + i * 0.001, lon: 13.4 });
    [ana, ben] = await Promise.all([signUpCustomer(server, READY_TO_BOOK), signUpCustomer(server, READY_TO_BOOK)]);
    await insertCustomerRow(server, 'direct-customer');
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const reserve = (who: SignedUpCustomer, body: unknown) => call(server, 'POST', '/v1/reservations', { headers: who.headers, body });

  it('reserve → read → list → cancel; the free hold by default; cancelling twice gives the same answer', async () => {
    const before = Date.now();
    const res = await reserve(ana, { vehicleId: CAR(1) });
    expect(res.status).toBe(201);
    const r = res.body as Record<string, unknown> & { reservationId: string; expiresAt: string; createdAt: string };
    expect(r).toMatchObject({
      vehicleId: CAR(1),
      status: 'held',
      holdMinutes: 15,
      freeHoldMinutes: 15,
      currency: 'EUR',
      feePerMinuteAfterFreeHoldCents: 9,
      maxFeeCents: 0,
      rentalId: null,
    });
    expect(r.reservationId).toMatch(/^res_/);
    const created = Date.parse(r.createdAt);
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(r.expiresAt) - created).toBe(15 * MIN);
    expect(r.freeUntil).toBe(r.expiresAt);

    const got = await call(server, 'GET', `/v1/reservations/${r.reservationId}`, { headers: ana.headers });
    expect(got).toMatchObject({ status: 200, body: { reservationId: r.reservationId, status: 'held', expiresAt: r.expiresAt } });
    const list = await call<{ reservations: Array<{ reservationId: string }> }>(server, 'GET', '/v1/reservations', {
      headers: ana.headers,
    });
    expect(list.body.reservations.map((x) => x.reservationId)).toEqual([r.reservationId]);

    // another customer sees nothing of it
    expectProblem(await call(server, 'GET', `/v1/reservations/${r.reservationId}`, { headers: ben.headers }), 404, 'reservation_not_found');
    expectProblem(
      await call(server, 'DELETE', `/v1/reservations/${r.reservationId}`, { headers: ben.headers }),
      404,
      'reservation_not_found',
    );
    expect(
      (await call<{ reservations: unknown[] }>(server, 'GET', '/v1/reservations', { headers: ben.headers })).body.reservations,
    ).toEqual([]);

    const cancelled = await call(server, 'DELETE', `/v1/reservations/${r.reservationId}`, { headers: ana.headers });
    expect(cancelled).toMatchObject({ status: 200, body: { reservationId: r.reservationId, status: 'cancelled' } });
    expect(await call(server, 'DELETE', `/v1/reservations/${r.reservationId}`, { headers: ana.headers })).toMatchObject({
      status: 200,
      body: { status: 'cancelled' },
    });

    // the car is free again, for someone else
    expect((await reserve(ben, { vehicleId: CAR(1) })).status).toBe(201);
    const row = await server.db.query<{ status: string; server_seq: string }>(
      'select status, server_seq::text from allocations where id = $1',
      [r.reservationId],
    );
    expect(row.rows[0]?.status).toBe('cancelled');
  });

  it('a longer hold costs the fee beyond the free hold; the hold is limited to RESERVATION_MAX_HOLD_MIN', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const res = await reserve(c, { vehicleId: CAR(2), holdMinutes: 40 });
    expect(res).toMatchObject({ status: 201, body: { holdMinutes: 40, freeHoldMinutes: 15, maxFeeCents: 25 * 9 } });
    const body = res.body as { createdAt: string; freeUntil: string; expiresAt: string };
    expect(Date.parse(body.freeUntil) - Date.parse(body.createdAt)).toBe(15 * MIN);
    expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(40 * MIN);
    expectProblem(await reserve(c, { vehicleId: CAR(3), holdMinutes: 61 }), 400, 'invalid_hold');
    expectProblem(await reserve(c, { vehicleId: CAR(3), holdMinutes: 0 }), 400, 'validation');
  });

  it('one open reservation per customer', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const first = await reserve(c, { vehicleId: CAR(4) });
    expect(first.status).toBe(201);
    expectProblem(await reserve(c, { vehicleId: CAR(5) }), 409, 'reservation_limit');
    await call(server, 'DELETE', `/v1/reservations/${(first.body as { reservationId: string }).reservationId}`, { headers: c.headers });
    expect((await reserve(c, { vehicleId: CAR(5) })).status).toBe(201);
  });

  it('a taken car answers 409 vehicle_unavailable; the database refuses the overlap even without the application checks', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    expect((await reserve(ana, { vehicleId: CAR(6) })).status).toBe(201);
    expectProblem(await reserve(c, { vehicleId: CAR(6) }), 409, 'vehicle_unavailable');
    // straight into the table: the exclusion constraint says no
    const now = Date.now();
    await expect(
      insertClaimRow(server, {
        id: 'direct-overlap',
        kind: 'booking',
        vehicleId: CAR(6),
        customerId: 'direct-customer',
        status: 'confirmed',
        from: now + 5 * MIN,
        to: now + 60 * MIN,
      }),
    ).rejects.toMatchObject({
      code: '23P01',
    });
  });

  it('refuses cars in maintenance, offline, silent past the heartbeat, without a position, or unknown', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    await setServiceState(server, CAR(7), 'maintenance');
    expectProblem(await reserve(c, { vehicleId: CAR(7) }), 409, 'vehicle_unavailable');
    await placeVehicle(server, CAR(8), { lat: 52.5, lon: 13.4, online: false });
    expectProblem(await reserve(c, { vehicleId: CAR(8) }), 409, 'vehicle_unavailable');
    await placeVehicle(server, CAR(9), { lat: 52.5, lon: 13.4, receivedAt: Date.now() - 3 * 3_600_000 });
    expectProblem(await reserve(c, { vehicleId: CAR(9) }), 409, 'vehicle_unavailable');
    await server.db.query('delete from vehicle_state where vehicle_id = $1', [CAR(10)]);
    expectProblem(await reserve(c, { vehicleId: CAR(10) }), 409, 'vehicle_unavailable');
    expectProblem(await reserve(c, { vehicleId: 'veh-99999' }), 404, 'vehicle_not_found');
    // nothing was written for any of them
    const { rows } = await server.db.query<{ n: number }>('select count(*)::int as n from allocations where customer_id = $1', [
      c.customerId,
    ]);
    expect(rows[0]?.n).toBe(0);
  });

  it('refuses a car with an active rental (open-ended, or overrunning its return time) and one booked too soon after the hold', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const now = Date.now();
    await insertClaimRow(server, {
      id: 'rental-open',
      kind: 'rental',
      vehicleId: CAR(11),
      customerId: 'direct-customer',
      status: 'active',
      from: now - 30 * MIN,
      to: null,
    });
    expectProblem(await reserve(c, { vehicleId: CAR(11) }), 409, 'vehicle_unavailable');
    // overrunning: its period ended 5 minutes ago, but the car has not come back
    await insertClaimRow(server, {
      id: 'rental-late',
      kind: 'rental',
      vehicleId: CAR(12),
      customerId: 'direct-customer',
      status: 'active',
      from: now - 90 * MIN,
      to: now - 5 * MIN,
    });
    expectProblem(await reserve(c, { vehicleId: CAR(12) }), 409, 'vehicle_unavailable');
    // a booking whose buffer starts 25 min from now: 15 min hold + 15 min minimum drive do not fit
    await insertClaimRow(server, {
      id: 'booking-soon',
      kind: 'booking',
      vehicleId: CAR(13),
      customerId: 'direct-customer',
      status: 'confirmed',
      from: now + 25 * MIN,
      to: now + 120 * MIN,
    });
    expectProblem(await reserve(c, { vehicleId: CAR(13) }), 409, 'vehicle_unavailable');
    // one starting in 2 h leaves room
    await insertClaimRow(server, {
      id: 'booking-later',
      kind: 'booking',
      vehicleId: CAR(14),
      customerId: 'direct-customer',
      status: 'confirmed',
      from: now + 120 * MIN,
      to: now + 240 * MIN,
    });
    expect((await reserve(c, { vehicleId: CAR(14) })).status).toBe(201);
  });

  it('expires by itself: harmless once its hold passed, marked expired by the sweeper', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const res = await reserve(c, { vehicleId: CAR(15) });
    const id = (res.body as { reservationId: string }).reservationId;
    // the hold ran out (moved into the past, as time would)
    await server.db.query(
      `update allocations set period = tstzrange(lower(period) - interval '1 hour', upper(period) - interval '1 hour', '[)'),
              starts_at = starts_at - interval '1 hour', ends_at = ends_at - interval '1 hour' where id = $1`,
      [id],
    );
    // before any sweep: someone else can reserve the car, and the customer can reserve again
    expect((await reserve(ben, { vehicleId: CAR(15) })).status).toBe(409); // ben holds CAR(1) already
    const other = await signUpCustomer(server, READY_TO_BOOK);
    expect((await reserve(other, { vehicleId: CAR(15) })).status).toBe(201);
    expect((await reserve(c, { vehicleId: CAR(16) })).status).toBe(201); // its own expired one is expired first
    expect((await call(server, 'GET', `/v1/reservations/${id}`, { headers: c.headers })).body).toMatchObject({ status: 'expired' });
    expectProblem(await call(server, 'DELETE', `/v1/reservations/${id}`, { headers: c.headers }), 409, 'reservation_not_cancellable');

    // the sweeper expires another customer's lapsed hold
    const d = await signUpCustomer(server, READY_TO_BOOK);
    const late = ((await reserve(d, { vehicleId: CAR(17) })).body as { reservationId: string }).reservationId;
    await server.db.query(
      `update allocations set period = tstzrange(lower(period) - interval '1 hour', upper(period) - interval '1 hour', '[)'),
              starts_at = starts_at - interval '1 hour', ends_at = ends_at - interval '1 hour' where id = $1`,
      [late],
    );
    expect(await server.bookings.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect((await call(server, 'GET', `/v1/reservations/${late}`, { headers: d.headers })).body).toMatchObject({ status: 'expired' });
    expect(await server.bookings.sweepExpired()).toBe(0);
  });

  it('a blocked customer cannot reserve (403 customer_blocked); unblocked, they can', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const support = await staffHeaders(server, 'support');
    expect(
      (await call(server, 'POST', `/ops/v1/customers/${c.customerId}/block`, { headers: support, body: { reason: 'chargeback' } })).status,
    ).toBe(200);
    expectProblem(await reserve(c, { vehicleId: CAR(18) }), 403, 'customer_blocked');
    expect(
      (await call(server, 'POST', `/ops/v1/customers/${c.customerId}/unblock`, { headers: support, body: { reason: 'resolved' } })).status,
    ).toBe(200);
    expect((await reserve(c, { vehicleId: CAR(18) })).status).toBe(201);
  });

  it('bad input and missing sign-in are 4xx problems, never 5xx', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    expectProblem(await call(server, 'POST', '/v1/reservations', { body: { vehicleId: CAR(19) } }), 401, 'unauthorized');
    expectProblem(await call(server, 'GET', '/v1/reservations', { headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
    // (the platform's validator coerces scalars — `{ vehicleId: 42 }` is the unknown vehicle "42" — and drops unknown
    // properties; both stay 4xx-or-harmless)
    expectProblem(await reserve(c, { vehicleId: 42 }), 404, 'vehicle_not_found');
    for (const body of [
      {},
      { vehicleId: '' },
      { vehicleId: null },
      { vehicleId: [CAR(19), CAR(18)] },
      { vehicleId: 'x'.repeat(101) },
      { vehicleId: CAR(19), holdMinutes: 'ten' },
      { vehicleId: CAR(19), holdMinutes: 1.5 },
    ]) {
      const res = await reserve(c, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectProblem(res, 400);
    }
    expectProblem(await call(server, 'POST', '/v1/reservations', { headers: c.headers, rawBody: '{"vehicleId":' }), 400);
    expectProblem(
      await call(server, 'POST', '/v1/reservations', { headers: c.headers, rawBody: JSON.stringify({ vehicleId: 'x'.repeat(2_000_000) }) }),
      413,
    );
    expectProblem(await call(server, 'GET', '/v1/reservations?limit=0', { headers: c.headers }), 400);
    expectProblem(await call(server, 'GET', '/v1/reservations?status=nope', { headers: c.headers }), 400);
    // Fastify's path-parameter limit (100 characters) answers before any handler (plain JSON, not a problem: platform)
    expect((await call(server, 'GET', `/v1/reservations/${'x'.repeat(101)}`, { headers: c.headers })).status).toBe(414);
    expectProblem(await call(server, 'GET', '/v1/reservations/res_unknown', { headers: c.headers }), 404, 'reservation_not_found');
  });

  it('every reservation write took a fresh server_seq (replicated as the rentals collection)', async () => {
    const { rows } = await server.db.query<{ n: number; distinct_seq: number }>(
      'select count(*)::int as n, count(distinct server_seq)::int as distinct_seq from allocations',
    );
    expect(rows[0]!.n).toBeGreaterThan(5);
    expect(rows[0]!.distinct_seq).toBe(rows[0]!.n);
  });
});
