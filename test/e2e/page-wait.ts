/** Waiting on the desk's page in the e2e tests (DOM types: e2e tsconfig only): polls the DOM, no sleeps. */
import type { Page } from 'playwright-core';
import { signInAtDesk } from '../support/desk.js';

/** Waits until the element with `data-testid={testId}` has `attr` = `value`. */
export async function waitAttr(page: Page, testId: string, attr: string, value: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(([t, a, v]) => document.querySelector(`[data-testid="${t}"]`)?.getAttribute(a!) === v, [testId, attr, value], {
    timeout,
  });
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
