/**
 * The demo's customers meet cars that never answer an unlock (the simulator's `commandIgnore` fault), against a
 * real server, nothing mocked. Every start is given up after the unlock timeout; the driver tries again a few
 * times, then cancels its reservation and moves on, with nothing unexpected. What the server must be left with:
 * no active rental, the reservations cancelled (none converted), every payment hold voided, each given-up unlock
 * followed by a re-lock (the unlock was sent and could still run late), and the cars parked and locked.
 * PGlite + embedded Aedes always; PostgreSQL + the external broker too when DATABASE_URL and MQTT_URL are set.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { serverMailbox, staffHeaders } from '../../server/src/testing/auth.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { waitForCarsReporting } from '../../server/src/testing/staff-api.js';
import type { TestDatabase } from '../../server/src/testing/test-databases.js';
import { engineStacks } from '../../server/src/testing/backends.js';
import { startCustomerDriver, type CustomerDriver } from '../../sim/customers/customer-driver.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';

const VEHICLES = 3;
const CUSTOMERS = 2;

interface Allocation {
  id: string;
  kind: 'reservation' | 'booking' | 'rental';
  status: string;
  vehicleId: string;
}
interface Operation {
  paymentId: string;
  kind: 'authorize' | 'capture' | 'void' | 'refund';
  status: string;
}
interface Command {
  commandId: string;
  type: string;
  status: string;
  reason: string;
}

describe.each(engineStacks())('customers and cars that never acknowledge an unlock, on $name', (c) => {
  let db: TestDatabase | undefined;
  let server: ServerHandle;
  let sim: Simulation;
  let driver: CustomerDriver | undefined;
  const firstVehicle = randomInt(10_000, 90_000);
  const ids = Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i).id);

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.httpUrl}${path}`, { headers: await staffHeaders(server, 'support') });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

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
      rentalUnlockTimeoutMs: 1_500,
    });
    await server.registerVehicles(ids.map((_, i) => demoVehicle(firstVehicle + i)));
    sim = await startSimulation({
      mqttUrl: server.mqttUrl,
      vehicles: VEHICLES,
      firstVehicle,
      rate: 2,
      seed: 9,
      movingShare: 0,
      tripsOnDemand: { unrentedShare: 0 },
      faults: { commandIgnore: 1 },
    });
  });

  afterAll(async () => {
    await driver?.stop();
    await sim?.stop();
    await server?.stop();
    await db?.drop();
  });

  it('gives up cleanly: no rental, reservations cancelled, holds voided, the cars locked again', { timeout: 240_000 }, async () => {
    await waitForCarsReporting(server, ids);

    driver = startCustomerDriver({
      apiUrl: server.httpUrl,
      sim,
      customers: CUSTOMERS,
      mailbox: serverMailbox(server),
      seed: 4,
      signUpSpacingMs: 50,
      bookShare: 0,
      cancelShare: 0,
      timing: { firstThinkMs: [0, 500], thinkMs: [500, 1_000], walkMs: [200, 500] },
    });
    // each customer goes through a whole reservation's worth of tries and gives up on it
    await waitFor(() => (driver!.stats().startFailures.unlock_not_acknowledged ?? 0) >= CUSTOMERS, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `given-up starts (${JSON.stringify(driver.stats())})`,
    });
    await driver.stop();
    const s = driver.stats();
    expect(s.unexpected).toBe(0);
    expect(s.rentalsStarted).toBe(0);
    expect(s.retries).toBeGreaterThan(0);

    // nothing rented, nothing converted; the given-up reservations cancelled (the driver's own cancel)
    const mine = (
      await Promise.all(ids.map((id) => get<{ bookings: Allocation[] }>(`/ops/v1/bookings?vehicleId=${id}&limit=200`)))
    ).flatMap((b) => b.bookings);
    expect(mine.filter((a) => a.kind === 'rental')).toEqual([]);
    expect(mine.filter((a) => a.status === 'converted')).toEqual([]);
    expect(mine.filter((a) => a.kind === 'reservation' && a.status === 'cancelled').length).toBeGreaterThanOrEqual(CUSTOMERS);

    // every hold placed for a start was voided (through the outbox: give it a moment)
    await waitFor(
      async () => {
        const ops = (await get<{ operations: Operation[] }>('/ops/v1/payments/operations?limit=1000')).operations;
        const holds = new Set(ops.filter((o) => o.kind === 'authorize').map((o) => o.paymentId));
        const voided = new Set(ops.filter((o) => o.kind === 'void' && o.status === 'succeeded').map((o) => o.paymentId));
        return holds.size > 0 && [...holds].every((p) => voided.has(p)) && !ops.some((o) => o.kind === 'capture');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'every hold voided, nothing captured' },
    );

    // each unlock was sent and never answered: given up (cancelled or expired), and a re-lock issued after it
    const commands = (
      await Promise.all(ids.map((id) => get<{ commands: Command[] }>(`/ops/v1/vehicles/${id}/commands?limit=200`)))
    ).flatMap((x) => x.commands);
    const unlocks = commands.filter((x) => x.type === 'unlock');
    expect(unlocks.length).toBeGreaterThanOrEqual(CUSTOMERS);
    for (const u of unlocks) expect(['cancelled', 'expired']).toContain(u.status);
    const relocks = commands.filter((x) => x.type === 'lock' && x.commandId.startsWith('relock-'));
    expect(relocks.length).toBe(unlocks.length);
    // the simulated cars never opened: still locked and parked
    for (const id of ids) expect(sim.snapshot(id).lastTelemetry).toMatchObject({ locked: true });
  });
});
