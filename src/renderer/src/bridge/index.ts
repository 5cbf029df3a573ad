/**
 * The only module that knows which host the renderer runs in.
 * - Electron: the preload exposes `window.fleetdesk` (a `DesktopApi`); IPC never "drops", so the host link is
 *   permanently connected.
 * - Browser console: the same `DesktopApi` is built with `createDesktopApi` over a token-protected WebSocket to
 *   the console host that served this page; desktop notifications use the page's Web Notifications API.
 * Everything else imports `getDesktopApi()` and the host-link helpers from here and stays host-agnostic.
 */
import type { DesktopApi, LinkState, Unsubscribe } from '../../../shared/desktop-api.js';
import { CONSOLE_WS_PATH, createDesktopApi } from '../../../shared/desktop-api.js';
import { FLEET_FRAME_FORMAT } from '../../../shared/fleet-frame-codec.js';
import { takeConsoleToken } from './console-token';
import { createConsoleTransport, type ConsoleTransport } from './console-transport';
import { createWebNotifications } from './web-notifications';

declare global {
  interface Window {
    /** set by the Electron preload through contextBridge */
    fleetdesk?: DesktopApi;
  }
}

interface Bridge {
  api: DesktopApi;
  link(): LinkState;
  onLinkChange(cb: (state: LinkState) => void): Unsubscribe;
}

let bridge: Bridge | undefined;

function createBridge(): Bridge {
  if (window.fleetdesk) {
    const connected: LinkState = { status: 'connected', since: Date.now(), attempts: 0 };
    return { api: window.fleetdesk, link: () => connected, onLinkChange: () => () => undefined };
  }
  const token = takeConsoleToken();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // frames=…: this renderer reads fleet frames as bytes of that format (a host sends JSON to a client that does not say so)
  const url = `${scheme}//${location.host}${CONSOLE_WS_PATH}?token=${encodeURIComponent(token ?? '')}&frames=${FLEET_FRAME_FORMAT}`;
  const transport: ConsoleTransport = createConsoleTransport({
    url,
    ...(token ? {} : { hint: 'no console token: open the URL the console host printed (…/#token=…)' }),
  });
  // Notifications are the page's own (Web Notifications API): the console host cannot show any on this screen.
  const api: DesktopApi = { ...createDesktopApi(transport), notifications: createWebNotifications() };
  return { api, link: transport.link, onLinkChange: transport.onLinkChange };
}

function ensureBridge(): Bridge {
  return (bridge ??= createBridge());
}

/** The desktop API of whichever host runs this renderer (created on first use). */
export function getDesktopApi(): DesktopApi {
  return ensureBridge().api;
}

/** State of the renderer ↔ host link ("console link lost" in the browser console; always connected in Electron). */
export function getHostLink(): LinkState {
  return ensureBridge().link();
}

export function onHostLinkChange(cb: (state: LinkState) => void): Unsubscribe {
  return ensureBridge().onLinkChange(cb);
}
