/**
 * `npm run chaos` — each integration's outage in turn, as the demo's customers live through it (issue 15 §1).
 *
 * Everything real and on loopback: one server on a fresh PostgreSQL database, reached through a TCP proxy this
 * script cuts (the machine's PostgreSQL is shared and never stopped); the machine's Mosquitto (MQTT_URL, default
 * mqtt://127.0.0.1:1883), also behind a proxy, for the server and the simulated cars alike; the payment provider
 * sandbox as its own HTTP server (ledger in a file, so it comes back with its holds); 30 simulated cars whose
 * trips are rented by the demo's customer driver (sim/customers: sign up, reserve or book, start, drive, end,
 * pay — a customer app's retries on 429/503/no answer included), and a probe that searches for cars twice a
 * second as a customer app's map would.
 *
 * Phases (CHAOS_PHASE_S each, default 30 s): a quiet baseline, then for each of broker, database, payment
 * provider and licence provider: down, then back. The licence provider is the server's in-process sandbox, switched
 * off and on while it runs (`customers.licenceSandbox.updateSettings({ available })`); while it is down, NEWCOMERS
 * new customers arrive, sign up and submit their licence — they must wait, and go on once it is back. Prints one row
 * per phase: the probe's searches answered / refused, what the customers got done (sign-ups, licences verified,
 * reservations, rentals started and ended) and how often they had to retry, answers nobody expected, and for each
 * restore how long until the whole journey worked again (the first search answered and the first rental started
 * or ended after it; for the licence provider, the first and the last newcomer's licence verified). Stops by itself
 * (≈ 5 minutes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { startServer, type ServerHandle } from '../server/src/app.js';
import { serverMailbox } from '../server/src/testing/auth.js';
import { startPaymentSandbox, type PaymentSandbox } from '../server/src/sandbox/payment-provider/index.js';
import { startTcpProxy, type TcpProxy } from '../server/src/testing/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../server/src/testing/test-databases.js';
import {
  startCustomerDriver,
  type CustomerDriver,
  type CustomerDriverOptions,
  type CustomerDriverStats,
} from '../sim/customers/customer-driver.js';
import type { SimulationLogger } from '../sim/device-connection.js';
import { startSimulation, type Simulation } from '../sim/simulation.js';
import { demoVehicle } from '../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MQTT_URL = process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';
const PHASE_MS = Number(process.env['CHAOS_PHASE_S'] ?? 30) * 1_000;
const VEHICLES = 30;
const CUSTOMERS = 14;
/** customers who first arrive while the licence provider is down */
const NEWCOMERS = 4;
const API_KEY = 'sk_sandbox_chaos';
const WEBHOOK_SECRET = 'whsec_chaos_0123456789abcdef0123';
const CENTER = DEFAULT_SERVICE_AREA.center;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Probe {
  at: number;
  ok: boolean;
}

