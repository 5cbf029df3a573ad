/**
 * Integration health at the desk in real Chromium: a server whose payment provider is the sandbox running as its
 * own HTTP service; the dispatcher opens the Health tab (the server's integrations beside this desk's links), the
 * sandbox stops: the payment provider turns down in the panel and a banner says so; it starts again on the same
 * port: up again, the banner goes, and the integration log keeps the outage with its length and error.
 * Screenshots (1280×800) go to test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { startPaymentSandbox, type PaymentSandbox } from '../../server/src/sandbox/payment-provider/index.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const API_KEY = 'sk_sandbox_e2e_health';

describe('integration health at the desk in Chromium', () => {
  let dataDir: string;
  let server: ServerHandle;
  let sandbox: PaymentSandbox;
  let deskPage: DeskPage;
  let page: Page;

  const paymentState = () =>
    page.locator('[data-testid="health-server"] tr', { hasText: 'Payment provider' }).getAttribute('data-state', { timeout: 5_000 });

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-health-'));
    sandbox = await startPaymentSandbox({ apiKey: API_KEY, settings: { latencyMs: 0 } });
    server = await startServer({
      ...QUIET,
      databaseUrl: undefined,
      dataDir,
      seedVehicles: 2,
      paymentProviderUrl: sandbox.url,
      paymentProviderApiKey: API_KEY,
      paymentWebhookSecret: 'whsec_e2e_health_0123456789abcdef',
      paymentCallTimeoutMs: 1_000,
    });
    deskPage = await openSignedInDesk(server, DISPATCHER);
    page = deskPage.page;
  }, 120_000);

  afterAll(async () => {
    await deskPage?.close();
    await server?.stop();
    await sandbox?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows every integration with this desk’s links, a stopped payment sandbox as down with a banner, and the outage in the log', async () => {
    await page.getByTestId('tab-health').click();
    await page.getByTestId('health-panel').waitFor();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="health-server"] tr[data-state="up"]').length === 5,
      undefined,
      {
        timeout: 30_000,
      },
    );
    const serverRows = await page.getByTestId('health-server').innerText();
    for (const name of ['Broker', 'Database', 'Payment provider', 'Licence provider', 'Availability index'])
      expect(serverRows).toContain(name);
    const deskRows = await page.getByTestId('health-desk').innerText();
    for (const name of ['Broker (this desk)', 'Server (this desk)', 'Replica sync', 'Map tiles']) expect(deskRows).toContain(name);
    expect(deskRows).toMatch(/pending edits/);
    expect(await page.getByTestId('integration-banner').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'e2e-health-1-all-up.png') });

    const port = Number(new URL(sandbox.url).port);
    await sandbox.close();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="health-server"] tr[data-state="down"]')?.textContent?.includes('Payment provider') ?? false,
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.getByTestId('integration-banner').innerText()).toMatch(/Payment provider down/);
    expect(await page.getByTestId('health-log').innerText()).toMatch(/down Payment provider at .* so far/);
    await page.screenshot({ path: join(shots, 'e2e-health-2-payment-down.png') });

    sandbox = await startPaymentSandbox({ apiKey: API_KEY, port, settings: { latencyMs: 0 } });
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="health-log"] li[data-integration="payment_provider"]')
          ?.textContent?.match(/for \d+ s(?! so far)/) !== null && !document.querySelector('[data-testid="integration-banner"]'),
      undefined,
      { timeout: 30_000 },
    );
    expect(await paymentState()).toBe('up');
    expect(await page.getByTestId('health-log').innerText()).toMatch(/down Payment provider at .*, for \d+ s — /);
    await page.screenshot({ path: join(shots, 'e2e-health-3-back-up.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
