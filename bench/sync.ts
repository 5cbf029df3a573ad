/**
 * `npm run bench:sync` — the offline replica's two figures, in real Chromium, loopback only, < 3 min on a quiet machine (deadline BENCH_DEADLINE_S, 900):
 *
 * 1. Initial sync: a server with 50,000 documents in one collection (`tasks`, inserted in SQL with server_seq),
 *    replicated into the renderer's own replica (src/renderer/src/data: RxDB on the desk's storage, the app's
 *    replication over HTTP + SSE through the browser console's /sync/v1 proxy) — seconds and docs/s — beside a
 *    raw IndexedDB bulk put of the same 50,000 documents in the same browser, same run (the floor).
 * 2. Change propagation: 1,000 tasks created through the staff API, one by one; per note, the time from just
 *    before the server write to the document appearing in the open replica (insert event) — p50 / p95 / p99.
 * 3. Initial sync of 50,000 rentals (a read-only collection) into a fresh replica, beside the raw IndexedDB floor
 *    of the same rentals.
 * 4. (BENCH_MEMORY=0 skips it) A replica of 50,000 tasks + 50,000 rentals: the renderer's JS heap with it open
 *    beside the same page without it, and the time to open it again after a restart with the server gone.
 * Each floor is measured just before and just after its sync (the mean is the baseline: the machine's load moves);
 * one SUMMARY line per collection: seconds, × the floor, bar (issue 12 bar 5: ≤ 2× the floor and < 15 s) met or
 * missed, with the load average.
 * A fresh replica fills an empty collection by bootstrap (src/renderer/src/data/bootstrap.ts), then RxDB's
 * replication carries on from there; both initial syncs measure that path.
 * Part 1 also prints where the time goes: the pulls alone, and RxDB's own bulk inserts alone.
 *
 * The page is a minimal bundle (esbuild) of the replica modules, served with the console's sync proxy; IndexedDB
 * is on disk (a persistent Chromium profile in a temp dir). Env: BENCH_DOCS (50000), BENCH_CHANGES (1000),
 * BENCH_CHANGE_GAP_MS (10), BENCH_STORAGE (memory-mapped: the desk's;
 * `dexie`: RxDB's Dexie storage, the desk's before), DATABASE_URL (PostgreSQL instead of PGlite; a fresh database is created), BENCH_DEBUG=1
 * (the page's console, and the replica's state every 500 ms during an initial sync).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { startServer, type ServerHandle } from '../server/src/app.js';
import { staffHeaders } from '../server/src/testing/auth.js';
import { createTestDatabase, type TestDatabase } from '../server/src/testing/test-databases.js';
import { CHROMIUM_ARGS, chromiumExecutablePath } from '../test/support/chromium.js';
import { createSyncProxy } from '../src/main/browser-host/sync-proxy.js';
import { silentLogger } from '../src/main/log.js';

const DOCS = Number(process.env['BENCH_DOCS'] ?? 50_000);
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 1_000);
const GAP_MS = Number(process.env['BENCH_CHANGE_GAP_MS'] ?? 10);
const DEADLINE_MS = Number(process.env['BENCH_DEADLINE_S'] ?? 900) * 1000;
/** the replica's storage: the desk's (memory-mapped, src/renderer/src/data/memory-mapped-storage.ts) or `dexie` (before) */
const STORAGE = process.env['BENCH_STORAGE'] === 'dexie' ? 'dexie' : 'memory-mapped';
const STORAGE_LABEL = STORAGE === 'dexie' ? 'RxDB + Dexie' : 'RxDB + memory-mapped';

const root = resolve(import.meta.dirname, '..');