interface PhaseRow {
  phase: string;
  searchesOk: number;
  searchesRefused: number;
  signedUp: number;
  licencesVerified: number;
  reservations: number;
  started: number;
  ended: number;
  retries: number;
  unexpected: number;
  /** customers in a rental at the phase's end */
  renting: number;
  /** a restore: ms until the first answered search and the first rental started/ended after it */
  recoveredSearchMs?: number | undefined;
  recoveredJourneyMs?: number | undefined;
  /** the licence provider's restore: ms until the first and the last newcomer's licence was verified */
  recoveredLicenceMs?: { first: number | undefined; all: number | undefined };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-chaos-'));
  let db: TestDatabase | undefined;
  const proxies: TcpProxy[] = [];
  let sandbox: PaymentSandbox | undefined;
  let server: ServerHandle | undefined;
  let sim: Simulation | undefined;
  let driver: CustomerDriver | undefined;
  let newcomers: CustomerDriver | undefined;
  let probing = true;
  try {
    db = await createTestDatabase(DATABASE_URL, 'fleetdesk_chaos');
    const direct = new URL(db.url);
    const dbProxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const broker = new URL(MQTT_URL);
    const mqttProxy = await startTcpProxy(broker.hostname, Number(broker.port || 1883));
    proxies.push(dbProxy, mqttProxy);
    const proxiedDb = new URL(db.url);
    proxiedDb.host = `127.0.0.1:${dbProxy.port}`;
    const ledgerFile = join(dataDir, 'sandbox-ledger.json');
    sandbox = await startPaymentSandbox({ apiKey: API_KEY, settings: { latencyMs: 0 }, ledgerFile });
    const sandboxPort = Number(new URL(sandbox.url).port);

    server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: `mqtt://127.0.0.1:${mqttProxy.port}`,
      mqttAuth: 'off',
      mqttSharedGroup: `chaos-${process.pid}`,
      dataDir,
      databaseUrl: proxiedDb.toString(),
      seedVehicles: 0,
      logLevel: 'silent',
      licenceSandboxLatencyMs: 50,
      dbStatementTimeoutMs: 3_000,
      dbPoolWaitMs: 3_000,
      paymentProviderUrl: sandbox.url,
      paymentProviderApiKey: API_KEY,
      paymentWebhookSecret: WEBHOOK_SECRET,
      paymentCallTimeoutMs: 1_500,
      rentalUnlockTimeoutMs: 5_000,
    });
    sandbox.setWebhookTarget({ url: `${server.httpUrl}/webhooks/payments`, secret: WEBHOOK_SECRET });
    const firstVehicle = randomInt(10_000, 90_000);
    await server.registerVehicles(Array.from({ length: VEHICLES }, (_, i) => demoVehicle(firstVehicle + i)));
    sim = await startSimulation({
      mqttUrl: `mqtt://127.0.0.1:${mqttProxy.port}`,
      vehicles: VEHICLES,
      firstVehicle,
      rate: 1,
      seed: 21,
      tripsOnDemand: { unrentedShare: 0 },
    });
    const httpUrl = server.httpUrl;
    // the cars are listed before the customers look
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${httpUrl}/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50000&limit=50`);
      if (res.ok && ((await res.json()) as { vehicles: unknown[] }).vehicles.length >= VEHICLES * 0.8) break;
      await sleep(500);
    }
    const customerOptions = {
      logger: unexpectedAnswers,
      apiUrl: httpUrl,
      sim,
      mailbox: serverMailbox(server),
      seed: 8,
      signUpSpacingMs: 50,
      bookShare: 0.2,
      timing: {
        firstThinkMs: [0, 2_000],
        thinkMs: [500, 2_500],
        walkMs: [300, 1_000],
        bookingLeadMs: [2_000, 6_000],
        bookingWindowMs: [20 * 60_000, 30 * 60_000],
        tripMs: [3_000, 8_000],
        stopoverMs: [1_000, 2_000],
      },
    } satisfies Omit<CustomerDriverOptions, 'customers'>;
    driver = startCustomerDriver({ ...customerOptions, customers: CUSTOMERS });
    // every customer's figures, the newcomers' included once they arrive
    const stats = (): CustomerDriverStats => sumStats(driver!.stats(), newcomers?.stats());

    // the probe: a customer app's map, twice a second
    const probes: Probe[] = [];
    const probeLoop = (async () => {
      while (probing) {
        const at = Date.now();
        const ok = await fetch(`${httpUrl}/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=50000&limit=50`, {
          signal: AbortSignal.timeout(5_000),
        }).then(
          (r) => r.ok,
          () => false,
        );
        probes.push({ at, ok });
        await sleep(Math.max(0, 500 - (Date.now() - at)));
      }
    })();
    // the journey's progress over time: rentals started + ended, sampled
    const progress: Array<{ at: number; done: number; licences: number }> = [];
    const progressTimer = setInterval(() => {
      const s = stats();
      progress.push({ at: Date.now(), done: s.rentalsStarted + s.rentalsEnded, licences: newcomers?.stats().licencesVerified ?? 0 });
    }, 250);

    const rows: PhaseRow[] = [];
    const phase = async (name: string, restoredAt?: number): Promise<void> => {
      const from = Date.now();
      const before = stats();
      const doneBefore = before.rentalsStarted + before.rentalsEnded;
      console.log(`chaos: ${name}…`);
      await sleep(PHASE_MS);
      const after = stats();
      const inPhase = probes.filter((p) => p.at >= from);
      const row: PhaseRow = {
        phase: name,
        searchesOk: inPhase.filter((p) => p.ok).length,
        searchesRefused: inPhase.filter((p) => !p.ok).length,
        ...delta(before, after),
      };
      if (restoredAt !== undefined) {
        row.recoveredSearchMs = firstAfter(
          probes.filter((p) => p.ok).map((p) => p.at),
          restoredAt,
        );
        row.recoveredJourneyMs = firstAfter(
          progress.filter((p) => p.done > doneBefore).map((p) => p.at),
          restoredAt,
        );
        if (name.startsWith('licence'))
          row.recoveredLicenceMs = {
            first: firstAfter(
              progress.filter((p) => p.licences > 0).map((p) => p.at),
              restoredAt,
            ),
            all: firstAfter(
              progress.filter((p) => p.licences >= NEWCOMERS).map((p) => p.at),
              restoredAt,
            ),
          };
      }
      rows.push(row);
    };

    await phase('baseline');
    await mqttProxy.cut();
    await phase('broker down');
    await mqttProxy.restore();
    await phase('broker back', Date.now());
    await dbProxy.cut();
    await phase('database down');
    await dbProxy.restore();
    await phase('database back', Date.now());
    await sandbox.close();
    await phase('payment provider down');
    sandbox = await startPaymentSandbox({
      apiKey: API_KEY,
      port: sandboxPort,
      settings: { latencyMs: 0 },
      ledgerFile,
      webhook: { url: `${server.httpUrl}/webhooks/payments`, secret: WEBHOOK_SECRET },
    });
    await phase('payment provider back', Date.now());
    const licence = server.customers.licenceSandbox;
    if (!licence) throw new Error('the server does not use the sandbox licence provider');
    licence.updateSettings({ available: false });
    newcomers = startCustomerDriver({ ...customerOptions, customers: NEWCOMERS, firstCustomer: CUSTOMERS + 1 });
    await phase('licence provider down');
    licence.updateSettings({ available: true });
    await phase('licence provider back', Date.now());

    probing = false;
    clearInterval(progressTimer);
    await probeLoop;
    print(rows, stats());
  } finally {
    probing = false;
    await driver?.stop().catch(() => undefined);
    await newcomers?.stop().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await sandbox?.close().catch(() => undefined);
    for (const p of proxies) await p.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Two populations' figures as one (counts added; the maps of codes merged). */
function sumStats(a: CustomerDriverStats, b: CustomerDriverStats | undefined): CustomerDriverStats {
  if (!b) return a;
  const sum = { ...a } as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    const mine = (a as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') sum[key] = (mine as number) + value;
    else {
      const merged: Record<string, number> = { ...(mine as Record<string, number>) };
      for (const [k, v] of Object.entries(value as Record<string, number>)) merged[k] = (merged[k] ?? 0) + v;
      sum[key] = merged;
    }
  }
  return sum as unknown as CustomerDriverStats;
}

/** The customers' unexpected answers by what they did, status and code (printed with the total). */
const unexpectedKinds = new Map<string, number>();
const unexpectedAnswers: SimulationLogger = {
  info: () => undefined,
  error: () => undefined,
  warn: (msg, fields = {}) => {
    if (msg !== 'customers: unexpected answer') return;
    const key = `${String(fields['what'])} ${String(fields['status'])}${fields['code'] ? ` ${String(fields['code'])}` : ''}`;
    unexpectedKinds.set(key, (unexpectedKinds.get(key) ?? 0) + 1);
  },
};

function delta(a: CustomerDriverStats, b: CustomerDriverStats) {
  return {
    signedUp: b.signedUp + b.loggedIn - (a.signedUp + a.loggedIn),
    licencesVerified: b.licencesVerified - a.licencesVerified,
    reservations: b.reservations + b.bookings - (a.reservations + a.bookings),
    started: b.rentalsStarted - a.rentalsStarted,
    ended: b.rentalsEnded - a.rentalsEnded,
    renting: b.now.renting,
    retries: b.retries - a.retries,
    unexpected: b.unexpected - a.unexpected,
  };
}

const firstAfter = (times: number[], from: number): number | undefined => {
  const t = times.find((x) => x >= from);
  return t === undefined ? undefined : t - from;
};

function print(rows: PhaseRow[], final: CustomerDriverStats): void {
  const secs = (ms: number | undefined) => (ms === undefined ? 'not yet' : `${(ms / 1000).toFixed(1)} s`);
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `\nchaos: ${VEHICLES} cars, ${CUSTOMERS} customers (+ ${NEWCOMERS} arriving while the licence provider is down), ${PHASE_MS / 1000} s per phase (searches: a customer app's map, twice a second)\n`,
  );
  console.log(
    `${'phase'.padEnd(24)}${pad('searches ok', 12)}${pad('refused', 9)}${pad('signed up', 11)}${pad('licences', 10)}${pad('reserved', 10)}${pad('started', 9)}${pad('ended', 7)}${pad('retries', 9)}${pad('unexpected', 12)}${pad('renting', 9)}   recovered (search / journey)`,
  );
  for (const r of rows) {
    const recovered =
      r.recoveredSearchMs === undefined && r.recoveredJourneyMs === undefined
        ? ''
        : `${secs(r.recoveredSearchMs)} / ${secs(r.recoveredJourneyMs)}${
            r.recoveredLicenceMs
              ? `; licences: first ${secs(r.recoveredLicenceMs.first)}, all ${NEWCOMERS} ${secs(r.recoveredLicenceMs.all)}`
              : ''
          }`;
    console.log(
      `${r.phase.padEnd(24)}${pad(r.searchesOk, 12)}${pad(r.searchesRefused, 9)}${pad(r.signedUp, 11)}${pad(r.licencesVerified, 10)}${pad(r.reservations, 10)}${pad(r.started, 9)}${pad(r.ended, 7)}${pad(r.retries, 9)}${pad(r.unexpected, 12)}${pad(r.renting, 9)}   ${recovered}`,
    );
  }
  console.log(
    `\ntotal: ${final.signedUp} signed up, ${final.licencesVerified} licences verified, ${final.rentalsStarted} rentals started, ${final.rentalsEnded} ended, ${final.receiptsCaptured} receipts captured; start failures ${JSON.stringify(final.startFailures)}; ends refused for ${JSON.stringify(final.endBlocked)}; unexpected answers ${final.unexpected}${
      unexpectedKinds.size > 0 ? ` (${[...unexpectedKinds].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''
    }`,
  );
}

await main();
