/**
 * CORS for the desktop: the Electron renderer is served from `app://fleetdesk` (its requests carry that origin); the
 * browser console goes through its own origin's proxy and needs none. Only origins in DESKTOP_ORIGINS get
 * `Access-Control-Allow-Origin`, only under the given path prefixes, and preflights allow the bearer token
 * (`authorization`). Security note (docs/sync-protocol.md): the staff token, not the origin, grants access (no
 * cookies, no credentials mode); `null` (file:// pages, sandboxed iframes) is not allowed by default.
 */
import type { HttpApp } from './server.js';

const ALLOWED_HEADERS = 'authorization, content-type, accept, last-event-id, idempotency-key';
const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';

/** CORS for the desktop's renderer (DESKTOP_ORIGINS) on the given prefixes; call before registering routes. */
export function enableDesktopCors(app: HttpApp, origins: readonly string[], prefixes: readonly string[] = ['/sync', '/ops']): void {
  const allowed = new Set(origins);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    const path = request.url.split('?')[0] ?? '';
    if (!prefixes.some((p) => path === p || path.startsWith(`${p}/`))) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
    return undefined;
  });
}
