/**
 * The desk's forms, commands, words and map tiles, end to end in real Chromium at 1280×800: a server (PGlite on a
 * temp dir, embedded broker, seeded demo staff), a car reporting over MQTT, a tile server on loopback (the map's
 * tile source), and the browser console serving the built renderer.
 * - a validation message appears right under its field, and nothing is queued;
 * - a command that cannot work now (lock with the ignition on) says why before sending, and is possible once
 *   the car's live state allows it;
 * - the maintenance pill takes the maintenance state's colour;
 * - the tiles seen once are served from Cache Storage when the tile server is gone; a desk whose tile server
 *   cannot be reached (and that has none kept) says so on the map.
 * Screenshots of every screen this touches, as dispatcher, support and admin, go to test-results/ (e2e-polish-*.png).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { signUpCustomer } from '../../server/src/testing/auth.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';
import { openDesk, type DeskPage } from '../support/desk.js';
import { startTileServer } from '../support/tile-server.js';
import { openVehicleCard as openCard, signInOnDesk as signIn, waitAttr } from './page-wait.js';

const shots = join(process.cwd(), 'test-results');
const VIEWPORT = { width: 1280, height: 800 };
const staff = (role: 'dispatcher' | 'support' | 'admin') => DEMO_STAFF.find((s) => s.role === role)!;
/** The field's message sits right under its input, aligned with it. */
async function expectUnder(page: Page, inputTestId: string): Promise<string> {
  const input = page.getByTestId(inputTestId);
  const field = input.locator('xpath=..');
  const error = field.getByTestId('field-error');
  await error.waitFor({ timeout: 5_000 });
  const [i, e] = [await input.boundingBox(), await error.boundingBox()];
  expect(i && e, inputTestId).toBeTruthy();
  expect(e!.y, `${inputTestId}: the message is below its input`).toBeGreaterThanOrEqual(i!.y + i!.height - 1);
  expect(e!.y - (i!.y + i!.height), `${inputTestId}: right under it`).toBeLessThan(8);
  expect(Math.abs(e!.x - i!.x), `${inputTestId}: aligned with it`).toBeLessThan(2);
  expect(await input.getAttribute('aria-invalid')).toBe('true');
  return error.innerText();
}

/** A failed wait's rethrow that first prints the page's console warnings and errors (why a desk did not get there). */
const withConsoleOf =
  (desk: DeskPage) =>
  (err: unknown): never => {
    console.log(`the page's console:\n${desk.consoleLines.join('\n')}`);
    throw err;
  };

