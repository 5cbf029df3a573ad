/**
 * Electron's security checklist for our one window, in one place: the window's webPreferences, the renderer
 * served from the custom `app://` scheme (standard, secure; files only from the app's own folder), CSP on every
 * response, no new windows, no navigation away from the app, no permissions, no webviews, and IPC accepted only
 * from the app's own frame (index.ts).
 */
import { protocol, session, type BrowserWindowConstructorOptions, type IpcMainInvokeEvent, type Session, type WebContents } from 'electron';
import { DESKTOP_APP_HOST, DESKTOP_APP_ORIGIN, DESKTOP_APP_SCHEME } from '../../shared/desktop-origin.js';
import { createAppProtocolHandler } from './app-protocol.js';

/** Where the renderer is loaded from: the built files under `app://fleetdesk/`, or the dev server in `electron-vite dev`. */
export type RendererLocation = { kind: 'app'; root: string } | { kind: 'dev'; url: string };

export function rendererUrl(location: RendererLocation): string {
  return location.kind === 'app' ? `${DESKTOP_APP_ORIGIN}/index.html` : location.url;
}

/** The one window's settings: isolated, sandboxed, no Node, web security on, no webview tag. */
export function mainWindowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'Fleetdesk',
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Before the app is ready: `app://` is a standard, secure scheme (an origin of its own, fetch allowed, like https). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: DESKTOP_APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false } },
  ]);
}

/** After ready: serve the renderer folder under `app://fleetdesk/` (and a local tile folder under `/tiles/`), every answer with our CSP. */
export function serveRenderer(root: string, csp: string, ses: Session = session.defaultSession, tileDir?: string): void {
  ses.protocol.handle(DESKTOP_APP_SCHEME, createAppProtocolHandler(root, csp, undefined, tileDir));
}

/**
 * Whether a URL is the app itself: any page of `app://fleetdesk` (any hash/query, e.g. a reload with a route in
 * the hash), or any page of the dev server's origin.
 */
export function isAppUrl(url: string | undefined | null, location: RendererLocation): boolean {
  if (!url) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (location.kind === 'app') return u.protocol === `${DESKTOP_APP_SCHEME}:` && u.host === DESKTOP_APP_HOST;
  return u.origin === new URL(location.url).origin;
}

/** Adds our CSP to every response of the session (the dev server's; app:// answers carry it from their handler too). */
export function installContentSecurityPolicy(csp: string, ses: Session = session.defaultSession): void {
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    // Replace, never merge: a weaker policy from elsewhere must not survive beside ours.
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-security-policy') delete headers[key];
    headers['Content-Security-Policy'] = [csp];
    callback({ responseHeaders: headers });
  });
}

/** No permission (camera, geolocation, notifications, …) is ever granted. */
export function denyAllPermissions(ses: Session = session.defaultSession): void {
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

/** No popups, no navigation away from the app, no <webview>. */
export function lockDownWebContents(contents: WebContents, location: RendererLocation): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const guard = (event: { preventDefault(): void }, url: string): void => {
    if (!isAppUrl(url, location)) event.preventDefault();
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** IPC is accepted only from our window's main frame showing the app itself (not a subframe, not a page navigated elsewhere). */
export function isTrustedIpcSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  window: { webContents: Pick<WebContents, 'mainFrame'> } | null,
  location: RendererLocation,
): boolean {
  if (!window || event.sender !== window.webContents) return false;
  const frame = event.senderFrame;
  if (!frame || frame !== window.webContents.mainFrame) return false;
  return isAppUrl(frame.url, location);
}
