/**
 * The desk in real Chromium against a running server: the browser console (holding the staff session, proxying
 * the staff API and the replica) serving the built renderer (`out/renderer`, from `electron-vite build`), a page at
 * the given viewport, its uncaught errors collected. Stop with `close()`.
 */
import type { Browser, Page } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import type { ServerConfig } from '../../server/src/platform/config.js';
import { startBrowserConsole, type BrowserConsole, type BrowserConsoleOptions } from '../../src/main/browser-host/host.js';
import { silentLogger } from '../../src/main/log.js';
import { launchChromium } from './chromium.js';

export interface DeskPage {
  desk: BrowserConsole;
  browser: Browser;
  page: Page;
  pageErrors: string[];
  /** the page's console warnings and errors, with their time (for a failing test's report) */
  consoleLines: string[];
  close(): Promise<void>;
}

export interface OpenDeskOptions {
  viewport?: { width: number; height: number };
  /** console settings beyond the server's addresses (staff credentials, MQTT account, tiles); default: no tiles */
  config?: Omit<BrowserConsoleOptions['config'], 'mqttUrl' | 'serverUrl'>;
}

export async function openDesk(
  server: Pick<ServerHandle, 'httpUrl' | 'mqttUrl'>,
  { viewport = { width: 1280, height: 800 }, config = { tileUrl: '' } }: OpenDeskOptions = {},
): Promise<DeskPage> {
  const desk = await startBrowserConsole({
    config: { mqttUrl: server.mqttUrl, serverUrl: server.httpUrl, logger: silentLogger(), ...config },
    port: 0,
    rendererDir: 'out/renderer',
    logger: silentLogger(),
  });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport, acceptDownloads: true });
    const pageErrors: string[] = [];
    const consoleLines: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('crash', () => pageErrors.push('the page crashed (Chromium renderer process gone)'));
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error')
        consoleLines.push(`${new Date().toISOString()} ${m.type()} ${m.text().slice(0, 400)}`);
    });
    await page.goto(desk.url);
    const opened = browser;
    return {
      desk,
      browser: opened,
      page,
      pageErrors,
      consoleLines,
      close: async () => {
        await opened.close();
        await desk.stop();
      },
    };
  } catch (err) {
    await browser?.close();
    await desk.stop();
    throw err;
  }
}

/** Signs a staff member in on the desk's sign-in screen and waits until the desk shows them. */
export async function signInAtDesk(page: Page, staff: { email: string; password: string }): Promise<void> {
  await page.getByTestId('sign-in-screen').waitFor({ timeout: 30_000 });
  await page.getByTestId('sign-in-email').fill(staff.email);
  await page.getByTestId('sign-in-password').fill(staff.password);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('operator-chip').waitFor({ timeout: 30_000 });
}

/** openDesk, then a staff member signed in on its sign-in screen (the desk closed again if that fails). */
export async function openSignedInDesk(
  server: Pick<ServerHandle, 'httpUrl' | 'mqttUrl'>,
  staff: { email: string; password: string },
  options: OpenDeskOptions = {},
): Promise<DeskPage> {
  const desk = await openDesk(server, options);
  try {
    await signInAtDesk(desk.page, staff);
    return desk;
  } catch (err) {
    await desk.close();
    throw err;
  }
}

/**
 * A server for a desk e2e test: embedded PGlite and an open embedded broker on free ports, its files in a fresh
 * temporary directory (the caller removes `dataDir` when done), warnings only in the log; `overrides` on top.
 */
export async function startDeskServer(
  name: string,
  overrides: Partial<ServerConfig> = {},
): Promise<{ server: ServerHandle; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `fleetdesk-e2e-${name}-`));
  const server = await startServer({
    port: 0,
    mqttPort: 0,
    mqttUrl: undefined,
    databaseUrl: undefined,
    dataDir,
    mqttAuth: 'off',
    logLevel: 'warn',
    ...overrides,
  });
  return { server, dataDir };
}
