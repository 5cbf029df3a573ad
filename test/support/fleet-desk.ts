/**
 * Test support: the whole stack the desk e2e tests drive — the server (PGlite on a temp dir, embedded Aedes with the
 * demo fleet's device credentials), the simulator, the browser console signed in by itself as the demo dispatcher
 * (as `npm start` does), and a Chromium page on it — started on free ports and stopped in reverse order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { demoDesktopCredentials, demoSimulatorCredentials } from '../../server/src/testing/mqtt-credentials.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import type { BrowserConsole } from '../../src/main/browser-host/host.js';
import { openDesk, type DeskPage } from './desk.js';

export interface FleetDeskOptions {
  /** vehicles seeded in the registry */
  seedVehicles: number;
  /** simulated vehicles (the first ones of the seeded fleet) */
  simVehicles: number;
  movingShare: number;
  seed: number;
  viewport: { width: number; height: number };
  /** the map's tile template; default: the desktop's own default (OpenStreetMap) */
  tileUrl?: string;
}

export interface FleetDesk {
  server: ServerHandle;
  sim: Simulation;
  desk: BrowserConsole;
  browser: Browser;
  page: Page;
  /** uncaught errors of the page */
  pageErrors: string[];
  stop(): Promise<void>;
}

export async function startFleetDesk(opts: FleetDeskOptions): Promise<FleetDesk> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-'));
  const parts: { server?: ServerHandle; sim?: Simulation; deskPage?: DeskPage } = {};
  const stop = async () => {
    await parts.deskPage?.close();
    await parts.sim?.stop();
    await parts.server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const server = (parts.server = await startServer({
      port: 0,
      mqttPort: 0,
      dataDir,
      databaseUrl: undefined,
      mqttUrl: undefined,
      seedVehicles: opts.seedVehicles,
      logLevel: 'warn',
    }));
    parts.sim = await startSimulation({
      mqttUrl: server.mqttUrl,
      vehicles: opts.simVehicles,
      rate: 1,
      movingShare: opts.movingShare,
      seed: opts.seed,
      ...demoSimulatorCredentials(server),
    });
    const dispatcher = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;
    const deskPage = (parts.deskPage = await openDesk(server, {
      viewport: opts.viewport,
      config: {
        staffCredentials: { email: dispatcher.email, password: dispatcher.password },
        ...(opts.tileUrl === undefined ? {} : { tileUrl: opts.tileUrl }),
        ...demoDesktopCredentials(server),
      },
    }));
    return {
      server,
      sim: parts.sim,
      desk: deskPage.desk,
      browser: deskPage.browser,
      page: deskPage.page,
      pageErrors: deskPage.pageErrors,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
