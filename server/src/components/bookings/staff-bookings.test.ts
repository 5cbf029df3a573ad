/**
 * Staff routes on a vehicle's claims: any staff member lists and reads them (customer names for support/admin
 * only); support/admin extend a booking (409 on overlap) or cancel a reservation/booking, each audited in the
 * same transaction with actor, role, reason, before and after; dispatchers and customers are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { READY_TO_BOOK, signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem, insertClaimRow, MIN, placeVehicle, QUIET } from '../../testing/bookings.js';

const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const base = Math.ceil((Date.now() + 3 * DAY) / MIN) * MIN;
const at = (offsetMs: number) => new Date(base + offsetMs).toISOString();

interface StaffRow {
  id: string;
  kind: string;
  status: string;
  customerName?: string | null;
  endsAt: string | null;
  periodEnd: string | null;
  cancelReason: string | null;
  cancelledBy: string | null;
}

describe.each(dbBackends())('staff bookings API on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let ana: SignedUpCustomer;
  let dispatcher: Record<string, string>;
  let support: Record<string, string>;
  let admin: Record<string, string>;
  let bookingId: string;
  let reservationId: string;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 4 });
    for (let i = 1; i <= 4; i++) await placeVehicle(server, CAR(i), { lat: 52.52, lon: 13.4 });
    ana = await signUpCustomer(server, { ...READY_TO_BOOK, name: 'Ana Staff-Test' });
    [dispatcher, support, admin] = await Promise.all([
      staffHeaders(server, 'dispatcher', 'disp-1'),
      staffHeaders(server, 'support', 'sup-1'),
      staffHeaders(server, 'admin', 'adm-1'),
    ]);
    // CAR(1): an ended rental in the past, a cancelled reservation, a booking
    const now = Date.now();
    await insertClaimRow(server, {
      id: 'rnt-old',
      kind: 'rental',
      vehicleId: CAR(1),
      customerId: ana.customerId,
      status: 'ended',
      from: now - 5 * HOUR,
      to: now - 4 * HOUR,
    });
    const r = await call(server, 'POST', '/v1/reservations', { headers: ana.headers, body: { vehicleId: CAR(1) } });
    reservationId = r.body.reservationId as string;
    await call(server, 'DELETE', `/v1/reservations/${reservationId}`, { headers: ana.headers });
    const b = await call(server, 'POST', '/v1/bookings', {
      headers: ana.headers,
      body: { vehicleId: CAR(1), startsAt: at(0), endsAt: at(2 * HOUR) },
    });
    bookingId = b.body.bookingId as string;
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const list = (headers: Record<string, string>, query: string) =>
    call<{ bookings: StaffRow[] }>(server, 'GET', `/ops/v1/bookings?${query}`, { headers });

  it('lists a vehicle’s reservations, bookings and rentals newest first; names only for support and admin', async () => {
    const asDispatcher = await list(dispatcher, `vehicleId=${CAR(1)}`);
    expect(asDispatcher.status).toBe(200);
    expect(asDispatcher.body.bookings.map((b) => [b.id, b.kind, b.status])).toEqual([
      [bookingId, 'booking', 'confirmed'],
      [reservationId, 'reservation', 'cancelled'],
      ['rnt-old', 'rental', 'ended'],
    ]);
    expect(asDispatcher.body.bookings.every((b) => !('customerName' in b))).toBe(true);
    for (const headers of [support, admin]) {
      const rows = (await list(headers, `vehicleId=${CAR(1)}`)).body.bookings;
      expect(rows.map((b) => b.customerName)).toEqual(['Ana Staff-Test', 'Ana Staff-Test', 'Ana Staff-Test']);
    }
    expect((await list(dispatcher, `vehicleId=${CAR(1)}&kind=booking`)).body.bookings.map((b) => b.id)).toEqual([bookingId]);
    expect((await list(dispatcher, `vehicleId=${CAR(1)}&limit=1`)).body.bookings).toHaveLength(1);
    expect((await list(dispatcher, `customerId=${ana.customerId}&status=cancelled`)).body.bookings.map((b) => b.id)).toEqual([
      reservationId,
    ]);
    expect((await list(dispatcher, `vehicleId=${CAR(4)}`)).body.bookings).toEqual([]);

    const one = await call<StaffRow>(server, 'GET', `/ops/v1/bookings/${bookingId}`, { headers: dispatcher });
    expect(one).toMatchObject({ status: 200, body: { id: bookingId, kind: 'booking', endsAt: at(2 * HOUR), periodEnd: at(2 * HOUR) } });
    expect('customerName' in one.body).toBe(false);
    expect((await call<StaffRow>(server, 'GET', `/ops/v1/bookings/${bookingId}`, { headers: support })).body.customerName).toBe(
      'Ana Staff-Test',
    );
    expectProblem(await call(server, 'GET', '/ops/v1/bookings/nope', { headers: dispatcher }), 404, 'allocation_not_found');
  });

  it('support extends a booking, audited with before/after; 409 when the car is taken then; other refusals', async () => {
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
        headers: dispatcher,
        body: { endsAt: at(3 * HOUR), reason: 'x' },
      }),
      403,
      'forbidden',
    );
    const res = await call<StaffRow>(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
      headers: support,
      body: { endsAt: at(3 * HOUR), reason: 'customer called: train late' },
    });
    expect(res).toMatchObject({ status: 200, body: { id: bookingId, status: 'confirmed', endsAt: at(3 * HOUR), periodEnd: at(3 * HOUR) } });
    // the customer sees the new end
    expect((await call(server, 'GET', `/v1/bookings/${bookingId}`, { headers: ana.headers })).body).toMatchObject({ endsAt: at(3 * HOUR) });

    const { rows } = await server.db.query<{
      actor: string;
      role: string;
      action: string;
      target_type: string;
      reason: string;
      before: { endsAt: string };
      after: { endsAt: string };
    }>(`select actor, role, action, target_type, reason, before, after from audit_log where target_id = $1 order by id`, [bookingId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'sup-1',
      role: 'support',
      action: 'booking.extended',
      target_type: 'booking',
      reason: 'customer called: train late',
    });
    expect(rows[0]!.before.endsAt).toBe(at(2 * HOUR));
    expect(rows[0]!.after.endsAt).toBe(at(3 * HOUR));

    // someone else books after it; extending into that (buffer included) is a conflict, and changes nothing
    const other = await signUpCustomer(server, READY_TO_BOOK);
    expect(
      (
        await call(server, 'POST', '/v1/bookings', {
          headers: other.headers,
          body: { vehicleId: CAR(1), startsAt: at(4 * HOUR), endsAt: at(5 * HOUR) },
        })
      ).status,
    ).toBe(201);
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
        headers: admin,
        body: { endsAt: at(3 * HOUR + 50 * MIN), reason: 'more' },
      }),
      409,
      'vehicle_unavailable',
    );
    expect((await call<StaffRow>(server, 'GET', `/ops/v1/bookings/${bookingId}`, { headers: admin })).body.endsAt).toBe(at(3 * HOUR));
    expect(
      (
        await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
          headers: admin,
          body: { endsAt: at(3 * HOUR + 45 * MIN), reason: 'up to the buffer' },
        })
      ).status,
    ).toBe(200);

    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
        headers: support,
        body: { endsAt: at(HOUR), reason: 'shorter' },
      }),
      400,
      'not_an_extension',
    );
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, {
        headers: support,
        body: { endsAt: at(8 * DAY), reason: 'too long' },
      }),
      400,
      'booking_too_long',
    );
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${reservationId}/extend`, { headers: support, body: { endsAt: at(HOUR), reason: 'x' } }),
      409,
      'not_a_booking',
    );
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/nope/extend`, { headers: support, body: { endsAt: at(HOUR), reason: 'x' } }),
      404,
      'allocation_not_found',
    );
    for (const body of [
      {},
      { endsAt: at(HOUR) },
      { endsAt: at(HOUR), reason: '' },
      { endsAt: 'soon', reason: 'x' },
      { endsAt: at(HOUR), reason: 'x'.repeat(2001) },
    ]) {
      expectProblem(await call(server, 'POST', `/ops/v1/bookings/${bookingId}/extend`, { headers: support, body }), 400);
    }
    expect((await server.db.query('select 1 from audit_log where target_id = $1', [bookingId])).rows).toHaveLength(2);
  });

  it('support cancels a booking or reservation with a reason, audited; rentals and closed ones are 409', async () => {
    const b = await call(server, 'POST', '/v1/bookings', {
      headers: ana.headers,
      body: { vehicleId: CAR(2), startsAt: at(DAY), endsAt: at(DAY + HOUR) },
    });
    const id = b.body.bookingId as string;
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${id}/cancel`, { headers: dispatcher, body: { reason: 'x' } }),
      403,
      'forbidden',
    );
    const res = await call<StaffRow>(server, 'POST', `/ops/v1/bookings/${id}/cancel`, {
      headers: support,
      body: { reason: 'car damaged, customer informed' },
    });
    expect(res).toMatchObject({
      status: 200,
      body: { status: 'cancelled', cancelReason: 'car damaged, customer informed', cancelledBy: 'sup-1' },
    });
    expect((await call(server, 'GET', `/v1/bookings/${id}`, { headers: ana.headers })).body).toMatchObject({
      status: 'cancelled',
      cancelReason: 'car damaged, customer informed',
    });
    const audit = await server.db.query<{
      actor: string;
      role: string;
      action: string;
      reason: string;
      before: { status: string };
      after: { status: string };
    }>('select actor, role, action, reason, before, after from audit_log where target_id = $1', [id]);
    expect(audit.rows).toEqual([
      expect.objectContaining({ actor: 'sup-1', role: 'support', action: 'booking.cancelled', reason: 'car damaged, customer informed' }),
    ]);
    expect(audit.rows[0]!.before.status).toBe('confirmed');
    expect(audit.rows[0]!.after.status).toBe('cancelled');
    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/${id}/cancel`, { headers: support, body: { reason: 'again' } }),
      409,
      'not_cancellable',
    );

    const c = await signUpCustomer(server, READY_TO_BOOK);
    const r = await call(server, 'POST', '/v1/reservations', { headers: c.headers, body: { vehicleId: CAR(3) } });
    const rid = r.body.reservationId as string;
    expect(await call(server, 'POST', `/ops/v1/bookings/${rid}/cancel`, { headers: admin, body: { reason: 'fraud check' } })).toMatchObject(
      { status: 200, body: { status: 'cancelled' } },
    );
    expect(
      (await server.db.query<{ action: string }>('select action from audit_log where target_id = $1', [rid])).rows.map((x) => x.action),
    ).toEqual(['reservation.cancelled']);
    // the car is free again
    expect((await call(server, 'POST', '/v1/reservations', { headers: c.headers, body: { vehicleId: CAR(3) } })).status).toBe(201);

    expectProblem(
      await call(server, 'POST', `/ops/v1/bookings/rnt-old/cancel`, { headers: support, body: { reason: 'x' } }),
      409,
      'not_cancellable',
    );
    expectProblem(await call(server, 'POST', `/ops/v1/bookings/${id}/cancel`, { headers: support, body: {} }), 400);
  });

  it('customers and anonymous callers cannot use the staff routes', async () => {
    expectProblem(await call(server, 'GET', `/ops/v1/bookings?vehicleId=${CAR(1)}`, { headers: ana.headers }), 401);
    expectProblem(await call(server, 'GET', `/ops/v1/bookings?vehicleId=${CAR(1)}`), 401);
    expectProblem(await call(server, 'POST', `/ops/v1/bookings/${bookingId}/cancel`, { headers: ana.headers, body: { reason: 'x' } }), 401);
    expectProblem(await call(server, 'GET', '/ops/v1/bookings?limit=0', { headers: dispatcher }), 400);
    expectProblem(await call(server, 'GET', '/ops/v1/bookings?kind=lease', { headers: dispatcher }), 400);
  });
});
