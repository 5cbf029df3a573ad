/**
 * `npm run bench:ingest` — device ingestion throughput against the local Mosquitto (MQTT_URL, default
 * mqtt://127.0.0.1:1883) and PostgreSQL (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432/postgres;
 * a fresh `fleetdesk_bench_<random>` database, dropped at the end). Loopback only; stops by itself (< 3 min).
 *
 * - The server runs as a child process (`tsx server/src/start.ts`, its own event loop — more honest than in
 *   process), with 20,000 registered vehicles whose ids are unique to this run, and its own shared-subscription
 *   group (so no other instance on the shared broker takes a share).
 * - A separate publisher process (bench/ingest-publisher.ts, 4 connections) publishes telemetry at increasing
 *   rates in steps of STEP_S seconds.
 * - In this process a bare mqtt.js subscriber on the same wildcard counts what the broker delivers to one plain
 *   client at the same offered rates: the ceiling.
 * - Per step: offered rate, ingested rate (server's received counter delta, minus other runs' traffic dropped
 *   as unknown_vehicle), persisted rates (state rows / history rows committed, from the server's counters),
 *   end-to-end latency p50/p99 from publish (the payload's ts) to the latest-state row being written: read from
 *   PostgreSQL as `updated_at − device_ts` of the rows written during the step (updated_at is the write's
 *   clock_timestamp(), i.e. just before COMMIT; one sample per vehicle: its last message of the step), the
 *   ratio ingested / ceiling, and the CPU time per ingested message of the server process and of the bench
 *   database's PostgreSQL backends (from /proc: on a machine shared with other work, far steadier than rates).
 * - SUMMARY: the highest step sustained (≥ 95 % ingested and in the history) against the bar (≥ 20,000 msg/s,
 *   p99 < 1 s, ≥ 80 % of the ceiling), and the highest step as measured.
 * - At the end, SIGTERM under load: the highest rate is offered again and the server is sent SIGTERM halfway
 *   through; its own shutdown report (the `server stopped` log line: accepted alert changes, states, history rows
 *   and events it could not write) is printed as `lost: N` beside the bar (0).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import pg from 'pg';
import { SUBSCRIPTIONS } from '../src/shared/device-protocol.js';
import { openDatabase } from '../server/src/platform/db/index.js';
import { createLogger } from '../server/src/platform/log.js';
import { createTestDatabase } from '../server/src/testing/test-databases.js';

const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VEHICLES = 20_000;
const RATES = (process.env.BENCH_RATES ?? '5000,10000,20000,30000').split(',').map(Number);
const STEP_S = Number(process.env.BENCH_STEP_S ?? 10);
/** the first seconds of a step are not used for latency (the previous step's backlog may still drain) */
const WARMUP_S = 2;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface StepResult {
  offered: number;
  ingested: number;
  stateRows: number;
  historyRows: number;
  ceiling: number;
  p50: number | null;
  p99: number | null;
  /** CPU time per ingested message (µs): the server process, and the PostgreSQL backends of the bench database */
  serverCpuUs: number;
  pgCpuUs: number;
}

/** The bar of issue 12 (PRODUCT.md): sustained rate, publish → state row p99, share of the bare-subscriber ceiling. */
const BAR = { rate: 20_000, p99Ms: 1_000, ofCeiling: 0.8 };
/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux) */
const TICKS = 100;

