/**
 * `npm run bench:desktop` — the desktop's quality bar (PRODUCT.md): 20,000 vehicles at 1 Hz with the UI
 * responsive while panning, and telemetry publish → on screen p99 < 250 ms.
 *
 * Everything real and on loopback, each program in its own process as in production: the server (child
 * process; a fresh database on the local PostgreSQL at DATABASE_URL's server — PGlite runs on the server's own
 * thread and cannot absorb 20,000 vehicles at 1 Hz beside HTTP —, and the local Mosquitto at MQTT_URL (default mqtt://127.0.0.1:1883) — the embedded
 * Aedes stalls when 20,000 per-vehicle command subscriptions each scan its 20,000 retained statuses), the
 * simulator (child process, 100 vehicles per connection) driving 20,000 vehicles at 1 Hz, the
 * browser console (desktop main-process services, in this process) and the built renderer in headless Chromium
 * (no GPU). Needs `npx electron-vite build` first (npm test does it).
 *
 * Prints, for the same panning gesture:
 *  - baseline: the console with an empty fleet (frame interval p50/p95/p99 and the map layer's draw time);
 *  - loaded: 20,000 vehicles at 1 Hz;
 *  - publish → on screen: a probe vehicle (not simulated) gets telemetry from this process every 200 ms; the time
 *    until its new position shows in the grid cell (the grid filtered to the probe's plate), p50/p99 over N samples.
 * Stops by itself (bounded loops, < 4 minutes).
 *
 * BENCH_CUSTOMERS=N (default 0) adds the demo's customer driver (sim/customers, as `npm start` runs it): N
 * customers reserve, rent, drive and end through the customer API, so the desk under load shows reserved and
 * rented cars and the server carries the rentals too. Off by default: the figures are then for every car driving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { DEMO_STAFF } from '../server/src/components/staff/index.js';
import { startBrowserConsole, type BrowserConsole } from '../src/main/browser-host/host.js';
import { demoVehicle, demoVehicleId } from '../src/shared/demo-fleet.js';
import { deviceTopic } from '../src/shared/device-protocol.js';
import { createTestDatabase, type TestDatabase } from '../server/src/testing/test-databases.js';
import { launchChromium } from '../test/support/chromium.js';

const VEHICLES = Number(process.env['BENCH_VEHICLES'] ?? 20_000);
const LATENCY_SAMPLES = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 150);
const CUSTOMERS = Number(process.env['BENCH_CUSTOMERS'] ?? 0);
const PAN_SECONDS = 8;
const MQTT_URL = process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1).padStart(7) : '      –');

const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Child {
  proc: ChildProcess;
  stop(): Promise<void>;
}

function startChild(args: string[], env: Record<string, string>): Child {
  const proc = spawn(TSX, args, { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  proc.stdout?.resume();
  return {
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGINT');
      }),
  };
}

interface ServerChild extends Child {
  httpUrl: string;
  mqttUrl: string;
  dataDir: string;
}

async function startServerChild(seedVehicles: number): Promise<ServerChild> {
  const http = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-bench-desktop-'));
  const db: TestDatabase = await createTestDatabase(DATABASE_URL, 'fleetdesk_bench');
  const child = startChild(['server/src/start.ts'], {
    PORT: String(http),
    DATA_DIR: dataDir,
    SEED_VEHICLES: String(seedVehicles),
    DATABASE_URL: db.url,
    MQTT_URL,
    // its own shared-subscription group: no other server on the shared broker takes a share
    MQTT_SHARED_GROUP: `bench-desktop-${process.pid}`,
  });
  const httpUrl = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`${httpUrl}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || child.proc.exitCode !== null) throw new Error('server child did not become ready');
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    ...child,
    httpUrl,
    mqttUrl: MQTT_URL,
    dataDir,
    stop: async () => {
      await child.stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface PanFigures {
  frames: number[];
  draws: number[];
}

/** Drags the map back and forth for PAN_SECONDS while the page records every frame interval and draw time. */
async function panAndMeasure(page: Page): Promise<PanFigures> {
  // A string, not a function: tsx's keepNames helpers (__name) do not exist inside the page.
  await page.evaluate(`(() => {
    const w = window;
    w.__bench = { frames: [], draws: [], run: true };
    const map = document.querySelector('[data-testid="fleet-map"]');
    let last = performance.now();
    let lastDraw = map && map.getAttribute('data-draw-ms');
    function loop(t) {
      w.__bench.frames.push(t - last);
      last = t;
      const d = map && map.getAttribute('data-draw-ms');
      if (d !== lastDraw && d !== null) w.__bench.draws.push(Number(d));
      lastDraw = d;
      if (w.__bench.run) requestAnimationFrame(loop);
    }
    requestAnimationFrame(loop);
  })()`);
  const box = (await page.getByTestId('fleet-map').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const deadline = Date.now() + PAN_SECONDS * 1000;
  let dir = 1;
  while (Date.now() < deadline) {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(cx + dir * i * 10, cy + dir * i * 5);
    await page.mouse.up();
    dir = -dir;
  }
  return page.evaluate(`(() => {
    window.__bench.run = false;
    return { frames: window.__bench.frames.slice(1), draws: window.__bench.draws };
  })()`) as Promise<PanFigures>;
}

async function openConsole(server: { httpUrl: string; mqttUrl: string }, consolePortHost: { console?: BrowserConsole }): Promise<Page> {
  // signed in as the demo dispatcher (the server child seeds the demo staff): the registry comes from the staff API
  const dispatcher = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
  consolePortHost.console = await startBrowserConsole({
    config: {
      mqttUrl: server.mqttUrl,
      serverUrl: server.httpUrl,
      tileUrl: '',
      staffCredentials: { email: dispatcher.email, password: dispatcher.password },
    },
    port: 0,
    rendererDir: 'out/renderer',
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on('close', () => void browser.close());
  await page.goto(consolePortHost.console.url);
  await page.getByTestId('fleet-map').waitFor();
  return page;
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error('bench:desktop took longer than 4 minutes; aborting');
    process.exit(2);
  }, 240_000);
  const shots = join(process.cwd(), 'test-results');
  mkdirSync(shots, { recursive: true });

  // Baseline: the same console and gesture with no vehicles.
  const empty = await startServerChild(0);
  const baseHost: { console?: BrowserConsole } = {};
  const basePage = await openConsole(empty, baseHost);
  const baseline = await panAndMeasure(basePage);
  await basePage.close();
  await baseHost.console?.stop();
  await empty.stop();

  const probeIndex = VEHICLES; // registered, not simulated
  const probeId = demoVehicleId(probeIndex);
  const server = await startServerChild(VEHICLES + 1);
  let sim: Child | undefined;
  const host: { console?: BrowserConsole } = {};
  const probe = await mqtt.connectAsync(server.mqttUrl, { clientId: `bench-probe-${process.pid}` });
  try {
    const t0 = Date.now();
    sim = startChild(
      [
        'bench/desktop-sim.ts',
        server.mqttUrl,
        String(VEHICLES),
        ...(CUSTOMERS > 0 ? [server.httpUrl, String(CUSTOMERS), join(server.dataDir, 'sandbox-mailbox')] : []),
      ],
      {},
    );
    const simProc = sim.proc;
    await new Promise<void>((resolve, reject) => {
      simProc.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('connected')) resolve();
      });
      simProc.once('exit', (code) => reject(new Error(`simulator exited (${code}) before connecting`)));
    });
    console.log(
      `bench:desktop: ${VEHICLES} simulated vehicles connected in ${((Date.now() - t0) / 1000).toFixed(1)} s${CUSTOMERS > 0 ? `, ${CUSTOMERS} customers renting them` : ''}`,
    );
    const page = await openConsole(server, host);
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="fleet-map"]')?.getAttribute('data-total-vehicles')) >= n,
      VEHICLES,
      {
        timeout: 60_000,
      },
    );
    // Zoom 13 over the centre: every vehicle drawn individually (the expensive case), none clustered.
    const loaded = await panAndMeasure(page);
    await page.screenshot({ path: join(shots, 'bench-desktop-20k.png') });

    // Publish → on screen, for a probe vehicle shown in the grid (filtered to its plate).
    await page.getByTestId('vehicle-search').fill(demoVehicle(probeIndex).plate);
    const latencies: number[] = [];
    let seq = 1;
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const lat = 52.5 + i * 0.0001; // a new, unique position each time
      const expected = `${lat.toFixed(5)}, 13.40000`;
      const sentAt = Date.now();
      await probe.publishAsync(
        deviceTopic(probeId, 'telemetry'),
        JSON.stringify({
          v: 1,
          seq: seq++,
          ts: sentAt,
          lat,
          lon: 13.4,
          speedKph: 20,
          headingDeg: 0,
          fuelPct: 50,
          odometerKm: 1,
          ignition: true,
          locked: false,
          doorsClosed: true,
        }),
        { qos: 0 },
      );
      const seenAt = (await page.evaluate(`(async () => {
        const sel = '[row-id="${probeId}"] [col-id="position"]';
        const deadline = performance.now() + 5000;
        while (performance.now() < deadline) {
          const el = document.querySelector(sel);
          if (el && el.textContent.trim() === '${expected}') return Date.now();
          await new Promise((r) => requestAnimationFrame(r));
        }
        return -1;
      })()`)) as number;
      if (seenAt > 0) latencies.push(seenAt - sentAt);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log('');
    console.log('                         frame interval ms (p50 / p95 / p99)   map draw ms (p50 / p95 / p99)   frames');
    for (const [label, m] of [
      ['baseline (no vehicles)', baseline],
      [`loaded (${VEHICLES} vehicles)`, loaded],
    ] as const) {
      console.log(
        `${label.padEnd(24)} ${f(pct(m.frames, 50))} ${f(pct(m.frames, 95))} ${f(pct(m.frames, 99))}            ${f(pct(m.draws, 50))} ${f(pct(m.draws, 95))} ${f(pct(m.draws, 99))}     ${m.frames.length}`,
      );
    }
    console.log(
      `publish → on screen (grid cell), ${latencies.length}/${LATENCY_SAMPLES} samples: p50 ${f(pct(latencies, 50))} ms, p99 ${f(pct(latencies, 99))} ms`,
    );
    console.log(
      `SUMMARY loaded frame p95 ${pct(loaded.frames, 95).toFixed(1)} ms (baseline ${pct(baseline.frames, 95).toFixed(1)} ms, ratio ${(pct(loaded.frames, 95) / pct(baseline.frames, 95)).toFixed(2)}), draw p95 ${pct(loaded.draws, 95).toFixed(1)} ms; publish→screen p99 ${pct(latencies, 99).toFixed(0)} ms`,
    );
    await page.close();
  } finally {
    await host.console?.stop();
    await sim?.stop();
    // the simulator leaves a retained offline status per vehicle on the shared broker: clear them
    if (probe.connected) {
      for (let i = 0; i <= VEHICLES; i++) await probe.publishAsync(deviceTopic(demoVehicleId(i), 'status'), '', { qos: 1, retain: true });
    }
    await probe.endAsync();
    await server.stop();
    clearTimeout(watchdog);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
