/**
 * The Electron renderer's origin: the built renderer is served from the custom `app://` scheme (registered
 * standard and secure by the main process) instead of file://. The server's CORS allows this origin by default
 * (DESKTOP_ORIGINS), and the main process trusts only pages of it.
 */
export const DESKTOP_APP_SCHEME = 'app';
export const DESKTOP_APP_HOST = 'fleetdesk';
export const DESKTOP_APP_ORIGIN = `${DESKTOP_APP_SCHEME}://${DESKTOP_APP_HOST}`;
