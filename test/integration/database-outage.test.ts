/**
 * A database outage (issue 15 §1): one server on PostgreSQL, reached through a TCP proxy this test controls (the
 * machine's PostgreSQL is shared: it is never stopped), the embedded broker and 20 simulated cars driving at 1 Hz.
 * For 30 s the database is gone — every connection reset, new ones refused — and then, shorter, blackholed (a cut
 * network: connections accepted, nothing answered). Throughout: the process serves, what needs the database
 * answers 503 + Retry-After without hanging, what does not (search, GBFS, health) keeps answering, ingestion holds
 * a bounded buffer and counts what it drops. Then everything recovers by itself: /ready, writes, telemetry.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { READY_TO_BOOK, signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../server/src/testing/auth.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { metricValue } from '../../server/src/testing/metrics.js';
import { startTcpProxy, type TcpProxy } from '../../server/src/testing/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/test-databases.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';

const VEHICLES = 20;
const BUFFER_ROWS = 100;
const OUTAGE_MS = 30_000;
const BLACKHOLE_MS = 8_000;
const STATEMENT_TIMEOUT_MS = 2_000;
const CENTER = DEFAULT_SERVICE_AREA.center;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(process.env.DATABASE_URL)('database outage on PostgreSQL (through a proxy the test cuts)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerHandle;
  let sim: Simulation;
  let customer: SignedUpCustomer;
  let dispatcher: Record<string, string>;
  const firstVehicle = randomInt(10_000, 90_000);
  const ids = Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i).id);

  /** One request; a hang fails the test (the abort), any answer is returned with its status and Retry-After. */
  const request = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(STATEMENT_TIMEOUT_MS * 4),
    });
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
  const expectUnavailable = (res: { status: number; retryAfter: string | null; body: Record<string, unknown> }, what: string) => {
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(503);
    expect(Number(res.retryAfter), what).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    db = await createTestDatabase(process.env.DATABASE_URL!);
    const direct = new URL(db.url);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      dataDir: 'memory://',
      databaseUrl: proxied.toString(),
      seedVehicles: 0,
      logLevel: 'silent',
      telemetryBufferRows: BUFFER_ROWS,
      dbStatementTimeoutMs: STATEMENT_TIMEOUT_MS,
      dbPoolWaitMs: STATEMENT_TIMEOUT_MS,
      licenceSandboxLatencyMs: 50,
    });
    await server.registerVehicles(ids.map((_, i) => demoVehicle(firstVehicle + i)));
    sim = await startSimulation({ mqttUrl: server.mqttUrl, vehicles: VEHICLES, firstVehicle, seed: 16, movingShare: 1 });
    customer = await signUpCustomer(server, READY_TO_BOOK);
    dispatcher = await staffHeaders(server, 'dispatcher');
  }, 60_000);

  afterAll(async () => {
    await sim?.stop().catch(() => undefined);
    await proxy?.restore();
    await server?.stop();
    await proxy?.close();
    await db?.drop();
  });

  /** Checks every look during an outage: nothing hangs, nothing is a 500, the process stays alive. */
  async function duringOutage(untilMs: number): Promise<number> {
    let looks = 0;
    while (Date.now() < untilMs) {
      expect((await request('GET', '/health')).status).toBe(200);
      expectUnavailable(await request('GET', '/ready'), '/ready');
      expectUnavailable(await request('GET', '/v1/reservations', customer.headers), 'list reservations');
      expectUnavailable(await request('POST', '/v1/reservations', customer.headers, { vehicleId: ids[looks % VEHICLES] }), 'reserve');
      expectUnavailable(await request('GET', '/ops/v1/fleet/live', dispatcher), 'fleet live');
      // answered from memory: the availability index and the GBFS feed keep serving their last view
      expect(
        (await request('GET', `/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50000`, customer.headers)).status,
      ).toBe(200);
      expect((await request('GET', '/gbfs/v3/vehicle_status.json')).status).toBe(200);
      expect(await metricValue(server.metrics, 'fleetdesk_telemetry_history_pending')).toBeLessThanOrEqual(BUFFER_ROWS);
      looks++;
      await sleep(1_000);
    }
    return looks;
  }

  async function recovers(what: string): Promise<void> {
    const back = Date.now();
    await waitFor(async () => (await request('GET', '/ready')).status === 200, { what: `${what}: /ready 200 again`, timeoutMs: 30_000 });
    // a fresh customer (sign-up writes) reserves a car (a claim in a transaction)
    const fresh = await signUpCustomer(server, READY_TO_BOOK);
    await waitFor(
      async () => (await request('POST', '/v1/reservations', fresh.headers, { vehicleId: ids[randomInt(VEHICLES)] })).status === 201,
      { what: `${what}: a reservation succeeds`, timeoutMs: 30_000 },
    );
    const rowsBefore = await metricValue(server.metrics, 'fleetdesk_telemetry_history_rows_written_total');
    await waitFor(
      async () => {
        const res = await request('GET', '/ops/v1/fleet/live', dispatcher);
        const vehicles = (res.body['vehicles'] ?? []) as Array<{ id: string; receivedAt: number }>;
        return res.status === 200 && vehicles.filter((v) => ids.includes(v.id) && v.receivedAt > back).length === VEHICLES;
      },
      { what: `${what}: live state written again for every car`, timeoutMs: 30_000 },
    );
    await waitFor(async () => (await metricValue(server.metrics, 'fleetdesk_telemetry_history_rows_written_total')) > rowsBefore, {
      what: `${what}: history written again`,
      timeoutMs: 30_000,
    });
  }

  it(
    'answers 503 + Retry-After without hanging, buffers a bounded amount, drops and counts the rest, and recovers by itself',
    {
      timeout: 240_000,
    },
    async () => {
      await waitFor(
        async () => {
          const res = await request('GET', '/ops/v1/fleet/live', dispatcher);
          return ((res.body['vehicles'] ?? []) as Array<{ id: string }>).filter((v) => ids.includes(v.id)).length === VEHICLES;
        },
        { what: 'every car reporting', timeoutMs: 30_000 },
      );
      const droppedBefore = await metricValue(server.metrics, 'fleetdesk_telemetry_history_dropped_total');

      // --- PostgreSQL gone: connections reset, new ones refused
      await proxy.cut();
      expect(await duringOutage(Date.now() + OUTAGE_MS)).toBeGreaterThan(5);
      // 20 cars at 1 Hz for 30 s is ~600 rows: past the 100-row buffer, the rest is dropped — and counted
      expect(await metricValue(server.metrics, 'fleetdesk_telemetry_history_dropped_total')).toBeGreaterThan(droppedBefore + 100);
      await proxy.restore();
      await recovers('after the refusal');

      // --- a cut network: connections accepted, nothing answered; the statement timeout gets every request out
      proxy.blackhole();
      expect(await duringOutage(Date.now() + BLACKHOLE_MS)).toBeGreaterThan(0);
      await proxy.restore();
      await recovers('after the blackhole');
    },
  );
});
