/**
 * The offline replica end to end in real Chromium: server (PGlite on a temp dir — and, with DATABASE_URL, again on a
 * fresh PostgreSQL database — on a fixed free port so the
 * console's server URL stays valid across restarts) → browser console (its /sync/v1 proxy) → the built renderer
 * with RxDB on the memory-mapped storage (IndexedDB). Syncs; the server stops and the console restarts (same port, so same origin and
 * IndexedDB, nothing in the host's memory); the reloaded page still shows vehicles and alerts from IndexedDB and
 * says how old the data is; offline edits queue up (pending > 0); the same alert is changed
 * through the staff API meanwhile; the server comes back on the same data → the edits arrive exactly as made,
 * pending drops to 0 and the conflicting edit shows in the conflicts view. The console signs in by itself as the
 * demo dispatcher (FLEETDESK_STAFF_* in the config): restarted with the server down, it cannot — the page opens
 * the last operator's local data, signed out — and it signs in again once the server is back. Screenshots go
 * to test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { freePort, raiseCrashAlert, staffCall } from '../../server/src/testing/staff-api.js';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/test-databases.js';
import { startBrowserConsole, type BrowserConsole } from '../../src/main/browser-host/host.js';
import { silentLogger } from '../../src/main/log.js';
import type { AlertDoc, TaskDoc } from '../../src/shared/sync-protocol.js';
import { launchChromium } from '../support/chromium.js';
import { waitAttr } from './page-wait.js';

const SEEDED = 20;
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
const OPERATOR = DISPATCHER.id;
const shots = join(process.cwd(), 'test-results');

/** Staff calls as `server-op`: the other operator whose change clashes with the desk's. */
const staff = <T>(server: ServerHandle, method: string, path: string, body?: unknown) =>
  staffCall<T>(server, method, path, body, 'server-op');
const raiseAlert = (server: ServerHandle, vehicleId: string) => raiseCrashAlert(server, vehicleId, 'server-op');

const indicator = (page: Page, attr: string): Promise<string | null> => page.getByTestId('sync-indicator').getAttribute(attr);

async function waitIndicator(page: Page, status: string, timeout = 60_000): Promise<void> {
  try {
    await page.waitForFunction((s) => document.querySelector('[data-testid="sync-indicator"]')?.getAttribute('data-status') === s, status, {
      timeout,
    });
  } catch (err) {
    const title = await page
      .getByTestId('sync-indicator')
      .getAttribute('title')
      .catch(() => null);
    throw new Error(`sync indicator never became ${status}; it says: ${title?.replace(/\n/g, ' | ') ?? '(no indicator)'}`, { cause: err });
  }
}

async function openTab(page: Page, tab: 'vehicles' | 'alerts' | 'tasks' | 'conflicts'): Promise<void> {
  await page.getByTestId(`tab-${tab}`).click();
}

/** PGlite (the embedded default) always; the local PostgreSQL too when DATABASE_URL is set (a fresh database). */
const BACKENDS: Array<{ name: string; suffix: string; pg: boolean }> = [
  { name: 'PGlite', suffix: '', pg: false },
  ...(process.env['DATABASE_URL'] ? [{ name: 'PostgreSQL', suffix: '-pg', pg: true }] : []),
];

