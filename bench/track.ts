/**
 * `npm run bench:track` — the track route (`GET /ops/v1/vehicles/{id}/track`) on PostgreSQL (DATABASE_URL's server,
 * default postgres://postgres@127.0.0.1:5432/postgres; a fresh `fleetdesk_bench_<random>` database, dropped at the
 * end), in process, loopback. One car with 48 h of 1 Hz history (172,800 samples, today's and tomorrow's
 * partitions), a stop every hour and an offline gap every six.
 *
 * Runs (BENCH_REQUESTS sequential requests each, after a warm-up), p50/p99 in ms:
 *   baseline — reading every sample of the range from the database into Node (what a line simplification in
 *   JavaScript, e.g. simplify-js, has to do before it starts) · the route, 24 h and 48 h, maxPoints 2,000 (time
 *   buckets in SQL, stops and gaps in SQL).
 */
import { staffHeaders } from '../server/src/testing/auth.js';
import { uniqueTestVehicles } from '../server/src/testing/devices.js';
import { startBenchServer, timedRuns } from './route-runs.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const HOURS = 48;
const DAY = 86_400_000;

const timed = (label: string, run: () => Promise<number>) => timedRuns(label, REQUESTS, 'rows/points', run);

async function main(): Promise<void> {
  const { server, stop } = await startBenchServer();
  try {
    const [car] = uniqueTestVehicles(1);
    await server.registerVehicles([car!]);
    const base = Math.floor(Date.now() / DAY) * DAY;
    // driving at 30 km/h except the first 5 min of every hour (a stop); no samples for 10 min every 6 h (offline)
    await server.db.query(
      `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                      odometer_km, ignition, locked, doors_closed, clock_skew_ms)
       select $1, i, $2::bigint + i * 1000, to_timestamp(($2::bigint + i * 1000) / 1000.0),
              52.5 + 0.01 * sin(i / 600.0), 13.4 + 0.01 * cos(i / 900.0),
              case when i % 3600 < 300 then 0 else 30 end, 90, 80, 1000, i % 3600 >= 300, false, true, 0
         from generate_series(0, $3::int - 1) as i where i % 21600 >= 600`,
      [car!.id, base, HOURS * 3600],
    );
    await server.db.query('analyze telemetry_history');
    const headers = await staffHeaders(server, 'dispatcher');
    console.log(`track bench: 1 car, ${HOURS} h at 1 Hz, ${REQUESTS} requests per run, PostgreSQL`);
    const range = (h: number) => ({ from: base, to: base + h * 3_600_000 - 1 });
    for (const h of [24, 48]) {
      const { from, to } = range(h);
      await timed(`baseline: every sample of ${h} h into Node`, async () => {
        const { rows } = await server.db.query(
          `select extract(epoch from received_at) * 1000 as at_ms, lat, lon, speed_kph, ignition from telemetry_history
            where vehicle_id = $1 and received_at between to_timestamp($2 / 1000.0) and to_timestamp($3 / 1000.0) order by received_at`,
          [car!.id, from, to],
        );
        return rows.length;
      });
      await timed(`GET …/track ${h} h, maxPoints 2000 (SQL buckets, stops, gaps)`, async () => {
        const res = await fetch(`${server.httpUrl}/ops/v1/vehicles/${car!.id}/track?from=${from}&to=${to}`, { headers });
        const body = (await res.json()) as { points: unknown[] };
        if (res.status !== 200) throw new Error(`track: ${res.status}`);
        return body.points.length;
      });
    }
  } finally {
    await stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
