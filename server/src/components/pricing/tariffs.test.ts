/**
 * Tariff versions through the staff API against a real server (PGlite, and PostgreSQL when DATABASE_URL is set)
 * with its broker, simulated cars and the sandbox payment provider: who may read and add versions, bad input
 * answered with a problem and nothing written, the audit entry written in the same transaction as the version
 * (an audit insert made to fail leaves no version behind), and the point of versions — a rental that started
 * before a change is charged with the old version, one started after with the new; a booking is charged with the
 * version it was quoted with, even when a newer one came into force before it started; a quoted upcoming version
 * can no longer be withdrawn.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TariffOverview, TariffVersionView } from '../../../../src/shared/tariffs.js';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem, QUIET } from '../../testing/bookings.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { SimulatedCar } from '../../testing/simulated-car.js';
import { whileAuditFails } from '../../testing/writes.js';

const TYPE = 'test-electric-electric';
const FIGURES = {
  currency: 'EUR',
  perMinuteDrivingCents: 29,
  perMinuteParkedCents: 9,
  includedKm: 200,
  perKmCents: 29,
  dailyCapCents: 7_900,
  reservationFeePerMinuteCents: 9,
};

interface PriceLine {
  code: string;
  unitCents: number;
}

describe.each(dbBackends())('tariff versions on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const cars: SimulatedCar[] = [];
  let admin: Record<string, string>;
  let support: Record<string, string>;
  let dispatcher: Record<string, string>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      ...QUIET,
      seedVehicles: 0,
      rentalUnlockTimeoutMs: 5_000,
      rentalLockTimeoutMs: 5_000,
    });
    // the 1st and 3rd test vehicles are of one type (Test Electric)
    const vehicles = uniqueTestVehicles(3).filter((_, i) => i !== 1);
    await server.registerVehicles(vehicles);
    admin = await staffHeaders(server, 'admin');
    support = await staffHeaders(server, 'support');
    dispatcher = await staffHeaders(server, 'dispatcher');
    for (const v of vehicles) {
      const car = await SimulatedCar.connect(server.mqttUrl, v.id);
      cars.push(car);
      await car.report();
      await car.settled(server, support);
    }
    await server.pricing.ensureVehicleTypes();
  }, 90_000);

  afterAll(async () => {
    for (const car of cars) await car.close();
    await server?.stop();
    await cleanup?.();
  });

  const versions = async (): Promise<TariffVersionView[]> => {
    const res = await call<{ tariffs: TariffOverview[] }>(server, 'GET', '/ops/v1/tariffs', { headers: dispatcher });
    expect(res.status).toBe(200);
    return res.body.tariffs.find((t) => t.vehicleType.id === TYPE)!.versions;
  };
  const addVersion = (body: Record<string, unknown>, headers = admin) =>
    call<TariffVersionView & { code?: string }>(server, 'POST', `/ops/v1/tariffs/${TYPE}/versions`, { headers, body });
  const versionRows = async () =>
    Number((await server.db.query<{ n: number }>('select count(*)::int as n from tariff_versions')).rows[0]!.n);

  async function customer() {
    return signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
  }
  async function reserveAndStart(car: SimulatedCar, headers: Record<string, string>): Promise<string> {
    const reservationId = await waitFor(
      async () => {
        await server.bookings.refreshAvailability();
        const res = await call(server, 'POST', '/v1/reservations', { headers, body: { vehicleId: car.vehicleId } });
        return res.status === 201 ? String(res.body.reservationId) : undefined;
      },
      { timeoutMs: 15_000, what: `a reservation of ${car.vehicleId}` },
    );
    return start(headers, { reservationId });
  }
  async function start(headers: Record<string, string>, body: Record<string, string>): Promise<string> {
    const res = await call<{ rentalId: string }>(server, 'POST', '/v1/rentals', {
      headers: { ...headers, 'idempotency-key': randomUUID() },
      body,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.rentalId;
  }
  async function end(rentalId: string, headers: Record<string, string>): Promise<{ lines: PriceLine[]; currency: string }> {
    const res = await call<{ receipt: { lines: PriceLine[]; currency: string } }>(server, 'POST', `/v1/rentals/${rentalId}/end`, {
      headers: { ...headers, 'idempotency-key': randomUUID() },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.receipt;
  }
  /** A booking of the car from `startsAt` for `minutes` (once the availability index has the car). */
  async function book(headers: Record<string, string>, car: SimulatedCar, startsAt: number, minutes: number) {
    return waitFor(
      async () => {
        await server.bookings.refreshAvailability();
        const res = await call<{ bookingId: string; estimate: { lines: PriceLine[] } }>(server, 'POST', '/v1/bookings', {
          headers,
          body: {
            vehicleId: car.vehicleId,
            startsAt: new Date(startsAt).toISOString(),
            endsAt: new Date(startsAt + minutes * 60_000).toISOString(),
          },
        });
        return res.status === 201 ? res.body : undefined;
      },
      { timeoutMs: 15_000, what: `a booking of ${car.vehicleId}` },
    );
  }
  const unit = (lines: PriceLine[], code: string) => lines.find((l) => l.code === code)?.unitCents;
  const storedVersion = async (allocationId: string) =>
    (await server.db.query<{ v: string | null }>('select tariff_version_id as v from allocations where id = $1', [allocationId])).rows[0]
      ?.v;

  it('lists every type with its version in force to every staff role; only admins add versions', async () => {
    const list = await versions();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ status: 'in_force', effectiveFrom: null, used: true, currency: 'EUR' });
    expect((await call(server, 'GET', '/ops/v1/tariffs')).status).toBe(401);
    const later = Date.now() + 3_600_000;
    expectProblem(await addVersion({ ...FIGURES, effectiveFrom: later }, dispatcher), 403);
    expectProblem(await addVersion({ ...FIGURES, effectiveFrom: later }, support), 403);
    const customerHeaders = (await customer()).headers;
    // a customer's token is no staff token at all
    expectProblem(await addVersion({ ...FIGURES, effectiveFrom: later }, customerHeaders), 401);
    const created = await addVersion({ ...FIGURES, effectiveFrom: later });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'upcoming', used: false, effectiveFrom: later, createdBy: 'test-admin' });
    // an upcoming version nobody was quoted can be withdrawn (that is how it is replaced), audited
    const withdrawn = await call<TariffVersionView>(server, 'POST', `/ops/v1/tariffs/${TYPE}/versions/${created.body.id}/withdraw`, {
      headers: admin,
      body: { reason: 'typo in the cap' },
    });
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    const audit = await server.db.query<{ action: string; actor: string; reason: string | null }>(
      `select action, actor, reason from audit_log where target_type = 'tariff' and target_id = $1 order by id`,
      [TYPE],
    );
    expect(audit.rows).toEqual([
      { action: 'tariff.version_created', actor: 'test-admin', reason: null },
      { action: 'tariff.version_withdrawn', actor: 'test-admin', reason: 'typo in the cap' },
    ]);
    // the version in force is never withdrawn
    const inForce = (await versions()).find((v) => v.status === 'in_force')!;
    expectProblem(
      await call(server, 'POST', `/ops/v1/tariffs/${TYPE}/versions/${inForce.id}/withdraw`, { headers: admin, body: {} }),
      409,
      'tariff_version_in_force',
    );
  });

  it('refuses bad versions with a problem and writes nothing', async () => {
    const before = await versionRows();
    const later = Date.now() + 3_600_000;
    expectProblem(await addVersion({ ...FIGURES, perKmCents: -5, effectiveFrom: later }), 400, 'invalid_tariff');
    expectProblem(await addVersion({ ...FIGURES, perMinuteDrivingCents: 2.5, effectiveFrom: later }), 400);
    expectProblem(await addVersion({ ...FIGURES, dailyCapCents: 99_000_000, effectiveFrom: later }), 400, 'invalid_tariff');
    expectProblem(await addVersion({ ...FIGURES, currency: 'eur', effectiveFrom: later }), 400, 'invalid_currency');
    expectProblem(await addVersion({ ...FIGURES, effectiveFrom: Date.now() - 3_600_000 }), 400, 'effective_from_past');
    expectProblem(await addVersion({ ...FIGURES, perMinuteDrivingCents: undefined, effectiveFrom: later }), 400, 'validation');
    expectProblem(
      await call(server, 'POST', '/ops/v1/tariffs/no-such-type/versions', { headers: admin, body: FIGURES }),
      404,
      'vehicle_type_not_found',
    );
    expect(await versionRows()).toBe(before);
  });

  it('writes the version and its audit entry in one transaction: a failing audit insert leaves no version', async () => {
    const before = await versionRows();
    await whileAuditFails(server.db, 'tariff.version_created', async () => {
      expectProblem(await addVersion({ ...FIGURES, effectiveFrom: Date.now() + 7_200_000 }), 500, 'internal');
    });
    expect(await versionRows()).toBe(before);
  });

  it('charges a rental started before a change with the old version, one started after with the new, a booking as quoted', async () => {
    const [carA, carB] = cars as [SimulatedCar, SimulatedCar];
    const old = (await versions()).find((v) => v.status === 'in_force')!;
    const first = await customer();
    const before = await reserveAndStart(carA, first.headers);
    expect(await storedVersion(before)).toBe(old.id);

    const change = await addVersion({ ...FIGURES, perMinuteDrivingCents: 41, perMinuteParkedCents: 13 });
    expect(change.status, JSON.stringify(change.body)).toBe(201);
    expect(change.body.status).toBe('in_force');
    const [inForce, previous] = (await versions()).filter((v) => v.status !== 'withdrawn');
    expect([inForce!.id, previous!.id, previous!.status]).toEqual([change.body.id, old.id, 'past']);

    const second = await customer();
    const after = await reserveAndStart(carB, second.headers);
    expect(await storedVersion(after)).toBe(change.body.id);

    const beforeReceipt = await end(before, first.headers);
    const afterReceipt = await end(after, second.headers);
    expect([unit(beforeReceipt.lines, 'driving'), unit(beforeReceipt.lines, 'parked')]).toEqual([29, 9]);
    expect([unit(afterReceipt.lines, 'driving'), unit(afterReceipt.lines, 'parked')]).toEqual([41, 13]);

    // a booking quoted now, then a newer version comes into force before the booking starts: charged as quoted
    const third = await customer();
    const startsAt = Date.now() + 2 * 60_000;
    const booking = await book(third.headers, carA, startsAt, 30);
    expect(unit(booking.estimate.lines, 'driving')).toBe(41);
    expect(await storedVersion(booking.bookingId)).toBe(change.body.id);
    const newer = await addVersion({ ...FIGURES, perMinuteDrivingCents: 55, perMinuteParkedCents: 17 });
    expect(newer.status, JSON.stringify(newer.body)).toBe(201);
    const booked = await start(third.headers, { bookingId: booking.bookingId });
    expect(await storedVersion(booked)).toBe(change.body.id);
    const bookedReceipt = await end(booked, third.headers);
    expect(unit(bookedReceipt.lines, 'driving')).toBe(unit(booking.estimate.lines, 'driving'));

    // a booking quoted with an upcoming version: that version is then used, so it can no longer be withdrawn
    const fourth = await customer();
    const upcoming = await addVersion({ ...FIGURES, perMinuteDrivingCents: 33, effectiveFrom: Date.now() + 5 * 60_000 });
    expect(upcoming.status, JSON.stringify(upcoming.body)).toBe(201);
    const laterStart = Date.now() + 10 * 60_000;
    const quoted = await book(fourth.headers, carB, laterStart, 20);
    expect(unit(quoted.estimate.lines, 'driving')).toBe(33);
    expect((await versions()).find((v) => v.id === upcoming.body.id)).toMatchObject({ status: 'upcoming', used: true });
    expectProblem(
      await call(server, 'POST', `/ops/v1/tariffs/${TYPE}/versions/${upcoming.body.id}/withdraw`, { headers: admin, body: {} }),
      409,
      'tariff_version_quoted',
    );
  }, 120_000);
});
