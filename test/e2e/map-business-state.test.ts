/**
 * The map shows the business state (issue 10 §2, §5), end to end in real Chromium at 1280×800: the server (PGlite on
 * a temp dir, embedded Aedes with device credentials), the simulator (every car parked, answering commands) and the
 * browser console signed in as the demo dispatcher. Cars are put into each state through the real paths:
 * - reserved: a customer (verified licence, sandbox card) reserves through the customer API;
 * - in rental: another customer reserves and starts the rental (payment hold; the simulated car acknowledges the unlock);
 * - maintenance: the dispatcher clicks "To maintenance" on the car's card (a sync push);
 * - alarm: a crash event of the car's device (as ingestion hands it to the alerts engine) raises a critical alert.
 * Then: each drawn in its colour (the canvas pixel under the car) and counted, the grid and the card agree, the search
 * filters the map, the legend hides a state, a CSV export holds exactly the filtered rows, a zone changed on the
 * server redraws without reload, and with the tile server unreachable the map says so. Screenshots go to test-results/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { signUpCustomer } from '../../server/src/testing/auth.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { startFleetDesk, type FleetDesk } from '../support/fleet-desk.js';

const CARS = 12;
const shots = join(process.cwd(), 'test-results');
/** Nothing listens on port 1: every tile request fails at once. */
const UNREACHABLE_TILES = 'http://127.0.0.1:1/{z}/{x}/{y}.png';
/** The canvas colours of features/fleet-map/colours.ts, as RGB. */
const RGB = {
  available: [0x22, 0xc5, 0x5e],
  reserved: [0xf5, 0x9e, 0x0b],
  in_rental: [0x3b, 0x82, 0xf6],
  maintenance: [0xa8, 0x55, 0xf7],
  alarm: [0xef, 0x44, 0x44],
} as const;
type Shown = keyof typeof RGB;

const plateOf = (id: string): string => demoVehicle(Number(id.slice(4)) - 1).plate;

async function attr(page: Page, testId: string, name: string): Promise<string | null> {
  return page.getByTestId(testId).first().getAttribute(name);
}
const count = async (page: Page, state: string) => Number(await attr(page, `count-${state}`, 'data-value'));
const mapAttr = async (page: Page, name: string) => Number(await page.getByTestId('fleet-map').getAttribute(name));
/** cars the legend and the search leave on the map (on screen or not) */
const shown = (page: Page) => mapAttr(page, 'data-shown-vehicles');

