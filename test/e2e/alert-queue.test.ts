/**
 * Alerts that reach people and can be worked off (issue 10 §3), end to end in real Chromium at 1280×800: the server
 * (PGlite, embedded Aedes), the simulator (every car parked) and the browser console signed in as the demo dispatcher.
 * Crashes are real device events: the simulated car publishes `crash_detected` over MQTT (sim.triggerEvent), the
 * server's ingestion and alert engine raise the alert, the replica brings it to the desk.
 *
 * Notifications: the browser context is granted the notifications permission for the console's origin, and the
 * desk shows real Web Notifications. Chromium offers no way to read or click a shown notification from outside the
 * page, so the page's `Notification` is subclassed before the crash: every notification is still the real one
 * (constructed by Chromium, its `show` event awaited), and the test clicks it by dispatching `click` on that object.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { startFleetDesk, type FleetDesk } from '../support/fleet-desk.js';

const CARS = 12;
const shots = join(process.cwd(), 'test-results');
const plateOf = (id: string): string => demoVehicle(Number(id.slice(4)) - 1).plate;

interface SeenNotice {
  title: string;
  body: string;
  shown: boolean;
}

describe('the alert queue and desktop notifications, in Chromium at 1280×800', () => {
  let stack: FleetDesk;
  let server: ServerHandle;
  let page: Page;
  let cars: string[];

  const notices = (): Promise<SeenNotice[]> =>
    page.evaluate(() =>
      (window as unknown as { e2eNotices: Array<{ title: string; body: string; shown: boolean }> }).e2eNotices.map((n) => ({ ...n })),
    );
  const badge = async (): Promise<number> => {
    const el = page.getByTestId('alerts-badge');
    return (await el.count()) === 0 ? 0 : Number(await el.innerText());
  };
  const rows = (selector = '') => page.locator(`[data-testid="alerts-panel"] tr[data-alert-id]${selector}`);
  const crash = async (vehicleId: string): Promise<void> => {
    expect(stack.sim.triggerEvent(vehicleId, 'crash_detected'), `crash published by ${vehicleId}`).toBeDefined();
  };
  const openCrashes = async (): Promise<number> => {
    const { rows: r } = await server.db.query<{ n: number }>(
      `select count(*)::int as n from alerts where kind = 'crash' and status = 'open'`,
    );
    return r[0]!.n;
  };

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    stack = await startFleetDesk({
      seedVehicles: CARS,
      simVehicles: CARS,
      movingShare: 0,
      seed: 7,
      viewport: { width: 1280, height: 800 },
      tileUrl: '',
    });
    ({ server, page } = stack);
    cars = [...stack.sim.vehicleIds];
    await page.context().grantPermissions(['notifications'], { origin: new URL(stack.desk.url).origin });
    await page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="count-available"]')?.getAttribute('data-value')) +
          Number(document.querySelector('[data-testid="count-alarm"]')?.getAttribute('data-value')) >=
        n,
      CARS,
      { timeout: 60_000 },
    );
    // Observe the page's real notifications (see the header): each one constructed, its `show` event recorded.
    await page.evaluate(() => {
      const Real = window.Notification;
      const seen: Array<{ title: string; body: string; shown: boolean; n: Notification }> = [];
      class Observed extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          const entry = { title, body: options?.body ?? '', shown: false, n: this as Notification };
          this.addEventListener('show', () => (entry.shown = true));
          seen.push(entry);
        }
      }
      Object.assign(window, { Notification: Observed, e2eNotices: seen });
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('a simulated crash raises a notification and the badge; clicking the notification selects the car', async () => {
    expect(await page.evaluate(() => Notification.permission)).toBe('granted');
    const before = await badge();
    const car = cars[2]!;
    await crash(car);
    await expect.poll(badge, { timeout: 30_000 }).toBe(before + 1);
    await expect.poll(() => page.title()).toMatch(new RegExp(`^\\(${before + 1}\\) Fleetdesk`));
    await expect.poll(notices, { timeout: 15_000 }).toHaveLength(1);
    const [n] = await notices();
    expect(n).toMatchObject({ title: `Crash — ${plateOf(car)}` });
    expect(n!.body).toContain('Critical alert at');
    // Chromium displayed it (its `show` event), where the platform allows it
    await expect.poll(async () => (await notices())[0]!.shown, { timeout: 10_000 }).toBe(true);
    await page.screenshot({ path: join(shots, 'alerts-1-badge-after-crash.png') });

    await page.evaluate(() =>
      (window as unknown as { e2eNotices: Array<{ n: Notification }> }).e2eNotices[0]!.n.dispatchEvent(new Event('click')),
    );
    await expect.poll(() => page.getByTestId('selected-vehicle').getAttribute('data-vehicle-id'), { timeout: 10_000 }).toBe(car);
  });

  it('a storm makes one summary notification; alerts arriving while the queue is open are announced, not inserted', async () => {
    await page.getByTestId('tab-alerts').click();
    await expect.poll(() => rows().count()).toBeGreaterThan(0);
    const listed = await rows().count();
    const stormCars = cars.slice(3, 9);
    // the pointer rests on the queue, as an operator's would
    await rows().first().hover();
    for (const c of stormCars) await crash(c);
    await expect
      .poll(async () => (await page.getByTestId('alerts-new-bar').textContent())?.replace(/\s+/g, ' '), { timeout: 30_000 })
      .toBe(`${stormCars.length} new alerts — show`);
    expect(await rows().count()).toBe(listed);
    // one summary, after the gap that follows the first notification
    await expect.poll(notices, { timeout: 30_000 }).toHaveLength(2);
    const summary = (await notices())[1]!;
    expect(summary.title).toBe(`${stormCars.length} new alerts on ${stormCars.length} cars`);
    expect(summary.body).toBe(`Crash ×${stormCars.length}. Click to open the alert queue.`);
    await page.screenshot({ path: join(shots, 'alerts-2-new-bar.png') });
    await page.getByTestId('alerts-new-bar').getByRole('button', { name: 'show' }).click();
    await expect.poll(() => rows().count()).toBe(listed + stormCars.length);
    expect(await notices()).toHaveLength(2);
  });

  it('filters by kind and severity, groups by kind, and acknowledges several at once', async () => {
    const crashes = await openCrashes();
    expect(crashes).toBe(7);
    await page.getByTestId('alerts-filter-kind').selectOption('crash');
    await expect.poll(() => rows().count()).toBe(crashes);
    expect(await rows('[data-kind="crash"]').count()).toBe(crashes);
    await page.getByTestId('alerts-filter-kind').selectOption('');
    await page.getByTestId('alerts-group').check();
    const kinds = await page.evaluate(
      () =>
        new Set(Array.from(document.querySelectorAll('[data-testid="alerts-panel"] tr[data-kind]')).map((r) => r.getAttribute('data-kind')))
          .size,
    );
    await expect.poll(() => page.locator('[data-testid="alerts-panel"] tbody[data-group]').count()).toBe(kinds);
    await expect(page.locator('tbody[data-group="crash"] .group-row').innerText()).resolves.toBe(`Crash (${crashes})`);
    await page.screenshot({ path: join(shots, 'alerts-3-grouped.png') });

    // every crash selected from its group's header, acknowledged in one go
    await page.getByRole('checkbox', { name: 'Select every Crash alert' }).check();
    await expect(page.getByTestId('alerts-bulk-bar').innerText()).resolves.toContain(`${crashes} alerts selected`);
    await page.screenshot({ path: join(shots, 'alerts-4-bulk-selected.png') });
    const badgeBefore = await badge();
    await page.getByTestId('bulk-acknowledge').click();
    await expect.poll(() => rows('[data-kind="crash"][data-status="acknowledged"]').count(), { timeout: 15_000 }).toBe(crashes);
    await expect.poll(openCrashes, { timeout: 30_000 }).toBe(0);
    const { rows: acked } = await server.db.query<{ acknowledged_by: string }>(`select acknowledged_by from alerts where kind = 'crash'`);
    expect(acked.every((r) => r.acknowledged_by === 'demo-dispatcher')).toBe(true);
    await expect.poll(badge).toBe(badgeBefore - crashes);
  });

  it('resolves several with the reason; an empty view says so', async () => {
    await page.getByTestId('alerts-group').uncheck();
    await page.getByTestId('alerts-filter-kind').selectOption('crash');
    await page.getByTestId('alerts-select-all').check();
    await page.getByTestId('bulk-resolve').click();
    const resolveButton = page.getByTestId('alerts-bulk-bar').getByRole('button', { name: /^Resolve \d+$/ });
    expect(await resolveButton.isDisabled()).toBe(true);
    await page.getByTestId('alerts-bulk-bar').getByLabel('Resolution reason').fill('towed and checked, e2e');
    await page.screenshot({ path: join(shots, 'alerts-5-bulk-resolve.png') });
    await resolveButton.click();
    await page.mouse.move(5, 5);
    await expect.poll(() => page.getByTestId('alerts-empty').count(), { timeout: 30_000 }).toBe(1);
    await expect(page.getByTestId('alerts-empty').innerText()).resolves.toMatch(/^No “Crash” alerts open or acknowledged\./);
    await expect
      .poll(
        async () =>
          (
            await server.db.query<{ n: number }>(
              `select count(*)::int as n from alerts where kind = 'crash' and resolution = 'towed and checked, e2e'`,
            )
          ).rows[0]!.n,
        {
          timeout: 30_000,
        },
      )
      .toBe(7);
    await page.screenshot({ path: join(shots, 'alerts-6-empty.png') });
  });

  it('a muted kind raises no notification and is not counted', async () => {
    await page.getByTestId('alerts-filter-kind').selectOption('');
    await page.getByTestId('alerts-mute').locator('summary').click();
    await page.getByTestId('alerts-mute').getByLabel('Crash').check();
    await page.screenshot({ path: join(shots, 'alerts-7-mute.png') });
    await page.getByTestId('alerts-mute').locator('summary').click();
    const before = await badge();
    const seen = (await notices()).length;
    await crash(cars[10]!);
    // in the replica: listed at once (nothing else listed) or announced
    await expect
      .poll(async () => (await rows('[data-kind="crash"]').count()) + (await page.getByTestId('alerts-new-bar').count()), {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);
    if ((await page.getByTestId('alerts-new-bar').count()) > 0)
      await page.getByTestId('alerts-new-bar').getByRole('button', { name: 'show' }).click();
    await expect.poll(() => rows('[data-kind="crash"]').count()).toBe(1);
    // counted nowhere, notified never (muted kinds never wait for a notification)
    expect(await badge()).toBe(before);
    expect((await notices()).length).toBe(seen);
    await expect(rows('[data-kind="crash"]').first().innerText()).resolves.toContain('muted');
    // muting is kept across a reload
    await page.reload();
    await page.getByTestId('tab-alerts').click();
    await expect.poll(() => page.getByTestId('alerts-mute').locator('summary').innerText()).toBe('Muted (1)');
    expect(stack.pageErrors).toEqual([]);
  });
});