/** utime + stime of these processes (ms), from /proc; NaN when one cannot be read (PostgreSQL elsewhere). */
function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return Number.NaN;
    }
  }
  return (ticks * 1000) / TICKS;
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const database: { drop?: () => Promise<void> } = {};
  const deadline = setTimeout(() => {
    console.error('bench: took longer than 3 minutes; aborting');
    // The server and the publisher are separate processes: left running they would outlive the bench.
    for (const c of children) c.kill('SIGKILL');
    void (database.drop?.() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(2));
  }, 180_000);
  const prefix = `b${randomBytes(3).toString('hex')}`;
  const db = await createTestDatabase(DATABASE_URL, 'fleetdesk_bench');
  database.drop = db.drop;
  let bare: mqtt.MqttClient | undefined;
  const client = new pg.Client({ connectionString: db.url });
  try {
    // Schema + fleet before the server starts: its registry then knows all 20,000 ids from the beginning.
    const setup = await openDatabase({ databaseUrl: db.url, dataDir: 'memory://' }, createLogger({ level: 'silent' }));
    await registerFleet(setup, prefix);
    await setup.close();
    const port = await freePort();
    // BENCH_SERVER_NODE_ARGS: e.g. `--cpu-prof --cpu-prof-dir=var/profiles` to profile the server's hot path
    const serverArgs = [
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      'server/src/start.ts',
    ];
    const server = spawn(process.execPath, serverArgs, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        MQTT_URL,
        PORT: String(port),
        SEED_VEHICLES: '0',
        LOG_LEVEL: 'info', // the shutdown report is an info line; only warnings and errors are echoed
        MQTT_AUTH: 'off',
        MQTT_SHARED_GROUP: `${prefix}-ingest`,
        DATA_DIR: 'memory://',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(server);
    const stopReport = watchServerLog(server);
    const httpUrl = `http://127.0.0.1:${port}`;
    await waitReady(httpUrl);
    await client.connect();
    if ((await metrics(httpUrl)).get('fleetdesk_vehicles_registered') !== VEHICLES)
      throw new Error('bench: the server does not see the bench fleet');

    const publisher = fork(`${ROOT}bench/ingest-publisher.ts`, [MQTT_URL, prefix, String(VEHICLES), '4'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(publisher);
    await once(publisher, (m) => (m as { ready?: boolean }).ready === true);

    bare = await mqtt.connectAsync(MQTT_URL, { clientId: `${prefix}-bare`, protocolVersion: 4, reconnectPeriod: 0 });
    let bareCount = 0;
    const mine = `fleet/v1/vehicles/${prefix}-`;
    bare.on('message', (topic) => {
      if (topic.startsWith(mine)) bareCount++;
    });
    await bare.subscribeAsync(SUBSCRIPTIONS.allTelemetry, { qos: 0 });

    // Warm-up: every vehicle reports once, so the steps measure a fleet that is already online (the first
    // telemetry of each car emits vehicle.online, on which other components do per-vehicle work).
    const w0 = Date.now();
    publisher.send({ rate: 5_000, durationMs: (VEHICLES / 5_000) * 1000 });
    await once(publisher, (m) => typeof (m as { sent?: number }).sent === 'number');
    await waitFor(async () => ((await metrics(httpUrl)).get('fleetdesk_live_state_rows_written_total') ?? 0) >= VEHICLES, 60_000);
    await sleep(2_000);
    console.log(`bench: warm-up done in ${((Date.now() - w0) / 1000).toFixed(1)} s (each of the ${VEHICLES} vehicles reported once)`);

    console.log(
      `bench: server child process (PostgreSQL ${new URL(db.url).pathname.slice(1)}, broker ${MQTT_URL}), publisher process with 4 connections, ${STEP_S} s per step`,
    );
    console.log(
      'offered/s  ingested/s  state rows/s  history rows/s  ceiling/s  ingested/ceiling  e2e p50 ms  e2e p99 ms  CPU µs/msg: server  PostgreSQL',
    );
    const dbName = new URL(db.url).pathname.slice(1);
    // The bench database's backends now (the server's pool keeps its connections while it is busy).
    const backends = async () =>
      (
        await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName])
      ).rows.map((r) => r.pid);
    const results: StepResult[] = [];
    for (const rate of RATES) {
      const m0 = await metrics(httpUrl);
      const bare0 = bareCount;
      const pgPids = await backends();
      const server0 = cpuMs([server.pid!]);
      const pg0 = cpuMs(pgPids);
      const t0 = Date.now();
      publisher.send({ rate, durationMs: STEP_S * 1000 });
      const { sent } = (await once(publisher, (m) => typeof (m as { sent?: number }).sent === 'number')) as { sent: number };
      await sleep(500); // what is in flight at the end of the step still counts for it
      const t1 = Date.now();
      const serverCpu = cpuMs([server.pid!]) - server0;
      const pgCpu = cpuMs(pgPids) - pg0;
      const m1 = await metrics(httpUrl);
      const secs = (t1 - t0) / 1000;
      const delta = (name: string) => ((m1.get(name) ?? 0) - (m0.get(name) ?? 0)) / secs;
      const lat = await latency(client, prefix, t0 + WARMUP_S * 1000, t1);
      const ingested =
        delta('fleetdesk_mqtt_messages_received_total{channel="telemetry"}') -
        delta('fleetdesk_mqtt_messages_dropped_total{channel="telemetry",reason="unknown_vehicle"}');
      const r: StepResult = {
        offered: sent / secs,
        ingested,
        stateRows: delta('fleetdesk_live_state_rows_written_total'),
        historyRows: delta('fleetdesk_telemetry_history_rows_written_total'),
        ceiling: (bareCount - bare0) / secs,
        ...lat,
        serverCpuUs: (1000 * serverCpu) / Math.max(1, ingested * secs),
        pgCpuUs: (1000 * pgCpu) / Math.max(1, ingested * secs),
      };
      results.push(r);
      console.log(
        [r.offered, r.ingested, r.stateRows, r.historyRows, r.ceiling].map((n) => fmt(n).padStart(10)).join('  ') +
          `  ${`${((100 * r.ingested) / Math.max(1, r.ceiling)).toFixed(1)}%`.padStart(16)}  ${String(r.p50 ?? '-').padStart(10)}  ${String(r.p99 ?? '-').padStart(10)}` +
          `  ${r.serverCpuUs.toFixed(0).padStart(18)}  ${r.pgCpuUs.toFixed(0).padStart(10)}`,
      );
    }
    // SIGTERM under load: the highest rate again, the signal halfway through; the server reports what it left behind.
    const stopRate = RATES.at(-1)!;
    publisher.send({ rate: stopRate, durationMs: 4_000 });
    await sleep(2_000);
    const s0 = Date.now();
    server.kill('SIGTERM');
    const report = await stopReport;
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
    const stopS = ((Date.now() - s0) / 1000).toFixed(1);
    publisher.send({ stop: true });
    // sustained: the highest step where the server ingested and persisted (history) ≥ 95 % of what was offered
    const kept = results.filter((r) => r.ingested >= 0.95 * r.offered && r.historyRows >= 0.95 * r.offered);
    const best = kept.at(-1);
    const barMet =
      best !== undefined &&
      best.ingested >= BAR.rate &&
      best.p99 !== null &&
      best.p99 < BAR.p99Ms &&
      best.ingested >= BAR.ofCeiling * best.ceiling;
    const bar = `bar: ≥ ${fmt(BAR.rate)} msg/s, p99 < ${fmt(BAR.p99Ms)} ms, ≥ ${100 * BAR.ofCeiling}% of the ceiling — ${barMet ? 'met' : 'missed'}`;
    console.log(
      best
        ? `SUMMARY sustained ${fmt(best.ingested)} msg/s ingested, ${fmt(best.historyRows)} history rows/s, ${fmt(best.stateRows)} state rows/s; ${((100 * best.ingested) / Math.max(1, best.ceiling)).toFixed(1)}% of the bare-subscriber ceiling (${fmt(best.ceiling)} msg/s, same run); e2e p50 ${best.p50} ms, p99 ${best.p99} ms; CPU per message: server ${best.serverCpuUs.toFixed(0)} µs, PostgreSQL ${best.pgCpuUs.toFixed(0)} µs; ${bar}`
        : `SUMMARY the server did not keep up with the lowest step; ${bar}`,
    );
    const top = results.at(-1);
    if (top)
      console.log(
        `SUMMARY highest step (${fmt(top.offered)} msg/s offered): ${fmt(top.ingested)} ingested (${((100 * top.ingested) / Math.max(1, top.ceiling)).toFixed(1)}% of the ceiling ${fmt(top.ceiling)}), history ${fmt(top.historyRows)} rows/s, state ${fmt(top.stateRows)} rows/s, e2e p99 ${top.p99 ?? '-'} ms; CPU per message: server ${top.serverCpuUs.toFixed(0)} µs, PostgreSQL ${top.pgCpuUs.toFixed(0)} µs`,
      );
    console.log(
      report
        ? `SUMMARY SIGTERM under load (${fmt(stopRate)} msg/s offered): lost: ${report.lost} (alert changes ${report.alertChanges}, states ${report.states}, history rows ${report.historyRows}, events ${report.events}); stopped in ${stopS} s; bar: lost 0 — ${report.lost === 0 ? 'met' : 'missed'}`
        : `SUMMARY SIGTERM under load: the server exited without its shutdown report (after ${stopS} s) — bar lost 0 not shown`,
    );
  } finally {
    clearTimeout(deadline);
    await bare?.endAsync().catch(() => undefined);
    for (const c of children.reverse()) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)));
    }
    await client.end().catch(() => undefined);
    await db.drop();
  }
}

