/**
 * Trail replay at the desk in real Chromium (1280×800): a server (PGlite on a temp dir, embedded broker), a simulated
 * car drives a short trip over MQTT into the telemetry history; a dispatcher selects it, replays the last hour: the
 * map draws a path whose first and last points are the history's first and last samples, the marker follows as it
 * plays, scrubbing moves it, and the timeline marks the entry of the replayed moment. Screenshots in
 * test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice, waitFor } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const CENTER = DEFAULT_SERVICE_AREA.center;

describe('trail replay at the desk in Chromium', () => {
  let dataDir: string;
  let server: ServerHandle;
  let deskPage: DeskPage;
  let page: Page;
  let car: SimulatedCar;
  let plate: string;
  let history: Array<{ lat: number; lon: number }>;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-replay-'));
    server = await startServer({ ...QUIET, databaseUrl: undefined, dataDir, seedVehicles: 2 });
    const vehicle = (await server.db.query<{ id: string; plate: string }>('select id, plate from vehicles order by id limit 1')).rows[0]!;
    plate = vehicle.plate;
    car = new SimulatedCar(
      vehicle.id,
      await connectDevice(server.mqttUrl, vehicle.id),
      await connectCommandDevice(server.mqttUrl, vehicle.id, { behaviour: 'succeed' }),
    );
    // a trip: parked, ignition on, twelve samples driving north-east around a corner, ignition off
    await car.report({ lat: CENTER.lat - 0.004, lon: CENTER.lon - 0.006 });
    await car.report({ ignition: true, locked: false });
    for (let i = 1; i <= 12; i++) {
      await new Promise((r) => setTimeout(r, 1_000)); // a sample a second, as a moving car sends them
      await car.report({
        speedKph: 40,
        lat: CENTER.lat - 0.004 + (i <= 6 ? 0 : (i - 6) * 0.0008),
        lon: CENTER.lon - 0.006 + Math.min(i, 6) * 0.001,
        odometerKm: 1000 + i * 0.1,
      });
    }
    await car.report({ speedKph: 0, ignition: false });
    const staff = await staffHeaders(server, 'dispatcher', 'e2e-observer');
    await car.settled(server, staff);
    history = (
      await server.db.query<{ lat: number; lon: number }>(
        'select lat, lon from telemetry_history where vehicle_id = $1 order by received_at, seq',
        [vehicle.id],
      )
    ).rows;
    expect(history.length).toBe(15);

    deskPage = await openSignedInDesk(server, DISPATCHER);
    page = deskPage.page;
  }, 120_000);

  afterAll(async () => {
    await deskPage?.close();
    await car?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const at = async () => Number(await page.getByTestId('replay-at').getAttribute('data-at'));
  const ll = (p: { lat: number; lon: number }) => `${p.lat.toFixed(6)},${p.lon.toFixed(6)}`;

  it('draws the trip from its first to its last sample, plays with the marker following, scrubs', async () => {
    await page.getByTestId('vehicle-search').fill(plate);
    await page.getByTestId('vehicle-search').press('Enter');
    await page.getByTestId('selected-vehicle').waitFor({ timeout: 20_000 });
    await page.getByTestId('open-replay').click();
    await page.getByTestId('replay-range').selectOption('hour');
    await page.getByTestId('replay-load').click();
    await waitFor(async () => /15 points of 15 samples/.test(await page.getByTestId('replay-summary').innerText()), {
      timeoutMs: 20_000,
      what: 'the track loaded',
    });
    // one run (no offline gap): the line Leaflet draws starts and ends where the history does
    const paths = page.locator('path.track-path');
    expect(await paths.count()).toBe(1);
    expect(await paths.first().getAttribute('data-first')).toBe(ll(history[0]!));
    expect(await paths.first().getAttribute('data-last')).toBe(ll(history.at(-1)!));
    expect((await paths.first().getAttribute('d'))?.length).toBeGreaterThan(10);
    const marker = page.locator('path.track-car');
    const box0 = await marker.boundingBox();
    await page.screenshot({ path: join(shots, 'e2e-replay-1-loaded.png') });

    // play at ×5 (the 12 s drive in under 3 s): the instant advances and the marker moves along the path
    const start = await at();
    await page.getByTestId('replay-speed').selectOption('5');
    await page.getByTestId('replay-play').click();
    await waitFor(async () => (await at()) > start + 1_000, { timeoutMs: 10_000, what: 'the replay advancing' });
    await waitFor(
      async () => {
        const box = await marker.boundingBox();
        return !!box && !!box0 && Math.hypot(box.x - box0.x, box.y - box0.y) > 5;
      },
      { timeoutMs: 10_000, what: 'the marker following' },
    );
    await page.getByTestId('replay-play').click();
    await page.screenshot({ path: join(shots, 'e2e-replay-2-playing.png') });

    // scrub to the end: the marker sits on the last sample's end marker
    const scrub = page.getByTestId('replay-scrub');
    const max = Number(await scrub.getAttribute('max'));
    await scrub.fill(String(max));
    await waitFor(async () => (await at()) === max, { what: 'scrubbed to the end' });
    await page.getByTestId('open-timeline').click();
    await waitFor(async () => (await page.locator('[data-testid="timeline-entries"] li[data-replayed="true"]').count()) === 1, {
      timeoutMs: 20_000,
      what: 'the timeline entry of the replayed moment',
    });
    expect(await page.locator('[data-testid="timeline-entries"] li[data-replayed="true"]').innerText()).toMatch(/Trip ended/);
    await page.screenshot({ path: join(shots, 'e2e-replay-3-end-timeline.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
