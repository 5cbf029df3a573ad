/**
 * The demo's customers against a real server, nothing mocked: the simulator's cars (trips on demand, a share
 * driving unrented) over MQTT, and the customer driver (sim/customers/) signing up, reserving or booking,
 * renting, driving, ending and paying through the public API. Checked through the staff API afterwards: rentals
 * active and completed with a captured payment, movement_without_rental only on the unrented cars, no two claims
 * of a car overlapping, and the driver's counters matching the server's records. PGlite + embedded Aedes always;
 * PostgreSQL + the external broker (Mosquitto) too when DATABASE_URL and MQTT_URL are set.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { staffHeaders, serverMailbox } from '../../server/src/testing/auth.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { waitForCarsReporting } from '../../server/src/testing/staff-api.js';
import type { TestDatabase } from '../../server/src/testing/test-databases.js';
import { engineStacks } from '../../server/src/testing/backends.js';
import { startCustomerDriver, type CustomerDriver } from '../../sim/customers/customer-driver.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';

const VEHICLES = 30;
const UNRENTED_SHARE = 0.1; // 3 cars drive without a rental
const CUSTOMERS = 12;

const cases = engineStacks();

interface Allocation {
  id: string;
  kind: 'reservation' | 'booking' | 'rental';
  status: string;
  vehicleId: string;
  periodStart: string;
  periodEnd: string | null;
}

describe.each(cases)('customer driver on $name', (c) => {
  let db: TestDatabase | undefined;
  let server: ServerHandle;
  let sim: Simulation;
  let driver: CustomerDriver | undefined;
  // a range of demo ids of our own: the external broker is shared with other tests
  const firstVehicle = randomInt(10_000, 90_000);
  const ids = new Set(Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i).id));

  const get = async <T>(path: string, role: 'dispatcher' | 'support'): Promise<T> => {
    const res = await fetch(`${server.httpUrl}${path}`, { headers: await staffHeaders(server, role) });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  const rentals = async (status: 'active' | 'ended'): Promise<Array<{ rentalId: string; vehicleId: string }>> =>
    (
      await get<{ rentals: Array<{ rentalId: string; vehicleId: string }> }>(`/ops/v1/rentals?status=${status}&limit=500`, 'support')
    ).rentals.filter((r) => ids.has(r.vehicleId));

  beforeAll(async () => {
    db = await c.databaseUrl?.();
    server = await startServer({
      port: 0,
      mqttPort: 0,
      dataDir: 'memory://',
      databaseUrl: db?.url,
      mqttUrl: c.mqttUrl,
      mqttAuth: 'off',
      seedVehicles: 0,
      logLevel: 'warn',
      licenceSandboxLatencyMs: 50,
      // unrented movement shows within seconds (default 60 s), so this test could see a rented car raise one
      alertMovementDwellS: 3,
    });
    await server.registerVehicles(Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i)));
    sim = await startSimulation({
      mqttUrl: server.mqttUrl,
      vehicles: VEHICLES,
      firstVehicle,
      rate: 2,
      seed: 5,
      movingShare: 0.9,
      tripsOnDemand: { unrentedShare: UNRENTED_SHARE },
    });
  });

  afterAll(async () => {
    await driver?.stop();
    await sim?.stop();
    await server?.stop();
    await db?.drop();
  });

  it(
    'customers rent, drive, end and pay; alerts only for the unrented cars; the counters match the server',
    { timeout: 300_000 },
    async () => {
      expect(sim.onDemandVehicleIds).toHaveLength(VEHICLES - Math.round(VEHICLES * UNRENTED_SHARE));
      const unrented = sim.vehicleIds.filter((id) => !sim.onDemandVehicleIds.includes(id));
      // the cars are in the availability index before the customers look
      await waitForCarsReporting(server, [...ids]);

      driver = startCustomerDriver({
        apiUrl: server.httpUrl,
        sim,
        customers: CUSTOMERS,
        // the customers read their confirmation codes from the server's (in-memory) sandbox mailbox
        mailbox: serverMailbox(server),
        seed: 3,
        signUpSpacingMs: 50,
        bookShare: 0.3,
        cancelShare: 0.1,
        stopoverShare: 0.3,
        timing: {
          firstThinkMs: [0, 2_000],
          thinkMs: [500, 3_000],
          walkMs: [500, 2_000],
          bookingLeadMs: [2_000, 6_000],
          bookingWindowMs: [20 * 60_000, 30 * 60_000],
          tripMs: [3_000, 8_000],
          stopoverMs: [1_000, 3_000],
        },
      });

      // while it runs: active rentals at the server
      await waitFor(async () => (await rentals('active')).length >= 2, { timeoutMs: 90_000, intervalMs: 500, what: 'two active rentals' });
      // enough completed journeys, a receipt with the payment captured among them
      await waitFor(
        () => {
          const s = driver!.stats();
          return s.rentalsEnded >= 6 && s.receiptsCaptured >= 1 && s.bookings >= 1 && s.reservations >= 1;
        },
        { timeoutMs: 150_000, intervalMs: 500, what: `completed rentals (${JSON.stringify(driver.stats())})` },
      );
      await driver.stop();
      const s = driver.stats();
      expect(s.unexpected).toBe(0);
      expect(s.signedUp).toBe(CUSTOMERS);

      // the counters add up against the server's records
      const active = await rentals('active');
      const ended = await rentals('ended');
      expect(active.length).toBe(s.rentalsStarted - s.rentalsEnded);
      expect(active.length).toBe(s.now.renting);
      expect(ended.length).toBe(s.rentalsEnded);
      const claims = (await get<{ bookings: Allocation[] }>('/ops/v1/bookings?limit=1000', 'support')).bookings.filter((a) =>
        ids.has(a.vehicleId),
      );
      expect(claims.filter((a) => a.kind === 'reservation')).toHaveLength(s.reservations);
      expect(claims.filter((a) => a.kind === 'booking')).toHaveLength(s.bookings);
      expect(claims.filter((a) => a.kind === 'rental')).toHaveLength(s.rentalsStarted);
      expect(claims.filter((a) => a.status === 'cancelled')).toHaveLength(s.cancelled);

      // a completed rental: price, captured payment, unlock and lock acknowledged by the simulated car
      const receipts = await Promise.all(
        ended.map((r) =>
          get<{ payments: { captured: number } | null; evidence: { commands: Array<{ type: string; status: string }> } }>(
            `/ops/v1/rentals/${r.rentalId}`,
            'support',
          ),
        ),
      );
      const captured = receipts.filter((r) => (r.payments?.captured ?? 0) > 0);
      expect(captured.length).toBeGreaterThanOrEqual(s.receiptsCaptured);
      expect(captured[0]!.evidence.commands.map((cmd) => [cmd.type, cmd.status]).sort()).toEqual([
        ['lock', 'succeeded'],
        ['unlock', 'succeeded'],
      ]);

      // no two blocking claims of one car overlap
      const blocking = claims.filter((a) => ['held', 'confirmed', 'active', 'ended'].includes(a.status));
      for (const a of blocking) {
        for (const b of blocking) {
          if (a.id >= b.id || a.vehicleId !== b.vehicleId) continue;
          const aEnd = a.periodEnd ? Date.parse(a.periodEnd) : Infinity;
          const bEnd = b.periodEnd ? Date.parse(b.periodEnd) : Infinity;
          const overlap = Date.parse(a.periodStart) < bEnd && Date.parse(b.periodStart) < aEnd;
          expect(overlap, `${a.id} and ${b.id} on ${a.vehicleId}`).toBe(false);
        }
      }

      // movement without rental: raised for the unrented cars (the detector works here), never for a rented one
      const alerts = await waitFor(
        async () => {
          const body = await get<{ alerts: Array<{ vehicleId: string }> }>(
            '/ops/v1/alerts?kind=movement_without_rental&limit=1000',
            'dispatcher',
          );
          const ours = body.alerts.filter((a) => ids.has(a.vehicleId));
          return ours.length > 0 ? ours : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'movement_without_rental of an unrented car' },
      );
      for (const a of alerts) expect(unrented).toContain(a.vehicleId);
      expect(alerts.length).toBeLessThanOrEqual(unrented.length);
    },
  );
});