/** The page's code: the app's replica modules + a raw IndexedDB floor, exposed as window.bench. */
const PAGE_ENTRY = `
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { openReplicaDatabase } from './src/renderer/src/data/database';
import { getRxStorageMemoryMapped } from './src/renderer/src/data/memory-mapped-storage';
import { Replica } from './src/renderer/src/data/replication';

const operator = { id: 'bench', role: 'dispatcher' };
// BENCH_STORAGE: the desk's storage (memory-mapped) or RxDB's Dexie storage (the desk's before issue 12 bar 5)
const storage = () => (BENCH_STORAGE === 'dexie' ? getRxStorageDexie() : getRxStorageMemoryMapped());
let dbName = '';
// a staff access token handed in by the bench (the app gets it from its host the same way)
let token = '';
const headers = () => ({ authorization: 'Bearer ' + token });
const now = () => performance.timeOrigin + performance.now();
let floorDocs = [];
let db, replica;
const arrivals = new Map();

window.bench = {
  setToken(t) {
    token = t;
  },
  async loadFloorDocs(collection) {
    floorDocs = [];
    let seq = 0;
    const t0 = performance.now();
    for (;;) {
      const res = await fetch('/sync/v1/' + collection + '/pull?checkpoint=' + seq + '&limit=1000', { headers: headers() });
      if (!res.ok) throw new Error('pull: HTTP ' + res.status);
      const page = await res.json();
      floorDocs.push(...page.documents);
      if (page.documents.length === 0 || page.checkpoint.seq === seq) break;
      seq = page.checkpoint.seq;
    }
    return { count: floorDocs.length, ms: performance.now() - t0 };
  },
  /** RxDB's own write path on the storage, no replication: bulk inserts of the same documents, pages of 1,000. */
  async rxdbWrite(collection) {
    const wdb = await openReplicaDatabase({ name: 'bench-w-' + Math.random().toString(36).slice(2), storage: storage(), role: operator.role });
    const t0 = performance.now();
    for (let i = 0; i < floorDocs.length; i += 1000) await wdb[collection].bulkInsert(floorDocs.slice(i, i + 1000));
    const ms = performance.now() - t0;
    await wdb.remove();
    return ms;
  },
  dropFloorDocs() {
    floorDocs = [];
  },
  async rawFloor() {
    const name = 'floor-' + Math.random().toString(36).slice(2);
    const idb = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('docs', { keyPath: 'id' });
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      const tx = idb.transaction('docs', 'readwrite', { durability: 'default' });
      const store = tx.objectStore('docs');
      for (const d of floorDocs) store.put(d);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    const ms = performance.now() - t0;
    idb.close();
    indexedDB.deleteDatabase(name);
    return ms;
  },
  /** A fresh replica (all the dispatcher's collections) until it is synced and \`collection\` holds \`expected\` documents. */
  async initialSync(expected, collection) {
    if (replica) {
      await replica.dispose();
      await db.remove();
    }
    const t0 = performance.now();
    dbName = 'bench-' + Math.random().toString(36).slice(2);
    db = await openReplicaDatabase({ name: dbName, storage: storage(), role: operator.role });
    const openMs = performance.now() - t0;
    replica = new Replica(db, { syncUrl: location.origin, operator, accessToken: async () => token, retryMs: 1000 });
    await replica.start();
    let lastLog = 0;
    for (;;) {
      if (window.benchDebug && performance.now() - lastLog > 500) {
        lastLog = performance.now();
        console.log('t=' + Math.round(performance.now() - t0) + ' ' + JSON.stringify(replica.view()) + ' ' + JSON.stringify([...replica.health.entries()].filter(([, h]) => !h.initialDone)) + ' n=' + (await db[collection].count().exec()));
      }
      if (replica.view().status === 'synced') {
        const n = await db[collection].count().exec();
        if (n >= expected) return { ms: performance.now() - t0, count: n, openMs };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  },
  /** An app restart with the server gone: the open replica closed (kept), the database opened again, all counted. */
  async reopen(collections) {
    await replica.dispose();
    replica = undefined;
    await db.close();
    const t0 = performance.now();
    db = await openReplicaDatabase({ name: dbName, storage: storage(), role: operator.role });
    const opened = performance.now() - t0;
    const counts = {};
    for (const c of collections) counts[c] = await db[c].count().exec();
    return { ms: opened, counts };
  },
  /** The open replica disposed and its database removed (before the next collection is seeded: it would sync it too). */
  async closeReplica() {
    if (!db) return;
    await replica?.dispose();
    await db.remove();
    replica = undefined;
    db = undefined;
  },
  watch() {
    db.tasks.insert$.subscribe((e) => arrivals.set(e.documentId, now()));
  },
  arrivals(ids) {
    return ids.map((id) => arrivals.get(id) ?? null);
  },
  arrivedCount() {
    return arrivals.size;
  },
};
window.benchReady = true;
`;

