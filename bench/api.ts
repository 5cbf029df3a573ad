/**
 * `npm run bench:api` — the customer API under load, against PostgreSQL (DATABASE_URL's server, default
 * postgres://postgres@127.0.0.1:5432/postgres; a fresh `fleetdesk_bench_<random>` database, dropped at the end).
 * Loopback only; stops by itself (< 4 min).
 *
 * - Seeding (this process, before the server starts): 20,000 demo vehicles registered through the fleet
 *   component's own registerVehicles, each given one telemetry sample through its own ingestion path
 *   (recordTelemetry + flush): online, parked, at a random point inside the Berlin service area, 20–100 % energy.
 *   Customers for the reservation runs are inserted directly (argon2id sign-ups would take minutes) and get access
 *   tokens minted with the server's own AccessTokens class and the AUTH_SECRET the server is started with.
 * - The server runs as a child process (`node --import tsx server/src/start.ts`: its own event loop on its own
 *   core, more honest than in-process on 2 cores), embedded MQTT broker, HEARTBEAT_TIMEOUT_S=3600 so the seeded
 *   cars stay online through the run. The baseline — a bare node:http handler answering a JSON body of the same
 *   size (a real search answer, stringified per request) — is another child process, measured the same way.
 * - The load generator (autocannon) runs in this process: the server and the generator get about one core each.
 *
 * Runs (BENCH_DURATION_S each, BENCH_CONNECTIONS connections, after a warm-up):
 *   GET bare handler · GET /v1/vehicles/available (a different point in the service area per request, radius
 *   1 km, 20 nearest) · POST bare handler · POST /v1/reservations (BENCH_RESERVATIONS requests, each a different
 *   customer and car) · the same with an Idempotency-Key on every request.
 * Prints requests/s, latency p50/p97.5/p99 and the ratio to the bare handler.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Registry } from 'prom-client';
import { demoVehicleId } from '../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';
import { startFleetComponent } from '../server/src/components/fleet/index.js';
import { AccessTokens } from '../server/src/platform/auth/access-tokens.js';
import { openDatabase, type Db } from '../server/src/platform/db/index.js';
import { DomainEvents } from '../server/src/platform/domain-events.js';
import { createLogger } from '../server/src/platform/log.js';
import { createTestDatabase } from '../server/src/testing/test-databases.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VEHICLES = 20_000;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RESERVATIONS = Number(process.env.BENCH_RESERVATIONS ?? 1_000);
const RESERVATION_CONNECTIONS = Number(process.env.BENCH_RESERVATION_CONNECTIONS ?? 16);
const SEARCH_RADIUS_M = 1_000;
const SEARCH_LIMIT = 20;
const TARGET_RPS = 5_000;
const TARGET_P99_MS = 50;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Figures {
  label: string;
  rps: number;
  p50: number;
  p975: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU time the answering process spent per request (ms; /proc, Linux) — less sensitive to other load than req/s */
  cpuMs: number | null;
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench: took longer than 4 minutes; aborting');
    process.exit(2);
  }, 240_000);
  const db = await createTestDatabase(DATABASE_URL, 'fleetdesk_bench');
  const children: ChildProcess[] = [];
  try {
    const authSecret = randomBytes(32).toString('base64url');
    const setup = await openDatabase({ databaseUrl: db.url, dataDir: 'memory://' }, createLogger({ level: 'silent' }));
    const t0 = Date.now();
    await seedFleet(setup);
    const customerIds = await seedCustomers(setup, 2 * RESERVATIONS);
    await setup.close();
    const tokens = new AccessTokens(new TextEncoder().encode(authSecret), 3_600);
    const bearer = await Promise.all(
      customerIds.map(async (customerId) => `Bearer ${(await tokens.issue({ kind: 'customer', customerId })).token}`),
    );
    console.log(
      `bench: seeded ${fmt(VEHICLES)} vehicles and ${fmt(customerIds.length)} customers in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );

    const port = await freePort();
    // BENCH_SERVER_NODE_ARGS: e.g. `--cpu-prof --cpu-prof-dir=var/profiles` to profile the server
    const serverArgs = [
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      'server/src/start.ts',
    ];
    const server = track(
      spawn(process.execPath, serverArgs, {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          PORT: String(port),
          MQTT_URL: '',
          MQTT_PORT: String(await freePort()),
          MQTT_AUTH: 'off',
          SEED_VEHICLES: '0',
          LOG_LEVEL: 'warn',
          DATA_DIR: 'memory://',
          AUTH_SECRET: authSecret,
          HEARTBEAT_TIMEOUT_S: '3600',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      }),
    );
    children.push(server);
    const httpUrl = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${httpUrl}/ready`).catch(() => undefined))?.status === 200, 90_000, 'server ready');
    await waitFor(async () => (await availableCount(httpUrl)) >= VEHICLES, 60_000, `all ${VEHICLES} vehicles in the availability index`);

    const searchPaths = searchQueries(512);
    const sample = await (await fetch(`${httpUrl}${searchPaths[0]}`)).text();
    const bare = track(
      fork(fileURLToPath(import.meta.url), ['baseline-server'], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    children.push(bare);
    bare.send({ body: JSON.parse(sample) as unknown });
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.once('message', (m) => resolve((m as { port: number }).port));
      bare.once('exit', (code) => reject(new Error(`bench: baseline server exited (${code})`)));
    });
    const bareUrl = `http://127.0.0.1:${barePort}`;
    console.log(
      `bench: search answer ${fmt(sample.length)} bytes (${(JSON.parse(sample) as { vehicles: unknown[] }).vehicles.length} cars); server child pid ${server.pid}, baseline child pid ${bare.pid}; autocannon in pid ${process.pid}, ${CONNECTIONS} connections, ${DURATION_S} s per run`,
    );

    console.log(
      `bench: ${cpus().length} cores, load average ${loadLine()} before the runs (other work on the machine skews every figure, the baseline too)`,
    );
    const getRequests = searchPaths.map((path) => ({ method: 'GET' as const, path }));
    // warm-up (JIT, connection pools, caches), not reported
    await load(bareUrl, { requests: getRequests, duration: 2 });
    await load(httpUrl, { requests: getRequests, duration: 3 });

    const results: Figures[] = [];
    results.push(
      await measured('bare node:http GET (baseline)', bare.pid, () => load(bareUrl, { requests: getRequests, duration: DURATION_S })),
    );
    results.push(
      await measured('GET /v1/vehicles/available', server.pid, () => load(httpUrl, { requests: getRequests, duration: DURATION_S })),
    );

    const vehicleIds = Array.from({ length: VEHICLES }, (_, i) => demoVehicleId(i));
    let next = 0;
    // each request: the next customer (one open reservation each) and a car nobody has reserved yet
    const reservation = (withKey: boolean) => ({
      method: 'POST' as const,
      path: '/v1/reservations',
      setupRequest: (req: autocannon.Request) => {
        const i = next++;
        return {
          ...req,
          headers: {
            'content-type': 'application/json',
            authorization: bearer[i % bearer.length]!,
            ...(withKey ? { 'idempotency-key': `bench-${i}-${randomBytes(8).toString('hex')}` } : {}),
          },
          body: JSON.stringify({ vehicleId: vehicleIds[(i * 7) % VEHICLES] }),
        };
      },
    });
    const barePost = {
      method: 'POST' as const,
      path: '/reservations',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vehicleId: vehicleIds[0] }),
    };
    results.push(
      await measured('bare node:http POST (baseline)', bare.pid, () =>
        load(bareUrl, { requests: [barePost], duration: DURATION_S, connections: RESERVATION_CONNECTIONS }),
      ),
    );
    results.push(
      await measured('POST /v1/reservations', server.pid, () =>
        load(httpUrl, { requests: [reservation(false)], amount: RESERVATIONS, connections: RESERVATION_CONNECTIONS }),
      ),
    );
    results.push(
      await measured('POST /v1/reservations + Idempotency-Key', server.pid, () =>
        load(httpUrl, { requests: [reservation(true)], amount: RESERVATIONS, connections: RESERVATION_CONNECTIONS }),
      ),
    );

    const { rows } = await queryOnce(
      db.url,
      `select count(*)::int as n, count(distinct vehicle_id)::int as cars, count(distinct customer_id)::int as customers from allocations where kind = 'reservation' and status = 'held'`,
    );
    print(results, rows[0] as { n: number; cars: number; customers: number });
    console.log(`bench: load average ${loadLine()} after the runs`);
  } finally {
    clearTimeout(deadline);
    for (const c of children.reverse()) await stopChild(c);
    await db.drop();
    console.log(`bench: database ${db.name} dropped`);
  }
}

