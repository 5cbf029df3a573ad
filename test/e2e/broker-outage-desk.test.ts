/**
 * A broker outage at the desk in real Chromium: a server and 10 simulated cars on a Mosquitto of the test's own.
 * The broker is killed: the desk's banner says "Broker down since <clock time> (for N s)" with what keeps working,
 * the Health tab shows the broker down and the database up, and the desk keeps working (the tabs switch, the
 * cars stay listed). The broker comes back: the banner goes. Screenshots (1280×800) go to test-results/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { hasMosquitto, startOwnMosquitto, type OwnMosquitto } from '../../server/src/testing/mosquitto.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicle } from '../../src/shared/demo-fleet.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const VEHICLES = 10;

describe.skipIf(!hasMosquitto())('broker outage at the desk in Chromium', () => {
  let broker: OwnMosquitto;
  let server: ServerHandle;
  let sim: Simulation;
  let deskPage: DeskPage;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    broker = await startOwnMosquitto();
    server = await startServer({
      ...QUIET,
      databaseUrl: undefined,
      dataDir: 'memory://',
      seedVehicles: 0,
      mqttUrl: broker.url,
      mqttAuth: 'off',
    });
    await server.registerVehicles(Array.from({ length: VEHICLES }, (_, i) => demoVehicle(i)));
    sim = await startSimulation({ mqttUrl: broker.url, vehicles: VEHICLES, seed: 21, heartbeatMs: 2_000 });
    deskPage = await openSignedInDesk(server, DISPATCHER);
    page = deskPage.page;
  }, 120_000);

  afterAll(async () => {
    await deskPage?.close();
    await sim?.stop().catch(() => undefined);
    await server?.stop();
    await broker?.dispose();
  });

  it('says "Broker down since …" in the banner and keeps the desk working; the banner goes when the broker is back', async () => {
    expect(await page.getByTestId('integration-banner').count()).toBe(0);
    await broker.stop();
    const banner = page.getByTestId('integration-banner');
    await banner.waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => /for [1-9]\d* s/.test(document.querySelector('[data-testid="integration-banner"]')?.textContent ?? ''),
      undefined,
      {
        timeout: 15_000,
      },
    );
    expect(await banner.innerText()).toMatch(
      /Broker \(server\) down since \d{1,2}:\d\d:\d\d.*\(for \d+ s\) — not connected .*last-known state, commands queued/,
    );
    await page.screenshot({ path: join(shots, 'e2e-broker-down-1-banner.png') });

    // every other function: the Health tab opens and tells the broker from the database
    await page.getByTestId('tab-health').click();
    await page.getByTestId('health-panel').waitFor();
    const brokerRow = page.locator('[data-testid="health-server"] tr', { hasText: 'Broker' }).first();
    expect(await brokerRow.getAttribute('data-state')).toBe('down');
    const databaseRow = page.locator('[data-testid="health-server"] tr', { hasText: 'Database' }).first();
    expect(await databaseRow.getAttribute('data-state')).toBe('up');
    await page.screenshot({ path: join(shots, 'e2e-broker-down-2-health.png') });

    await broker.start();
    await page.waitForFunction(() => !document.querySelector('[data-testid="integration-banner"]'), undefined, { timeout: 60_000 });
    // the panel polls on its own beat: wait for it to catch up with the banner
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[data-testid="health-server"] tr'))
          .find((r) => r.textContent?.includes('Broker'))
          ?.getAttribute('data-state') === 'up',
      undefined,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: join(shots, 'e2e-broker-down-3-back-up.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
