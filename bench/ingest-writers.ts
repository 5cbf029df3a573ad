/**
 * `npm run bench:ingest-writers` — what the ingest's two database writers cost per row on PostgreSQL, measured as
 * CPU time (this process + the PostgreSQL backends of the bench database, read from /proc: PostgreSQL on this
 * machine), which a machine shared with other work disturbs far less than wall time; wall time is printed too.
 *
 * - A fresh `fleetdesk_bench_<random>` database (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432/
 *   postgres), dropped at the end; 20,000 vehicles, every round writes each one's telemetry once.
 * - history: TelemetryHistoryRepository.insert in chunks of 5,000 rows (the fleet's history chunk);
 *   state: VehicleStateRepository.writeBatch in batches of 5,000 vehicles (the fleet's state batch).
 * - Each writer two ways, interleaved round by round: the baseline is the parameterised path (parallel arrays
 *   through unnest, what PGlite still uses), the other PostgreSQL's bulk path (binary COPY … FROM STDIN; the state through its staging table). Loopback only;
 *   stops by itself (BENCH_ROUNDS rounds, default 4).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { TelemetryHistoryRepository, type HistoryRow } from '../server/src/components/fleet/data/telemetry-history.repository.js';
import { TelemetryRows } from '../server/src/components/fleet/data/telemetry-columns.js';
import { VehicleStateRepository, type TelemetryStateRow } from '../server/src/components/fleet/data/vehicle-state.repository.js';
import { openDatabase, type Db } from '../server/src/platform/db/index.js';
import { createLogger } from '../server/src/platform/log.js';
import { createTestDatabase } from '../server/src/testing/test-databases.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VEHICLES = 20_000;
const CHUNK = 5_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux) */
const TICKS = 100;

interface Cost {
  wallMs: number;
  nodeMs: number;
  pgMs: number;
  rows: number;
}

async function main(): Promise<void> {
  const test = await createTestDatabase(DATABASE_URL, 'fleetdesk_bench');
  const db = await openDatabase({ databaseUrl: test.url, dataDir: 'memory://' }, createLogger({ level: 'silent' }));
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await admin.connect();
    const dbName = new URL(test.url).pathname.slice(1);
    const ids = Array.from({ length: VEHICLES }, (_, i) => `bench-vehicle-${i}`);
    await db.query(
      `insert into vehicles (id, plate, make, model, energy_type, home_zone)
       select id, 'B-' || id, 'Bench', 'EV', 'electric', 'bench' from unnest($1::text[]) as id`,
      [ids],
    );
    await new TelemetryHistoryRepository(db).maintain(Date.now(), 3, 0);
    const pgCpuMs = async (): Promise<number | undefined> => {
      const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName]);
      let ticks = 0;
      for (const { pid } of rows) {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
        } catch {
          return undefined; // PostgreSQL is not on this machine (or not readable): no server-side figure
        }
      }
      return (ticks * 1000) / TICKS;
    };
    const costs = new Map<string, Cost>();
    const measure = async (label: string, rows: number, run: () => Promise<void>) => {
      const wall = performance.now();
      const cpu = process.cpuUsage();
      const pg0 = await pgCpuMs();
      await run();
      const node = process.cpuUsage(cpu);
      const pg1 = await pgCpuMs();
      const c = costs.get(label) ?? { wallMs: 0, nodeMs: 0, pgMs: 0, rows: 0 };
      c.wallMs += performance.now() - wall;
      c.nodeMs += (node.user + node.system) / 1000;
      c.pgMs += pg0 === undefined || pg1 === undefined ? Number.NaN : pg1 - pg0;
      c.rows += rows;
      costs.set(label, c);
    };
    let seq = 1;
    const sample = (): TelemetryStateRow[] => {
      seq++;
      const now = Date.now();
      return ids.map((vehicleId, i) => ({
        vehicleId,
        lat: 52.4 + Math.random() / 5,
        lon: 13.3 + Math.random() / 5,
        speedKph: Math.random() * 120,
        headingDeg: Math.random() * 360,
        energyPct: 20 + (i % 80),
        odometerKm: 10_000 + seq / 10,
        ignition: i % 3 !== 0,
        locked: i % 3 === 0,
        doorsClosed: true,
        online: true,
        seq,
        deviceTs: now - 40,
        receivedAt: now,
        clockSkewMs: -40,
        // as the fleet's writer knows it: rows exist once a first round wrote them (PostgreSQL then only updates)
        rowExists: seq > 2,
      }));
    };
    const paths: Array<[string, Db]> = [
      ['parameter arrays (baseline)', { ...db, copyFrom: undefined, framedCopy: undefined }],
      ['COPY binary', db],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [path, target] of paths) {
        const history = new TelemetryHistoryRepository(target);
        const states = new VehicleStateRepository(target);
        // blocks as the history buffer holds them (filled at ingestion, not by the writer)
        const h = sample();
        const blocks = Array.from({ length: Math.ceil(h.length / CHUNK) }, (_, k) =>
          TelemetryRows.from(h.slice(k * CHUNK, (k + 1) * CHUNK) as HistoryRow[]),
        );
        await measure(`history  ${path}`, h.length, async () => {
          for (const block of blocks) await history.insert(block);
        });
        const s = sample();
        await measure(`state    ${path}`, s.length, async () => {
          for (let i = 0; i < s.length; i += CHUNK) await states.writeBatch({ telemetry: s.slice(i, i + CHUNK), statuses: [] });
        });
      }
    }
    console.log(`bench: ${ROUNDS} rounds × ${VEHICLES} rows per writer and path, chunks of ${CHUNK}; per 10,000 rows:`);
    console.log('writer   path                          CPU node ms  CPU PostgreSQL ms  CPU total ms  wall ms');
    const per10k = (c: Cost, ms: number) => (10_000 * ms) / c.rows;
    const total = (c: Cost) => per10k(c, c.nodeMs + c.pgMs);
    for (const [label, c] of costs) {
      console.log(
        `${label.padEnd(38)}  ${per10k(c, c.nodeMs).toFixed(0).padStart(11)}  ${per10k(c, c.pgMs).toFixed(0).padStart(17)}  ${total(c).toFixed(0).padStart(12)}  ${per10k(c, c.wallMs).toFixed(0).padStart(7)}`,
      );
    }
    for (const writer of ['history', 'state']) {
      const base = costs.get(`${writer.padEnd(8)} ${paths[0]![0]}`)!;
      const copy = costs.get(`${writer.padEnd(8)} ${paths[1]![0]}`)!;
      console.log(
        `SUMMARY ${writer}: COPY binary ${total(copy).toFixed(0)} ms CPU per 10,000 rows (node + PostgreSQL) vs ${total(base).toFixed(0)} ms with parameter arrays (baseline, same run): ${(total(base) / total(copy)).toFixed(2)}× less; wall ${per10k(copy, copy.wallMs).toFixed(0)} vs ${per10k(base, base.wallMs).toFixed(0)} ms`,
      );
    }
  } finally {
    await admin.end().catch(() => undefined);
    await db.close();
    await test.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
