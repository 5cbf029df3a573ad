/**
 * The browser console: the desktop services hosted in plain Node, the built renderer served on 127.0.0.1, and
 * the DesktopApi carried over a WebSocket at CONSOLE_WS_PATH. Used where no Electron binary can run (build
 * machines, end-to-end tests in real Chromium).
 *
 * Access control: a per-launch random token (in the URL fragment, so it never appears in HTTP request lines or
 * logs) must be presented as `?token=` on the WebSocket upgrade, compared in constant time; and the upgrade's
 * Origin must be the console's own origin, so another web page in the same browser cannot open the socket
 * (cross-site WebSocket hijacking) even if it guessed the port.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CONSOLE_WS_PATH } from '../../shared/desktop-api.js';
import { FLEET_FRAME_FORMAT } from '../../shared/fleet-frame-codec.js';
import { buildContentSecurityPolicy, originOf } from '../csp.js';
import { createLogger, type Logger } from '../log.js';
import { createDesktopServices, DEFAULT_TILE_URL, type DesktopServices, type DesktopServicesConfig } from '../services/desktop-services.js';
import { serveStatic } from './static-files.js';
import { handleTileRequest, LOCAL_TILE_TEMPLATE } from './tile-files.js';
import { createSyncProxy } from './sync-proxy.js';
import { WsApi } from './ws-api.js';

export interface BrowserConsoleOptions {
  /** the desktop services' config; `host` is always 'browser' here */
  config: Omit<DesktopServicesConfig, 'host'>;
  /** default 4320; 0 = random */
  port?: number;
  /** the console only ever binds to loopback */
  host?: '127.0.0.1';
  /** the built renderer (default `out/renderer` under the current directory) */
  rendererDir?: string;
  /** largest accepted WebSocket message (default 64 KiB; invokes are tiny) */
  maxMessageBytes?: number;
  logger?: Logger;
}

export interface BrowserConsole {
  /** `http://127.0.0.1:PORT/#token=TOKEN` */
  url: string;
  port: number;
  token: string;
  services: DesktopServices;
  stop(): Promise<void>;
}

export async function startBrowserConsole(options: BrowserConsoleOptions): Promise<BrowserConsole> {
  const bindHost = options.host ?? '127.0.0.1';
  const rendererDir = options.rendererDir ?? 'out/renderer';
  const logger = options.logger ?? options.config.logger ?? createLogger('console');
  const token = randomBytes(32).toString('hex');
  const tokenDigest = sha256(token);

  // a local tile directory (offline sites) is served here, on the console's own origin, instead of a tile server
  const tileDir = options.config.tileDir;
  const config = tileDir
    ? { ...options.config, tileUrl: LOCAL_TILE_TEMPLATE, tileAttribution: options.config.tileAttribution ?? '' }
    : options.config;
  const tileUrl = config.tileUrl ?? DEFAULT_TILE_URL;

  // Headers depend on the port, known only after listen(); filled in below before any request can arrive.
  let origin = '';
  let allowedHosts: string[] = [];
  let securityHeaders: Record<string, string> = {};

  // The replica's /sync/v1/* goes to the server through here (same origin for the renderer; see sync-proxy.ts).
  const syncProxy = createSyncProxy({
    serverUrl: options.config.serverUrl,
    origin: () => origin,
    allowedHosts: () => allowedHosts,
    logger,
  });

  const server: Server = createServer((req, res) => {
    if (syncProxy.handle(req, res, securityHeaders)) return;
    if (tileDir && handleTileRequest(tileDir, req, res, securityHeaders)) return;
    serveStatic(rendererDir, req, res, securityHeaders).catch((err: unknown) => {
      logger.error('static file error', { err });
      if (!res.headersSent) res.writeHead(500, securityHeaders);
      res.end();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 64 * 1024 });
  let api: WsApi | null = null;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const verdict = api ? checkUpgrade(req, origin, tokenDigest) : 404;
    if (verdict !== 200) {
      rejectUpgrade(socket, verdict);
      return;
    }
    // a renderer that reads fleet frames as bytes says so (bridge/index.ts); any other gets them as JSON
    const binaryFrames = new URL(req.url ?? '/', 'http://localhost').searchParams.get('frames') === String(FLEET_FRAME_FORMAT);
    wss.handleUpgrade(req, socket, head, (ws) => api?.attach(ws, { binaryFrames }));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  let port: number;
  try {
    port = await listen(server, options.port ?? 4320, bindHost);
  } catch (err) {
    syncProxy.close();
    throw err;
  }
  origin = `http://${bindHost}:${port}`;
  allowedHosts = [`${bindHost}:${port}`, `localhost:${port}`];
  // The services need the console's origin (AppInfo.syncUrl), known only now.
  const services = createDesktopServices({ ...config, logger: config.logger ?? logger, host: 'browser', syncUrl: origin });
  api = new WsApi({ handlers: services.handlers, events: services.events, logger });
  securityHeaders = {
    'content-security-policy': buildContentSecurityPolicy({
      tileUrl,
      // 'self' covers the /sync/v1 proxy; the server origin stays for anything the renderer reads directly.
      connect: [`ws://${bindHost}:${port}`, originOf(options.config.serverUrl)],
    }),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };

  try {
    await services.start();
  } catch (err) {
    syncProxy.close();
    server.close();
    throw err;
  }
  logger.info('browser console listening', { port });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      api?.close();
      syncProxy.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await services.stop();
    })();
    return stopping;
  };

  return { url: `${origin}/#token=${token}`, port, token, services, stop };
}

function checkUpgrade(req: IncomingMessage, origin: string, tokenDigest: Buffer): 200 | 401 | 403 | 404 {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return 404;
  }
  if (url.pathname !== CONSOLE_WS_PATH) return 404;
  if (!origin || req.headers.origin !== origin) return 403;
  const presented = url.searchParams.get('token');
  // Hash both sides first: timingSafeEqual needs equal lengths, and the length itself must not leak.
  if (presented === null || !timingSafeEqual(sha256(presented), tokenDigest)) return 401;
  return 200;
}

function rejectUpgrade(socket: Duplex, status: 401 | 403 | 404): void {
  const text = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
