/**
 * The desk fits the operator's role (the role table, src/shared/permissions.ts), end to end in real Chromium at
 * 1280×800: the server (PGlite on a temp dir, seeded demo staff and cars), the browser console and the built
 * renderer, signed in through the desk's own sign-in screen.
 * - support opens on Customers and sees no dispatcher controls: no maintenance toggle, command form or task
 *   controls on the vehicle card, no alert or task actions; the map can be hidden;
 * - a dispatcher's immobilize asks for confirmation naming the car and what will happen; going back sends
 *   nothing;
 * - a change the server refuses is shown where it was made, with the reason, and undone: here the dispatcher's
 *   desk clock runs 9 h ahead (a wrong time zone), so its command request expires later than the server allows
 *   (`expires_too_late`); the vehicle card says so, nothing is issued, and Conflicts stays empty.
 * Screenshots go to test-results/ (e2e-roles-*.png).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDeskServer } from '../support/desk.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { startBrowserConsole, type BrowserConsole } from '../../src/main/browser-host/host.js';
import { silentLogger } from '../../src/main/log.js';
import { launchChromium } from '../support/chromium.js';
import { openVehicleCard, signInOnDesk, waitAttr } from './page-wait.js';

const shots = join(process.cwd(), 'test-results');
const SUPPORT = DEMO_STAFF.find((s) => s.role === 'support')!;
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const VIEWPORT = { width: 1280, height: 800 };

describe('the desk fits the role in Chromium at 1280×800', () => {
  let dataDir: string;
  let server: ServerHandle;
  let desk: BrowserConsole;
  let browser: Browser;
  let vehicleId: string;
  let plate: string;
  const pageErrors: string[] = [];

  async function signIn(context: BrowserContext, who: { email: string; password: string }): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    if (process.env['E2E_DEBUG']) page.on('console', (m) => console.log(`[page] ${m.type()} ${m.text().slice(0, 300)}`));
    await signInOnDesk(page, desk.url, who);
    return page;
  }

  const openCard = (page: Page) => openVehicleCard(page, plate);

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ({ server, dataDir } = await startDeskServer('roles', {
      seedVehicles: 6,
    }));
    const first = (await server.db.query<{ id: string; plate: string }>('select id, plate from vehicles order by id limit 1')).rows[0]!;
    vehicleId = first.id;
    plate = first.plate;
    // something to act on: an open alert and an open task on the car
    server.events.emit('vehicle.event', {
      vehicleId,
      event: { v: 1, seq: 1, ts: Date.now(), type: 'crash_detected', data: { peakG: 5 } },
      receivedAt: Date.now(),
    });
    await server.flushAlerts();
    const res = await fetch(`${server.httpUrl}/ops/v1/tasks`, {
      method: 'POST',
      headers: { ...(await staffHeaders(server, 'dispatcher', 'e2e-roles-dispatcher')), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'e2e-roles-task', vehicleId, kind: 'cleaning', note: 'seats dirty' }),
    });
    expect(res.status).toBe(201);
    desk = await startBrowserConsole({
      config: { mqttUrl: server.mqttUrl, serverUrl: server.httpUrl, tileUrl: '', logger: silentLogger() },
      port: 0,
      rendererDir: 'out/renderer',
      logger: silentLogger(),
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await desk?.stop();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('support opens on Customers, sees no dispatcher controls, and can hide the map', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await signIn(context, SUPPORT);
    expect(await page.getByTestId('tab-customers').getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('customers-panel').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(shots, 'e2e-roles-support-1-customers.png') });

    // the map collapses and comes back
    await page.getByTestId('toggle-map').click();
    expect(await page.locator('.map-pane').isVisible()).toBe(false);
    await page.screenshot({ path: join(shots, 'e2e-roles-support-2-map-hidden.png') });
    await page.getByTestId('toggle-map').click();
    await page.locator('.map-pane').waitFor({ state: 'visible' });

    // the vehicle card: the service state is shown, none of the dispatcher's controls
    await openCard(page);
    expect(await page.getByTestId('service-state').innerText()).toBe('available');
    for (const control of ['toggle-service', 'command-form', 'create-task'])
      expect(await page.getByTestId(control).count(), control).toBe(0);
    expect(await page.getByTestId('note-form').count()).toBe(1); // notes about cars are everyone's
    await page.screenshot({ path: join(shots, 'e2e-roles-support-3-vehicle-card.png') });

    // alerts and tasks are listed, read-only
    await page.getByTestId('tab-alerts').click();
    await page.locator('[data-testid="alerts-panel"] tr[data-alert-id]').first().waitFor({ timeout: 20_000 });
    expect(
      await page
        .getByTestId('alerts-panel')
        .locator('button', { hasText: /Acknowledge|Assign to me|Resolve|\+ Task/ })
        .count(),
    ).toBe(0);
    await page.screenshot({ path: join(shots, 'e2e-roles-support-4-alerts.png') });
    await page.getByTestId('tab-tasks').click();
    await page.locator('[data-testid="tasks-panel"] tr[data-task-id="e2e-roles-task"]').waitFor({ timeout: 20_000 });
    expect(
      await page
        .getByTestId('tasks-panel')
        .locator('button', { hasText: /Assign to me|Complete/ })
        .count(),
    ).toBe(0);

    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-screen').waitFor({ timeout: 20_000 });
    await context.close();
  });

  it('a dispatcher’s immobilize asks for confirmation naming the car; a refused request is shown in place with the reason', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    // this desk's clock runs 9 h ahead (a wrong time zone): its requests expire later than the server allows
    await context.clock.install({ time: Date.now() + 9 * 3_600_000 });
    const page = await signIn(context, DISPATCHER);
    expect(await page.getByTestId('tab-vehicles').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('tab-customers').count()).toBe(0);
    await openCard(page);
    for (const control of ['toggle-service', 'command-form', 'create-task'])
      expect(await page.getByTestId(control).count(), control).toBe(1);

    const form = page.getByTestId('command-form');
    await form.getByLabel('Command', { exact: true }).selectOption('immobilize');
    await form.getByLabel('Command reason').fill('reported stolen');
    await form.getByRole('button', { name: 'Send' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor({ timeout: 10_000 });
    expect(await dialog.getAttribute('role')).toBe('alertdialog');
    const text = await dialog.innerText();
    expect(text).toContain(`Immobilize ${plate}?`);
    expect(text).toMatch(/nobody can start it until a release command is sent/);
    expect(text).toContain('reported stolen');
    await page.screenshot({ path: join(shots, 'e2e-roles-dispatcher-1-confirm-immobilize.png') });

    // going back (Escape) sends nothing
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: 5_000 });
    expect((await server.db.query(`select 1 from sync_requests`)).rows).toEqual([]);

    // confirmed: the request goes out, the server refuses it (expires too late), the card says so
    await form.getByRole('button', { name: 'Send' }).click();
    await dialog.getByTestId('confirm-accept').click();
    const refusal = page.locator('[data-testid="vehicle-ops"] [data-testid="refusal"]');
    await refusal.first().waitFor({ timeout: 30_000 });
    expect(await refusal.first().getAttribute('data-code')).toBe('expires_too_late');
    expect(await refusal.first().innerText()).toMatch(/Command not done — the server refused it: .*8 h.*clock.*Your change was undone/s);
    expect((await server.db.query(`select 1 from sync_requests`)).rows).toEqual([]);
    expect((await server.db.query(`select 1 from commands where vehicle_id = $1`, [vehicleId])).rows).toEqual([]);
    // not a conflict: the Conflicts tab has no badge and lists nothing
    expect(await page.getByTestId('conflicts-badge').count()).toBe(0);
    await page.getByTestId('vehicle-ops').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'e2e-roles-dispatcher-2-refused-in-place.png') });
    await page.getByTestId('tab-conflicts').click();
    await waitAttr(page, 'conflicts-panel', 'data-count', '0');

    // dismissed, it is gone
    await refusal.first().getByRole('button', { name: 'Dismiss' }).click();
    await refusal.first().waitFor({ state: 'detached', timeout: 10_000 });
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
