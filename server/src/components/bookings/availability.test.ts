/**
 * Availability through the public API and the component's ports: nearest first with distances, radius and limit,
 * and which cars are left out (reserved, booked soon, in a rental, in maintenance, offline); this instance's own
 * reservations show at once, others' at the next refresh; the GBFS view and the alerts' active-rental lookup;
 * vehicle types (also for cars registered later); a car found after its device reported over MQTT; bad queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { READY_TO_BOOK, signUpCustomer, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { connectDevice, telemetry } from '../../testing/devices.js';
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
import { distanceMeters } from './domain/availability.js';

const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;
const CENTER = { lat: 52.52, lon: 13.405 };

interface Found {
  vehicleId: string;
  vehicleTypeId: string;
  make: string;
  model: string;
  propulsion: string;
  distanceM: number;
  energyPct: number | null;
  rangeMeters: number;
  lat: number;
  lon: number;
  lastReportedAt: string;
}

describe.each(dbBackends())('availability on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let ana: SignedUpCustomer;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 12 });
    // car i stands i × 100 m north of the centre (0.0009° ≈ 100 m)
    for (let i = 1; i <= 12; i++) await placeVehicle(server, CAR(i), { lat: CENTER.lat + i * 0.0009, lon: CENTER.lon, energyPct: 50 + i });
    await server.bookings.refreshAvailability();
    ana = await signUpCustomer(server, READY_TO_BOOK);
    await insertCustomerRow(server, 'direct-customer');
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const search = async (query: string) => {
    const res = await call<{ asOf: string; vehicles: Found[] }>(server, 'GET', `/v1/vehicles/available?${query}`);
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(Date.parse(res.body.asOf)).toBeGreaterThan(0);
    // exactly the documented fields (the answer is assembled from prepared JSON, not by the schema's serializer)
    for (const v of res.body.vehicles) {
      expect(Object.keys(v).sort()).toEqual([
        'distanceM',
        'energyPct',
        'lastReportedAt',
        'lat',
        'lon',
        'make',
        'model',
        'propulsion',
        'rangeMeters',
        'vehicleId',
        'vehicleTypeId',
      ]);
    }
    return res.body.vehicles;
  };
  const ids = (vs: Found[]) => vs.map((v) => v.vehicleId);

  it('finds the nearest first with distance, type, energy and range — without signing in', async () => {
    const found = await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=5000&limit=5`);
    expect(ids(found)).toEqual([CAR(1), CAR(2), CAR(3), CAR(4), CAR(5)]);
    expect(found[0]).toMatchObject({
      vehicleTypeId: 'volkswagen-id-3-electric',
      make: 'Volkswagen',
      model: 'ID.3',
      propulsion: 'electric',
      energyPct: 51,
      rangeMeters: Math.round(420_000 * 0.51),
    });
    expect(found[1]).toMatchObject({ vehicleTypeId: 'renault-zoe-electric', rangeMeters: Math.round(390_000 * 0.52) });
    expect(found[3]).toMatchObject({ vehicleTypeId: 'volkswagen-golf-combustion', propulsion: 'combustion' });
    for (const v of found) {
      expect(v.distanceM).toBe(Math.round(distanceMeters(CENTER.lat, CENTER.lon, v.lat, v.lon)));
      expect(Date.parse(v.lastReportedAt)).toBeGreaterThan(Date.now() - 3_600_000);
      expect(v).not.toHaveProperty('plate');
    }
    expect(found[0]!.distanceM).toBeGreaterThan(90);
    expect(found[0]!.distanceM).toBeLessThan(110);
  });

  it('respects the radius and the limit (defaults: 1 km, 20)', async () => {
    expect(ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=350`))).toEqual([CAR(1), CAR(2), CAR(3)]);
    expect(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50`)).toEqual([]);
    expect(ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}`))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map(CAR)); // ≤ 1 km
    expect(ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50000&limit=2`))).toEqual([CAR(1), CAR(2)]);
    // from the north end, the order reverses
    expect(ids(await search(`lat=${CENTER.lat + 13 * 0.0009}&lon=${CENTER.lon}&radiusM=250`))).toEqual([CAR(12), CAR(11)]);
  });

  it('leaves out reserved (at once on this instance), booked-soon, rented, maintenance and offline cars', async () => {
    const res = await call(server, 'POST', '/v1/reservations', { headers: ana.headers, body: { vehicleId: CAR(1) } });
    expect(res.status).toBe(201);
    // no refresh, no wait: this instance's own reservation is in the index before its answer is sent
    expect(ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=5000&limit=3`))).toEqual([CAR(2), CAR(3), CAR(4)]);

    const now = Date.now();
    // written "by another instance": visible after the next refresh
    await insertClaimRow(server, {
      id: 'av-booking-soon',
      kind: 'booking',
      vehicleId: CAR(2),
      customerId: 'direct-customer',
      status: 'confirmed',
      from: now + 10 * MIN,
      to: now + 60 * MIN,
    });
    await insertClaimRow(server, {
      id: 'av-booking-later',
      kind: 'booking',
      vehicleId: CAR(3),
      customerId: 'direct-customer',
      status: 'confirmed',
      from: now + 180 * MIN,
      to: now + 240 * MIN,
    });
    await insertClaimRow(server, {
      id: 'av-rental',
      kind: 'rental',
      vehicleId: CAR(4),
      customerId: 'direct-customer',
      status: 'active',
      from: now - 30 * MIN,
      to: null,
    });
    await setServiceState(server, CAR(5), 'maintenance');
    await placeVehicle(server, CAR(6), { lat: CENTER.lat + 6 * 0.0009, lon: CENTER.lon, online: false });
    await placeVehicle(server, CAR(7), { lat: CENTER.lat + 7 * 0.0009, lon: CENTER.lon, receivedAt: Date.now() - 3 * 3_600_000 }); // silent
    await server.bookings.refreshAvailability();
    expect(ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=5000&limit=4`))).toEqual([CAR(3), CAR(8), CAR(9), CAR(10)]);

    // the GBFS view: every car not in a trip, with reserved/disabled flags
    const gbfs = new Map(server.bookings.availableVehicles().map((v) => [v.vehicleId, v]));
    expect(gbfs.has(CAR(4))).toBe(false);
    expect(gbfs.get(CAR(1))).toMatchObject({ reserved: true, disabled: false, vehicleTypeId: 'volkswagen-id-3-electric' });
    expect(gbfs.get(CAR(2))).toMatchObject({ reserved: true, disabled: false });
    expect(gbfs.get(CAR(3))).toMatchObject({ reserved: false, disabled: false });
    expect(gbfs.get(CAR(5))).toMatchObject({ reserved: false, disabled: true });
    expect(gbfs.get(CAR(6))).toMatchObject({ disabled: true });
    expect(gbfs.get(CAR(7))).toMatchObject({ disabled: true });
    expect(gbfs.get(CAR(8))).toMatchObject({ reserved: false, disabled: false, energyPct: 58, rangeMeters: Math.round(600_000 * 0.58) }); // Mini Cooper
    expect(gbfs.size).toBe(11);
    // the alerts port
    expect(server.bookings.activeRentals.hasActiveRental(CAR(4))).toBe(true);
    expect(server.bookings.activeRentals.hasActiveRental(CAR(3))).toBe(false);

    // cancelling brings the car back at once
    await call(server, 'DELETE', `/v1/reservations/${res.body.reservationId as string}`, { headers: ana.headers });
    await expect
      .poll(async () => ids(await search(`lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=5000&limit=2`)), { timeout: 5_000 })
      .toEqual([CAR(1), CAR(3)]);
  });

  it('rental.started / rental.ended on the bus update the active-rental lookup at once', async () => {
    // as the rentals code does it: the row committed, then the event
    await insertClaimRow(server, {
      id: 'evt-rental',
      kind: 'rental',
      vehicleId: CAR(9),
      customerId: 'direct-customer',
      status: 'active',
      from: Date.now() - MIN,
      to: null,
    });
    server.events.emit('rental.started', { rentalId: 'evt-rental', vehicleId: CAR(9), customerId: 'direct-customer', at: Date.now() });
    expect(server.bookings.activeRentals.hasActiveRental(CAR(9))).toBe(true);
    expect(ids(await search(`lat=${CENTER.lat + 9 * 0.0009}&lon=${CENTER.lon}&radiusM=10`))).toEqual([]);
    await server.db.query(
      `update allocations set status = 'ended', ended_at = now(), period = tstzrange(lower(period), now(), '[)') where id = 'evt-rental'`,
    );
    server.events.emit('rental.ended', { rentalId: 'evt-rental', vehicleId: CAR(9), customerId: 'direct-customer', at: Date.now() });
    expect(server.bookings.activeRentals.hasActiveRental(CAR(9))).toBe(false);
    await expect
      .poll(async () => ids(await search(`lat=${CENTER.lat + 9 * 0.0009}&lon=${CENTER.lon}&radiusM=10`)), { timeout: 5_000 })
      .toEqual([CAR(9)]);
  });

  it('lists vehicle types with tariffs; a car registered later gets its type and becomes searchable', async () => {
    const types = await call<{
      vehicleTypes: Array<{ id: string; propulsion: string; maxRangeMeters: number; tariff: Record<string, unknown> }>;
    }>(server, 'GET', '/v1/vehicle-types');
    expect(types.status).toBe(200);
    expect(types.body.vehicleTypes.map((t) => t.id)).toEqual([
      'bmw-i3-electric',
      'fiat-500-combustion',
      'mini-cooper-combustion',
      'opel-corsa-combustion',
      'renault-zoe-electric',
      'toyota-yaris-hybrid-combustion',
      'volkswagen-golf-combustion',
      'volkswagen-id-3-electric',
    ]);
    expect(types.body.vehicleTypes.find((t) => t.id === 'fiat-500-combustion')).toMatchObject({
      propulsion: 'combustion',
      maxRangeMeters: 550_000,
      tariff: {
        currency: 'EUR',
        perMinuteDrivingCents: 26,
        perMinuteParkedCents: 9,
        includedKm: 200,
        perKmCents: 29,
        dailyCapCents: 6_900,
        freeHoldMinutes: 15,
        reservationFeePerMinuteCents: 9,
      },
    });
    expect((await server.pricing.vehicleTypes()).length).toBe(8);

    await server.registerVehicles([
      { id: 'late-car-1', plate: 'B-LT 1', make: 'Tesla', model: 'Model 3', energyType: 'electric', homeZone: 'mitte' },
    ]);
    await placeVehicle(server, 'late-car-1', { lat: 52.4, lon: 13.3, energyPct: 90 });
    await server.bookings.refreshAvailability();
    const found = await search('lat=52.4&lon=13.3&radiusM=100');
    expect(found).toEqual([
      expect.objectContaining({ vehicleId: 'late-car-1', vehicleTypeId: 'tesla-model-3-electric', rangeMeters: 270_000 }),
    ]);
    // a registry change of its model re-derives the type
    await server.registerVehicles([
      { id: 'late-car-1', plate: 'B-LT 1', make: 'Tesla', model: 'Model Y', energyType: 'electric', homeZone: 'mitte' },
    ]);
    await server.bookings.refreshAvailability();
    expect((await search('lat=52.4&lon=13.3&radiusM=100'))[0]).toMatchObject({ vehicleTypeId: 'tesla-model-y-electric', model: 'Model Y' });
    // reservable right away, priced with its type's tariff
    const c = await signUpCustomer(server, READY_TO_BOOK);
    expect(
      await call(server, 'POST', '/v1/reservations', { headers: c.headers, body: { vehicleId: 'late-car-1', holdMinutes: 20 } }),
    ).toMatchObject({ status: 201, body: { maxFeeCents: 5 * 9 } });
  });

  it('a car is found where its device last reported (MQTT telemetry → ingestion → index)', async () => {
    await server.registerVehicles([
      { id: 'mqtt-car-1', plate: 'B-MQ 1', make: 'Renault', model: 'Zoe', energyType: 'electric', homeZone: 'mitte' },
    ]);
    const device = await connectDevice(server.mqttUrl, 'mqtt-car-1');
    try {
      await device.publishTelemetry(
        telemetry(1, { ts: Date.now(), lat: 52.6, lon: 13.2, speedKph: 0, ignition: false, batteryPct: 40 }),
        1,
      );
      await expect
        .poll(
          async () => {
            await server.flushIngestion();
            await server.bookings.refreshAvailability();
            return ids(await search('lat=52.6&lon=13.2&radiusM=100'));
          },
          { timeout: 10_000, interval: 100 },
        )
        .toEqual(['mqtt-car-1']);
      expect((await search('lat=52.6&lon=13.2&radiusM=100'))[0]).toMatchObject({ energyPct: 40, rangeMeters: Math.round(390_000 * 0.4) });
    } finally {
      await device.close();
    }
  });

  it('without an explicit refresh: a written position shows within seconds, a car falls out when it goes silent', async () => {
    await server.registerVehicles([
      { id: 'timer-car-1', plate: 'B-TM 1', make: 'Fiat', model: '500', energyType: 'fuel', homeZone: 'mitte' },
    ]);
    // heard from 117 s ago: online for 3 more seconds (heartbeat timeout 120 s), no row changes after this write
    await placeVehicle(server, 'timer-car-1', { lat: 52.3, lon: 13.1, receivedAt: Date.now() - 117_000 });
    await expect
      .poll(async () => ids(await search('lat=52.3&lon=13.1&radiusM=50')), { timeout: 10_000, interval: 200 })
      .toEqual(['timer-car-1']);
    await expect.poll(async () => ids(await search('lat=52.3&lon=13.1&radiusM=50')), { timeout: 15_000, interval: 200 }).toEqual([]);
    expect(server.bookings.availableVehicles().find((v) => v.vehicleId === 'timer-car-1')).toMatchObject({ disabled: true });
    // maintenance and back, seen by the timer's partial reads
    const here = `lat=${CENTER.lat + 10 * 0.0009}&lon=${CENTER.lon}&radiusM=10`;
    expect(ids(await search(here))).toEqual([CAR(10)]);
    await setServiceState(server, CAR(10), 'maintenance');
    await expect.poll(async () => ids(await search(here)), { timeout: 10_000, interval: 200 }).toEqual([]);
    await setServiceState(server, CAR(10), 'available');
    await expect.poll(async () => ids(await search(here)), { timeout: 10_000, interval: 200 }).toEqual([CAR(10)]);
  });

  it('bad queries are 400 problems, never 5xx', async () => {
    for (const q of [
      '',
      'lat=52.5',
      'lon=13.4',
      'lat=91&lon=13.4',
      'lat=-91&lon=13.4',
      'lat=52.5&lon=181',
      'lat=abc&lon=13.4',
      'lat=NaN&lon=13.4',
      'lat=Infinity&lon=13.4',
      'lat=52.5&lon=13.4&radiusM=0',
      'lat=52.5&lon=13.4&radiusM=50001',
      'lat=52.5&lon=13.4&radiusM=1.5',
      'lat=52.5&lon=13.4&limit=0',
      'lat=52.5&lon=13.4&limit=101',
      'lat=52.5&lon=13.4&limit=ten',
    ]) {
      const res = await call(server, 'GET', `/v1/vehicles/available?${q}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expectProblem(res, 400, 'validation');
    }
    // edges are fine
    expect((await call(server, 'GET', '/v1/vehicles/available?lat=-90&lon=180&radiusM=50000&limit=100')).status).toBe(200);
    expect((await call(server, 'GET', '/v1/vehicles/available?lat=89.99&lon=-180&radiusM=1&limit=1')).status).toBe(200);
  });
});
