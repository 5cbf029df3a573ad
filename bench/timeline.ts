/**
 * `npm run bench:timeline` — the evidence timeline (`GET /ops/v1/vehicles/{id}/timeline`) of a car with 30 days of
 * 1 Hz history on PostgreSQL (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432/postgres; a fresh
 * `fleetdesk_bench_<random>` database, dropped at the end), in process, loopback. Issue 11's figure: p99 < 100 ms.
 *
 * The car: 30 days × 86,400 samples (2.59 million rows in 30 daily partitions), a trip (ignition on → off) every
 * two hours, a device event every hour. The baseline, in the same run: the customer API's nearby search
 * (`GET /v1/vehicles/available`), the route every app calls most, answered from memory.
 *
 * Runs (BENCH_REQUESTS sequential requests each, after a warm-up), p50/p99 in ms:
 *   - baseline: nearby search;
 *   - the first page (limit 100, every kind): what the desk opens;
 *   - a page 15 days back (from/to: the desk's "a rental's period" view), and the second page through the cursor;
 *   - trips only, first page (the window over the history alone).
 * BENCH_DAYS (default 30) sizes the history.
 */
import { partitionName } from '../server/src/components/fleet/data/telemetry-history.repository.js';
import { staffHeaders } from '../server/src/testing/auth.js';
import { uniqueTestVehicles } from '../server/src/testing/devices.js';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';
import { startBenchServer, timedRuns } from './route-runs.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const DAY = 86_400_000;
const CENTER = DEFAULT_SERVICE_AREA.center;

const timed = (label: string, run: () => Promise<number>) => timedRuns(label, REQUESTS, 'entries', run);

async function main(): Promise<void> {
  const { server, stop } = await startBenchServer();
  try {
    const [car] = uniqueTestVehicles(1);
    await server.registerVehicles([car!]);
    const today = Math.floor(Date.now() / DAY) * DAY;
    const start = today - (DAYS - 1) * DAY;
    const t0 = Date.now();
    // the past days' partitions (the maintenance job keeps only today's and the next few)
    for (let d = 0; d < DAYS; d++) {
      const from = start + d * DAY;
      const name = partitionName(from);
      await server.db.exec(
        `create table if not exists ${name} partition of telemetry_history
           for values from ('${new Date(from).toISOString()}') to ('${new Date(from + DAY).toISOString()}')`,
      );
    }
    // a day at a time: a trip every two hours (ignition on for the first 40 minutes), 30 km/h while on
    for (let d = 0; d < DAYS; d++) {
      await server.db.query(
        `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                        odometer_km, ignition, locked, doors_closed, clock_skew_ms)
         select $1, $3::int * 86400 + i, $2::bigint + i * 1000, to_timestamp(($2::bigint + i * 1000) / 1000.0),
                52.5 + 0.01 * sin(i / 600.0), 13.4 + 0.01 * cos(i / 900.0),
                case when i % 7200 < 2400 then 30 else 0 end, 90, 80, 1000 + i / 120.0, i % 7200 < 2400, i % 7200 >= 2400, true, 0
           from generate_series(0, 86399) as i`,
        [car!.id, start + d * DAY, d],
      );
      await server.db.query(
        `insert into vehicle_events (vehicle_id, seq, device_ts, received_at, type, lat, lon, data)
         select $1, $3::int * 86400 + h * 3600, $2::bigint + h * 3600000, to_timestamp(($2::bigint + h * 3600000) / 1000.0),
                case when h % 2 = 0 then 'door_opened' else 'door_closed' end, 52.5, 13.4, '{}'::jsonb
           from generate_series(0, 23) as h`,
        [car!.id, start + d * DAY, d],
      );
    }
    await server.db.query('analyze telemetry_history');
    await server.db.query('analyze vehicle_events');
    console.log(
      `timeline bench: 1 car, ${DAYS} days at 1 Hz (${(DAYS * 86_400).toLocaleString('en')} samples, loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s), ${REQUESTS} requests per run, PostgreSQL`,
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
      `SUMMARY timeline first page p50 ${first.p50.toFixed(1)} / p99 ${first.p99.toFixed(1)} ms (target p99 < 100 ms) beside nearby search p50 ${base.p50.toFixed(1)} / p99 ${base.p99.toFixed(1)} ms`,
    );
  } finally {
    await stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
