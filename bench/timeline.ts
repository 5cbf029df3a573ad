/**
 * `npm run bench:timeline` — the evidence timeline (`GET /ops/v1/vehicles/{id}/timeline`) of a car with 30 days of
 * 1 Hz history on PostgreSQL (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432/postgres; a fresh
 * `fleetdesk_bench_<random>` database, dropped at the end), in process, loopback. Issue 11's figure: p99 < 100 ms.
 *
 * The car: the 30 days up to now × 86,400 samples (2.59 million rows in 31 daily partitions), a trip (ignition on →
 * off) every two hours, a device event every hour — loaded before the server starts, as on an old database: the
 * server materialises its ignition changes in the background (printed: how long after start that took). The
 * baseline, in the same run: the customer API's nearby search (`GET /v1/vehicles/available`), the route every app
 * calls most, answered from memory.
 *
 * Runs (BENCH_REQUESTS sequential requests each, after a warm-up), p50/p99 in ms:
 *   - baseline: nearby search;
 *   - the first page (limit 100, every kind): what the desk opens;
 *   - a page 15 days back (from/to: the desk's "a rental's period" view), and the second page through the cursor;
 *   - trips only, first page (the window over the history alone).
 * BENCH_DAYS (default 30) sizes the history.
 */
import { partitionName, startOfUtcDay } from '../server/src/components/fleet/data/telemetry-history.repository.js';
import { VehiclesRepository } from '../server/src/components/fleet/data/vehicles.repository.js';
import type { Db } from '../server/src/platform/db/index.js';
import { staffHeaders } from '../server/src/testing/auth.js';
import { uniqueTestVehicles } from '../server/src/testing/devices.js';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';
import { startBenchServer, timedRuns } from './route-runs.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const DAY = 86_400_000;
const CENTER = DEFAULT_SERVICE_AREA.center;

const timed = (label: string, run: () => Promise<number>) => timedRuns(label, REQUESTS, 'entries', run);

/** History up to `now`: the day partitions, then a day's samples and events per statement (only those not in the future). */
async function loadHistory(db: Db, vehicleId: string, start: number, now: number): Promise<void> {
  for (let dayStart = startOfUtcDay(start); dayStart <= now; dayStart += DAY) {
    await db.exec(
      `create table if not exists ${partitionName(dayStart)} partition of telemetry_history
         for values from ('${new Date(dayStart).toISOString()}') to ('${new Date(dayStart + DAY).toISOString()}')`,
    );
  }
  // a day at a time: a trip every two hours (ignition on for the first 40 minutes), 30 km/h while on
  for (let d = 0; d < DAYS; d++) {
    const from = start + d * DAY;
    await db.query(
      `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                      odometer_km, ignition, locked, doors_closed, clock_skew_ms)
       select $1, $3::int * 86400 + i, $2::bigint + i * 1000, to_timestamp(($2::bigint + i * 1000) / 1000.0),
              52.5 + 0.01 * sin(i / 600.0), 13.4 + 0.01 * cos(i / 900.0),
              case when i % 7200 < 2400 then 30 else 0 end, 90, 80, 1000 + i / 120.0, i % 7200 < 2400, i % 7200 >= 2400, true, 0
         from generate_series(0, 86399) as i where $2::bigint + i * 1000 <= $4::bigint`,
      [vehicleId, from, d, now],
    );
    await db.query(
      `insert into vehicle_events (vehicle_id, seq, device_ts, received_at, type, lat, lon, data)
       select $1, $3::int * 86400 + h * 3600, $2::bigint + h * 3600000, to_timestamp(($2::bigint + h * 3600000) / 1000.0),
              case when h % 2 = 0 then 'door_opened' else 'door_closed' end, 52.5, 13.4, '{}'::jsonb
         from generate_series(0, 23) as h where $2::bigint + h * 3600000 <= $4::bigint`,
      [vehicleId, from, d, now],
    );
  }
  await db.query('analyze telemetry_history');
  await db.query('analyze vehicle_events');
}

async function main(): Promise<void> {
  const [car] = uniqueTestVehicles(1);
  const now = Date.now();
  const start = now - DAYS * DAY;
  const t0 = Date.now();
  // an old database: the history is there before the server starts, which then materialises it in the background
  const { server, stop } = await startBenchServer(async (db) => {
    await new VehiclesRepository(db).upsert([car!]);
    await loadHistory(db, car!.id, start, now);
  });
  try {
    const loadedS = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    await server.timeline.materializer.catchUp();
    const caughtUpS = (Date.now() - t1) / 1000;
    const { rows } = await server.db.query<{ n: number }>(`select count(*)::int as n from ignition_changes`);
    console.log(
      `timeline bench: 1 car, ${DAYS} days at 1 Hz (${(DAYS * 86_400).toLocaleString('en')} samples, loaded in ${loadedS.toFixed(0)} s), ${REQUESTS} requests per run, PostgreSQL`,
    );
    console.log(
      `first start on this database: ignition changes materialised in the background in ${caughtUpS.toFixed(1)} s after start (${rows[0]!.n} changes)`,
    );
    const headers = await staffHeaders(server, 'dispatcher');
    const timeline = async (query: string): Promise<{ entries: unknown[]; nextCursor: string | null }> => {
      const res = await fetch(`${server.httpUrl}/ops/v1/vehicles/${car!.id}/timeline?${query}`, { headers });
      if (res.status !== 200) throw new Error(`timeline: ${res.status} ${await res.text()}`);
      return (await res.json()) as { entries: unknown[]; nextCursor: string | null };
    };
    const base = await timed('baseline: GET /v1/vehicles/available (nearby search, HTTP + route)', async () => {
      const res = await fetch(`${server.httpUrl}/v1/vehicles/available?lat=${CENTER.lat}&lon=${CENTER.lon}&radiusM=2000`);
      if (res.status !== 200) throw new Error(`search: ${res.status}`);
      return ((await res.json()) as { vehicles: unknown[] }).vehicles.length;
    });
    const first = await timed(
      'GET …/timeline, first page (limit 100, all kinds)',
      async () => (await timeline('limit=100')).entries.length,
    );
    const mid = new Date(start + 15 * DAY).toISOString();
    const midEnd = new Date(start + 15 * DAY + 6 * 3_600_000).toISOString();
    await timed(
      'GET …/timeline, 6 h fifteen days back (from/to)',
      async () => (await timeline(`from=${mid}&to=${midEnd}&limit=100`)).entries.length,
    );
    const cursor = (await timeline('limit=100')).nextCursor;
    await timed('GET …/timeline, second page (cursor)', async () =>
      cursor ? (await timeline(`limit=100&before=${encodeURIComponent(cursor)}`)).entries.length : 0,
    );
    await timed('GET …/timeline, trips only, first page', async () => (await timeline('limit=100&kinds=trip')).entries.length);
    console.log(
      `SUMMARY timeline first page p50 ${first.p50.toFixed(1)} / p99 ${first.p99.toFixed(1)} ms beside nearby search p50 ${base.p50.toFixed(1)} / p99 ${base.p99.toFixed(1)} ms (same run): target p99 < 100 ms ${first.p99 < 100 ? 'met' : 'MISSED'}`,
    );
  } finally {
    await stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
