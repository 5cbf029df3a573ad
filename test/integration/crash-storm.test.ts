/**
 * Crashes, not only clean stops (issue 15 §2): two server instances on one PostgreSQL and one broker (a
 * Mosquitto of the test's own), the payment provider as its own service (the sandbox, real HTTP, shared by
 * both), simulated cars answering unlock/lock/honk commands. A storm runs against both instances — simulated
 * customers (sim/customers) reserving, booking, starting, driving and ending rentals through each instance,
 * two desks pushing task edits through sync (one on each instance), staff commands issued through both — and
 * instance A, a separate process, is killed with SIGKILL in the middle of it, then started again.
 *
 * Afterwards: no two claims of a car overlap; every started rental has exactly one live hold at the provider
 * (one hold per reference on the provider's ledger) and at most one capture; after the abandoned-hold sweep no
 * hold without a rental is left authorized; every command is in a terminal state, reached exactly once; every
 * desk edit is on the server exactly once; instance B answered every probe while A was down.
 *
 * PostgreSQL only (two instances need one shared database): runs when DATABASE_URL is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/platform/config.js';
import { startPaymentSandbox, type PaymentSandbox } from '../../server/src/sandbox/payment-provider/sandbox-server.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { freePort } from '../../server/src/testing/staff-api.js';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/test-databases.js';
import { mailboxDirReader, startCustomerDriver, type CustomerDriver, type CustomerTiming } from '../../sim/customers/customer-driver.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import type { TaskDoc } from '../../src/shared/sync-protocol.js';
import { startSyncClient, type SyncClient } from '../support/sync-client.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const area = DEFAULT_SERVICE_AREA.center;
const VEHICLES = 30;
const CUSTOMERS_PER_INSTANCE = 8;
const TERMINAL = ['succeeded', 'failed', 'expired', 'cancelled'];
const FAST: Partial<CustomerTiming> = {
  firstThinkMs: [0, 1_000],
  thinkMs: [200, 1_000],
  walkMs: [200, 800],
  bookingLeadMs: [1_000, 3_000],
  bookingWindowMs: [20 * 60_000, 30 * 60_000],
  tripMs: [1_000, 3_000],
  stopoverMs: [300, 800],
  getOutMs: [100, 300],
};

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

describe.runIf(process.env['DATABASE_URL'])('kill -9 of one of two instances in the middle of a storm', () => {
  let db: TestDatabase;
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let sandbox: PaymentSandbox;
  let b: ServerHandle;
  let a: ChildProcess | undefined;
  let aUrl: string;
  let env: Record<string, string>;
  let sim: Simulation | undefined;
  const drivers: CustomerDriver[] = [];
  const desks: SyncClient[] = [];
  const aOutput: string[] = [];

  const startA = async (): Promise<void> => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/start.ts'], {
      env: { ...process.env, ...env, PORT: new URL(aUrl).port },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => aOutput.push(d.toString()));
    a = child;
    await waitFor(() => httpOk(`${aUrl}/health`), { timeoutMs: 60_000, intervalMs: 200, what: `instance A at ${aUrl}` });
  };

  beforeAll(async () => {
    db = await createTestDatabase(process.env['DATABASE_URL']!);
    dir = await mkdtemp(join(tmpdir(), 'fleetdesk-crash-'));
    const brokerPort = await freePort();
    await writeFile(join(dir, 'mosquitto.conf'), `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await waitFor(() => portOpen(brokerPort), { timeoutMs: 10_000, what: 'the test broker' });
    const apiKey = `key-${randomUUID()}`;
    sandbox = await startPaymentSandbox({ port: 0, apiKey, settings: { latencyMs: 10, flakyRate: 0 } });
    aUrl = `http://127.0.0.1:${await freePort()}`;
    env = {
      DATABASE_URL: db.url,
      MQTT_URL: `mqtt://127.0.0.1:${brokerPort}`,
      MQTT_AUTH: 'off',
      SEED_VEHICLES: '0',
      LOG_LEVEL: 'warn',
      AUTH_SECRET: randomUUID() + randomUUID(),
      PAYMENT_PROVIDER_URL: sandbox.url,
      PAYMENT_PROVIDER_API_KEY: apiKey,
      PAYMENT_WEBHOOK_SECRET: `whsec-${randomUUID()}`,
      PAYMENT_RETRY_BASE_MS: '50',
      LICENCE_SANDBOX_LATENCY_MS: '20',
      RENTAL_HOLD_DEADLINE_MS: '5000',
      RENTAL_UNLOCK_TIMEOUT_MS: '10000',
      RENTAL_LOCK_TIMEOUT_MS: '5000',
    };
    // instance B in this process (it must survive), instance A as its own process (it gets killed)
    b = await startServer({ ...loadConfig({ ...env, DATA_DIR: join(dir, 'b') }), port: 0, mqttPort: 0 });
    const firstVehicle = randomInt(10_000, 90_000);
    await b.registerVehicles(Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i)));
    env['DATA_DIR'] = join(dir, 'a');
    await startA();
    sim = await startSimulation({
      mqttUrl: env['MQTT_URL']!,
      vehicles: VEHICLES,
      firstVehicle,
      rate: 2,
      seed: 21,
      movingShare: 0.9,
      tripsOnDemand: { unrentedShare: 0 },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await Promise.all(desks.map((d) => d.stop()));
    await sim?.stop();
    a?.kill('SIGKILL');
    await b?.stop();
    await sandbox?.close();
    mosquitto?.kill('SIGTERM');
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('loses nothing and doubles nothing; the surviving instance serves throughout', { timeout: 420_000 }, async () => {
    const dispatcher = await staffHeaders(b, 'dispatcher');
    await waitFor(
      async () => {
        const body = (await (await fetch(`${b.httpUrl}/ops/v1/fleet/live`, { headers: dispatcher })).json()) as { vehicles: unknown[] };
        return body.vehicles.length >= VEHICLES;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'every car reporting' },
    );
    await b.bookings.refreshAvailability();

    // --- the storm ----------------------------------------------------------------------------------------
    const instanceUrls = [aUrl, b.httpUrl];
    for (const [i, apiUrl] of instanceUrls.entries())
      drivers.push(
        startCustomerDriver({
          apiUrl,
          sim: sim!,
          customers: CUSTOMERS_PER_INSTANCE,
          seed: 40 + i,
          firstCustomer: 1 + i * 100,
          // a customer's mail, whichever instance sent it (each writes its own data directory's sandbox mailbox)
          mailbox: async (address) =>
            (await Promise.all(['a', 'b'].map((d) => mailboxDirReader(join(dir, d, 'sandbox-mailbox'))(address)))).flat(),
          signUpSpacingMs: 30,
          bookShare: 0.2,
          cancelShare: 0.1,
          stopoverShare: 0.2,
          timing: FAST,
        }),
      );
    // two desks, one on each instance; A's account is signed in through A (same database, same auth secret)
    const aHandle = { httpUrl: aUrl, db: b.db };
    for (const [url, who, handle] of [
      [aUrl, 'desk-a', aHandle],
      [b.httpUrl, 'desk-b', b],
    ] as const) {
      desks.push(
        await startSyncClient({
          baseUrl: () => url,
          headers: () => staffHeaders(handle, 'dispatcher', who),
          role: 'dispatcher',
          multiplexed: true,
          collections: ['tasks'],
          retryMs: 200,
        }),
      );
    }
    const deskEdits: string[][] = [[], []];
    const probesOfB = { ok: 0, failed: [] as string[] };
    const issued: string[] = [];
    let storming = true;
    const loops: Array<Promise<void>> = [];
    const every = (ms: number, fn: (tick: number) => Promise<void>) =>
      loops.push(
        (async () => {
          for (let tick = 0; storming; tick++) {
            await fn(tick);
            await new Promise((r) => setTimeout(r, ms));
          }
        })(),
      );
    // desk edits: a new task from each desk every 150 ms
    every(150, async (tick) => {
      for (const [i, desk] of desks.entries()) {
        const id = randomUUID();
        const now = Date.now();
        const task: TaskDoc = {
          id,
          updatedAt: now,
          vehicleId: sim!.vehicleIds[tick % VEHICLES]!,
          kind: 'cleaning',
          status: 'open',
          assignee: null,
          note: `storm ${i} ${tick}`,
          alertId: null,
          createdBy: i === 0 ? 'desk-a' : 'desk-b',
          createdAt: now,
          dueAt: null,
          completedAt: null,
        };
        await desk.collection('tasks').insert(task);
        deskEdits[i]!.push(id);
      }
    });
    // staff commands through both instances (A's fail while it is down: not issued)
    every(200, async (tick) => {
      const url = instanceUrls[tick % 2]!;
      try {
        const res = await fetch(`${url}/ops/v1/vehicles/${sim!.vehicleIds[tick % VEHICLES]}/commands`, {
          method: 'POST',
          headers: { ...(await staffHeaders(tick % 2 === 0 ? aHandle : b, 'dispatcher', 'storm-op')), 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'honk_flash', reason: 'crash storm', ttlSeconds: 15 }),
        });
        if (res.status === 201 || res.status === 202) issued.push(((await res.json()) as { commandId: string }).commandId);
      } catch {
        /* A is down */
      }
    });
    // B must answer throughout
    every(250, async () => {
      try {
        const res = await fetch(`${b.httpUrl}/v1/vehicles/available?lat=${area.lat}&lon=${area.lon}&radiusM=20000`, {
          signal: AbortSignal.timeout(5_000),
        });
        if (res.ok) probesOfB.ok += 1;
        else probesOfB.failed.push(`HTTP ${res.status}`);
      } catch (err) {
        probesOfB.failed.push((err as Error).message);
      }
    });

    const active = async () =>
      Number(
        (await b.db.query<{ n: number }>(`select count(*)::int as n from allocations where kind = 'rental' and status = 'active'`)).rows[0]!
          .n,
      );
    await waitFor(async () => (await active()) >= 3, { timeoutMs: 90_000, intervalMs: 250, what: 'three active rentals before the kill' });
    await new Promise((r) => setTimeout(r, 2_000));
    const before = drivers.map((d) => d.stats());
    a!.kill('SIGKILL');
    await new Promise<void>((resolve) => a!.once('exit', () => resolve()));
    await new Promise((r) => setTimeout(r, 8_000)); // the storm goes on against B (A's customers and desk get no answer)
    await startA();
    await new Promise((r) => setTimeout(r, 8_000));
    storming = false;
    await Promise.all(loops);
    await Promise.all(drivers.map((d) => d.stop()));
    const stats = drivers.map((d) => d.stats());
    console.log(`crash-storm: drivers before the kill ${JSON.stringify(before)}; at the end ${JSON.stringify(stats)}`);

    // --- quiet again: let everything settle -----------------------------------------------------------------
    for (const desk of desks) await desk.awaitInSync();
    await waitFor(
      async () =>
        Number(
          (await b.db.query<{ n: number }>(`select count(*)::int as n from commands where status <> all($1::text[])`, [TERMINAL])).rows[0]!
            .n,
        ) === 0,
      { timeoutMs: 60_000, intervalMs: 500, what: 'every command terminal' },
    );
    // starts that A left half-way hold their reservation's lease until it runs out, and their authorization's
    // claim until its deadline: wait for both (real time), so the sweep and the outbox can judge them
    const count = async (sql: string) => Number((await b.db.query<{ n: number }>(sql)).rows[0]!.n);
    await waitFor(
      async () =>
        (await count(`select count(*)::int as n from allocations where start_attempt_expires_at > now()`)) === 0 &&
        (await count(`select count(*)::int as n from payment_operations where kind = 'authorize' and status = 'in_flight'`)) === 0,
      { timeoutMs: 90_000, intervalMs: 500, what: 'start leases and authorization claims run out' },
    );
    await b.payments.drainOutbox();
    // the abandoned-hold sweep's grace is a minute past a start's lease: let that minute pass by ageing every payment
    await b.db.query(`update payments set created_at = created_at - interval '1 hour'`);
    await b.rentals.sweepAbandonedHolds();
    await b.payments.drainOutbox();

    // --- the invariants -------------------------------------------------------------------------------------
    // no two blocking claims of one car overlap
    const overlaps = await b.db.query(
      `select x.id as a, y.id as b from allocations x join allocations y
         on x.vehicle_id = y.vehicle_id and x.id < y.id and x.period && y.period
       where x.status in ('held', 'confirmed', 'active', 'ended') and y.status in ('held', 'confirmed', 'active', 'ended')`,
    );
    expect(overlaps.rows).toEqual([]);

    // every started rental: exactly one live payment, its hold on the provider's ledger, at most one capture
    const started = (
      await b.db.query<{ id: string; status: string }>(
        `select id, status from allocations where kind = 'rental' and status in ('active', 'ended')`,
      )
    ).rows;
    expect(started.length).toBeGreaterThan(0);
    const payments = (await b.db.query<{ id: string; rental_id: string; status: string }>(`select id, rental_id, status from payments`))
      .rows;
    const ledger = sandbox.holds();
    const holdsByReference = new Map<string, number>();
    for (const h of ledger) holdsByReference.set(h.reference, (holdsByReference.get(h.reference) ?? 0) + 1);
    expect([...holdsByReference].filter(([, n]) => n > 1)).toEqual([]);
    const byReference = new Map(ledger.map((h) => [h.reference, h]));
    const rentalPayments = new Set<string>();
    for (const r of started) {
      const live = payments.filter((p) => p.rental_id === r.id && ['authorized', 'capture_pending', 'captured'].includes(p.status));
      expect(live, `live payments of rental ${r.id}`).toHaveLength(1);
      const hold = byReference.get(live[0]!.id);
      expect(hold, `the provider's hold of rental ${r.id}`).toBeDefined();
      expect(hold!.captures.length).toBeLessThanOrEqual(1);
      expect(hold!.status === 'captured').toBe(r.status === 'ended' && live[0]!.status === 'captured');
      rentalPayments.add(live[0]!.id);
    }
    // no hold without a rental is left authorized or captured after the sweep
    const orphans = ledger.filter((h) => !rentalPayments.has(h.reference) && (h.status === 'authorized' || h.status === 'captured'));
    const explain = async (reference: string) => {
      const p = payments.find((x) => x.id === reference);
      const claim = p
        ? (await b.db.query<{ kind: string; status: string }>('select kind, status from allocations where id = $1', [p.rental_id])).rows[0]
        : undefined;
      const ops = p
        ? (await b.db.query<{ kind: string; status: string }>('select kind, status from payment_operations where payment_id = $1', [p.id]))
            .rows
        : [];
      return { reference, payment: p?.status ?? 'no payment row', rental: p?.rental_id, claim, ops };
    };
    expect(await Promise.all(orphans.map((h) => explain(h.reference)))).toEqual([]);

    // every command terminal, reached exactly once
    const terminal = await b.db.query<{ command_id: string; n: number }>(
      `select c.command_id, count(t.id)::int as n from commands c
         left join command_transitions t on t.command_id = c.command_id and t.to_status = any($1::text[])
       group by c.command_id`,
      [TERMINAL],
    );
    expect(issued.length).toBeGreaterThan(0);
    const terminalCount = new Map(terminal.rows.map((r) => [r.command_id, r.n]));
    for (const id of issued) expect(terminalCount.get(id), `command ${id}`).toBe(1);
    expect(terminal.rows.filter((r) => r.n !== 1)).toEqual([]);

    // every desk edit on the server exactly once
    const created = await b.db.query<{ target_id: string; n: number }>(
      `select target_id, count(*)::int as n from audit_log where action = 'task.created' and actor = any($1::text[]) group by target_id`,
      [['desk-a', 'desk-b']],
    );
    const createdCount = new Map(created.rows.map((r) => [r.target_id, r.n]));
    for (const id of deskEdits.flat()) expect(createdCount.get(id), `task ${id}`).toBe(1);
    expect(created.rows.length).toBe(deskEdits.flat().length);
    expect(deskEdits[0]!.length).toBeGreaterThan(0);

    // B kept serving, and its customers met nothing unexpected
    expect(probesOfB.failed).toEqual([]);
    expect(probesOfB.ok).toBeGreaterThan(20);
    expect(stats[1]!.unexpected).toBe(0);
    expect(stats[0]!.rentalsStarted + stats[1]!.rentalsStarted).toBeGreaterThan(0);
  });
});
