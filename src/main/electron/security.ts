/**
 * Electron's security checklist for our one window, in one place:
 * CSP on every response, no new windows, no navigation away from the app, no permissions, no webviews,
 * and IPC accepted only from the app's own frame.
 */
import { session, type Session, type WebContents } from 'electron';
import { pathToFileURL } from 'node:url';

/** Where the renderer is loaded from: the built file, or the dev server in `electron-vite dev`. */
export type RendererLocation = { kind: 'file'; path: string } | { kind: 'dev'; url: string };

export function rendererUrl(location: RendererLocation): string {
  return location.kind === 'file' ? pathToFileURL(location.path).href : location.url;
}

/**
 * Whether a URL is the app itself: the same file (any hash/query, e.g. a reload with a route in the hash),
 * or any page of the dev server's origin.
 */
export function isAppUrl(url: string | undefined | null, location: RendererLocation): boolean {
  if (!url) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (location.kind === 'file') {
    const app = new URL(pathToFileURL(location.path).href);
    return u.protocol === 'file:' && u.host === app.host && u.pathname === app.pathname;
  }
  return u.origin === new URL(location.url).origin;
}

/** Adds our CSP to every response of the session (the dev server's and file:// loads alike). */
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