interface ShutdownReport {
  lost: number;
  alertChanges: number;
  states: number;
  historyRows: number;
  events: number;
}

/**
 * Echoes the server's warnings and errors (pino JSON lines, level ≥ 40) and resolves with the shutdown report of
 * its `server stopped` line (undefined if it exits without one).
 */
function watchServerLog(server: ChildProcess): Promise<ShutdownReport | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: server.stdout! });
    lines.on('line', (line) => {
      let entry: { level?: number; msg?: string } & Partial<ShutdownReport>;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        console.log(line);
        return;
      }
      if ((entry.level ?? 0) >= 40) console.log(line);
      if (entry.msg?.startsWith('server stopped') && typeof entry.lost === 'number') resolve(entry as ShutdownReport);
    });
    lines.on('close', () => resolve(undefined));
  });
}

async function registerFleet(client: { query: (sql: string, params: unknown[]) => Promise<unknown> }, prefix: string): Promise<void> {
  const ids = Array.from({ length: VEHICLES }, (_, i) => `${prefix}-${i}`);
  await client.query(
    `insert into vehicles (id, plate, make, model, energy_type, home_zone)
     select id, 'B-' || id, 'Bench', 'EV', 'electric', 'bench' from unnest($1::text[]) as id`,
    [ids],
  );
}

