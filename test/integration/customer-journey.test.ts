/**
 * The customer journey end to end through the public API, with nothing mocked: a real server (PGlite, and
 * PostgreSQL when DATABASE_URL is set) with its embedded broker and sandbox payment provider, and a simulated car
 * — an MQTT client publishing its telemetry and another answering its commands per the device protocol.
 *
 * sign up → licence verified → payment method → search nearby → reserve → start (the car acknowledges the
 * unlock) → drive (telemetry) → end refused while outside the zone / doors open / ignition on → end → receipt →
 * staff refund → the payments summary shows it. Also: the car not answering the unlock (504, hold voided,
 * reservation kept, startable again) and bad input (4xx problem+json, never 5xx).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { insertClaimRow } from '../../server/src/testing/bookings.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../server/src/testing/auth.js';
import { dbBackends } from '../../server/src/testing/backends.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice, uniqueTestVehicles, waitFor } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';

const CENTER = DEFAULT_SERVICE_AREA.center;

interface Res<T = Record<string, unknown>> {
  status: number;
  contentType: string | null;
  body: T;
}

async function call<T = Record<string, unknown>>(
  server: ServerHandle,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Res<T>> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body: parsed as T };
}

function expectProblem(res: Res, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  expect(res.body.type).toBe(`urn:fleetdesk:problem:${code}`);
}

describe.each(dbBackends())('customer journey on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const cars: SimulatedCar[] = [];
  let support: Record<string, string>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      seedVehicles: 0,
      logLevel: 'silent',
      rentalUnlockTimeoutMs: 3_000,
      rentalLockTimeoutMs: 5_000,
      licenceSandboxLatencyMs: 50,
    });
    const vehicles = uniqueTestVehicles(3);
    await server.registerVehicles(vehicles);
    for (const [i, v] of vehicles.entries()) {
      const telemetry = await connectDevice(server.mqttUrl, v.id);
      const device = await connectCommandDevice(server.mqttUrl, v.id, { behaviour: 'succeed' });
      const car = new SimulatedCar(v.id, telemetry, device);
      // parked side by side near the centre of the operating zone
      await car.report({ lat: CENTER.lat + i * 0.0005, lon: CENTER.lon });
      cars.push(car);
    }
    support = await staffHeaders(server, 'support');
    for (const car of cars) await car.settled(server, support);
  });

  afterAll(async () => {
    for (const car of cars) {
      await car.device.close().catch(() => undefined);
      await car.telemetry.close().catch(() => undefined);
    }
    await server?.stop();
    await cleanup?.();
  });

  async function reserve(customer: SignedUpCustomer, vehicleId: string): Promise<string> {
    const res = await call<{ reservationId: string }>(server, 'POST', '/v1/reservations', customer.headers, { vehicleId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.reservationId;
  }

  it('sign up → licence → payment method → search → reserve → start → drive → end → receipt → staff refund', async () => {
    const car = cars[0]!;
    const customer = await signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });

    // search nearby: the car shows up once its telemetry is in the availability index
    const found = await waitFor(
      async () => {
        const res = await call<{ vehicles: Array<{ vehicleId: string; distanceM: number }> }>(
          server,
          'GET',
          `/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=2000&limit=50`,
          customer.headers,
        );
        expect(res.status).toBe(200);
        return res.body.vehicles.find((v) => v.vehicleId === car.vehicleId);
      },
      { timeoutMs: 15_000, what: 'the car in the availability search' },
    );
    expect(found.distanceM).toBeLessThan(100);

    const reservationId = await reserve(customer, car.vehicleId);

    // start: hold placed, unlock acknowledged by the car
    const key = randomUUID();
    const start = await call<{
      rentalId: string;
      status: string;
      vehicleId: string;
      returnBy: string | null;
      unlock: { commandId: string; status: string };
      payment: { holdCents: number };
    }>(server, 'POST', '/v1/rentals', { ...customer.headers, 'idempotency-key': key }, { reservationId });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    expect(start.body).toMatchObject({ status: 'active', vehicleId: car.vehicleId, returnBy: null, unlock: { status: 'succeeded' } });
    expect(start.body.payment.holdCents).toBeGreaterThan(0);
    expect(car.device.deliveries.filter((d) => d.type === 'unlock').map((d) => d.commandId)).toEqual([start.body.unlock.commandId]);
    const rentalId = start.body.rentalId;
    // the same request again (a client retry) is replayed, not executed twice
    const replay = await call<{ rentalId: string }>(
      server,
      'POST',
      '/v1/rentals',
      { ...customer.headers, 'idempotency-key': key },
      { reservationId },
    );
    expect(replay.body.rentalId).toBe(rentalId);
    expect(car.device.deliveries.filter((d) => d.type === 'unlock')).toHaveLength(1);
    const reservation = await call<{ status: string; rentalId: string | null }>(
      server,
      'GET',
      `/v1/reservations/${reservationId}`,
      customer.headers,
    );
    expect(reservation.body).toMatchObject({ status: 'converted', rentalId });

    // a short drive: unlocked, ignition on, moving east inside the zone, 12.5 km on the odometer
    await car.report({ locked: false, ignition: true });
    for (let i = 1; i <= 5; i++) await car.report({ speedKph: 40, lon: CENTER.lon + i * 0.002, odometerKm: 1000 + i * 2.5 });
    // stopped outside the zone with a door open and the engine running: ending is refused, every reason listed
    await car.report({ speedKph: 0, lat: 52.6, lon: 13.5, doorsClosed: false });
    await car.settled(server, support);
    const blocked = await call<{ blockers: Array<{ code: string; message: string }> }>(
      server,
      'POST',
      `/v1/rentals/${rentalId}/end`,
      customer.headers,
    );
    expectProblem(blocked, 409, 'rental_end_blocked');
    expect(blocked.body.blockers.map((b) => b.code)).toEqual(['outside_operating_zone', 'doors_open', 'ignition_on']);

    // parked properly back in the zone
    await car.report({ lat: CENTER.lat, lon: CENTER.lon + 0.01, doorsClosed: true, ignition: false });
    await car.settled(server, support);
    const end = await call<{
      rental: { status: string; end: { odometerKm: number } };
      price: { usage: { distanceKm: number; drivingMinutes: number }; totalCents: number };
      receipt: {
        lines: Array<{ code: string; quantity: number; unitCents: number; amountCents: number }>;
        totalCents: number;
        subtotalCents: number;
        currency: string;
      };
      lock: { status: string; acknowledged: boolean };
    }>(server, 'POST', `/v1/rentals/${rentalId}/end`, { ...customer.headers, 'idempotency-key': randomUUID() });
    expect(end.status, JSON.stringify(end.body)).toBe(200);
    expect(end.body.rental).toMatchObject({ status: 'ended', end: { odometerKm: 1012.5 } });
    expect(end.body.lock).toEqual(expect.objectContaining({ status: 'succeeded', acknowledged: true }));
    expect(car.device.deliveries.filter((d) => d.type === 'lock')).toHaveLength(1);
    expect(end.body.price.usage.distanceKm).toBe(12.5);
    expect(end.body.price.usage.drivingMinutes).toBeGreaterThan(0);
    // a plausible breakdown: one started minute, driving; 12.5 km within the included allowance; lines add up
    const receipt = end.body.receipt;
    expect(receipt.currency).toBe('EUR');
    expect(receipt.lines.find((l) => l.code === 'driving')).toMatchObject({ quantity: 1 });
    expect(receipt.lines.find((l) => l.code === 'parked')).toMatchObject({ quantity: 0, amountCents: 0 });
    expect(receipt.lines.some((l) => l.code === 'distance')).toBe(false);
    for (const l of receipt.lines) expect(l.amountCents).toBe(l.quantity * l.unitCents);
    expect(receipt.totalCents).toBe(receipt.lines.reduce((s, l) => s + l.amountCents, 0));
    expect(receipt.totalCents).toBeGreaterThan(0);

    // the receipt, once the capture went through the outbox
    const captured = await waitFor(
      async () => {
        const res = await call<{ totalCents: number; payment: { status: string; capturedCents: number } | null }>(
          server,
          'GET',
          `/v1/rentals/${rentalId}/receipt`,
          customer.headers,
        );
        expect(res.status).toBe(200);
        return res.body.payment?.status === 'captured' ? res.body : undefined;
      },
      { timeoutMs: 20_000, what: 'the capture' },
    );
    expect(captured.payment!.capturedCents).toBe(receipt.totalCents);

    // history and detail: own only
    const list = await call<{ rentals: Array<{ rentalId: string }> }>(server, 'GET', '/v1/rentals', customer.headers);
    expect(list.body.rentals.map((r) => r.rentalId)).toEqual([rentalId]);
    const detail = await call<{ rental: { status: string }; receipt: { totalCents: number } }>(
      server,
      'GET',
      `/v1/rentals/${rentalId}`,
      customer.headers,
    );
    expect(detail.body).toMatchObject({ rental: { status: 'ended' }, receipt: { totalCents: receipt.totalCents } });
    const stranger = await signUpCustomer(server);
    expectProblem(await call(server, 'GET', `/v1/rentals/${rentalId}`, stranger.headers), 404, 'rental_not_found');
    expectProblem(await call(server, 'GET', `/v1/rentals/${rentalId}/receipt`, stranger.headers), 404, 'rental_not_found');
    expectProblem(await call(server, 'POST', `/v1/rentals/${rentalId}/end`, stranger.headers), 404, 'rental_not_found');
    expect((await call<{ rentals: unknown[] }>(server, 'GET', '/v1/rentals', stranger.headers)).body.rentals).toEqual([]);

    // support refunds part of it (payments engineer's route); the rental's payments summary shows it
    const refundCents = Math.floor(receipt.totalCents / 2);
    const refund = await call(
      server,
      'POST',
      `/ops/v1/rentals/${rentalId}/refunds`,
      { ...support, 'idempotency-key': randomUUID() },
      { amountCents: refundCents, reason: 'goodwill: dirty seats' },
    );
    expect(refund.status, JSON.stringify(refund.body)).toBeLessThan(300);
    const staffView = await waitFor(
      async () => {
        const res = await call<{
          payments: { refunded: number; captured: number } | null;
          evidence: { commands: Array<{ type: string; status: string }>; audit: Array<{ action: string }> };
        }>(server, 'GET', `/ops/v1/rentals/${rentalId}`, support);
        expect(res.status).toBe(200);
        return res.body.payments?.refunded === refundCents ? res.body : undefined;
      },
      { timeoutMs: 20_000, what: 'the refund in the payments summary' },
    );
    expect(staffView.payments!.captured).toBe(receipt.totalCents);
    expect(staffView.evidence.commands.map((c) => [c.type, c.status]).sort()).toEqual([
      ['lock', 'succeeded'],
      ['unlock', 'succeeded'],
    ]);
    expect(staffView.evidence.audit.map((a) => a.action)).toContain('rental.ended');
    const customerReceipt = await call<{ payment: { refundedCents: number } }>(
      server,
      'GET',
      `/v1/rentals/${rentalId}/receipt`,
      customer.headers,
    );
    expect(customerReceipt.body.payment.refundedCents).toBe(refundCents);
  });

  it('the car does not answer the unlock: 504, hold voided, reservation kept, a lock follows; started once the car answers', async () => {
    const car = cars[1]!;
    const customer = await signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
    const reservationId = await reserve(customer, car.vehicleId);
    car.device.behaviour = 'ignore';
    const res = await call(server, 'POST', '/v1/rentals', customer.headers, { reservationId });
    expectProblem(res, 504, 'unlock_not_acknowledged');
    expect(String(res.body.detail)).toMatch(/hold was released/);

    const reservation = await call<{ status: string }>(server, 'GET', `/v1/reservations/${reservationId}`, customer.headers);
    expect(reservation.body.status).toBe('held');
    expect((await call<{ rentals: unknown[] }>(server, 'GET', '/v1/rentals', customer.headers)).body.rentals).toEqual([]);

    // the unlock was cancelled, a lock sent in case it runs late, the hold voided (what staff see)
    const commands = await call<{ commands: Array<{ commandId: string; type: string; status: string }> }>(
      server,
      'GET',
      `/ops/v1/vehicles/${car.vehicleId}/commands`,
      support,
    );
    const unlock = commands.body.commands.find((c) => c.type === 'unlock')!;
    expect(unlock.status).toBe('cancelled');
    const attemptId = unlock.commandId.slice('unlock-'.length);
    expect(commands.body.commands.find((c) => c.type === 'lock')?.commandId).toBe(`relock-${attemptId}`);
    await waitFor(
      async () => {
        const p = await call<{ status: string }>(server, 'GET', `/ops/v1/rentals/${attemptId}/payments`, support);
        return p.body?.status === 'voided';
      },
      { timeoutMs: 20_000, what: 'the hold voided' },
    );

    // the car answers again: the kept reservation starts
    car.device.behaviour = 'succeed';
    const again = await call<{ status: string }>(server, 'POST', '/v1/rentals', customer.headers, { reservationId });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  });

  it('voids the hold of a start the server never finished (crash between hold and rental), and nothing else', async () => {
    const customer = await signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
    const method = (await server.payments.defaultPaymentMethod(customer.customerId))!;
    const DAY = 86_400_000;
    // bookings far ahead (no other test's car time is touched), each with a start attempt on it
    const booking = async (daysAhead: number): Promise<string> => {
      const id = `bkg_${randomUUID()}`;
      await insertClaimRow(server, {
        id,
        kind: 'booking',
        vehicleId: cars[0]!.vehicleId,
        customerId: customer.customerId,
        status: 'confirmed',
        from: Date.now() + daysAhead * DAY,
        to: Date.now() + daysAhead * DAY + 3_600_000,
      });
      return id;
    };
    const hold = async (sourceId: string | null, leaseOffsetMs: number): Promise<{ rentalId: string; paymentId: string }> => {
      const rentalId = randomUUID();
      if (sourceId) {
        await server.db.query(
          `update allocations set start_attempt_id = $2, start_attempt_expires_at = now() + $3 * interval '1 millisecond' where id = $1`,
          [sourceId, rentalId, leaseOffsetMs],
        );
      }
      const h = await server.payments.authorizeHold(
        {
          rentalId,
          customerId: customer.customerId,
          paymentMethodId: method.paymentMethodId,
          amountCents: 5_000,
          currency: 'EUR',
          idempotencyKey: `rental-hold-${rentalId}`,
        },
        10_000,
      );
      expect(h.status).toBe('authorized');
      await server.db.query(`update payments set created_at = now() - interval '1 hour' where id = $1`, [h.paymentId]);
      return { rentalId, paymentId: h.paymentId };
    };
    // a start cut off by a crash: its claim expired a minute ago, its hold an hour old
    const deadSource = await booking(20);
    const dead = await hold(deadSource, -60_000);
    // a slow start still within its lease, and a hold whose rental exists (an ended one): both left alone
    const slowSource = await booking(21);
    const slow = await hold(slowSource, 120_000);
    const live = await hold(null, 0);
    await insertClaimRow(server, {
      id: live.rentalId,
      kind: 'rental',
      vehicleId: cars[0]!.vehicleId,
      customerId: customer.customerId,
      status: 'ended',
      from: Date.now() - 2 * 3_600_000,
      to: Date.now() - 3_600_000,
    });

    expect(await server.rentals.sweepAbandonedHolds()).toBe(1);
    expect(await server.rentals.sweepAbandonedHolds()).toBe(0); // once
    await server.payments.drainOutbox();
    expect((await server.payments.rentalPayments(dead.rentalId)).status).toBe('voided');
    expect((await server.payments.rentalPayments(slow.rentalId)).status).toBe('authorized');
    expect((await server.payments.rentalPayments(live.rentalId)).status).toBe('authorized');
    // the dead attempt's claim is gone (a late wake-up cannot convert the booking); the slow one keeps its claim
    const { rows } = await server.db.query<{ id: string; start_attempt_id: string | null; status: string }>(
      `select id, start_attempt_id, status from allocations where id = any($1::text[]) order by id`,
      [[deadSource, slowSource]],
    );
    expect(rows.find((r) => r.id === deadSource)).toMatchObject({ start_attempt_id: null, status: 'confirmed' });
    expect(rows.find((r) => r.id === slowSource)).toMatchObject({ start_attempt_id: slow.rentalId, status: 'confirmed' });
  });

  it('refuses to claim a car without a verified licence (403) or a payment method (402), and to start with a declined card', async () => {
    const car = cars[2]!;
    // nobody holds a car they could never drive off with (issue 13 §4): reservations and bookings alike
    const startsAt = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 60_000) * 60_000);
    const window = { vehicleId: car.vehicleId, startsAt: startsAt.toISOString(), endsAt: new Date(+startsAt + 3_600_000).toISOString() };
    const unverified = await signUpCustomer(server, { paymentToken: 'tok_sandbox_ok' });
    const noCard = await signUpCustomer(server, { verifiedLicence: true });
    for (const [who, status, code] of [
      [unverified, 403, 'licence_not_verified'],
      [noCard, 402, 'payment_method_required'],
    ] as const) {
      expectProblem(await call(server, 'POST', '/v1/reservations', who.headers, { vehicleId: car.vehicleId }), status, code);
      expectProblem(await call(server, 'POST', '/v1/bookings', who.headers, window), status, code);
    }
    // the customer API's own steps make them ready: a payment method added, the car reserved
    expect((await call(server, 'POST', '/v1/me/payment-methods', noCard.headers, { token: 'tok_sandbox_ok' })).status).toBe(201);
    const r2 = await reserve(noCard, car.vehicleId);
    expect((await call(server, 'DELETE', `/v1/reservations/${r2}`, noCard.headers)).status).toBeLessThan(300);

    const declined = await signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_decline' });
    const r3 = await reserve(declined, car.vehicleId);
    expectProblem(await call(server, 'POST', '/v1/rentals', declined.headers, { reservationId: r3 }), 402, 'payment_declined');
    expect(car.device.deliveries.filter((d) => d.type === 'unlock')).toHaveLength(0);
    expect((await call<{ status: string }>(server, 'GET', `/v1/reservations/${r3}`, declined.headers)).body.status).toBe('held');
  });

  it('bad input gets a 4xx problem, never a 5xx', async () => {
    const customer = await signUpCustomer(server);
    const h = customer.headers;
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/v1/rentals', {}, 400],
      ['POST', '/v1/rentals', { reservationId: { $ne: null } }, 400],
      // (a number is coerced to a string by the platform's validator: an unknown id)
      ['POST', '/v1/rentals', { reservationId: 42 }, 404],
      ['POST', '/v1/rentals', { reservationId: 'a', bookingId: 'b' }, 400],
      ['POST', '/v1/rentals', { reservationId: '../../etc/passwd' }, 400],
      ['POST', '/v1/rentals', { reservationId: 'x'.repeat(101) }, 400],
      ['POST', '/v1/rentals', '{"reservationId":', 400],
      ['POST', '/v1/rentals', { reservationId: 'no-such-reservation' }, 404],
      ['POST', '/v1/rentals', { bookingId: 'no-such-booking' }, 404],
      ['POST', '/v1/rentals/no-such-rental/end', undefined, 404],
      ['GET', '/v1/rentals/no-such-rental', undefined, 404],
      ['GET', '/v1/rentals/no-such-rental/receipt', undefined, 404],
      ['GET', '/v1/rentals?limit=0', undefined, 400],
      ['GET', '/v1/rentals?status=parked', undefined, 400],
      ['POST', '/v1/rentals/no-such-rental/damage-reports', { text: 'json is not multipart' }, 415],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await call(server, method, path, h, body);
      expect({ method, path, body, status: res.status }).toEqual({ method, path, body, status });
      expect(res.contentType).toMatch(/^application\/problem\+json/);
    }
    // a huge body
    const huge = await call(server, 'POST', '/v1/rentals', h, { reservationId: 'x', pad: 'y'.repeat(2_000_000) });
    expect(huge.status).toBe(413);
    // not signed in / staff routes for customers
    expect((await call(server, 'POST', '/v1/rentals', {}, { reservationId: 'x' })).status).toBe(401);
    expect((await call(server, 'GET', '/ops/v1/rentals', h)).status).toBe(401);
    const dispatcher = await staffHeaders(server, 'dispatcher');
    expect((await call(server, 'GET', '/ops/v1/rentals', dispatcher)).status).toBe(403);
    expectProblem(await call(server, 'POST', '/ops/v1/rentals/no-such-rental/end', support, { reason: 'x' }), 404, 'rental_not_found');
    expect((await call(server, 'POST', '/ops/v1/rentals/no-such-rental/end', support, { reason: '' })).status).toBe(400);
    expect((await call(server, 'GET', '/ops/v1/rentals?limit=5000', support)).status).toBe(400);
  });
});