describe.each(BACKENDS)('offline replica in Chromium, server on $name', ({ suffix, pg }) => {
  let dataDir: string;
  let pgDb: TestDatabase | undefined;
  let databaseUrl: string | undefined;
  let port: number;
  let serverUrl: string;
  let server: ServerHandle | undefined;
  let desk: BrowserConsole;
  let browser: Browser;
  let page: Page;
  let alertA: AlertDoc; // acknowledged offline (+ a task), nobody else touches it
  let alertB: AlertDoc; // assigned offline in the console AND through the staff API → conflict
  let vehicleIds: string[];
  let plates: Map<string, string>;
  const pageErrors: string[] = [];

  let mqttUrl: string;
  const startConsole = (consolePort: number): Promise<BrowserConsole> =>
    startBrowserConsole({
      config: { mqttUrl, serverUrl, staffCredentials: { email: DISPATCHER.email, password: DISPATCHER.password }, logger: silentLogger() },
      port: consolePort,
      rendererDir: 'out/renderer',
      logger: silentLogger(),
    });
  const start = (): Promise<ServerHandle> =>
    startServer({ port, mqttPort: 0, mqttUrl: undefined, databaseUrl, dataDir, mqttAuth: 'off', seedVehicles: SEEDED, logLevel: 'warn' });

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-replica-'));
    if (pg) {
      pgDb = await createTestDatabase(process.env['DATABASE_URL']!);
      databaseUrl = pgDb.url;
    }
    port = await freePort();
    serverUrl = `http://127.0.0.1:${port}`;
    server = await start();
    const vehicles = await staff<{ vehicles: Array<{ id: string; plate: string }> }>(server, 'GET', '/vehicles');
    vehicleIds = vehicles.body.vehicles.map((v) => v.id).sort();
    plates = new Map(vehicles.body.vehicles.map((v) => [v.id, v.plate]));
    alertA = await raiseAlert(server, vehicleIds[0]!);
    alertB = await raiseAlert(server, vehicleIds[1]!);
    mqttUrl = server.mqttUrl;
    desk = await startConsole(0);
    browser = await launchChromium();
    // one context (profile) whose pages share IndexedDB and Web Locks: a second window opens in it
    page = await (await browser.newContext({ viewport: { width: 1600, height: 900 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    if (process.env['E2E_DEBUG']) page.on('console', (m) => console.log(`[page] ${m.type()} ${m.text().slice(0, 300)}`));
    await page.goto(desk.url);
  });

  afterAll(async () => {
    await browser?.close();
    await desk?.stop();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await pgDb?.drop();
  });

  it('syncs the replica through the console proxy', async () => {
    await waitIndicator(page, 'synced');
    expect(await page.getByTestId('operator-chip').getAttribute('data-operator-id')).toBe(OPERATOR);
    expect(await page.getByTestId('operator-chip').getAttribute('data-state')).toBe('signed-in');
    await openTab(page, 'alerts');
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="alerts-panel"]')?.getAttribute('data-count')) >= 2,
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.locator(`[data-testid="alerts-panel"] [data-alert-id="${alertA.id}"]`).getAttribute('data-status')).toBe('open');
    await page.screenshot({ path: join(shots, `e2e-replica-1-synced${suffix}.png`) });
  });

  it('a second window of the same desk is told the replica is open in the first, which keeps working', async () => {
    const second = await page.context().newPage(); // same origin, same IndexedDB and Web Locks
    try {
      await second.goto(desk.url);
      await waitIndicator(second, 'error', 30_000);
      expect(await second.getByTestId('sync-indicator').getAttribute('title')).toContain('open in another window of this desk');
      expect(await second.getByTestId('sync-indicator').innerText()).toContain('Sync error');
      await second.screenshot({ path: join(shots, `e2e-replica-1b-second-window${suffix}.png`) });
    } finally {
      await second.close();
    }
    expect(await indicator(page, 'data-status')).toBe('synced');
  });

  it('with the server stopped and the console restarted, the page shows vehicles, alerts and plates from IndexedDB and says how old they are', async () => {
    await server!.stop();
    server = undefined;
    // The desktop restarts too (a fresh console on the same port = same origin, same IndexedDB): nothing is left
    // in the host's memory, so whatever the page shows comes from the replica.
    const consolePort = desk.port;
    await desk.stop();
    desk = await startConsole(consolePort);
    // Only the #token fragment differs: leave the page first so this is a real reload, not a fragment change.
    await page.goto('about:blank');
    await page.goto(desk.url);
    await waitIndicator(page, 'offline');
    expect(await page.getByTestId('sync-indicator').innerText()).toMatch(/Offline.*data from/i);
    // the console could not sign in (server down): the last operator's local data, signed out
    await page.getByTestId('signed-out-banner').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('operator-chip').getAttribute('data-operator-id')).toBe(OPERATOR);
    expect(await page.getByTestId('operator-chip').getAttribute('data-state')).toBe('signed-out');
    expect(Number(await indicator(page, 'data-last-sync'))).toBeGreaterThan(0);
    await openTab(page, 'alerts');
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="alerts-panel"]')?.getAttribute('data-count')) >= 2,
      undefined,
      { timeout: 30_000 },
    );
    // The host knows no vehicle now (server down since before it started): the grid's rows and the plates come
    // from the replica's vehicles in IndexedDB.
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) >= n,
      SEEDED,
      { timeout: 30_000 },
    );
    for (const a of [alertA, alertB]) {
      const plate = plates.get(a.vehicleId)!;
      await expect
        .poll(() => page.locator(`[data-testid="alerts-panel"] [data-alert-id="${a.id}"]`).innerText(), { timeout: 10_000 })
        .toContain(plate);
    }
    await page.screenshot({ path: join(shots, `e2e-replica-2-offline-reloaded${suffix}.png`) });
  });

  it('queues offline edits (pending > 0) while the same alert is changed on the server', async () => {
    const rowA = page.locator(`[data-testid="alerts-panel"] [data-alert-id="${alertA.id}"]`);
    await rowA.getByRole('button', { name: 'Acknowledge' }).click();
    await rowA.getByLabel('Assign or create a task').selectOption('task:repair');
    const rowB = page.locator(`[data-testid="alerts-panel"] [data-alert-id="${alertB.id}"]`);
    await rowB.getByLabel('Assign or create a task').selectOption(`assign:${OPERATOR}`);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="sync-indicator"]')?.getAttribute('data-pending')) >= 3,
      undefined,
      { timeout: 10_000 },
    );
    expect(await rowA.getAttribute('data-status')).toBe('acknowledged');
    expect(await indicator(page, 'data-status')).toBe('offline');
    await page.screenshot({ path: join(shots, `e2e-replica-3-offline-edits${suffix}.png`) });

    // Meanwhile, someone changes alert B through the staff API: a second server on the same data, on another
    // port the console does not know, stopped again before the console's server comes back.
    const other = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      databaseUrl,
      dataDir,
      mqttAuth: 'off',
      seedVehicles: SEEDED,
      logLevel: 'warn',
    });
    try {
      expect((await staff(other, 'POST', `/alerts/${alertB.id}/assign`, { assignee: 'server-op' })).status).toBe(200);
    } finally {
      await other.stop();
    }
  });

  it('server back on the same data: the edits arrive, pending goes to 0, the conflict shows in the conflicts view', async () => {
    server = await start();
    try {
      await page.waitForFunction(
        () => document.querySelector('[data-testid="sync-indicator"]')?.getAttribute('data-pending') === '0',
        undefined,
        { timeout: 60_000 },
      );
    } catch (err) {
      const title = await page
        .getByTestId('sync-indicator')
        .getAttribute('title')
        .catch(() => null);
      const a = await staff<{ alerts: AlertDoc[] }>(server!, 'GET', `/alerts?kind=crash`);
      const summary = a.body.alerts.map((x) => `${x.id.slice(0, 8)}:${x.status}/${x.assignee ?? '-'}`).join(', ');
      throw new Error(`pending never reached 0; indicator: ${title?.replace(/\n/g, ' | ')}; server alerts: ${summary}`, { cause: err });
    }
    await waitIndicator(page, 'synced');
    // signed in again by itself, as the same operator
    expect(await page.getByTestId('operator-chip').getAttribute('data-state')).toBe('signed-in');
    expect(await page.getByTestId('signed-out-banner').count()).toBe(0);

    const alerts = await staff<{ alerts: AlertDoc[] }>(server, 'GET', `/alerts?vehicleId=${alertA.vehicleId}&kind=crash`);
    expect(alerts.body.alerts.find((a) => a.id === alertA.id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: OPERATOR });
    const tasks = await staff<{ tasks: TaskDoc[] }>(server, 'GET', `/tasks?vehicleId=${alertA.vehicleId}`);
    expect(tasks.body.tasks.filter((t) => t.alertId === alertA.id)).toHaveLength(1);
    expect(tasks.body.tasks.find((t) => t.alertId === alertA.id)).toMatchObject({ kind: 'repair', createdBy: OPERATOR });
    const b = await staff<{ alerts: AlertDoc[] }>(server, 'GET', `/alerts?vehicleId=${alertB.vehicleId}&kind=crash`);
    expect(b.body.alerts.find((a) => a.id === alertB.id)!.assignee).toBe('server-op');

    await openTab(page, 'conflicts');
    const conflict = page.locator(`[data-testid="conflicts-panel"] [data-doc-id="${alertB.id}"]`);
    await conflict.first().waitFor({ timeout: 30_000 });
    expect(await conflict.first().getAttribute('data-collection')).toBe('alerts');
    expect(await page.getByTestId('conflicts-panel').locator(`[data-doc-id="${alertA.id}"]`).count()).toBe(0);
    // the operator's own value beside the server's, on the field both changed
    const assignee = conflict.first().locator('tr[data-field="assignee"]');
    expect(await assignee.getAttribute('class')).toContain('conflict-differs');
    const [mine, theirs] = [await assignee.locator('td').nth(1).innerText(), await assignee.locator('td').nth(2).innerText()];
    expect([OPERATOR, DISPATCHER.name]).toContain(mine);
    expect(theirs).toBe('server-op');
    await page.screenshot({ path: join(shots, `e2e-replica-4-conflict${suffix}.png`) });
    expect(pageErrors).toEqual([]);
  });

  it('"Re-apply mine" from the conflicts view reaches the server, and the conflict leaves the view', async () => {
    const conflict = page.locator(`[data-testid="conflicts-panel"] [data-doc-id="${alertB.id}"]`);
    await conflict.first().getByRole('button', { name: 'Re-apply mine' }).click();
    await expect
      .poll(
        async () =>
          (await staff<{ alerts: AlertDoc[] }>(server!, 'GET', `/alerts?vehicleId=${alertB.vehicleId}&kind=crash`)).body.alerts.find(
            (a) => a.id === alertB.id,
          )?.assignee,
        { timeout: 30_000 },
      )
      .toBe(OPERATOR);
    await waitAttr(page, 'conflicts-panel', 'data-count', '0');
    expect(pageErrors).toEqual([]);
  });
});
