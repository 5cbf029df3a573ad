/**
 * `npm run bench:api` — the customer API under load, against PostgreSQL (DATABASE_URL's server, default
 * postgres://postgres@127.0.0.1:5432/postgres; a fresh `fleetdesk_bench_<random>` database, dropped at the end).
 * Loopback only; stops by itself (< 4 min). BENCH_KEEP_DATABASE=1 keeps the database afterwards (to EXPLAIN its
 * statements on the data the runs left).
 *
 * - Seeding (this process, before the server starts): 20,000 demo vehicles registered through the fleet
 *   component's own registerVehicles, each given one telemetry sample through its own ingestion path
 *   (recordTelemetry + flush): online, parked, at a random point inside the Berlin service area, 20–100 % energy.
 *   Customers for the reservation runs are inserted directly (argon2id sign-ups would take minutes) and get access
 *   tokens minted with the server's own AccessTokens class and the AUTH_SECRET the server is started with. The
 *   claims of a fleet in service (BENCH_HISTORY_PER_CAR expired reservations per car, default 3; BENCH_HELD_NOW cars
 *   reserved now by other customers, default 2,000), then ANALYZE, as autovacuum would have done long before.
 * - The server runs as a child process (`node --import tsx server/src/start.ts`: its own event loop on its own
 *   core, more honest than in-process on 2 cores), embedded MQTT broker, HEARTBEAT_TIMEOUT_S=3600 so the seeded
 *   cars stay online through the run. The baseline — a bare node:http handler answering a JSON body of the same
 *   size (a real search answer, stringified per request) — is another child process, measured the same way.
 * - The load generator (autocannon) runs in this process: the server and the generator get about one core each.
 *
 * Runs (BENCH_DURATION_S each, BENCH_CONNECTIONS connections, after a warm-up):
 *   GET bare handler · GET /v1/vehicles/available (a different point in the service area per request, radius
 *   1 km, 20 nearest) · POST bare handler · POST /v1/reservations (BENCH_RESERVATIONS requests, each a different
 *   customer and car, BENCH_RESERVATION_CONNECTIONS connections, after BENCH_RESERVATION_WARMUP reservations of
 *   other customers and cars that are not reported — JIT, the pool's connections, PostgreSQL's cached plans, as the
 *   search run gets) · the same with an Idempotency-Key on every request.
 * Prints requests/s, latency p50/p97.5/p99, the ratio to the bare handler, and the CPU time per request of the
 * answering process and — for the server's runs — of the bench database's PostgreSQL backends (/proc; on a machine
 * shared with other work far steadier than rates). SUMMARY: search's bar and bar 4 of issue 12 (reservations
 * ≥ 1,000 req/s with p99 < 100 ms, and no car or customer holding two reservations afterwards).
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
const RESERVATIONS = Number(process.env.BENCH_RESERVATIONS ?? 3_000);
const RESERVATION_CONNECTIONS = Number(process.env.BENCH_RESERVATION_CONNECTIONS ?? 16);
const RESERVATION_WARMUP = Number(process.env.BENCH_RESERVATION_WARMUP ?? 500);
/** past reservations per car, and cars reserved by other customers now, in the seeded database (seedClaims) */
const HISTORY_PER_CAR = Number(process.env.BENCH_HISTORY_PER_CAR ?? 3);
const HELD_NOW = Number(process.env.BENCH_HELD_NOW ?? 2_000);
/** issue 12 bar 4 */
const RESERVE_TARGET_RPS = 1_000;
const RESERVE_TARGET_P99_MS = 100;
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
  /** CPU time the bench database's PostgreSQL backends spent per request (ms; server runs only) */
  pgCpuMs: number | null;
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
    const customerIds = await seedCustomers(setup, RESERVATION_WARMUP + 2 * RESERVATIONS);
    if (customerIds.length + HELD_NOW > VEHICLES)
      throw new Error(`bench: ${customerIds.length} reservations and ${HELD_NOW} held ones need as many distinct cars (${VEHICLES})`);
    await seedClaims(setup, customerIds);
    // statistics as a database in use has them (autovacuum's analyze runs about once a minute: the runs are shorter)
    await setup.exec('analyze');
    await setup.close();
    const tokens = new AccessTokens(new TextEncoder().encode(authSecret), 3_600);
    const bearer = await Promise.all(
      customerIds.map(async (customerId) => `Bearer ${(await tokens.issue({ kind: 'customer', customerId })).token}`),
    );
    console.log(
      `bench: seeded ${fmt(VEHICLES)} vehicles, ${fmt(customerIds.length)} customers, ${fmt(VEHICLES * HISTORY_PER_CAR)} past reservations and ${fmt(HELD_NOW)} held now in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
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
    // every car but the ones seeded as held now
    await waitFor(
      async () => (await availableCount(httpUrl)) >= VEHICLES - HELD_NOW,
      60_000,
      `all ${VEHICLES - HELD_NOW} free vehicles in the availability index`,
    );

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

    // the bench database's PostgreSQL backends (the server's pool keeps its connections while it is busy)
    const monitor = await openDatabase({ databaseUrl: db.url, dataDir: 'memory://' }, createLogger({ level: 'silent' }));
    const backends = async () =>
      (
        await monitor.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        )
      ).rows.map((r) => r.pid);
    const results: Figures[] = [];
    results.push(
      await measured('bare node:http GET (baseline)', [bare.pid], () => load(bareUrl, { requests: getRequests, duration: DURATION_S })),
    );
    results.push(
      await measured(
        'GET /v1/vehicles/available',
        [server.pid],
        () => load(httpUrl, { requests: getRequests, duration: DURATION_S }),
        backends,
      ),
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
    // warm-up of the reservation path (its own customers and cars), not reported
    await load(httpUrl, { requests: [reservation(false)], amount: RESERVATION_WARMUP, connections: RESERVATION_CONNECTIONS });
    const barePost = {
      method: 'POST' as const,
      path: '/reservations',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vehicleId: vehicleIds[0] }),
    };
    // meanwhile the server has no request: what it and its PostgreSQL backends spend per second on their own
    // (timers, the availability index's refresh, the sync heads…) is part of every figure per request below
    const idlePg = cpuTimes(await backends());
    const idleServer = cpuTimes([server.pid]);
    const idleFrom = performance.now();
    results.push(
      await measured('bare node:http POST (baseline)', [bare.pid], () =>
        load(bareUrl, { requests: [barePost], duration: DURATION_S, connections: RESERVATION_CONNECTIONS }),
      ),
    );
    const idle = {
      seconds: (performance.now() - idleFrom) / 1000,
      serverMs: sumSince(idleServer, cpuTimes([server.pid])),
      pgMs: sumSince(idlePg, cpuTimes(await backends())),
    };
    results.push(
      await measured(
        'POST /v1/reservations',
        [server.pid],
        () => load(httpUrl, { requests: [reservation(false)], amount: RESERVATIONS, connections: RESERVATION_CONNECTIONS }),
        backends,
      ),
    );
    results.push(
      await measured(
        'POST /v1/reservations + Idempotency-Key',
        [server.pid],
        () => load(httpUrl, { requests: [reservation(true)], amount: RESERVATIONS, connections: RESERVATION_CONNECTIONS }),
        backends,
      ),
    );

    // every held reservation (the runs' and the ones seeded as held now): no car and no customer twice
    const { rows } = await monitor.query<{ n: number; cars: number; customers: number; ours: number }>(
      `select count(*)::int as n, count(distinct vehicle_id)::int as cars, count(distinct customer_id)::int as customers,
              (count(*) filter (where customer_id like 'bench-customer-%'))::int as ours
         from allocations where kind = 'reservation' and status = 'held'`,
    );
    await monitor.close();
    print(results, rows[0]!, idle);
    console.log(`bench: load average ${loadLine()} after the runs`);
  } finally {
    clearTimeout(deadline);
    for (const c of children.reverse()) await stopChild(c);
    if (process.env.BENCH_KEEP_DATABASE === '1') console.log(`bench: database ${db.name} kept (BENCH_KEEP_DATABASE=1)`);
    else {
      await db.drop();
      console.log(`bench: database ${db.name} dropped`);
    }
  }
}

function print(
  results: Figures[],
  held: { n: number; cars: number; customers: number; ours: number },
  idle: { seconds: number; serverMs: number; pgMs: number },
): void {
  const [bareGet, search, barePost, reserve, reserveKeyed] = results as [Figures, Figures, Figures, Figures, Figures];
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  const head = `${'run'.padEnd(42)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p97.5 ms'.padStart(10)}${'p99 ms'.padStart(9)}${'requests'.padStart(10)}${'non-2xx'.padStart(9)}${'errors'.padStart(8)}${'CPU ms/req'.padStart(12)}${'PG ms/req'.padStart(11)}`;
  console.log(`\n${head}\n${'-'.repeat(head.length)}`);
  for (const r of results) {
    console.log(
      `${r.label.padEnd(42)}${fmt(r.rps).padStart(9)}${String(r.p50).padStart(9)}${String(r.p975).padStart(10)}${String(r.p99).padStart(9)}${fmt(r.total).padStart(10)}${fmt(r.non2xx).padStart(9)}${fmt(r.errors).padStart(8)}${ms(r.cpuMs).padStart(12)}${ms(r.pgCpuMs).padStart(11)}`,
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
  if (reserve.cpuMs !== null && reserve.pgCpuMs !== null) {
    const total = reserve.cpuMs + reserve.pgCpuMs;
    console.log(
      `CPU per reservation:           server ${reserve.cpuMs.toFixed(3)} ms + PostgreSQL ${reserve.pgCpuMs.toFixed(3)} ms = ${total.toFixed(3)} ms → at most ~${fmt(2000 / total)} reservations/s on 2 whole cores (the load generator not counted)`,
    );
  }
  console.log(
    `server without requests:       ${(idle.serverMs / idle.seconds).toFixed(0)} ms CPU per second, PostgreSQL ${(idle.pgMs / idle.seconds).toFixed(0)} ms per second (its timers and background reads: at ${fmt(reserve.rps)} reservations/s ${(idle.serverMs / idle.seconds / Math.max(1, reserve.rps)).toFixed(3)} + ${(idle.pgMs / idle.seconds / Math.max(1, reserve.rps)).toFixed(3)} ms of each one's CPU above)`,
  );
  // every reservation of the runs was for another car and another customer: all of them held, none twice
  const answered = RESERVATION_WARMUP + reserve.total + reserveKeyed.total - reserve.non2xx - reserveKeyed.non2xx;
  const doubles = held.n - Math.min(held.cars, held.customers);
  console.log(
    `reservations held afterwards:  ${fmt(held.n)} (${fmt(held.cars)} distinct cars, ${fmt(held.customers)} distinct customers; the runs' ${fmt(held.ours)}, ${fmt(answered)} answered 2xx, warm-up included)`,
  );
  const okRps = search.rps >= TARGET_RPS;
  const okP99 = search.p99 < TARGET_P99_MS;
  console.log(
    `SUMMARY search ${fmt(search.rps)} req/s (target ≥ ${fmt(TARGET_RPS)}: ${okRps ? 'met' : 'NOT met'}), p99 ${search.p99} ms (target < ${TARGET_P99_MS}: ${okP99 ? 'met' : 'NOT met'}), ${(search.rps / bareGet.rps).toFixed(2)}× bare; reservations ${fmt(reserve.rps)} req/s p99 ${reserve.p99} ms (${fmt(reserveKeyed.rps)} req/s p99 ${reserveKeyed.p99} ms with Idempotency-Key)`,
  );
  const okReserve = reserve.rps >= RESERVE_TARGET_RPS && reserve.p99 < RESERVE_TARGET_P99_MS;
  console.log(
    `SUMMARY bar 4 reservations ${fmt(reserve.rps)} req/s (≥ ${fmt(RESERVE_TARGET_RPS)}), p99 ${reserve.p99} ms (< ${RESERVE_TARGET_P99_MS}): ${okReserve ? 'met' : 'NOT met'}; ${ms(reserve.cpuMs)} ms server + ${ms(reserve.pgCpuMs)} ms PostgreSQL CPU per reservation; bare POST ${fmt(barePost.rps)} req/s (${ms(barePost.cpuMs)} ms); double bookings ${doubles}${held.ours === answered ? '' : ` (held ${fmt(held.ours)} ≠ answered ${fmt(answered)})`}; load average ${loadLine()}`,
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

/**
 * The claims of a fleet in service: HISTORY_PER_CAR expired reservations per car (one a day before today, spread
 * over the customers), and reservations held right now on HELD_NOW other cars by as many other customers (cars
 * and customers the runs do not use). Without them the claims' table starts empty, and PostgreSQL's plans made with
 * the statistics of an empty table (or of one with nothing held) scan every held claim for each new one — kept by
 * every connection until autovacuum's next analyze, which a run of seconds does not see.
 */
async function seedClaims(db: Db, customerIds: readonly string[]): Promise<void> {
  await db.query(
    `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, created_at, updated_at, server_seq)
     select 'hist-' || v.id || '-' || d, 'reservation', v.id, ($1::text[])[1 + (v.ord * $2 + d) % cardinality($1::text[])], 'expired',
            tstzrange(now() - d * interval '1 day', now() - d * interval '1 day' + interval '15 minutes', '[)'),
            now() - d * interval '1 day', now() - d * interval '1 day' + interval '15 minutes',
            now() - d * interval '1 day', now() - d * interval '1 day' + interval '15 minutes', fleetdesk_next_seq()
       from (select id, row_number() over (order by id) as ord from vehicles) v, generate_series(1, $2) d`,
    [customerIds, HISTORY_PER_CAR],
  );
  // the cars of requests customerIds.length … + HELD_NOW (a request i reserves car (7 i) mod VEHICLES)
  const cars = Array.from({ length: HELD_NOW }, (_, k) => demoVehicleId(((customerIds.length + k) * 7) % VEHICLES));
  const holders = Array.from({ length: HELD_NOW }, (_, k) => `bench-holder-${k}`);
  await db.query(
    `insert into customers (id, email, name, phone, licence_status, server_seq)
     select id, id || '@bench.example', 'Bench ' || id, '+4930000000', 'verified', fleetdesk_next_seq() from unnest($1::text[]) as id`,
    [holders],
  );
  await db.query(
    `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, created_at, updated_at, server_seq)
     select 'held-' || c.car, 'reservation', c.car, c.holder, 'held',
            tstzrange(now() - interval '5 minutes', now() + interval '10 minutes', '[)'),
            now() - interval '5 minutes', now() + interval '10 minutes', now() - interval '5 minutes', now() - interval '5 minutes',
            fleetdesk_next_seq()
       from unnest($1::text[], $2::text[]) as c(car, holder)`,
    [cars, holders],
  );
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

/**
 * autocannon's `duration` is taken at its next sample tick (every second) after the last answer, so a run of a fixed
 * `amount` reported whole seconds (3,000 reservations in 2.3 s read as 3.01 s: "997 req/s"). For such runs the
 * time is taken here, from the start to the last answer.
 */
function load(url: string, options: Partial<autocannon.Options>): Promise<autocannon.Result> {
  const started = performance.now();
  let lastAnswer = started;
  return new Promise((resolve, reject) => {
    const run = autocannon({ url, connections: CONNECTIONS, pipelining: 1, timeout: 10, ...options }, (err, result) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(options.amount ? { ...result, duration: (lastAnswer - started) / 1000 } : result);
    });
    run.on('response', () => {
      lastAnswer = performance.now();
    });
  });
}

/**
 * Runs `run` and measures the CPU time `pids` used meanwhile (ms per request), and that of the PostgreSQL backends
 * `pgPids` lists before and after the run (one started meanwhile counts from its start).
 */
async function measured(
  label: string,
  pids: Array<number | undefined>,
  run: () => Promise<autocannon.Result>,
  pgPids?: () => Promise<number[]>,
): Promise<Figures> {
  const pgBefore = pgPids ? cpuTimes(await pgPids()) : undefined;
  const before = cpuTimes(pids);
  const r = await run();
  const after = cpuTimes(pids);
  const pgAfter = pgPids ? cpuTimes(await pgPids()) : undefined;
  const n = Math.max(1, r.requests.total);
  const spent = (a: Map<number, number> | undefined, b: Map<number, number> | undefined, all: boolean): number | null =>
    !a || !b || (all && b.size < pids.length) ? null : sumSince(a, b) / n;
  return { ...figures(label, r), cpuMs: spent(before, after, true), pgCpuMs: spent(pgBefore, pgAfter, false) };
}

/** CPU ms spent from `before` to `after` by the processes in `after` (one missing from `before` counts from its start). */
function sumSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/**
 * utime + stime in ms of each of these processes that can be read, from /proc/<pid>/stat (Linux; a backend the pool
 * closed meanwhile is missing).
 */
function cpuTimes(pids: Array<number | undefined>): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is field 3 (state): utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux)
      times.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // not running (or not Linux)
    }
  }
  return times;
}

function figures(label: string, r: autocannon.Result): Omit<Figures, 'cpuMs' | 'pgCpuMs'> {
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
