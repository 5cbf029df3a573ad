/**
 * The desk in real Chromium against a running server: the browser console (holding the staff session, proxying
 * the staff API and the replica) serving the built renderer (`out/renderer`, from `electron-vite build`), a page at
 * the given viewport, its uncaught errors collected. Stop with `close()`.
 */
import type { Browser, Page } from 'playwright-core';
import type { ServerHandle } from '../../server/src/app.js';
import { startBrowserConsole, type BrowserConsole } from '../../src/main/browser-host/host.js';
import { silentLogger } from '../../src/main/log.js';
import { launchChromium } from './chromium.js';

export interface DeskPage {
  desk: BrowserConsole;
  browser: Browser;
  page: Page;
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openDesk(
  server: Pick<ServerHandle, 'httpUrl' | 'mqttUrl'>,
  viewport = { width: 1280, height: 800 },
): Promise<DeskPage> {
  const desk = await startBrowserConsole({
    config: { mqttUrl: server.mqttUrl, serverUrl: server.httpUrl, tileUrl: '', logger: silentLogger() },
    port: 0,
    rendererDir: 'out/renderer',
    logger: silentLogger(),
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(desk.url);
  return {
    desk,
    browser,
    page,
    pageErrors,
    close: async () => {
      await browser.close();
      await desk.stop();
    },
  };
}
