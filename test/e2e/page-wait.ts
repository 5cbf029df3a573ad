/** Waiting on the desk's page in the e2e tests (DOM types: e2e tsconfig only): polls the DOM, no sleeps. */
import type { Page } from 'playwright-core';

/** Waits until the element with `data-testid={testId}` has `attr` = `value`. */
export async function waitAttr(page: Page, testId: string, attr: string, value: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(([t, a, v]) => document.querySelector(`[data-testid="${t}"]`)?.getAttribute(a!) === v, [testId, attr, value], {
    timeout,
  });
}
