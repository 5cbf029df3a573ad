/** Waiting on the desk's page in the e2e tests (DOM types: e2e tsconfig only): polls the DOM, no sleeps. */
import type { Page } from 'playwright-core';
import { signInAtDesk } from '../support/desk.js';

/**
 * Waits until the element with `data-testid={testId}` has `attr` = `value`. Through a locator (which follows the
 * page across a reload or a navigation still under way), not a page function: with Chromium 156 a
 * `waitForFunction` started while the page was still loading never looked again.
 */
export async function waitAttr(page: Page, testId: string, attr: string, value: string, timeout = 60_000): Promise<void> {
  const deadline = Date.now() + timeout;
  const el = page.getByTestId(testId);
  let why = '';
  for (;;) {
    const now = await el.getAttribute(attr, { timeout: Math.max(1, deadline - Date.now()) }).catch((err: unknown) => {
      why = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      return null;
    });
    if (now === value) return;
    if (Date.now() >= deadline)
      throw new Error(`waited ${timeout} ms for [data-testid="${testId}"] ${attr}="${value}" (last: ${now ?? `none: ${why}`})`);
    await page.waitForTimeout(200);
  }
}

/** Signs in on the desk's own sign-in screen and waits until the replica is synced. */
export async function signInOnDesk(page: Page, url: string, who: { email: string; password: string }): Promise<void> {
  await page.goto(url);
  await signInAtDesk(page, who);
  await waitAttr(page, 'sync-indicator', 'data-status', 'synced');
}

/** Finds the car by plate in the grid and opens its card with its operations. */
export async function openVehicleCard(page: Page, plate: string): Promise<void> {
  await page.getByTestId('tab-vehicles').click();
  await page.getByTestId('vehicle-search').fill(plate);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) === 1,
    undefined,
    { timeout: 20_000 },
  );
  await page.getByTestId('vehicle-search').press('Enter');
  await page.getByTestId('vehicle-ops').waitFor({ timeout: 20_000 });
  await page.getByTestId('service-state').waitFor({ timeout: 20_000 });
}
