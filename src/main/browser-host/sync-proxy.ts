/**
 * The browser console's reverse proxy for the renderer's own server requests: `/sync/v1/*` (the replica: HTTP +
 * Server-Sent Events; GET and POST) and the staff API's reads `/ops/v1/*` (GET only, but for the few actions named in
 * OPS_ACTIONS with their method; never `/ops/v1/auth/*` —
 * sign-in and refresh tokens belong to the host) on the console's own origin are piped to the companion server,
 * so the renderer stays same-origin (CSP connect-src 'self', no CORS on the server) and follows the console to
 * whichever server it is configured for. The renderer authenticates with the short-lived access token the host
 * gave it (`authorization`), exactly as the Electron renderer does against the server directly.
 *
 * Deliberately narrow: only those prefixes and methods (after rejecting dot segments, encoded slashes and
 * backslashes), only `authorization`, `content-type`, `accept` and `idempotency-key` forwarded, a request-body
 * size cap, and requests from another origin (Origin / Sec-Fetch-Site) or for another host name (DNS rebinding)
 * refused. Responses are streamed through unbuffered (the SSE stream stays open as long as both ends do, no idle
 * timeout); an unreachable server is a 502 problem+json.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SYNC_LIMITS, SYNC_PATH_PREFIX } from '../../shared/sync-protocol.js';
import type { Logger } from '../log.js';

export interface SyncProxyOptions {
  /** the companion server's base URL (may carry a base path) */
  serverUrl: string;
  /** host names (with port) the console answers to, e.g. `127.0.0.1:4320`, `localhost:4320`; checked per request */
  allowedHosts: () => readonly string[];
  /** the console's own origin; a request carrying another Origin is refused */
  origin: () => string;
  /** largest forwarded request body (default: SYNC_LIMITS.maxPushBytes + 64 KiB, so the server gives the precise 413) */
  maxBodyBytes?: number;
  /** how long to wait for the server's response headers (default 30 s); the body (SSE) has no timeout */
  responseHeadersTimeoutMs?: number;
  logger: Logger;
}

export interface SyncProxy {
  /** Handles the request if its path is under the sync prefix (returns true), else returns false and does nothing. */
  handle(req: IncomingMessage, res: ServerResponse, securityHeaders: Record<string, string>): boolean;
  /** Aborts every in-flight upstream request (open streams included) and frees pooled sockets. */
  close(): void;
}

const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'idempotency-key'] as const;
const OPS_PREFIX = '/ops/v1';
const OPS_AUTH_PREFIX = '/ops/v1/auth';
/**
 * The staff API actions the page sends itself, each named here with its method — every other action goes through
 * the replica's `requests`: cancelling a device command and ending a rental on the customer's behalf after reading
 * its blockers (both are about now: queued offline they would be stale), and the back office's actions, which are
 * made online or not at all: tariff versions; zones (create, edit, retire); retrying a payment operation, running
 * reconciliation; staff accounts; the vehicle registry and devices (the server checks a whole file or list at
 * once, and device passwords are answered once, to the page that asked).
 */