describe('the map shows the business state, in Chromium at 1280×800', () => {
  let stack: FleetDesk;
  let server: ServerHandle;
  let page: Page;
  let car: Record<Shown, string>;

  async function api<T>(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async function zoneWrite(sql: string, params: unknown[]): Promise<void> {
    await server.db.transaction(async (tx) => {
      await tx.query(sql, params);
    });
  }

  /** Search the car by plate and select it (Enter): the map flies to it, the card opens. */
  async function selectCar(id: string): Promise<void> {
    await page.getByTestId('vehicle-search').fill(plateOf(id));
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) === 1);
    await page.getByTestId('vehicle-search').press('Enter');
    await expect.poll(() => attr(page, 'selected-vehicle', 'data-vehicle-id'), { timeout: 10_000 }).toBe(id);
  }

  /** The RGB of the canvas pixel where the selected car was last drawn (its state colour fills the dot). */
  async function selectedPixel(): Promise<number[] | null> {
    return page.evaluate(() => {
      const map = document.querySelector('[data-testid="fleet-map"]');
      const xy = map?.getAttribute('data-selected-xy');
      const canvas = map?.querySelector<HTMLCanvasElement>('canvas.fleet-canvas');
      if (!xy || !canvas) return null;
      const [x, y] = xy.split(',').map(Number) as [number, number];
      // the canvas reaches beyond the map's edges (drawn with a margin): map px → canvas px
      const box = canvas.getBoundingClientRect();
      const mapBox = map!.getBoundingClientRect();
      const dpr = canvas.width / box.width;
      const cx = x - (box.left - mapBox.left);
      const cy = y - (box.top - mapBox.top);
      const px = canvas.getContext('2d')!.getImageData(Math.round(cx * dpr), Math.round(cy * dpr), 1, 1).data;
      return [px[0]!, px[1]!, px[2]!];
    });
  }

  /** Zoom out (the map's own control) until every car is in view. */
  async function zoomOutUntilAllOnScreen(): Promise<void> {
    for (let i = 0; i < 8 && (await mapAttr(page, 'data-drawn-vehicles')) < (await shown(page)); i++) {
      await page.locator('.leaflet-control-zoom-out').click();
      await expect.poll(() => page.locator('.leaflet-zoom-anim').count()).toBe(0);
    }
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    // every car parked: no unrented movement, so no alarm the test did not cause
    stack = await startFleetDesk({
      seedVehicles: CARS,
      simVehicles: CARS,
      movingShare: 0,
      seed: 5,
      viewport: { width: 1280, height: 800 },
      tileUrl: UNREACHABLE_TILES,
    });
    ({ server, page } = stack);
    const [reserved, inRental, maintenance, alarm, available] = stack.sim.vehicleIds as [string, string, string, string, string];
    car = { reserved, in_rental: inRental, maintenance, alarm, available };
    await page.evaluate(() => ((window as unknown as { e2eNoReload: boolean }).e2eNoReload = true));
    // every car live and available before the test changes them
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="count-available"]')?.getAttribute('data-value') === String(n),
      CARS,
      {
        timeout: 60_000,
      },
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('puts a car into each state through the real paths; each is counted', async () => {
    // reserved: a customer holds the car through the customer API
    const anna = await signUpCustomer(server, { name: 'Anna Map', verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
    expect((await api('POST', '/v1/reservations', anna.headers, { vehicleId: car.reserved })).status).toBe(201);
    // in rental: reserve, then start (payment hold; the simulated car acknowledges the unlock)
    const ben = await signUpCustomer(server, { name: 'Ben Map', verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });
    const held = await api<{ reservationId: string }>('POST', '/v1/reservations', ben.headers, { vehicleId: car.in_rental });
    expect(held.status).toBe(201);
    const started = await api<{ status: string }>(
      'POST',
      '/v1/rentals',
      { ...ben.headers, 'idempotency-key': `e2e-map-${Date.now()}` },
      { reservationId: held.body.reservationId },
    );
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    // alarm: a crash event from the car's device, as ingestion hands it on (the simulator has no crash on demand
    // for one parked car, and a second MQTT connection as that device would take over the simulator's session)
    server.events.emit('vehicle.event', {
      vehicleId: car.alarm,
      event: { v: 1, seq: 9_000_000, ts: Date.now(), type: 'crash_detected', data: { peakG: 6.1 } },
      receivedAt: Date.now(),
    });
    await server.flushAlerts();
    // maintenance: the dispatcher's own click on the car's card
    await selectCar(car.maintenance);
    await page.getByTestId('toggle-service').click();

    for (const state of ['reserved', 'in_rental', 'maintenance', 'alarm'] as const)
      await expect.poll(() => count(page, state), { timeout: 30_000, message: `count-${state}` }).toBe(1);
    expect(await count(page, 'available')).toBe(CARS - 4);
    expect(await count(page, 'total')).toBe(CARS);
    // every collection the states come from has arrived: the legend no longer says they are loading
    await page.getByTestId('legend-loading').waitFor({ state: 'detached', timeout: 30_000 });
    // the legend counts the same
    for (const state of ['available', 'reserved', 'in_rental', 'maintenance', 'alarm'] as const)
      expect(Number(await attr(page, `legend-${state}`, 'data-count'))).toBe(await count(page, state));
  });

  it('draws each car in its colour; the grid, the card and the map agree; the search filters the map', async () => {
    for (const state of Object.keys(RGB) as Shown[]) {
      const id = car[state];
      await selectCar(id);
      // the search leaves one car on the map as in the grid
      await expect.poll(() => shown(page), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => attr(page, 'selected-vehicle-state', 'data-state')).toBe(state);
      const cell = (await page.locator(`[row-id="${id}"] [col-id="state"]`).first().innerText()).toLowerCase();
      expect(cell).toContain(state === 'in_rental' ? 'in rental' : state);
      await expect.poll(selectedPixel, { timeout: 10_000, message: `${state} car's colour on the canvas` }).toEqual([...RGB[state]]);
      if (state !== 'available') await page.screenshot({ path: join(shots, `e2e-map-1-${state}.png`) });
    }
  });

  it('the card says what holds the car and what is wrong with it', async () => {
    await selectCar(car.alarm);
    await expect.poll(() => page.getByTestId('selected-vehicle-situation').innerText()).toContain('Crash');
    await selectCar(car.in_rental);
    await expect.poll(() => page.getByTestId('selected-vehicle-situation').innerText()).toContain('In rental since');
    await selectCar(car.reserved);
    await expect.poll(() => page.getByTestId('selected-vehicle-situation').innerText()).toContain('Reserved');
  });

  it('the legend hides and shows a state on the map', async () => {
    await page.getByTestId('vehicle-search').fill('');
    await page.getByRole('button', { name: 'Close' }).click();
    await zoomOutUntilAllOnScreen();
    await expect.poll(() => shown(page), { timeout: 10_000 }).toBe(CARS);
    await page.getByTestId('legend-available').click();
    expect(await attr(page, 'legend-available', 'aria-pressed')).toBe('false');
    await expect.poll(() => shown(page), { timeout: 10_000 }).toBe(4);
    await expect.poll(() => mapAttr(page, 'data-drawn-vehicles'), { timeout: 10_000 }).toBe(4);
    await page.screenshot({ path: join(shots, 'e2e-map-2-legend-hides-available.png') });
    await page.getByTestId('legend-available').click();
    await expect.poll(() => shown(page), { timeout: 10_000 }).toBe(CARS);
  });

  it('a CSV export holds exactly the rows the column filter leaves', async () => {
    await page.locator('.ag-header-cell[col-id="state"] .ag-header-cell-filter-button').click();
    await page.getByTestId('state-filter-available').uncheck();
    await page.getByTestId('state-filter-offline').uncheck();
    await expect.poll(() => attr(page, 'vehicle-grid', 'data-row-count'), { timeout: 10_000 }).toBe('4');
    await page.screenshot({ path: join(shots, 'e2e-map-3-grid-state-filter.png') });
    await page.keyboard.press('Escape');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^fleetdesk-vehicles-.*\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toContain('"Plate"');
    expect(lines[0]).toContain('"State"');
    const rows = lines.slice(1);
    expect(rows).toHaveLength(4);
    const expected = [car.reserved, car.in_rental, car.maintenance, car.alarm].map(plateOf).sort();
    expect(rows.map((r) => JSON.parse(r.split(',')[0]!) as string).sort()).toEqual(expected);
    expect(rows.join('\n')).not.toContain('Available');
  });

  it('a zone changed on the server redraws without a reload', async () => {
    const ring = (d: number) => [
      [13.39, 52.515],
      [13.39 + d, 52.515],
      [13.39 + d, 52.515 + d / 2],
      [13.39, 52.515 + d / 2],
      [13.39, 52.515],
    ];
    await zoneWrite(
      `insert into zones (id, name, kind, polygon, server_seq) values ('e2e-no-parking', 'Station forecourt', 'no_parking', $1::jsonb, fleetdesk_next_seq())`,
      [JSON.stringify(ring(0.01))],
    );
    const path = page.locator('path[data-zone-id="e2e-no-parking"]');
    await expect.poll(() => path.count(), { timeout: 15_000 }).toBe(1);
    const before = await path.getAttribute('d');
    await page.screenshot({ path: join(shots, 'e2e-map-4-zone-added.png') });
    await zoneWrite(
      `update zones set polygon = $1::jsonb, server_seq = fleetdesk_next_seq(), updated_at = now() where id = 'e2e-no-parking'`,
      [JSON.stringify(ring(0.03))],
    );
    await expect.poll(() => path.getAttribute('d'), { timeout: 15_000 }).not.toBe(before);
    await page.screenshot({ path: join(shots, 'e2e-map-5-zone-changed.png') });
    await zoneWrite(`delete from zones where id = 'e2e-no-parking'`, []);
    await expect.poll(() => path.count(), { timeout: 15_000 }).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { e2eNoReload?: boolean }).e2eNoReload)).toBe(true);
  });

  it('with the tile server unreachable the map itself says so', async () => {
    await expect.poll(() => attr(page, 'map-frame', 'data-tile-status'), { timeout: 15_000 }).toBe('unreachable');
    const notice = page.getByTestId('tile-notice');
    expect(await notice.isVisible()).toBe(true);
    expect(await notice.innerText()).toContain('Map tiles unavailable');
    expect(await notice.innerText()).toContain('127.0.0.1:1');
    await page.screenshot({ path: join(shots, 'e2e-map-6-no-tiles.png') });
  });

  it('zoomed out, a cluster holding the alarm car is marked', async () => {
    const zoomOut = page.locator('.leaflet-control-zoom-out');
    // out until the alarm car has merged into a cluster
    for (let i = 0; i < 8 && (await mapAttr(page, 'data-alarm-clusters')) === 0; i++) {
      await zoomOut.click();
      await expect.poll(() => page.locator('.leaflet-zoom-anim').count()).toBe(0);
    }
    await page.mouse.move(5, 400);
    await expect.poll(() => mapAttr(page, 'data-alarm-clusters'), { timeout: 10_000 }).toBe(1);
    expect(await mapAttr(page, 'data-marks')).toBeLessThan(CARS);
    expect(await mapAttr(page, 'data-drawn-vehicles')).toBe(CARS);
    await page.screenshot({ path: join(shots, 'e2e-map-7-alarm-cluster.png') });
  });

  it('raised no uncaught errors in the page', () => {
    expect(stack.pageErrors).toEqual([]);
  });
});
