/**
 * What the route benches (bench:track, bench:timeline) share: a server in process on a fresh PostgreSQL database
 * (DATABASE_URL's server; `fleetdesk_bench_<random>`, dropped by `stop`), embedded broker, no demo data; and a run of
 * N sequential requests after a warm-up, printed as p50/p99.
 */
import { startServer, type ServerHandle } from '../server/src/app.js';
import { IN_MEMORY_DATA_DIR } from '../server/src/platform/config.js';
import { openDatabase, type Db } from '../server/src/platform/db/index.js';
import { createLogger } from '../server/src/platform/log.js';
import { createTestDatabase } from '../server/src/testing/test-databases.js';

export const BENCH_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/**
 * `prepare` runs before the server starts, on the migrated database without a statement timeout (loading history
 * takes longer than a request may): the server then starts on a database that already holds it.
 */
export async function startBenchServer(prepare?: (db: Db) => Promise<void>): Promise<{ server: ServerHandle; stop(): Promise<void> }> {
  const db = await createTestDatabase(BENCH_DATABASE_URL, 'fleetdesk_bench');
  if (prepare) {
    const loader = await openDatabase(
      { databaseUrl: db.url, dataDir: IN_MEMORY_DATA_DIR, dbStatementTimeoutMs: 0 },
      createLogger({ level: 'silent' }),
    );
    const prepared = await prepare(loader).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    await loader.close();
    if (prepared) {
      await db.drop();
      throw prepared.err;
    }
  }
  const server = await startServer({
    databaseUrl: db.url,
    port: 0,
    logLevel: 'silent',
    seedVehicles: 0,
    mqttAuth: 'off',
    mqttUrl: undefined,
    mqttPort: 0,
  }).catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  return {
    server,
    async stop() {
      await server.stop();
      await db.drop();
    },
  };
}

/** `requests` sequential calls of `run` after one warm-up; prints the label, p50/p99 and the size the last call returned. */
export async function timedRuns(
  label: string,
  requests: number,
  unit: string,
  run: () => Promise<number>,
): Promise<{ p50: number; p99: number }> {
  await run();
  const ms: number[] = [];
  let size = 0;
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    size = await run();
    ms.push(performance.now() - t0);
  }
  const r = { p50: pct(ms, 50), p99: pct(ms, 99) };
  console.log(`${label.padEnd(60)} p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms   (${size} ${unit})`);
  return r;
}