function print(results: Figures[], held: { n: number; cars: number; customers: number }): void {
  const [bareGet, search, barePost, reserve, reserveKeyed] = results as [Figures, Figures, Figures, Figures, Figures];
  const head = `${'run'.padEnd(42)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p97.5 ms'.padStart(10)}${'p99 ms'.padStart(9)}${'requests'.padStart(10)}${'non-2xx'.padStart(9)}${'errors'.padStart(8)}${'CPU ms/req'.padStart(12)}`;
  console.log(`\n${head}\n${'-'.repeat(head.length)}`);
  for (const r of results) {
    console.log(
      `${r.label.padEnd(42)}${fmt(r.rps).padStart(9)}${String(r.p50).padStart(9)}${String(r.p975).padStart(10)}${String(r.p99).padStart(9)}${fmt(r.total).padStart(10)}${fmt(r.non2xx).padStart(9)}${fmt(r.errors).padStart(8)}${(r.cpuMs === null ? '-' : r.cpuMs.toFixed(3)).padStart(12)}`,
    );
  }
  console.log('');
  console.log(`search / bare GET:             ${(search.rps / bareGet.rps).toFixed(2)} of the baseline's requests/s`);
  if (search.cpuMs && bareGet.cpuMs) {
    console.log(
      `server CPU per search:         ${search.cpuMs.toFixed(3)} ms (bare: ${bareGet.cpuMs.toFixed(3)} ms) → at most ~${fmt(1000 / search.cpuMs)} searches/s on one dedicated core (bare ~${fmt(1000 / bareGet.cpuMs)}/s)`,
    );
  }
  console.log(
    `reservations / bare POST:      ${(reserve.rps / barePost.rps).toFixed(3)} (with Idempotency-Key: ${(reserveKeyed.rps / barePost.rps).toFixed(3)})`,
  );
  console.log(`reservations held afterwards:  ${fmt(held.n)} (${fmt(held.cars)} distinct cars, ${fmt(held.customers)} distinct customers)`);
  const okRps = search.rps >= TARGET_RPS;
  const okP99 = search.p99 < TARGET_P99_MS;
  console.log(
    `SUMMARY search ${fmt(search.rps)} req/s (target ≥ ${fmt(TARGET_RPS)}: ${okRps ? 'met' : 'NOT met'}), p99 ${search.p99} ms (target < ${TARGET_P99_MS}: ${okP99 ? 'met' : 'NOT met'}), ${(search.rps / bareGet.rps).toFixed(2)}× bare; reservations ${fmt(reserve.rps)} req/s p99 ${reserve.p99} ms (${fmt(reserveKeyed.rps)} req/s p99 ${reserveKeyed.p99} ms with Idempotency-Key)`,
  );
}

