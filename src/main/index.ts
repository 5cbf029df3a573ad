/**
 * Electron composition root: config → desktop services → one locked-down window → IPC. The only file (with
 * src/main/electron/) that imports 'electron'; everything else runs in plain Node and is tested there.
 */
import { app, BrowserWindow, dialog, type IpcMainInvokeEvent } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Unsubscribe } from '../shared/desktop-api.js';
import { buildContentSecurityPolicy, originOf } from './csp.js';
import { forwardEvents, registerIpcHandlers } from './electron/ipc.js';
import { createElectronNotifier } from './electron/notifications.js';
import { createSafeStorageVault } from './electron/session-vault.js';
import {
  denyAllPermissions,
  installContentSecurityPolicy,
  isTrustedIpcSender,
  lockDownWebContents,
  mainWindowOptions,
  registerAppScheme,
  rendererUrl,
  serveRenderer,
  type RendererLocation,
} from './electron/security.js';
import { createLogger } from './log.js';
import { LOCAL_TILE_TEMPLATE } from './browser-host/tile-files.js';
import { loadDesktopConfig, toServicesConfig, type DesktopEnvConfig } from './services/config.js';
import { createDesktopServices, DEFAULT_TILE_URL, type DesktopServices } from './services/desktop-services.js';

const here = dirname(fileURLToPath(import.meta.url)); // out/main
const logger = createLogger('main');

const devUrl = process.env['ELECTRON_RENDERER_URL'];
const location: RendererLocation =
  devUrl && !app.isPackaged ? { kind: 'dev', url: devUrl } : { kind: 'app', root: join(here, '../renderer') };
// before 'ready': app:// must be known as a standard, secure scheme
registerAppScheme();

let mainWindow: BrowserWindow | null = null;
let services: DesktopServices | null = null;
const disposers: Unsubscribe[] = [];

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(join(here, '../preload/index.cjs')));
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(rendererUrl(location));
  return win;
}

/** IPC is accepted only from our window's main frame showing the app itself. */
const isTrustedSender = (event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>): boolean =>
  isTrustedIpcSender(event, mainWindow, location);

async function main(): Promise<void> {
  let config: DesktopEnvConfig;
  try {
    config = loadDesktopConfig(process.env);
  } catch (err) {
    // Before 'ready' a dialog cannot show; print and quit with a clear one-liner instead.
    console.error(`Fleetdesk: ${(err as Error).message}`);
    app.exit(2);
    return;
  }

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  // Applies to every webContents ever created (including any a bug might open), not just our window.
  app.on('web-contents-created', (_e, contents) => lockDownWebContents(contents, location));

  await app.whenReady();

  // a local tile folder (FLEETDESK_TILE_DIR, offline sites) is served under app://fleetdesk/tiles/, as the browser
  // console serves it on its own origin: the map asks the app itself and the CSP needs no foreign host
  if (config.tileDir && location.kind === 'app') config = { ...config, tileUrl: LOCAL_TILE_TEMPLATE };
  const tileUrl = config.tileUrl ?? DEFAULT_TILE_URL;
  const csp = buildContentSecurityPolicy({
    tileUrl,
    // The renderer replicates from the companion server (HTTP + SSE); the dev server needs its HMR socket.
    connect: [originOf(config.serverUrl), location.kind === 'dev' ? new URL(location.url).origin.replace(/^http/, 'ws') : null],
  });
  installContentSecurityPolicy(csp);
  if (location.kind === 'app') serveRenderer(location.root, csp, undefined, config.tileDir);
  denyAllPermissions();

  const sessionVault = createSafeStorageVault(join(app.getPath('userData'), 'staff-session.bin'));
  services = createDesktopServices({
    ...toServicesConfig(config),
    host: 'electron',
    version: app.getVersion(),
    logger,
    notifier: createElectronNotifier(() => mainWindow),
    ...(sessionVault ? { sessionVault } : {}),
  });
  const forwarding = forwardEvents(services.events, () => mainWindow, isTrustedSender);
  disposers.push(forwarding.dispose);
  disposers.push(registerIpcHandlers(services.handlers, isTrustedSender, logger, forwarding.snapshotRead));
  await services.start();

  mainWindow = createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Stop the services before quitting: MQTT and HTTP sockets closed, timers cleared. Quit is deferred once.
let quitting = false;
app.on('will-quit', (event) => {
  if (quitting || !services) return;
  quitting = true;
  event.preventDefault();
  for (const dispose of disposers.splice(0).reverse()) dispose();
  const s = services;
  services = null;
  const force = setTimeout(() => app.exit(0), 5_000);
  s.stop()
    .catch((err: unknown) => logger.error('services stop failed', { err }))
    .finally(() => {
      clearTimeout(force);
      app.quit();
    });
});

main().catch((err: unknown) => {
  logger.error('startup failed', { err });
  dialog.showErrorBox('Fleetdesk failed to start', (err as Error).message ?? String(err));
  app.exit(1);
});
