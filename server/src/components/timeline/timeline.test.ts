/**
 * The evidence timeline through the staff API against a real server (PGlite, and PostgreSQL when DATABASE_URL is
 * set) with its broker and sandbox payment provider: a car goes through a reservation and a rental (unlock and
 * lock commands answered by a simulated device over MQTT, a trip in telemetry), a crash event raises an alert a
 * dispatcher acknowledges, a task and a note are added, the rental is refunded in part. The timeline holds every
 * source, newest first, pages without gaps or repeats, and names the customer only for support/admin.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../src/shared/service-area.js';
import type { TimelineEntry, TimelinePage } from '../../../../src/shared/timeline.js';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem, QUIET } from '../../testing/bookings.js';
import { connectCommandDevice } from '../../testing/command-device.js';
import { connectDevice, uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { SimulatedCar } from '../../testing/simulated-car.js';

const CENTER = DEFAULT_SERVICE_AREA.center;

describe.each(dbBackends())('vehicle timeline on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let car: SimulatedCar;
  let quietCarId: string;
  let support: Record<string, string>;
  let dispatcher: Record<string, string>;
  let customer: SignedUpCustomer;
  const ids = { reservationId: '', rentalId: '', alertId: '', taskId: '', noteId: '', unlockId: '', lockId: '' };

  const timeline = async (headers: Record<string, string>, query = '', vehicleId = car.vehicleId) =>
    call<TimelinePage>(server, 'GET', `/ops/v1/vehicles/${vehicleId}/timeline${query}`, { headers });

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      ...QUIET,
      seedVehicles: 0,
      rentalUnlockTimeoutMs: 3_000,
      rentalLockTimeoutMs: 5_000,
      licenceSandboxLatencyMs: 20,
    });
    const [vehicle, quiet] = uniqueTestVehicles(2);
    await server.registerVehicles([vehicle!, quiet!]);
    quietCarId = quiet!.id;
    car = new SimulatedCar(
      vehicle!.id,
      await connectDevice(server.mqttUrl, vehicle!.id),
      await connectCommandDevice(server.mqttUrl, vehicle!.id, { behaviour: 'succeed' }),
    );
    support = await staffHeaders(server, 'support');
    dispatcher = await staffHeaders(server, 'dispatcher');
    await car.report();
    await car.settled(server, support);

    // reservation → rental (hold, unlock acknowledged)
    customer = await signUpCustomer(server, { name: 'Tessa Timeline', verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
    await waitFor(
      async () => {
        await server.bookings.refreshAvailability();
        const res = await call(server, 'POST', '/v1/reservations', { headers: customer.headers, body: { vehicleId: car.vehicleId } });
        if (res.status === 201) ids.reservationId = String(res.body.reservationId);
        return res.status === 201;
      },
      { timeoutMs: 15_000, what: 'a reservation of the car' },
    );
    const start = await call<{ rentalId: string; unlock: { commandId: string } }>(server, 'POST', '/v1/rentals', {
      headers: { ...customer.headers, 'idempotency-key': randomUUID() },
      body: { reservationId: ids.reservationId },
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    ids.rentalId = start.body.rentalId;
    ids.unlockId = start.body.unlock.commandId;

    // a trip: ignition on, driving, a crash event, ignition off back at the start
    await car.report({ locked: false, ignition: true });
    for (let i = 1; i <= 3; i++) await car.report({ speedKph: 30, lon: CENTER.lon + i * 0.001, odometerKm: 1000 + i * 1.5 });
    await car.event('crash_detected', { peakG: 4.2 });
    await car.report({ speedKph: 0, lon: CENTER.lon, ignition: false, locked: false });
    await car.settled(server, support);
    await server.flushAlerts();
    const alert = await waitFor(
      async () => {
        await server.flushAlerts();
        const res = await call<{ alerts: Array<{ id: string; kind: string }> }>(
          server,
          'GET',
          `/ops/v1/alerts?vehicleId=${car.vehicleId}&kind=crash`,
          { headers: dispatcher },
        );
        return res.body.alerts?.[0];
      },
      { timeoutMs: 10_000, what: 'the crash alert' },
    );
    ids.alertId = alert.id;
    expect((await call(server, 'POST', `/ops/v1/alerts/${ids.alertId}/acknowledge`, { headers: dispatcher })).status).toBe(200);
    const task = await call<{ id: string }>(server, 'POST', '/ops/v1/tasks', {
      headers: dispatcher,
      body: { vehicleId: car.vehicleId, kind: 'inspection', note: 'check the front bumper after the crash event', alertId: ids.alertId },
    });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    ids.taskId = task.body.id;
    const note = await call<{ id: string }>(server, 'POST', '/ops/v1/notes', {
      headers: dispatcher,
      body: { targetType: 'vehicle', targetId: car.vehicleId, text: 'customer called: bumped a bollard at low speed' },
    });
    expect(note.status, JSON.stringify(note.body)).toBe(201);
    ids.noteId = note.body.id;

    // end (lock acknowledged), capture, partial refund
    await car.report({ doorsClosed: true });
    await car.settled(server, support);
    const end = await call<{ lock: { commandId: string } }>(server, 'POST', `/v1/rentals/${ids.rentalId}/end`, {
      headers: { ...customer.headers, 'idempotency-key': randomUUID() },
    });
    expect(end.status, JSON.stringify(end.body)).toBe(200);
    ids.lockId = end.body.lock.commandId;
    await waitFor(
      async () => {
        await server.payments.drainOutbox();
        const res = await call<{ payment: { status: string } | null }>(server, 'GET', `/v1/rentals/${ids.rentalId}/receipt`, {
          headers: customer.headers,
        });
        return res.body.payment?.status === 'captured';
      },
      { timeoutMs: 20_000, what: 'the capture' },
    );
    const refund = await call(server, 'POST', `/ops/v1/rentals/${ids.rentalId}/refunds`, {
      headers: { ...support, 'idempotency-key': randomUUID() },
      body: { amountCents: 1, reason: 'goodwill: crash was not the customer’s fault' },
    });
    expect(refund.status, JSON.stringify(refund.body)).toBeLessThan(300);
    await waitFor(
      async () => {
        await server.payments.drainOutbox();
        const res = await call<{ payments: { refunded: number } | null }>(server, 'GET', `/ops/v1/rentals/${ids.rentalId}`, {
          headers: support,
        });
        return res.body.payments?.refunded === 1;
      },
      { timeoutMs: 20_000, what: 'the refund' },
    );
  }, 90_000);

  afterAll(async () => {
    await car?.device.close().catch(() => undefined);
    await car?.telemetry.close().catch(() => undefined);
    await server?.stop();
    await cleanup?.();
  });

  const find = (entries: TimelineEntry[], kind: string, title: RegExp | string) =>
    entries.find((e) => e.kind === kind && (typeof title === 'string' ? e.title === title : title.test(e.title)));

  it('holds every source of the rental, newest first, with who and why', async () => {
    const res = await timeline(support, '?limit=500');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { entries, nextCursor } = res.body;
    expect(nextCursor).toBeNull();
    // newest first, ids unique
    for (let i = 1; i < entries.length; i++) expect(entries[i - 1]!.at).toBeGreaterThanOrEqual(entries[i]!.at);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);

    const reservation = find(entries, 'rental', 'Reservation created')!;
    expect(reservation).toMatchObject({
      refs: { reservationId: ids.reservationId, customerId: customer.customerId },
      actor: { type: 'customer', id: customer.customerId, name: 'Tessa Timeline' },
    });
    const started = find(entries, 'rental', 'Rental started')!;
    expect(started.refs).toMatchObject({ rentalId: ids.rentalId, reservationId: ids.reservationId });
    const ended = find(entries, 'rental', 'Rental ended')!;
    expect(ended.detail).toMatch(/total \d+\.\d\d EUR/);
    expect(ended.actor).toMatchObject({ type: 'customer', id: customer.customerId });

    // every transition of both commands, the issuer of each and the device's answers
    const unlock = entries.filter((e) => e.refs.commandId === ids.unlockId).map((e) => e.title);
    expect(unlock.reverse()).toEqual([
      'Command unlock issued',
      'Command unlock sent',
      'Command unlock received',
      'Command unlock succeeded',
    ]);
    const lock = entries.filter((e) => e.refs.commandId === ids.lockId);
    expect(lock.map((e) => e.title).at(0)).toBe('Command lock succeeded');
    expect(lock.find((e) => e.title === 'Command lock succeeded')!.actor).toEqual({ type: 'device', id: car.vehicleId, name: null });
    expect(find(entries, 'command', 'Command unlock issued')!.detail).toMatch(/rental/i);

    // the trip, from the telemetry history (1.5 km × 3 → 4.5 km)
    const tripStart = find(entries, 'trip', 'Trip started (ignition on)')!;
    const tripEnd = find(entries, 'trip', 'Trip ended (ignition off)')!;
    expect(tripEnd.detail).toContain('4.5 km');
    expect(tripEnd.at).toBeGreaterThan(tripStart.at);

    // the device event and the alert it raised, acknowledged by the dispatcher (by name)
    const crashEvent = find(entries, 'device_event', 'Device event: crash detected')!;
    expect(crashEvent.detail).toContain('4.2');
    const raised = find(entries, 'alert', /^Alert raised: crash/i)!;
    expect(raised.refs.alertId).toBe(ids.alertId);
    const acknowledged = find(entries, 'alert', /^Alert acknowledged/)!;
    expect(acknowledged.actor).toMatchObject({ type: 'staff', id: 'test-dispatcher' });
    expect(acknowledged.actor.name).toBeTruthy();

    // task and note with their text, the payments with the refund's reason
    const task = find(entries, 'task', /^Task created/)!;
    expect(task).toMatchObject({ refs: { taskId: ids.taskId, alertId: ids.alertId }, actor: { type: 'staff', id: 'test-dispatcher' } });
    expect(task.detail).toContain('front bumper');
    expect(find(entries, 'note', 'Note')).toMatchObject({ refs: { noteId: ids.noteId }, detail: expect.stringContaining('bollard') });
    expect(find(entries, 'payment', /^Payment hold \d+\.\d\d EUR$/)!).toMatchObject({
      refs: { rentalId: ids.rentalId },
      detail: 'payment now captured',
    });
    expect(find(entries, 'payment', /^Payment capture .*\(succeeded\)/)).toBeDefined();
    const refund = find(entries, 'payment', /^Refund 0\.01 EUR \(succeeded\)/)!;
    expect(refund.detail).toContain('goodwill');
    expect(refund.actor).toMatchObject({ type: 'staff', id: 'test-support' });

    // in the order it happened
    const order = [reservation, find(entries, 'command', 'Command unlock succeeded')!, tripStart, tripEnd, ended, refund];
    expect(started.at).toBeGreaterThanOrEqual(reservation.at);
    expect(started.at).toBeLessThanOrEqual(tripStart.at);
    for (let i = 1; i < order.length; i++)
      expect(order[i]!.at, `${order[i - 1]!.title} before ${order[i]!.title}`).toBeGreaterThanOrEqual(order[i - 1]!.at);
    expect(entries.indexOf(refund)).toBeLessThan(entries.indexOf(reservation));
  });

  it('pages with a stable cursor: the pages add up to the whole timeline, without repeats', async () => {
    const whole = (await timeline(support, '?limit=500')).body.entries.map((e) => e.id);
    const paged: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res: Awaited<ReturnType<typeof timeline>> = await timeline(support, `?limit=4${cursor ? `&before=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.entries.length).toBeLessThanOrEqual(4);
      paged.push(...res.body.entries.map((e) => e.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(paged).toEqual(whole);
  });

  it('filters by kind and time range', async () => {
    const commands = (await timeline(support, '?kinds=command&limit=500')).body.entries;
    expect(commands.length).toBeGreaterThanOrEqual(8);
    expect(new Set(commands.map((e) => e.kind))).toEqual(new Set(['command']));
    const some = (await timeline(support, '?kinds=trip,payment&limit=500')).body.entries;
    expect(new Set(some.map((e) => e.kind))).toEqual(new Set(['trip', 'payment']));
    const all = (await timeline(support, '?limit=500')).body.entries;
    const middle = all[Math.floor(all.length / 2)]!;
    const older = (await timeline(support, `?to=${middle.at}&limit=500`)).body.entries;
    expect(older.every((e) => e.at <= middle.at)).toBe(true);
    expect(older.map((e) => e.id)).toContain(middle.id);
    const newer = (await timeline(support, `?from=${new Date(middle.at).toISOString()}&limit=500`)).body.entries;
    expect(newer.every((e) => e.at >= middle.at)).toBe(true);
    expect(newer.length + older.length).toBeGreaterThanOrEqual(all.length);
  });

  it('names the customer only for support and admin', async () => {
    const forDispatcher = (await timeline(dispatcher, '?limit=500')).body.entries;
    const forSupport = (await timeline(support, '?limit=500')).body.entries;
    expect(forDispatcher.map((e) => e.id)).toEqual(forSupport.map((e) => e.id));
    const text = JSON.stringify(forDispatcher);
    expect(text).not.toContain('Tessa Timeline');
    expect(text).not.toContain(customer.customerId);
    expect(find(forDispatcher, 'rental', 'Rental started')!.actor).toEqual({ type: 'customer', id: null, name: null });
    expect(JSON.stringify(forSupport)).toContain('Tessa Timeline');
    const admin = await staffHeaders(server, 'admin');
    expect(JSON.stringify((await timeline(admin, '?kinds=rental')).body.entries)).toContain('Tessa Timeline');
  });

  it('answers an empty timeline for a car with no history', async () => {
    const res = await timeline(dispatcher, '', quietCarId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ vehicleId: quietCarId, entries: [], nextCursor: null });
  });

  it('refuses bad input with a problem, unknown cars with 404, strangers with 401', async () => {
    expectProblem(await timeline(dispatcher, '?kinds=trip,bogus'), 400, 'invalid_kinds');
    expectProblem(await timeline(dispatcher, '?before=not-a-cursor'), 400, 'invalid_cursor');
    expectProblem(await timeline(dispatcher, `?before=${Buffer.from('[1,2]').toString('base64url')}`), 400, 'invalid_cursor');
    expectProblem(await timeline(dispatcher, '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'), 400, 'invalid_range');
    expectProblem(await timeline(dispatcher, '?from=yesterday'), 400, 'invalid_range');
    expectProblem(await timeline(dispatcher, '?limit=0'), 400);
    expectProblem(await timeline(dispatcher, '', 'no-such-car'), 404, 'vehicle_not_found');
    expectProblem(await timeline({}, ''), 401);
    expectProblem(await timeline(customer.headers, ''), 401);
  });
});