/** One telemetry sample per car through the fleet component's ingestion path, at random points in the zone. */
async function seedFleet(db: Db): Promise<void> {
  const fleet = await startFleetComponent({
    db,
    log: createLogger({ level: 'warn' }),
    metrics: new Registry(),
    events: new DomainEvents(),
    heartbeatTimeoutS: 3_600,
    clockSkewToleranceS: 300,
    telemetryRetentionDays: 30,
    seedVehicles: VEHICLES,
  });
  try {
    const random = mulberry32(20_000);
    const now = Date.now();
    for (let i = 0; i < VEHICLES; i++) {
      const [lon, lat] = randomPointInZone(random);
      const outcome = fleet.recordTelemetry(
        demoVehicleId(i),
        {
          lat,
          lon,
          speedKph: 0,
          headingDeg: 0,
          energyPct: 20 + Math.floor(random() * 81),
          odometerKm: 10_000 + i,
          ignition: false,
          locked: true,
          doorsClosed: true,
          seq: 1,
          deviceTs: now,
        },
        now,
      );
      if (outcome !== 'accepted') throw new Error(`bench: seeding telemetry for ${demoVehicleId(i)} was ${outcome}`);
    }
    await fleet.flush();
  } finally {
    await fleet.stop();
  }
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from vehicle_state where online and lat is not null');
  if (rows[0]?.n !== VEHICLES) throw new Error(`bench: ${rows[0]?.n} of ${VEHICLES} vehicles online after seeding`);
}