describe('desk polish in Chromium at 1280×800', () => {
  let dataDir: string;
  let server: ServerHandle;
  let tiles: Awaited<ReturnType<typeof startTileServer>>;
  let deskPage: DeskPage;
  let page: Page;
  let car: SimulatedCar;
  let plate: string;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-polish-'));
    server = await startServer({ ...QUIET, databaseUrl: undefined, dataDir, seedVehicles: 4 });
    const first = (await server.db.query<{ id: string; plate: string }>('select id, plate from vehicles order by id limit 1')).rows[0]!;
    plate = first.plate;
    // the car answers commands (none is sent here: the desk says why first)
    car = new SimulatedCar(
      first.id,
      await connectDevice(server.mqttUrl, first.id),
      await connectCommandDevice(server.mqttUrl, first.id, { behaviour: 'succeed' }),
    );
    // the car is being driven: ignition on, unlocked, doors closed
    await car.report({ ignition: true, locked: false, doorsClosed: true, speedKph: 0 });
    await signUpCustomer(server, { name: 'Mara Quintero' });
    tiles = await startTileServer();
    deskPage = await openDesk(server, { viewport: VIEWPORT, config: { tileUrl: tiles.url } });
    page = deskPage.page;
    await signIn(page, deskPage.desk.url, staff('dispatcher'));
  });

  afterAll(async () => {
    await deskPage?.close();
    await tiles?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows each validation message right under its field and queues nothing', async () => {
    await openCard(page, plate);
    const form = page.getByTestId('command-form');
    await form.getByLabel('Command', { exact: true }).selectOption('locate');
    await form.getByRole('button', { name: 'Send' }).click();
    expect(await expectUnder(page, 'command-reason')).toMatch(/give a reason/i);
    await page.getByTestId('note-form').getByRole('button', { name: 'Add' }).click();
    expect(await expectUnder(page, 'vehicle-note-input')).toMatch(/write the note first/i);
    await page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-1-validation.png') });
    expect(await page.getByTestId('command-requests').count()).toBe(0);
    expect(await page.getByTestId('vehicle-notes').count()).toBe(0);
    // typing clears the message
    await page.getByTestId('command-reason').fill('where is it');
    expect(await form.getByTestId('field-error').count()).toBe(0);
    expect(deskPage.pageErrors).toEqual([]);
  });

  it('says why a command cannot work now before sending, and allows it once the car allows it', async () => {
    const form = page.getByTestId('command-form');
    await form.getByLabel('Command', { exact: true }).selectOption('lock');
    const why = page.getByTestId('command-readiness');
    await why.waitFor({ timeout: 10_000 });
    expect(await why.getAttribute('data-level')).toBe('blocked');
    expect(await why.innerText()).toBe(`${plate} cannot be locked now: the ignition is on.`);
    expect(await page.getByTestId('command-send').isDisabled()).toBe(true);
    await page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-2-command-refused-before-sending.png') });
    // the driver switches off: the lock can go
    await car.report({ ignition: false });
    await page.waitForFunction(() => !document.querySelector('[data-testid="command-readiness"]'), undefined, { timeout: 15_000 });
    expect(await page.getByTestId('command-send').isEnabled()).toBe(true);
    // a door opens: the reason changes with it
    await car.report({ doorsClosed: false });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="command-readiness"]')?.textContent?.includes('a door is open') ?? false,
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.getByTestId('command-requests').count()).toBe(0);
  });

  it('colours the maintenance pill as the maintenance state', async () => {
    await page.getByTestId('toggle-service').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="service-state"]')?.textContent === 'maintenance', undefined, {
      timeout: 15_000,
    });
    await waitAttr(page, 'selected-vehicle-state', 'data-state', 'maintenance', 15_000);
    const bg = (testId: string) => page.getByTestId(testId).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await bg('service-state')).toBe('rgb(168, 85, 247)');
    expect(await bg('selected-vehicle-state')).toBe(await bg('service-state'));
    // the map legend's dot too (the map's canvas reads the same BUSINESS_STATE_COLORS)
    expect(
      await page.locator('[data-testid="legend-maintenance"] .legend-dot').evaluate((el) => getComputedStyle(el).backgroundColor),
    ).toBe('rgb(168, 85, 247)');
    await page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-3-maintenance.png') });
    await page.getByTestId('toggle-service').click(); // back to available for the next tests
    await page.waitForFunction(() => document.querySelector('[data-testid="service-state"]')?.textContent === 'available', undefined, {
      timeout: 15_000,
    });
  });

  it('serves the tiles seen once from Cache Storage when the tile server is gone', async () => {
    await waitAttr(page, 'map-frame', 'data-tile-status', 'ok', 30_000).catch(withConsoleOf(deskPage));
    await page.waitForFunction(() => document.querySelectorAll('.leaflet-tile-loaded').length >= 4, undefined, { timeout: 30_000 });
    expect(tiles.requests()).toBeGreaterThan(0);
    await page.getByTestId('open-timeline').click();
    await page.getByTestId('vehicle-timeline').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-4-timeline-over-map.png') });
    await page.getByTestId('open-timeline').click();
    // the view a desk opens on, seen once with the tile server up (the card's zoom-in above saw other tiles)
    await page.evaluate(() => caches.delete('fleetdesk-tiles-v1'));
    await page.reload();
    await waitAttr(page, 'map-frame', 'data-tile-status', 'ok', 30_000);
    // tiles go into the cache in the background: wait until their number holds still for a second
    await page.waitForFunction(
      async () => {
        const w = window as unknown as { keptTiles?: number };
        const kept = (await (await caches.open('fleetdesk-tiles-v1')).keys()).length;
        const still = kept >= 4 && kept === w.keptTiles;
        w.keptTiles = kept;
        return still;
      },
      undefined,
      { timeout: 30_000, polling: 1_000 },
    );
    await tiles.close();
    await page.reload();
    await page.getByTestId('map-frame').waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll<HTMLImageElement>('img.leaflet-tile-loaded')).filter((i) => i.src.startsWith('blob:'))
          .length >= 4,
      undefined,
      { timeout: 30_000 },
    );
    const status = await page.getByTestId('map-frame').getAttribute('data-tile-status');
    expect(['ok', 'cached']).toContain(status);
    await page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-5-offline-cached-tiles.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });

  it('says on the map when no tiles can be had', async () => {
    const dead = await openDesk(server, {
      viewport: VIEWPORT,
      // a tile server that is not there (the closed one), and a fresh browser: nothing kept
      config: { tileUrl: tiles.url, staffCredentials: { email: staff('dispatcher').email, password: staff('dispatcher').password } },
    });
    try {
      await waitAttr(dead.page, 'map-frame', 'data-tile-status', 'unreachable', 60_000).catch(withConsoleOf(dead));
      const notice = dead.page.getByTestId('tile-notice');
      expect(await notice.innerText()).toMatch(/Map tiles unavailable[\s\S]*cannot be reached/);
      await dead.page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-6-no-tiles.png') });
      // the Health panel and the status bar say what the map says
      await dead.page.getByTestId('tab-health').click();
      const tilesRow = dead.page.locator('[data-testid="health-desk"] tr', { hasText: 'Map tiles' });
      await expect.poll(() => tilesRow.getAttribute('data-state'), { timeout: 10_000 }).toBe('down');
      expect(await tilesRow.innerText()).toMatch(/cannot be reached/);
      expect(await dead.page.locator('.status-bar').innerText()).toContain('base map unavailable');
      await dead.page.screenshot({ path: join(shots, 'e2e-polish-dispatcher-7-no-tiles-health.png') });
    } finally {
      await dead.close();
    }
  });

  for (const role of ['support', 'admin'] as const) {
    it(`${role}: the screens this touches, with their validation messages (screenshots)`, async () => {
      const roleTiles = await startTileServer();
      const who = staff(role);
      const desk = await openDesk(server, {
        viewport: VIEWPORT,
        config: { tileUrl: roleTiles.url, staffCredentials: { email: who.email, password: who.password } },
      });
      const p = desk.page;
      try {
        await p.getByTestId('operator-chip').waitFor({ timeout: 30_000 });
        await waitAttr(p, 'sync-indicator', 'data-status', 'synced');
        await p.getByTestId('tab-customers').click();
        await p.getByTestId('customers-panel').waitFor({ timeout: 20_000 });
        await p.getByTestId('customer-search').fill('Mara');
        await p.locator('[data-testid="customers-panel"] .customer-row').first().click();
        await p.getByTestId('customer-detail').waitFor({ timeout: 20_000 });
        await p.getByTestId('block-submit').click();
        expect(await expectUnder(p, 'block-reason')).toMatch(/give a reason/i);
        await p.getByTestId('customer-note-form').getByRole('button', { name: 'Add' }).click();
        expect(await expectUnder(p, 'customer-note-input')).toMatch(/write the note first/i);
        await p.screenshot({ path: join(shots, `e2e-polish-${role}-1-customer-validation.png`) });
        await openCard(p, plate);
        await p.screenshot({ path: join(shots, `e2e-polish-${role}-2-vehicle-card.png`) });
        await p.getByTestId('open-timeline').click();
        await p.locator('[data-testid="timeline-entries"] li.timeline-entry').first().waitFor({ timeout: 20_000 });
        await p.screenshot({ path: join(shots, `e2e-polish-${role}-3-timeline.png`) });
        // the back office is not covered by the operations view's timeline; it is there again on the way back
        await p.getByTestId('view-back-office').click();
        await p.getByTestId('vehicle-timeline').waitFor({ state: 'hidden', timeout: 5_000 });
        await p.getByTestId('view-operations').click();
        await p.getByTestId('vehicle-timeline').waitFor({ state: 'visible', timeout: 5_000 });
        await p.getByTestId('open-timeline').click();
        await p.getByTestId('tab-tasks').click();
        await p.screenshot({ path: join(shots, `e2e-polish-${role}-4-tasks.png`) });
        await p.getByTestId('tab-vehicles').click();
        await p.getByTestId('vehicle-search').fill('');
        await p.screenshot({ path: join(shots, `e2e-polish-${role}-5-grid.png`) });
        expect(desk.pageErrors).toEqual([]);
      } finally {
        await desk.close();
        await roleTiles.close();
      }
    });
  }
});
