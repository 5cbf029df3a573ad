/**
 * A broker outage stays the broker's (issue 15 §1): one server (PostgreSQL when DATABASE_URL is set, else PGlite)
 * on a Mosquitto of the test's own, 20 simulated cars (sim/) parked in the operating zone. The broker is killed;
 * for longer than the heartbeat timeout the server must keep serving: the cars still listed (search and GBFS),
 * shown stale with their age but not offline, no offline event, /ready 200 saying the broker is degraded, a
 * reservation and a booking made, a rental start refused at once as `vehicle_unreachable` (503 + Retry-After)
 * with the reservation kept and the hold voided at the payments sandbox, a command queued. The broker comes back:
 * the command reaches the car, telemetry resumes, the stale marks go, nobody went offline, the rental starts.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import type { ServerConfig } from '../../server/src/platform/config.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../server/src/testing/auth.js';
import { dbBackends } from '../../server/src/testing/backends.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { hasMosquitto, startOwnMosquitto, type OwnMosquitto } from '../../server/src/testing/mosquitto.js';
import { providerLedger } from '../../server/src/testing/payments.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';

const VEHICLES = 20;
const HEARTBEAT_TIMEOUT_S = 6;
const CENTER = DEFAULT_SERVICE_AREA.center;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// PostgreSQL when the environment has it (the case the issue reports), else PGlite: one run, the outage is the point
const backend = dbBackends().at(-1)!;

interface LiveVehicle {
  id: string;
  online: boolean;
  receivedAt: number;
  staleAgeMs?: number;
}

describe.skipIf(!hasMosquitto())(`broker outage on ${backend.name} + own Mosquitto`, () => {
  let broker: OwnMosquitto;
  let server: ServerHandle;
  let sim: Simulation;
  let cleanupDb: (() => Promise<void>) | undefined;
  const firstVehicle = randomInt(10_000, 90_000);
  const ids = Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i).id);
  const offlineEvents: string[] = [];

  const call = async <T = Record<string, unknown>>(method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  };
  const availableIds = async (customer: SignedUpCustomer): Promise<string[]> => {
    const res = await call<{ vehicles: Array<{ vehicleId: string }> }>(
      'GET',
      `/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50000&limit=100`,
      customer.headers,
    );
    expect(res.status).toBe(200);
    return res.body.vehicles.map((v) => v.vehicleId).filter((id) => ids.includes(id));
  };
  const gbfsVehicles = async () => {
    const res = await call<{ data: { vehicles: Array<{ vehicle_id: string; is_disabled: boolean; is_reserved: boolean }> } }>(
      'GET',
      '/gbfs/v3/vehicle_status.json',
      {},
    );
    expect(res.status).toBe(200);
    return res.body.data.vehicles; // the database is this test's own: every vehicle in it is one of ours
  };
  const live = async (): Promise<LiveVehicle[]> => {
    const res = await call<{ vehicles: LiveVehicle[] }>('GET', '/ops/v1/fleet/live', await staffHeaders(server, 'dispatcher'));
    expect(res.status).toBe(200);
    return res.body.vehicles.filter((v) => ids.includes(v.id));
  };
  const ready = async () => call<{ status: string; checks: Record<string, string> }>('GET', '/ready', {});

  beforeAll(async () => {
    broker = await startOwnMosquitto();
    const { overrides, cleanup } = await backend.create();
    cleanupDb = cleanup;
    const config: Partial<ServerConfig> = {
      ...overrides,
      port: 0,
      mqttUrl: broker.url,
      mqttAuth: 'off',
      seedVehicles: 0,
      logLevel: 'silent',
      heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S,
      brokerReconnectGraceS: 5,
      brokerOutageMaxStalenessS: 600,
      commandResendMs: 500,
      rentalUnlockTimeoutMs: 8_000,
      licenceSandboxLatencyMs: 50,
    };
    server = await startServer(config);
    server.events.on('vehicle.online', (e) => {
      if (!e.online) offlineEvents.push(`${e.vehicleId} (${e.source})`);
    });
    await server.registerVehicles(ids.map((_, i) => demoVehicle(firstVehicle + i)));
    // parked cars (trips on demand, none requested) publishing a heartbeat every second
    sim = await startSimulation({
      mqttUrl: broker.url,
      vehicles: VEHICLES,
      firstVehicle,
      seed: 15,
      heartbeatMs: 1_000,
      tripsOnDemand: { unrentedShare: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await sim?.stop().catch(() => undefined);
    await server?.stop();
    await broker?.dispose();
    await cleanupDb?.();
  });

  it('keeps the business going while the broker is down, and recovers by itself when it is back', { timeout: 180_000 }, async () => {
    const [alice, bob] = await Promise.all([
      signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' }),
      signUpCustomer(server, { verifiedLicence: true, paymentToken: 'tok_sandbox_ok' }),
    ]);
    await waitFor(async () => (await availableIds(alice)).length === VEHICLES, { what: 'all cars available', timeoutMs: 30_000 });
    expect((await ready()).body.status).toBe('ready');

    // --- the broker dies (SIGKILL: no last wills, no goodbye)
    await broker.stop();
    const killedAt = Date.now();
    await waitFor(async () => (await ready()).body.status === 'degraded', { what: '/ready says degraded', timeoutMs: 15_000 });

    // for well past the heartbeat timeout, every check holds at every look
    const until = killedAt + (HEARTBEAT_TIMEOUT_S + 4) * 1000;
    let looks = 0;
    while (Date.now() < until) {
      const r = await ready();
      expect(r.status).toBe(200);
      expect(r.body.checks['database']).toBe('ok');
      expect(r.body.checks['broker']).toMatch(/^degraded: not connected since /);
      expect(await availableIds(alice)).toHaveLength(VEHICLES);
      const gbfs = await gbfsVehicles();
      expect(gbfs).toHaveLength(VEHICLES);
      expect(gbfs.filter((v) => v.is_disabled)).toEqual([]);
      looks++;
      await sleep(500);
    }
    expect(looks).toBeGreaterThan(3);
    const stale = await live();
    expect(stale).toHaveLength(VEHICLES);
    for (const v of stale) {
      expect(v.online, v.id).toBe(true);
      expect(v.staleAgeMs, v.id).toBeGreaterThan(HEARTBEAT_TIMEOUT_S * 1000); // older than the timeout, yet not offline
    }
    expect(offlineEvents).toEqual([]);
    const health = await call<{ integrations: Array<{ name: string; state: string; lastError: string | null }> }>(
      'GET',
      '/ops/v1/health/integrations',
      await staffHeaders(server, 'dispatcher'),
    );
    expect(health.body.integrations.find((i) => i.name === 'broker')).toMatchObject({
      state: 'down',
      lastError: /^not connected .*last-known state/,
    });
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const downSince = Number(/^fleetdesk_broker_down_since_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(downSince * 1000).toBeGreaterThan(killedAt - 5_000);
    expect(downSince * 1000).toBeLessThanOrEqual(Date.now());

    // --- customers: a reservation and a booking go through
    const [carA, carB, carC] = ids;
    const reservation = await call<{ reservationId: string }>('POST', '/v1/reservations', alice.headers, { vehicleId: carA });
    expect(reservation.status, JSON.stringify(reservation.body)).toBe(201);
    const startsAt = new Date(Date.now() + 2 * 3_600_000);
    const booking = await call<{ bookingId: string }>('POST', '/v1/bookings', bob.headers, {
      vehicleId: carB,
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + 3_600_000).toISOString(),
    });
    expect(booking.status, JSON.stringify(booking.body)).toBe(201);

    // --- a rental start needs the unlock: refused at once, reservation kept, hold voided at the provider
    const holdsBefore = new Set((await providerLedger(server.payments.provider)).map((h) => h.id));
    const startedAt = Date.now();
    const refused = await call<{ code: string; detail: string }>(
      'POST',
      '/v1/rentals',
      { ...alice.headers, 'idempotency-key': `start-${reservation.body.reservationId}-1` },
      { reservationId: reservation.body.reservationId },
    );
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('vehicle_unreachable');
    expect(refused.body.detail).toMatch(/hold was released.*reservation is kept/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Date.now() - startedAt).toBeLessThan(8_000); // did not wait out the unlock timeout
    const kept = await call<{ status: string }>('GET', `/v1/reservations/${reservation.body.reservationId}`, alice.headers);
    expect(kept.body.status).toBe('held');
    await server.payments.drainOutbox();
    const newHolds = (await providerLedger(server.payments.provider)).filter((h) => !holdsBefore.has(h.id));
    expect(newHolds.map((h) => h.status)).toEqual(['voided']);

    // --- a dispatcher's command waits in the queue
    const command = await call<{ commandId: string; status: string }>(
      'POST',
      `/ops/v1/vehicles/${carC}/commands`,
      await staffHeaders(server, 'dispatcher'),
      { type: 'honk_flash', reason: 'find the car during the broker outage', ttlSeconds: 300 },
    );
    expect(command.status, JSON.stringify(command.body)).toBe(202);
    expect(command.body.status).toBe('queued');
    const receivedBefore = sim.stats().commandsReceived;

    // --- the broker is back
    await broker.start();
    const backAt = Date.now();
    const done = await waitFor(
      async () => {
        const c = await server.commands.getCommand(command.body.commandId);
        return c.status === 'succeeded' ? c : undefined;
      },
      { what: 'the queued command succeeded', timeoutMs: 60_000 },
    );
    expect(done.transitions.map((t) => t.to)).toEqual(['queued', 'sent', 'received', 'succeeded']);
    expect(sim.stats().commandsReceived).toBeGreaterThan(receivedBefore);
    await waitFor(async () => (await ready()).body.status === 'ready', { what: '/ready ready again', timeoutMs: 30_000 });
    await waitFor(
      async () => {
        await server.flushIngestion();
        const vs = await live();
        return vs.length === VEHICLES && vs.every((v) => v.online && v.receivedAt > backAt && v.staleAgeMs === undefined);
      },
      { what: 'telemetry resumed from every car, stale marks gone', timeoutMs: 60_000 },
    );
    // past the grace and another heartbeat timeout: still nobody offline (they publish again)
    while (Date.now() < backAt + (5 + HEARTBEAT_TIMEOUT_S + 2) * 1000) {
      expect(await availableIds(alice)).toHaveLength(VEHICLES - 1); // carA reserved (carB's booking is hours away)
      await sleep(1_000);
    }
    expect(offlineEvents).toEqual([]);

    // the kept reservation starts now
    const started = await call<{ status: string; unlock: { status: string } }>(
      'POST',
      '/v1/rentals',
      { ...alice.headers, 'idempotency-key': `start-${reservation.body.reservationId}-2` },
      { reservationId: reservation.body.reservationId },
    );
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ status: 'active', unlock: { status: 'succeeded' } });
  });
});
