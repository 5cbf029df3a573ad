/**
 * Bookings through the HTTP API: create with an estimate, read, list, cancel; window validation (400 problems);
 * overlaps refused with the buffer kept before every booking; bookings against reservations and against active
 * rentals inserted directly (an open-ended rental blocks every later booking; a rental capped by a booking does
 * not block what comes after it); no-shows expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { READY_TO_BOOK, signUpCustomer, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import {
  call,
  expectProblem,
  insertClaimRow,
  insertCustomerRow,
  isoIn,
  MIN,
  placeVehicle,
  QUIET,
  setServiceState,
} from '../../testing/bookings.js';

const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** A time comfortably in the future, on a whole minute (so windows built from it are exact). */
const base = Math.ceil((Date.now() + 2 * DAY) / MIN) * MIN;
const at = (offsetMs: number) => new Date(base + offsetMs).toISOString();

describe.each(dbBackends())('bookings on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let ana: SignedUpCustomer;
  let ben: SignedUpCustomer;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 12 });
    for (let i = 1; i <= 12; i++) await placeVehicle(server, CAR(i), { lat: 52.52, lon: 13.4 + i * 0.001 });
    [ana, ben] = await Promise.all([signUpCustomer(server, READY_TO_BOOK), signUpCustomer(server, READY_TO_BOOK)]);
    await insertCustomerRow(server, 'direct-customer');
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const book = (who: SignedUpCustomer, vehicleId: string, startsAt: string, endsAt: string) =>
    call(server, 'POST', '/v1/bookings', { headers: who.headers, body: { vehicleId, startsAt, endsAt } });
  const idOf = (res: { body: Record<string, unknown> }) => res.body.bookingId as string;

  it('book → read → list → cancel, with an estimate; another customer sees nothing', async () => {
    const res = await book(ana, CAR(1), at(0), at(2 * HOUR));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      vehicleId: CAR(1),
      status: 'confirmed',
      startsAt: at(0),
      endsAt: at(2 * HOUR),
      rentalId: null,
      cancelReason: null,
    });
    // Volkswagen ID.3 (compact): 120 min × 29 ¢, under the 79 € cap
    expect(res.body.estimate).toMatchObject({ currency: 'EUR', amountCents: 120 * 29 });
    const id = idOf(res);
    expect(id).toMatch(/^bkg_/);

    expect(await call(server, 'GET', `/v1/bookings/${id}`, { headers: ana.headers })).toMatchObject({
      status: 200,
      body: { bookingId: id, status: 'confirmed' },
    });
    expect(
      (await call<{ bookings: Array<{ bookingId: string }> }>(server, 'GET', '/v1/bookings', { headers: ana.headers })).body.bookings.map(
        (b) => b.bookingId,
      ),
    ).toEqual([id]);
    expectProblem(await call(server, 'GET', `/v1/bookings/${id}`, { headers: ben.headers }), 404, 'booking_not_found');
    expectProblem(await call(server, 'DELETE', `/v1/bookings/${id}`, { headers: ben.headers }), 404, 'booking_not_found');

    expect(await call(server, 'DELETE', `/v1/bookings/${id}`, { headers: ana.headers })).toMatchObject({
      status: 200,
      body: { status: 'cancelled', cancelReason: 'cancelled by the customer' },
    });
    expect((await call(server, 'DELETE', `/v1/bookings/${id}`, { headers: ana.headers })).status).toBe(200);
    // the window is free again
    expect((await book(ben, CAR(1), at(0), at(2 * HOUR))).status).toBe(201);
  });

  it('an all-day window is capped in the estimate', async () => {
    // veh-00002 is a Renault Zoe (city class: 26 ¢/min, 69 € cap)
    const res = await book(ana, CAR(2), at(3 * DAY), at(3 * DAY + 10 * HOUR));
    expect(res.body.estimate).toMatchObject({ amountCents: 6_900 });
    expect((res.body.estimate as { lines: Array<{ code: string; amountCents: number }> }).lines).toContainEqual(
      expect.objectContaining({ code: 'daily_cap', amountCents: 6_900 - 600 * 26 }),
    );
  });

  it('overlapping windows are refused, and so is a window starting within the buffer after another', async () => {
    expect((await book(ana, CAR(3), at(0), at(2 * HOUR))).status).toBe(201);
    expectProblem(await book(ben, CAR(3), at(HOUR), at(3 * HOUR)), 409, 'vehicle_unavailable');
    expectProblem(await book(ben, CAR(3), at(-HOUR), at(MIN)), 409, 'vehicle_unavailable');
    // back to back: the next booking's 15-minute buffer would overlap the first
    expectProblem(await book(ben, CAR(3), at(2 * HOUR), at(3 * HOUR)), 409, 'vehicle_unavailable');
    expectProblem(await book(ben, CAR(3), at(2 * HOUR + 14 * MIN), at(3 * HOUR)), 409, 'vehicle_unavailable');
    // 15 minutes after: fine; and the buffer before the first booking blocks an earlier one ending too late
    expect((await book(ben, CAR(3), at(2 * HOUR + 15 * MIN), at(3 * HOUR))).status).toBe(201);
    expectProblem(await book(ben, CAR(3), at(-2 * HOUR), at(-10 * MIN)), 409, 'vehicle_unavailable');
    expect((await book(ben, CAR(3), at(-2 * HOUR), at(-15 * MIN))).status).toBe(201);
    // another car is not affected
    expect((await book(ben, CAR(4), at(HOUR), at(3 * HOUR))).status).toBe(201);
  });

  it('bookings vs reservations vs rentals inserted directly', async () => {
    const now = Date.now();
    const c = await signUpCustomer(server, READY_TO_BOOK);
    // an open-ended active rental blocks every later booking of the car, however far ahead
    await insertClaimRow(server, {
      id: 'b-rental-open',
      kind: 'rental',
      vehicleId: CAR(5),
      customerId: 'direct-customer',
      status: 'active',
      from: now - HOUR,
      to: null,
    });
    expectProblem(await book(c, CAR(5), at(30 * DAY), at(30 * DAY + HOUR)), 409, 'vehicle_unavailable');
    // a rental capped by a booking (returnBy) leaves the car bookable after that booking
    await insertClaimRow(server, {
      id: 'b-rental-capped',
      kind: 'rental',
      vehicleId: CAR(6),
      customerId: 'direct-customer',
      status: 'active',
      from: now - HOUR,
      to: now + 3 * HOUR,
    });
    expectProblem(await book(c, CAR(6), isoIn(2 * HOUR, now), isoIn(4 * HOUR, now)), 409, 'vehicle_unavailable');
    expect((await book(c, CAR(6), isoIn(4 * HOUR, now), isoIn(5 * HOUR, now))).status).toBe(201);
    // a held reservation: a booking overlapping its hold (buffer included) is refused, a later one is fine
    const r = await call(server, 'POST', '/v1/reservations', { headers: ana.headers, body: { vehicleId: CAR(7) } });
    expect(r.status).toBe(201);
    expectProblem(await book(c, CAR(7), isoIn(20 * MIN, now), isoIn(HOUR, now)), 409, 'vehicle_unavailable');
    expect((await book(c, CAR(7), isoIn(35 * MIN, now), isoIn(HOUR, now))).status).toBe(201);
    // a booking starting now needs a car that is online and not in maintenance
    await placeVehicle(server, CAR(8), { lat: 52.5, lon: 13.4, online: false });
    expectProblem(await book(c, CAR(8), isoIn(0, Date.now()), isoIn(HOUR, Date.now())), 409, 'vehicle_unavailable');
    expect((await book(c, CAR(8), at(0), at(HOUR))).status).toBe(201); // later: it may be back online by then
    await setServiceState(server, CAR(9), 'maintenance');
    expectProblem(await book(c, CAR(9), at(0), at(HOUR)), 409, 'vehicle_unavailable');
    expectProblem(await book(c, 'veh-99999', at(0), at(HOUR)), 404, 'vehicle_not_found');
  });

  it('the row keeps the customer’s window; the blocked period starts the buffer earlier, never before now', async () => {
    const res = await book(ben, CAR(10), at(5 * HOUR), at(6 * HOUR));
    const { rows } = await server.db.query<{ lower_ms: number; starts_ms: number }>(
      `select extract(epoch from lower(period)) * 1000 as lower_ms, extract(epoch from starts_at) * 1000 as starts_ms from allocations where id = $1`,
      [idOf(res)],
    );
    expect(Number(rows[0]!.starts_ms) - Number(rows[0]!.lower_ms)).toBe(15 * MIN);
    const now = Date.now();
    const soon = await book(ben, CAR(11), isoIn(5 * MIN, now), isoIn(HOUR, now));
    expect(soon.status).toBe(201);
    const row = await server.db.query<{ lower_ms: number }>(
      `select extract(epoch from lower(period)) * 1000 as lower_ms from allocations where id = $1`,
      [idOf(soon)],
    );
    expect(Number(row.rows[0]!.lower_ms)).toBeGreaterThanOrEqual(now - 1000);
  });

  it('no-shows expire once the window is over', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const res = await book(c, CAR(12), at(10 * DAY), at(10 * DAY + HOUR));
    const id = idOf(res);
    await server.db.query(
      `update allocations set period = tstzrange(lower(period) - interval '20 days', upper(period) - interval '20 days', '[)'),
              starts_at = starts_at - interval '20 days', ends_at = ends_at - interval '20 days' where id = $1`,
      [id],
    );
    expect(await server.bookings.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect((await call(server, 'GET', `/v1/bookings/${id}`, { headers: c.headers })).body).toMatchObject({ status: 'expired' });
    expectProblem(await call(server, 'DELETE', `/v1/bookings/${id}`, { headers: c.headers }), 409, 'booking_not_cancellable');
  });

  it('window validation: 400 problems, never 5xx', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    const now = Date.now();
    const cases: Array<[string, string, string]> = [
      [isoIn(-2 * MIN, now), isoIn(HOUR, now), 'booking_in_past'],
      [at(HOUR), at(HOUR), 'invalid_window'],
      [at(2 * HOUR), at(HOUR), 'invalid_window'],
      [at(0), at(14 * MIN), 'booking_too_short'],
      [at(0), at(7 * DAY + MIN), 'booking_too_long'],
      [isoIn(91 * DAY, now), isoIn(91 * DAY + HOUR, now), 'booking_too_far_ahead'],
      ['2025-13-01T10:00:00Z', at(HOUR), 'validation'],
      ['tomorrow', at(HOUR), 'validation'],
      ['2025-06-01T10:00:00', at(HOUR), 'validation'],
      ['', at(HOUR), 'validation'],
    ];
    for (const [startsAt, endsAt, code] of cases) {
      const res = await book(c, CAR(12), startsAt, endsAt);
      expect({ startsAt, endsAt, status: res.status, code: res.body.code }).toEqual({ startsAt, endsAt, status: 400, code });
      expectProblem(res, 400, code);
    }
    // the minimum and maximum themselves are fine; a minute in the past is tolerated
    expect((await book(c, CAR(12), at(20 * DAY), at(20 * DAY + 15 * MIN))).status).toBe(201);
    expect((await book(c, CAR(12), at(21 * DAY), at(28 * DAY))).status).toBe(201);
    for (const body of [
      {},
      { vehicleId: CAR(1) },
      { vehicleId: CAR(1), startsAt: at(0) },
      { vehicleId: CAR(1), startsAt: 5, endsAt: 6 },
      { vehicleId: CAR(1), startsAt: at(0), endsAt: 'x'.repeat(100) },
    ]) {
      expectProblem(await call(server, 'POST', '/v1/bookings', { headers: c.headers, body }), 400);
    }
    expectProblem(await call(server, 'POST', '/v1/bookings', { headers: c.headers, rawBody: 'not json' }), 400);
    expectProblem(
      await call(server, 'POST', '/v1/bookings', { body: { vehicleId: CAR(1), startsAt: at(0), endsAt: at(HOUR) } }),
      401,
      'unauthorized',
    );
    expectProblem(await call(server, 'GET', '/v1/bookings?limit=1000', { headers: c.headers }), 400);
    expectProblem(await call(server, 'GET', '/v1/bookings/bkg_nope', { headers: c.headers }), 404, 'booking_not_found');
  });

  it('at most 10 open bookings per customer', async () => {
    const c = await signUpCustomer(server, READY_TO_BOOK);
    for (let i = 0; i < 10; i++) expect((await book(c, CAR(1), at(40 * DAY + i * DAY), at(40 * DAY + i * DAY + HOUR))).status).toBe(201);
    expectProblem(await book(c, CAR(1), at(60 * DAY), at(60 * DAY + HOUR)), 409, 'booking_limit');
  });
});
