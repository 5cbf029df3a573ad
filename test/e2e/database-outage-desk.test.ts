/**
 * A database outage at the desk in real Chromium (issue 15 §1: "the desk works from its replica and queues edits").
 * The server runs on a fresh PostgreSQL database reached through a TCP proxy this test controls (the machine's
 * PostgreSQL is shared: never stopped); the desk is the browser console serving the built renderer, signed in as
 * the demo dispatcher and synced. The proxy is cut: every database connection reset, new ones refused. The desk
 * says so in words (the banner: "Database down since …", the sync indicator), keeps working from its replica (the
 * cars and the alerts listed, tabs switching), and queues the operator's edits (an alert acknowledged and a task
 * created for it: pending > 0). The proxy is restored: the edits arrive once — the alert acknowledged by the
 * dispatcher, exactly one task for it — pending drops to 0 and the banner goes. Screenshots (1280×800) go to
 * test-results/.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { raiseCrashAlert, staffCall } from '../../server/src/testing/staff-api.js';
import { startTcpProxy, type TcpProxy } from '../../server/src/testing/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/test-databases.js';
import type { AlertDoc, TaskDoc } from '../../src/shared/sync-protocol.js';
import { openSignedInDesk, startDeskServer, type DeskPage } from '../support/desk.js';
import { waitAttr } from './page-wait.js';

const shots = join(process.cwd(), 'test-results');
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const SEEDED = 12;
const STATEMENT_TIMEOUT_MS = 2_000;

const pending = async (page: Page): Promise<number> => Number(await page.getByTestId('sync-indicator').getAttribute('data-pending'));

describe.runIf(process.env.DATABASE_URL)('database outage at the desk in Chromium (PostgreSQL through a proxy the test cuts)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerHandle;
  let dataDir: string;
  let deskPage: DeskPage;
  let page: Page;
  let alert: AlertDoc;
  let plate: string;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    db = await createTestDatabase(process.env.DATABASE_URL!);
    const direct = new URL(db.url);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    ({ server, dataDir } = await startDeskServer('database-outage', {
      databaseUrl: proxied.toString(),
      seedVehicles: SEEDED,
      dbStatementTimeoutMs: STATEMENT_TIMEOUT_MS,
      dbPoolWaitMs: STATEMENT_TIMEOUT_MS,
      // the outage makes every background loop complain once a second: expected here
      logLevel: 'fatal',
    }));
    const vehicles = await staffCall<{ vehicles: Array<{ id: string; plate: string }> }>(server, 'GET', '/vehicles');
    const first = vehicles.body.vehicles.map((v) => v.id).sort()[0]!;
    plate = vehicles.body.vehicles.find((v) => v.id === first)!.plate;
    alert = await raiseCrashAlert(server, first, 'server-op');
    deskPage = await openSignedInDesk(server, DISPATCHER);
    page = deskPage.page;
    await waitAttr(page, 'sync-indicator', 'data-status', 'synced');
  }, 180_000);

  afterAll(async () => {
    await deskPage?.close();
    await proxy?.restore().catch(() => undefined);
    await server?.stop();
    await proxy?.close();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('says the database is down in words, keeps working from the replica and queues the edits', async () => {
    await page.getByTestId('tab-alerts').click();
    const row = page.locator(`[data-testid="alerts-panel"] [data-alert-id="${alert.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-status')).toBe('open');

    await proxy.cut();
    const banner = page.getByTestId('integration-banner');
    await expect.poll(() => banner.innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/Database.* down since/);
    const bannerText = await banner.innerText();
    expect(bannerText).toMatch(
      /Database down since \d{1,2}:\d\d(:\d\d)?( [AP]M)? \(for \d+ s\) — not reachable .*desks work from their replica and send their changes once it is back/,
    );

    // the replica: every car and the alert, with its plate, from IndexedDB while the server cannot read its database
    await page.getByTestId('tab-vehicles').click();
    await expect
      .poll(async () => Number(await page.getByTestId('vehicle-grid').getAttribute('data-row-count')), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(SEEDED);
    await page.getByTestId('tab-alerts').click();
    await row.waitFor({ timeout: 10_000 });
    expect(await row.innerText()).toContain(plate);

    // the operator's edits wait in the replica's outbox
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.getByLabel('Assign or create a task').selectOption('task:repair');
    await expect.poll(() => pending(page), { timeout: 20_000 }).toBe(2);
    expect(await row.getAttribute('data-status')).toBe('acknowledged');
    // and the desk says so in words: what waits, and how old its data is; the reason on hover
    expect(await page.getByTestId('sync-indicator').innerText()).toMatch(/data from .* ago · 2 local changes waiting/);
    // the server answers (only its database does not): a sync error, not "Offline"
    expect(await page.getByTestId('sync-indicator').getAttribute('data-status')).toBe('error');
    expect(await page.getByTestId('sync-indicator').innerText()).toMatch(/^Sync error/);
    expect(await page.getByTestId('sync-indicator').getAttribute('title')).toMatch(/HTTP 503 — The database cannot be reached right now/);
    await page.screenshot({ path: join(shots, 'e2e-database-down-1-edits-queued.png') });

    // the Health tab tells the database from the rest
    await page.getByTestId('tab-health').click();
    await page.getByTestId('health-panel').waitFor();
    await expect
      .poll(async () => page.locator('[data-testid="health-server"] tr', { hasText: 'Database' }).first().getAttribute('data-state'), {
        timeout: 30_000,
      })
      .toBe('down');
    await page.screenshot({ path: join(shots, 'e2e-database-down-2-health.png') });
    await page.getByTestId('tab-alerts').click();
  });

  it('the database back: the edits arrive exactly once, pending drops to 0 and the banner goes', async () => {
    await proxy.restore();
    await expect.poll(() => pending(page), { timeout: 90_000 }).toBe(0);
    await waitAttr(page, 'sync-indicator', 'data-status', 'synced', 60_000);
    await expect.poll(() => page.getByTestId('integration-banner').count(), { timeout: 60_000 }).toBe(0);

    const alerts = await staffCall<{ alerts: AlertDoc[] }>(server, 'GET', `/alerts?vehicleId=${alert.vehicleId}&kind=crash`);
    expect(alerts.body.alerts.find((a) => a.id === alert.id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: DISPATCHER.id });
    const tasks = await staffCall<{ tasks: TaskDoc[] }>(server, 'GET', `/tasks?vehicleId=${alert.vehicleId}`);
    expect(tasks.body.tasks.filter((t) => t.alertId === alert.id)).toEqual([
      expect.objectContaining({ kind: 'repair', createdBy: DISPATCHER.id }),
    ]);
    const row = page.locator(`[data-testid="alerts-panel"] [data-alert-id="${alert.id}"]`);
    expect(await row.getAttribute('data-status')).toBe('acknowledged');
    await page.screenshot({ path: join(shots, 'e2e-database-down-3-back.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