async function seedCustomers(db: Db, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `bench-customer-${i}`);
  // ready to book (issue 13 §4: reservations need a verified licence and a payment method), as the customer API's
  // licence and payment-method steps would leave them
  await db.query(
    `insert into customers (id, email, name, phone, licence_number, licence_country, licence_expires_on, licence_status, licence_checked_at, server_seq)
     select id, id || '@bench.example', 'Bench ' || id, '+4930000000', 'BENCH' || ord, 'DE', current_date + 1000, 'verified', now(),
            fleetdesk_next_seq()
       from unnest($1::text[]) with ordinality as t(id, ord)`,
    [ids],
  );
  await db.query(
    `insert into payment_methods (id, customer_id, provider_method_id, brand, last4)
     select 'pm-' || id, id, 'bench-pm-' || id, 'visa', '4242' from unnest($1::text[]) as id`,
    [ids],
  );
  return ids;
}

function searchQueries(n: number): string[] {
  const random = mulberry32(7);
  return Array.from({ length: n }, () => {
    const [lon, lat] = randomPointInZone(random);
    return `/v1/vehicles/available?lat=${lat.toFixed(5)}&lon=${lon.toFixed(5)}&radiusM=${SEARCH_RADIUS_M}&limit=${SEARCH_LIMIT}`;
  });
}

function randomPointInZone(random: () => number): [number, number] {
  const [sw, ne] = DEFAULT_SERVICE_AREA.bounds;
  for (;;) {
    const lon = sw.lon + random() * (ne.lon - sw.lon);
    const lat = sw.lat + random() * (ne.lat - sw.lat);
    if (insidePolygon(lon, lat, DEFAULT_SERVICE_AREA.polygon)) return [lon, lat];
  }
}

function insidePolygon(x: number, y: number, ring: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Small deterministic PRNG: the same fleet and queries on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function load(url: string, options: Partial<autocannon.Options>): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, pipelining: 1, timeout: 10, ...options });
}

/** Runs `run` and measures the CPU time `pid` used meanwhile (ms per request). */
async function measured(label: string, pid: number | undefined, run: () => Promise<autocannon.Result>): Promise<Figures> {
  const before = cpuTimeMs(pid);
  const r = await run();
  const after = cpuTimeMs(pid);
  return { ...figures(label, r), cpuMs: before === null || after === null ? null : (after - before) / Math.max(1, r.requests.total) };
}

/** utime + stime of a process in ms, from /proc/<pid>/stat (null elsewhere). */
function cpuTimeMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

function figures(label: string, r: autocannon.Result): Omit<Figures, 'cpuMs'> {
  const seconds = Math.max(r.duration, 0.001);
  return {
    label,
    rps: r.requests.total / seconds,
    p50: r.latency.p50,
    p975: r.latency.p97_5,
    p99: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function availableCount(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`).catch(() => undefined))?.text();
  const line = text?.split('\n').find((l) => l.startsWith('fleetdesk_vehicles_available '));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function queryOnce(url: string, sql: string): Promise<{ rows: unknown[] }> {
  const db = await openDatabase({ databaseUrl: url, dataDir: 'memory://' }, createLogger({ level: 'silent' }));
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** Children still running: killed if the bench itself is interrupted (Ctrl-C, timeout), so none outlives it. */
const liveChildren = new Set<ChildProcess>();
function track<C extends ChildProcess>(child: C): C {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    process.exit(130);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The baseline child: a bare node:http handler answering the same JSON body, serialized per request. */
function baselineServer(): void {
  process.once('message', (m) => {
    const { body } = m as { body: unknown };
    const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const json = JSON.stringify(body);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
    process.once('SIGTERM', () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  });
}

const loadLine = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString('en');

if (process.argv[2] === 'baseline-server') {
  baselineServer();
} else {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