const ZONE_ID = '[A-Za-z0-9_.:-]{1,100}';
const OPS_ID = '[A-Za-z0-9_.@-]{1,100}';
const OPS_ACTIONS: ReadonlyArray<{ path: RegExp; method: 'POST' | 'PATCH' }> = [
  { path: /^\/ops\/v1\/commands\/[A-Za-z0-9_-]{8,64}\/cancel$/, method: 'POST' },
  { path: /^\/ops\/v1\/rentals\/[A-Za-z0-9_-]{1,100}\/end$/, method: 'POST' },
  { path: /^\/ops\/v1\/tariffs\/[a-z0-9-]{1,100}\/versions$/, method: 'POST' },
  { path: /^\/ops\/v1\/tariffs\/[a-z0-9-]{1,100}\/versions\/[A-Za-z0-9_-]{1,100}\/withdraw$/, method: 'POST' },
  { path: /^\/ops\/v1\/zones$/, method: 'POST' },
  { path: new RegExp(`^/ops/v1/zones/${ZONE_ID}$`), method: 'PATCH' },
  { path: new RegExp(`^/ops/v1/zones/${ZONE_ID}/retire$`), method: 'POST' },
  { path: new RegExp(`^/ops/v1/payments/operations/${OPS_ID}/retry$`), method: 'POST' },
  { path: /^\/ops\/v1\/payments\/reconciliation$/, method: 'POST' },
  { path: /^\/ops\/v1\/staff$/, method: 'POST' },
  { path: new RegExp(`^/ops/v1/staff/${OPS_ID}/password-reset$`), method: 'POST' },
  { path: new RegExp(`^/ops/v1/staff/${OPS_ID}$`), method: 'PATCH' },
  { path: /^\/ops\/v1\/vehicles(\/import)?$/, method: 'POST' },
  { path: /^\/ops\/v1\/vehicles\/[A-Za-z0-9_-]{1,64}$/, method: 'PATCH' },
  { path: /^\/ops\/v1\/devices\/(credentials|revoke)$/, method: 'POST' },
];

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-length', 'cache-control', 'retry-after', 'allow'] as const;