async function bundle(): Promise<string> {
  const out = await build({
    stdin: { contents: PAGE_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'bench-page.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    // BENCH_CPU_PROFILE: readable function names in the profile
    minify: !process.env['BENCH_CPU_PROFILE'],
    write: false,
    define: { 'import.meta.env.DEV': 'false', 'process.env.NODE_ENV': '"production"', BENCH_STORAGE: JSON.stringify(STORAGE) },
    logLevel: 'error',
  });
  return out.outputFiles[0]!.text;
}

async function startPageHost(serverUrl: string, script: string): Promise<{ url: string; close(): Promise<void> }> {
  let origin = '';
  let hosts: string[] = [];
  const proxy = createSyncProxy({ serverUrl, origin: () => origin, allowedHosts: () => hosts, logger: silentLogger() });
  const html = '<!doctype html><meta charset="utf-8"><title>sync bench</title><script type="module" src="/bench.js"></script>';
  const http: Server = createServer((req, res) => {
    if (proxy.handle(req, res, {})) return;
    if (req.url === '/bench.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(script);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  hosts = [`127.0.0.1:${port}`];
  return {
    url: `${origin}/`,
    close: () =>
      new Promise<void>((r) => {
        proxy.close();
        http.close(() => r());
        http.closeAllConnections();
      }),
  };
}

async function seedTasks(server: ServerHandle, vehicleIds: string[], n: number): Promise<void> {
  await server.db.transaction(async (tx) => {
    await tx.query(
      `insert into tasks (id, vehicle_id, kind, status, assignee, note, created_by, created_at, server_seq)
       select 'bench-' || lpad(g::text, 6, '0'), ($2::text[])[(g % array_length($2::text[], 1)) + 1],
              (array['cleaning', 'refuel', 'repair', 'inspection'])[(g % 4) + 1], 'open', null,
              'Bench task ' || g || ': tyre pressure, interior, fuel card.', 'bench', now(), fleetdesk_next_seq()
       from generate_series(1, $1::int) g`,
      [n, vehicleIds],
    );
  });
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per function (from the sampled profile), highest first. */
/** Where a bench writes a profile: var/profiles/ (git-ignored), one new file per run. */
function benchProfilePath(name: string): string {
  const dir = join(root, 'var', 'profiles');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
}

function printTopFunctions(profile: CpuProfile, n: number): void {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples?.forEach((id, i) => {
    const dt = (profile.timeDeltas?.[i] ?? 0) / 1000;
    total += dt;
    const f = byNode.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`  CPU profile of the page during the initial sync (${(total / 1000).toFixed(1)} s sampled), self time:`);
  for (const [k, ms] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`    ${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${k}`);
}

/**
 * `n` ended rentals of one customer, spread over the vehicles, all closed within the last 28 days — inside the
 * replica's history horizon (SYNC_HISTORY_DAYS, default 30: a rental closed, i.e. last changed, longer ago is not
 * sent to a desk at all), so the first sync still carries all `n`. 50,000 over 50 cars: one every ~40 minutes per
 * car, each 30 minutes long (the no-overlap constraint holds); `updated_at` = the end, as the rentals component writes it.
 */
async function seedRentals(server: ServerHandle, vehicleIds: string[], n: number): Promise<void> {
  await server.db.transaction(async (tx) => {
    await tx.query(
      `insert into customers (id, email, name, phone, server_seq) values ('bench-customer', 'bench@example.test', 'Bench Customer', '+4930000', fleetdesk_next_seq()) on conflict do nothing`,
    );
    await tx.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, ended_at, total_cents, currency, price, updated_at, server_seq)
       select 'bench-r-' || lpad(g::text, 6, '0'), 'rental', ($2::text[])[(g % array_length($2::text[], 1)) + 1], 'bench-customer', 'ended',
              tstzrange(ts, ts + interval '30 minutes'), ts, ts + interval '30 minutes', 870, 'EUR',
              '{"currency":"EUR","lines":[{"code":"driving","description":"Driving","quantity":30,"unit":"minute","unitCents":29,"amountCents":870}],"subtotalCents":870,"totalCents":870}'::jsonb,
              ts + interval '30 minutes', fleetdesk_next_seq()
       from generate_series(1, $1::int) g,
            lateral (select now() - interval '28 days'
                            + (g / array_length($2::text[], 1)) * (interval '28 days' / (ceil($1::float8 / array_length($2::text[], 1)) + 1)) as ts) x`,
      [n, vehicleIds],
    );
  });
  // the history horizon's job must leave every one of them in the replica
  const { rows } = await server.db.query<{ n: number }>(
    `select count(*)::int as n from allocations where customer_id = 'bench-customer' and updated_at < now() - interval '29 days'`,
  );
  if (rows[0]!.n > 0) throw new Error(`seedRentals: ${rows[0]!.n} rentals closed outside the history horizon`);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Bar 5 of issue 12: the first sync of a collection within 2× the raw IndexedDB floor of the same run, and < 15 s. */
const BAR_FLOOR_RATIO = 2;
const BAR_SECONDS = 15;

function printFloor(beforeMs: number, afterMs: number): void {
  const mean = (beforeMs + afterMs) / 2;
  console.log(
    `  floor (raw IndexedDB bulk put, one transaction):         ${(mean / 1000).toFixed(2)} s  ${Math.round(DOCS / (mean / 1000))} docs/s  (mean of ${(beforeMs / 1000).toFixed(2)} s before and ${(afterMs / 1000).toFixed(2)} s after the sync)`,
  );
}

function summary(collection: string, ms: number, floorMs: number): string {
  const ratio = ms / floorMs;
  const met = ratio <= BAR_FLOOR_RATIO && ms < BAR_SECONDS * 1000;
  return (
    `SUMMARY initial sync of ${DOCS} ${collection}: ${(ms / 1000).toFixed(2)} s = ${ratio.toFixed(2)}× the raw IndexedDB floor ` +
    `(baseline, same run: ${(floorMs / 1000).toFixed(2)} s); bar ≤ ${BAR_FLOOR_RATIO}× the floor and < ${BAR_SECONDS} s — ${met ? 'met' : 'missed'}`
  );
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`bench:sync: did not finish within ${DEADLINE_MS / 1000} s`);
    process.exit(1);
  }, DEADLINE_MS);
  watchdog.unref();

  const cleanups: Array<() => Promise<void> | void> = [];
  const summaries: string[] = [];
  try {
    let pg: TestDatabase | undefined;
    if (process.env['DATABASE_URL']) {
      pg = await createTestDatabase(process.env['DATABASE_URL'], 'fleetdesk_bench');
      cleanups.push(() => pg!.drop());
    }
    const server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      seedVehicles: 50,
      logLevel: 'error',
      dataDir: 'memory://',
      databaseUrl: pg?.url,
    });
    cleanups.push(() => server.stop());
    console.log(
      `bench:sync — ${DOCS} tasks, ${CHANGES} changes, ${DOCS} rentals, database ${pg ? 'PostgreSQL' : 'PGlite'}, Chromium + ${STORAGE_LABEL} (IndexedDB on disk)`,
    );

    let t = performance.now();
    const vehicleIds = (await server.db.query<{ id: string }>('select id from vehicles order by id')).rows.map((r) => r.id);
    await seedTasks(server, vehicleIds, DOCS);
    console.log(`  seeded ${DOCS} tasks in SQL in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const script = await bundle();
    const host = await startPageHost(server.httpUrl, script);
    cleanups.push(() => host.close());

    const profile = mkdtempSync(join(tmpdir(), 'fleetdesk-bench-chromium-'));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: await chromiumExecutablePath(),
      headless: true,
      args: CHROMIUM_ARGS,
    });
    cleanups.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    if (process.env['BENCH_DEBUG']) {
      page.on('console', (m) => console.log('  [page]', m.type(), m.text().slice(0, 300)));
      await page.addInitScript(() => ((window as unknown as { benchDebug: boolean }).benchDebug = true));
    }
    await page.goto(host.url);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 30_000 });
    const readerToken = (await staffHeaders(server, 'dispatcher', 'bench'))['authorization']!.replace(/^Bearer /, '');
    await page.evaluate((t) => (window as never as { bench: { setToken(t: string): void } }).bench.setToken(t), readerToken);

    /** window.bench.<call> in the page (an expression; Playwright awaits its promise) */
    const bench = <T>(call: string): Promise<T> => page.evaluate(`window.bench.${call}`) as Promise<T>;
    /** The raw IndexedDB floor of `collection`'s documents as served: loaded once, measured before and after its sync. */
    const loadFloor = async (collection: string) => {
      const loaded = await bench<{ count: number; ms: number }>(`loadFloorDocs(${JSON.stringify(collection)})`);
      if (loaded.count !== DOCS) throw new Error(`floor: loaded ${loaded.count} ${collection}, expected ${DOCS}`);
      return loaded;
    };
    const rawFloor = () => bench<number>('rawFloor()');
    /** The page's main thread busy time during `run` (Chromium's TaskDuration: CPU of the renderer, whatever the load;
     * IndexedDB's own writing happens in the browser process and is not in it) */
    const perf = await context.newCDPSession(page);
    await perf.send('Performance.enable');
    const taskSeconds = async () =>
      ((await perf.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }).metrics.find(
        (m) => m.name === 'TaskDuration',
      )?.value ?? NaN;
    const busy = async <T>(run: () => Promise<T>): Promise<{ result: T; busyS: number }> => {
      const before = await taskSeconds();
      const result = await run();
      return { result, busyS: (await taskSeconds()) - before };
    };
    const printBusy = (sync: number, floor: number, pull: number) =>
      console.log(
        `  renderer main thread busy (CPU, load-independent): sync ${sync.toFixed(2)} s, floor ${floor.toFixed(2)} s, pull alone ${pull.toFixed(2)} s`,
      );

    // 1. the floor: raw IndexedDB bulk put of the same documents
    const { result: loaded, busyS: pullBusy } = await busy(() => loadFloor('tasks'));
    const { result: floorBeforeMs, busyS: floorBusy } = await busy(rawFloor);
    const rxdbMs = await bench<number>(`rxdbWrite('tasks')`);

    // BENCH_CPU_PROFILE=1: a CPU profile of the page during each initial sync (open it in Chrome DevTools), written
    // under the git-ignored var/profiles/ — never at the repository root, whatever the variable holds
    const cdp = process.env['BENCH_CPU_PROFILE'] ? await context.newCDPSession(page) : undefined;
    const profiled = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      if (!cdp) return run();
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
      const result = await run();
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
      const file = benchProfilePath(name);
      writeFileSync(file, JSON.stringify(profile));
      console.log(`CPU profile written to ${file}`);
      printTopFunctions(profile, 25);
      return result;
    };

    // 1. initial sync through the app's replica
    t = performance.now();
    const initialSync = (n: number, collection: string) =>
      page.evaluate(
        ([n, c]) =>
          (
            window as never as { bench: { initialSync(n: number, c: string): Promise<{ ms: number; count: number; openMs: number }> } }
          ).bench.initialSync(n, c),
        [n, collection] as [number, string],
      );
    const { result: sync, busyS: syncBusy } = await busy(() => profiled('sync-tasks', () => initialSync(DOCS, 'tasks')));
    const syncWallS = (performance.now() - t) / 1000;

    const floorAfterMs = await rawFloor();
    await bench('dropFloorDocs()');
    const floorMs = (floorBeforeMs + floorAfterMs) / 2;

    console.log('');
    console.log('Initial sync of one editable collection (tasks) into Chromium (IndexedDB)');
    console.log(
      `  replica (${STORAGE_LABEL}, HTTP pull via the console proxy): ${(sync.ms / 1000).toFixed(2)} s  ${Math.round(sync.count / (sync.ms / 1000))} docs/s  (${sync.count} docs; wall ${syncWallS.toFixed(2)} s; of which opening the empty replica ${(sync.openMs / 1000).toFixed(2)} s)`,
    );
    printFloor(floorBeforeMs, floorAfterMs);
    printBusy(syncBusy, floorBusy, pullBusy);
    console.log('  where the time goes (same documents, same page, each step alone):');
    console.log(`    pull all pages through the proxy + JSON.parse, no writes: ${(loaded.ms / 1000).toFixed(2)} s`);
    console.log(`    RxDB bulkInsert (${STORAGE}), pages of 1,000, no replication: ${(rxdbMs / 1000).toFixed(2)} s`);
    summaries.push(summary('tasks', sync.ms, floorMs));

    // 2. change propagation: server write → document in the open replica
    await page.evaluate(() => (window as never as { bench: { watch(): void } }).bench.watch());
    const written: Array<{ id: string; at: number }> = [];
    const headers = { 'content-type': 'application/json', ...(await staffHeaders(server, 'dispatcher', 'bench-writer')) };
    for (let i = 0; i < CHANGES; i += 1) {
      const id = `prop-${i.toString().padStart(5, '0')}`;
      const at = performance.timeOrigin + performance.now();
      const res = await fetch(`${server.httpUrl}/ops/v1/tasks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ id, vehicleId: vehicleIds[i % vehicleIds.length], kind: 'cleaning', note: `propagation ${i}` }),
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`POST /ops/v1/tasks: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      written.push({ id, at });
      if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    }
    const waitUntil = Date.now() + 30_000;
    let arrivals: Array<number | null> = [];
    for (;;) {
      arrivals = await page.evaluate(
        (ids) => (window as never as { bench: { arrivals(ids: string[]): Array<number | null> } }).bench.arrivals(ids),
        written.map((w) => w.id),
      );
      if (arrivals.every((a) => a !== null) || Date.now() > waitUntil) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const latencies = written.flatMap((w, i) => (arrivals[i] == null ? [] : [arrivals[i]! - w.at])).sort((a, b) => a - b);
    const missing = written.length - latencies.length;
    console.log('');
    console.log(
      `Change propagation (staff API write → document in the open replica), ${CHANGES} tasks, one every ~${GAP_MS} ms + request time`,
    );
    console.log(
      `  p50 ${pct(latencies, 50).toFixed(0)} ms   p95 ${pct(latencies, 95).toFixed(0)} ms   p99 ${pct(latencies, 99).toFixed(0)} ms   max ${(latencies.at(-1) ?? NaN).toFixed(0)} ms${missing ? `   MISSING ${missing}` : ''}   (target: p99 < 500 ms)`,
    );

    // 3. the same for a read-only collection (rentals: the one that grows without bound; bigger documents, one
    // more index), beside its own floor (the same rentals, as served)
    // the replica of parts 1 and 2 is closed first: left open, it would receive the 50,000 rentals over its live
    // stream through RxDB's replication while the rentals' floor, pull and sync are measured in the same page
    await bench('closeReplica()');
    await server.db.query('truncate tasks');
    t = performance.now();
    await seedRentals(server, vehicleIds, DOCS);
    console.log('');
    console.log(`  seeded ${DOCS} rentals (ended, one customer) in SQL in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const { result: rentalsLoaded, busyS: rentalsPullBusy } = await busy(() => loadFloor('rentals'));
    const { result: rentalsFloorBeforeMs, busyS: rentalsFloorBusy } = await busy(rawFloor);
    const { result: rentals, busyS: rentalsBusy } = await busy(() => profiled('sync-rentals', () => initialSync(DOCS, 'rentals')));
    const rentalsFloorAfterMs = await rawFloor();
    await bench('dropFloorDocs()');
    console.log('Initial sync of one read-only collection (rentals) into Chromium (IndexedDB)');
    console.log(
      `  replica (${STORAGE_LABEL}, HTTP pull via the console proxy): ${(rentals.ms / 1000).toFixed(2)} s  ${Math.round(rentals.count / (rentals.ms / 1000))} docs/s  (${rentals.count} docs; of which opening the empty replica ${(rentals.openMs / 1000).toFixed(2)} s)`,
    );
    printFloor(rentalsFloorBeforeMs, rentalsFloorAfterMs);
    printBusy(rentalsBusy, rentalsFloorBusy, rentalsPullBusy);
    console.log(
      `  where the time goes: pull all pages through the proxy + JSON.parse, no writes: ${(rentalsLoaded.ms / 1000).toFixed(2)} s`,
    );
    summaries.push(summary('rentals', rentals.ms, (rentalsFloorBeforeMs + rentalsFloorAfterMs) / 2));

    // 4. what the desk pays for the replica's storage with 2 × DOCS documents (tasks and rentals): the renderer's JS
    // heap (after a garbage collection) with the replica open, against the same page with no replica; and the
    // time to open it again after a restart with the server gone (the memory-mapped storage reads everything then)
    if (process.env['BENCH_MEMORY'] !== '0') {
      await bench('closeReplica()');
      await seedTasks(server, vehicleIds, DOCS);
      const heapCdp = await context.newCDPSession(page);
      const heapMb = async () => {
        await heapCdp.send('HeapProfiler.collectGarbage');
        const { usedSize } = (await heapCdp.send('Runtime.getHeapUsage')) as { usedSize: number };
        return usedSize / 1024 / 1024;
      };
      const emptyMb = await heapMb();
      const both = await initialSync(DOCS, 'rentals');
      const syncedMb = await heapMb();
      const reopened = await bench<{ ms: number; counts: Record<string, number> }>(`reopen(['tasks', 'rentals'])`);
      const reopenedMb = await heapMb();
      await bench('closeReplica()');
      const afterMb = await heapMb();
      const n = Object.values(reopened.counts).reduce((a, b) => a + b, 0);
      console.log('');
      console.log(`The replica with ${DOCS} tasks + ${DOCS} rentals (${STORAGE_LABEL})`);
      console.log(`  initial sync of both: ${(both.ms / 1000).toFixed(2)} s`);
      console.log(
        `  renderer JS heap after GC: ${syncedMb.toFixed(0)} MB synced and open, ${reopenedMb.toFixed(0)} MB reopened (${n} documents); baseline, same page with no replica: ${emptyMb.toFixed(0)} MB before, ${afterMb.toFixed(0)} MB after — the replica: +${(reopenedMb - afterMb).toFixed(0)} MB`,
      );
      console.log(
        `  reopen after a restart (server gone): openReplicaDatabase ${(reopened.ms / 1000).toFixed(2)} s, then ${JSON.stringify(reopened.counts)}`,
      );
    }
    console.log('');
    const [l1, l5] = loadavg();
    for (const line of summaries) console.log(`${line}; load average ${l1!.toFixed(1)} / ${l5!.toFixed(1)} (1 / 5 min)`);
    if (errors.length) console.log(`  page errors: ${errors.slice(0, 3).join(' | ')}`);
    if (missing) process.exitCode = 1;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        console.error('cleanup failed:', (err as Error).message);
      }
    }
    clearTimeout(watchdog);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:sync failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
