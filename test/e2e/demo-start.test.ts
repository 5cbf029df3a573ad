/**
 * `npm start` as a new dispatcher meets it: the README's command (scripts/start.mjs) with its demo defaults —
 * embedded PGlite and Aedes, 200 simulated cars, the demo customers renting them through the customer API — on
 * ports of its own, the browser console opened in real Chromium at 1280×800 (the Electron binary cannot run here).
 * After two minutes: rentals are active at the server and on the desk's map legend, and at most five
 * `movement_without_rental` alerts are open (only the few cars the demo drives unrented raise them). Ctrl-C
 * (SIGINT) then stops the whole product cleanly. Screenshot in test-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/src/testing/staff-api.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { launchChromium } from '../support/chromium.js';

const shots = join(process.cwd(), 'test-results');
const DEMO_MS = 120_000;

describe('npm start (demo defaults)', () => {
  let proc: ChildProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-demo-start-'));

  afterAll(() => {
    if (proc && proc.exitCode === null && proc.pid) process.kill(-proc.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'after two minutes: active rentals, a handful of unrented-movement alerts at most; Ctrl-C stops it',
    { timeout: 420_000 },
    async () => {
      const [port, mqttPort, consolePort] = [await freePort(), await freePort(), await freePort()];
      const out: string[] = [];
      // the e2e run builds the renderer first; everything else is the demo's own defaults (embedded engines: the
      // suite's DATABASE_URL / MQTT_URL are not passed on)
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        FLEETDESK_NO_BUILD: '1',
        PORT: String(port),
        MQTT_PORT: String(mqttPort),
        FLEETDESK_CONSOLE_PORT: String(consolePort),
        DATA_DIR: dataDir,
      };
      for (const k of ['DATABASE_URL', 'MQTT_URL', 'FLEETDESK_SERVER_URL', 'FLEETDESK_MQTT_URL', 'FLEETDESK_STAFF_EMAIL', 'SIM_VEHICLES'])
        delete env[k];
      proc = spawn(process.execPath, ['scripts/start.mjs'], {
        cwd: process.cwd(),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const collect = (chunk: Buffer) => {
        out.push(chunk.toString());
        if (out.length > 4000) out.splice(0, 1000);
      };
      proc.stdout!.on('data', collect);
      proc.stderr!.on('data', collect);
      const log = () => out.join('');
      const api = `http://127.0.0.1:${port}`;

      // the simulated fleet is up: the two minutes count from here
      await waitFor(() => /sim: connected vehicles=200/.test(log()), {
        timeoutMs: 180_000,
        intervalMs: 250,
        what: 'the demo fleet connected',
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n--- npm start said:\n${log().slice(-3000)}`);
      });
      const started = Date.now();
      const consoleUrl = /Fleetdesk console: (http:\/\/\S+)/.exec(log())?.[1];
      expect(consoleUrl, log().slice(-2000)).toBeDefined();

      const token = async (email: string, password: string) => {
        const res = await fetch(`${api}/ops/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        expect(res.status).toBe(200);
        return { authorization: `Bearer ${((await res.json()) as { accessToken: string }).accessToken}` };
      };
      await new Promise((r) => setTimeout(r, Math.max(0, started + DEMO_MS - Date.now())));

      const support = await token('support@fleetdesk.local', 'demo-support-pass');
      const rentals = (await (await fetch(`${api}/ops/v1/rentals?status=active&limit=500`, { headers: support })).json()) as {
        rentals: unknown[];
      };
      const alerts = (await (await fetch(`${api}/ops/v1/alerts?status=open&limit=500`, { headers: support })).json()) as {
        alerts: Array<{ kind: string }>;
      };
      const unrentedMovement = alerts.alerts.filter((a) => a.kind === 'movement_without_rental').length;
      console.log(`demo after 2 min: ${rentals.rentals.length} active rentals, ${unrentedMovement} open movement_without_rental alerts`);
      expect(rentals.rentals.length).toBeGreaterThan(0);
      expect(unrentedMovement).toBeLessThanOrEqual(5);

      // the desk (signed in as the demo dispatcher by the console) shows them on the map's legend
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(consoleUrl!);
        await page.getByTestId('map-legend').waitFor({ timeout: 60_000 });
        const inRental = page.getByTestId('legend-in_rental').locator('.legend-count');
        await waitFor(async () => Number((await inRental.innerText()).replace(/\D/g, '')) > 0, {
          timeoutMs: 60_000,
          intervalMs: 500,
          what: 'rented cars on the desk',
        });
        mkdirSync(shots, { recursive: true });
        await page.screenshot({ path: join(shots, 'e2e-demo-start-2min.png') });
      } finally {
        await browser.close();
      }

      // Ctrl-C: everything stops, the script exits 0
      const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
      process.kill(-proc.pid!, 'SIGINT');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
      expect(code, log().slice(-2000)).toBe(0);
    },
  );
});