export function createSyncProxy(options: SyncProxyOptions): SyncProxy {
  const upstream = new URL(options.serverUrl);
  const isHttps = upstream.protocol === 'https:';
  const basePath = upstream.pathname.replace(/\/+$/, '');
  const agent = isHttps ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const maxBody = options.maxBodyBytes ?? SYNC_LIMITS.maxPushBytes + 64 * 1024;
  const headersTimeout = options.responseHeadersTimeoutMs ?? 30_000;
  const inFlight = new Set<ClientRequest>();
  let closed = false;

  function handle(req: IncomingMessage, res: ServerResponse, securityHeaders: Record<string, string>): boolean {
    const raw = req.url ?? '/';
    const rawPath = raw.split('?', 1)[0] ?? '';
    const sync = under(rawPath, SYNC_PATH_PREFIX);
    if (!sync && !under(rawPath, OPS_PREFIX)) return false;

    const problem = (status: number, title: string, detail: string, extra: Record<string, string> = {}): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({ type: 'about:blank', title, status, detail });
      res.writeHead(status, {
        ...securityHeaders,
        ...extra,
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
    };

    if (closed) {
      problem(503, 'Service Unavailable', 'the console is shutting down');
      return true;
    }
    const actions = OPS_ACTIONS.filter((action) => action.path.test(rawPath)).map((action) => action.method);
    const allow = sync ? 'GET, POST' : ['GET', ...actions].join(', ');
    if (!allow.split(', ').includes(req.method ?? '')) {
      problem(405, 'Method Not Allowed', `the console forwards ${allow} only here`, { allow });
      req.resume();
      return true;
    }
    // Dot segments (plain or encoded), encoded slashes, backslashes, NULs: refused rather than normalised, so the
    // server can never be reached outside the sync prefix through the proxy.
    if (/%2e|%2f|%5c|%00|\\/i.test(rawPath) || rawPath.split('/').some((s) => s === '.' || s === '..')) {
      problem(400, 'Bad Request', 'malformed path');
      req.resume();
      return true;
    }
    if (under(rawPath.toLowerCase(), OPS_AUTH_PREFIX)) {
      problem(403, 'Forbidden', 'sign-in goes through the desktop host, not the page');
      req.resume();
      return true;
    }
    const host = req.headers.host ?? '';
    if (!options.allowedHosts().includes(host)) {
      problem(403, 'Forbidden', 'unexpected Host header');
      req.resume();
      return true;
    }
    const origin = req.headers.origin;
    const fetchSite = req.headers['sec-fetch-site'];
    if ((origin !== undefined && origin !== options.origin()) || fetchSite === 'cross-site' || fetchSite === 'same-site') {
      problem(403, 'Forbidden', 'cross-origin requests are not proxied');
      req.resume();
      return true;
    }
    const declaredLength = Number(req.headers['content-length'] ?? '0');
    if (req.method !== 'GET' && Number.isFinite(declaredLength) && declaredLength > maxBody) {
      problem(413, 'Payload Too Large', `request body larger than ${maxBody} bytes`, { connection: 'close' });
      req.resume();
      return true;
    }

    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }

    const doRequest = isHttps ? httpsRequest : httpRequest;
    const upstreamReq = doRequest({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || (isHttps ? 443 : 80),
      method: req.method,
      path: basePath + raw,
      headers,
      agent,
    });
    inFlight.add(upstreamReq);
    let finished = false;
    const headersTimer = setTimeout(() => {
      upstreamReq.destroy(new Error('no response headers from the server in time'));
    }, headersTimeout);
    const cleanup = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(headersTimer);
      inFlight.delete(upstreamReq);
    };

    upstreamReq.on('response', (upstreamRes) => {
      clearTimeout(headersTimer);
      const out: Record<string, string> = { ...securityHeaders };
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const v = upstreamRes.headers[name];
        if (typeof v === 'string') out[name] = v;
      }
      const isStream = (out['content-type'] ?? '').startsWith('text/event-stream');
      if (isStream) {
        out['cache-control'] = 'no-cache, no-transform';
        out['x-accel-buffering'] = 'no';
        // A long-lived stream: no socket idle timeout on the browser side either.
        req.socket.setTimeout(0);
        req.socket.setNoDelay(true);
      }
      res.writeHead(upstreamRes.statusCode ?? 502, out);
      if (isStream) res.flushHeaders();
      upstreamRes.on('data', (chunk: Buffer) => {
        // write() per chunk, no buffering beyond the socket's; backpressure pauses the server side.
        if (!res.write(chunk)) {
          upstreamRes.pause();
          res.once('drain', () => upstreamRes.resume());
        }
      });
      upstreamRes.on('end', () => {
        cleanup();
        res.end();
      });
      // The server died mid-response (e.g. mid-stream): end the browser's response the same way, so its
      // EventSource/fetch sees the stream break and reconnects.
      upstreamRes.on('error', () => undefined);
      upstreamRes.on('close', () => {
        cleanup();
        if (!upstreamRes.complete) res.destroy();
      });
    });
    upstreamReq.on('error', (err) => {
      const alreadyFinished = finished;
      cleanup();
      if (alreadyFinished) return; // we ended it ourselves (browser gone, body too large) and have answered
      if (res.headersSent) {
        res.destroy();
        return;
      }
      options.logger.debug('sync proxy: server unreachable', { err: err.message });
      problem(502, 'Bad Gateway', 'the Fleetdesk server is unreachable', { 'retry-after': '2' });
      req.resume();
    });
    // The browser went away (tab closed, stream cancelled): end the upstream request too.
    res.on('close', () => {
      if (!finished) {
        cleanup();
        upstreamReq.destroy();
      }
    });

    if (req.method === 'GET') {
      upstreamReq.end();
      req.resume();
    } else {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > maxBody) {
          req.removeAllListeners('data');
          req.resume();
          cleanup();
          upstreamReq.destroy();
          problem(413, 'Payload Too Large', `request body larger than ${maxBody} bytes`, { connection: 'close' });
          return;
        }
        if (!upstreamReq.write(chunk)) {
          req.pause();
          upstreamReq.once('drain', () => req.resume());
        }
      });
      req.on('end', () => {
        if (seen <= maxBody) upstreamReq.end();
      });
      req.on('error', () => {
        cleanup();
        upstreamReq.destroy();
      });
    }
    return true;
  }

  return {
    handle,
    close() {
      closed = true;
      for (const r of [...inFlight]) r.destroy();
      inFlight.clear();
      agent.destroy();
    },
  };
}