async function latency(
  client: pg.Client,
  prefix: string,
  fromMs: number,
  toMs: number,
): Promise<{ p50: number | null; p99: number | null }> {
  const { rows } = await client.query<{ p50: number | null; p99: number | null }>(
    `select round(percentile_cont(0.5) within group (order by l))::float8 as p50, round(percentile_cont(0.99) within group (order by l))::float8 as p99
       from (select extract(epoch from updated_at) * 1000 - device_ts as l from vehicle_state
              where vehicle_id like $1 and updated_at >= to_timestamp($2 / 1000.0) and updated_at < to_timestamp($3 / 1000.0)) s`,
    [`${prefix}-%`, fromMs, toMs],
  );
  return { p50: rows[0]?.p50 ?? null, p99: rows[0]?.p99 ?? null };
}

/** Prometheus text → `name{labels}` (labels as printed) and bare `name` → value (summed over labels). */
async function metrics(httpUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const key = line.slice(0, space);
    const value = Number(line.slice(space + 1));
    map.set(key, value);
    const bare = key.split('{')[0]!;
    if (bare !== key) map.set(bare, (map.get(bare) ?? 0) + value);
  }
  return map;
}

async function waitReady(httpUrl: string): Promise<void> {
  await waitFor(async () => {
    try {
      return (await fetch(`${httpUrl}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 60_000);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms`);
    await sleep(200);
  }
}

function once(child: ChildProcess, match: (m: unknown) => boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!match(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`bench: child exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString('en');

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
