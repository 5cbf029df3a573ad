/**
 * Test support: a tiny node:http double of the companion server's ops endpoints the desktop's main process uses
 * (our own contract: GET /ops/v1/vehicles, GET /ops/v1/fleet/live, POST /ops/v1/auth/login|refresh|logout).
 * Can be taken down and brought back. With `requireAuth`, the two GETs want a bearer token it issued.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';

export interface FakeServer {
  url: string;
  registry: VehicleInfo[];
  live: VehicleLive[];
  /** requests seen, by path */
  hits: Map<string, number>;
  /** when set, every request answers with this status */
  failWith: number | null;
  /** the GETs answer 401 without a valid access token */
  requireAuth: boolean;
  /** email → {password, staff} */
  accounts: Map<string, { password: string; staff: { id: string; name: string; role: string } }>;
  /** lifetime of issued access tokens, seconds */
  accessTtlS: number;
  /** issued tokens: access → staff id, refresh → staff id (delete one to revoke it) */
  accessTokens: Map<string, string>;
  refreshTokens: Map<string, string>;
  /** GET /ops/v1/vehicles carries an ETag and answers a matching If-None-Match with 304 (default true) */
  conditional: boolean;
  /** 304s answered */
  notModified: number;
  /** `authorization` headers seen on the GETs */
  seenAuth: string[];
  close(): Promise<void>;
}

export async function startFakeServer(port = 0): Promise<FakeServer> {
  const state: Omit<FakeServer, 'url' | 'close'> = {
    registry: [],
    live: [],
    hits: new Map(),
    failWith: null,
    requireAuth: false,
    accounts: new Map(),
    accessTtlS: 600,
    accessTokens: new Map(),
    refreshTokens: new Map(),
    seenAuth: [],
    conditional: true,
    notModified: 0,
  };
  let counter = 0;
  const issue = (staffId: string) => {
    counter += 1;
    const accessToken = `at-${staffId}-${counter}`;
    const refreshToken = `rt-${staffId}-${counter}`;
    state.accessTokens.set(accessToken, staffId);
    state.refreshTokens.set(refreshToken, staffId);
    const account = [...state.accounts.values()].find((a) => a.staff.id === staffId)!;
    return { accessToken, refreshToken, expiresIn: state.accessTtlS, staff: account.staff };
  };
  const readBody = (req: IncomingMessage): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        try {
          resolve(JSON.parse(text) as Record<string, unknown>);
        } catch {
          resolve({});
        }
      });
    });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.failWith !== null) return json(state.failWith, { type: 'about:blank', title: 'failing on purpose' });
    if (req.method === 'POST' && path.startsWith('/ops/v1/auth/')) {
      void readBody(req).then((body) => {
        if (path === '/ops/v1/auth/login') {
          const account = state.accounts.get(String(body.email));
          if (!account || account.password !== body.password) return json(401, { code: 'invalid_credentials', title: 'Unauthorized' });
          return json(200, issue(account.staff.id));
        }
        if (path === '/ops/v1/auth/refresh') {
          const staffId = state.refreshTokens.get(String(body.refreshToken));
          if (!staffId) return json(401, { code: 'invalid_refresh_token', title: 'Unauthorized' });
          state.refreshTokens.delete(String(body.refreshToken)); // rotated
          return json(200, issue(staffId));
        }
        if (path === '/ops/v1/auth/logout') {
          state.refreshTokens.delete(String(body.refreshToken));
          res.writeHead(204);
          return res.end();
        }
        return json(404, { title: 'not found' });
      });
      return;
    }
    if (req.method === 'GET') state.seenAuth.push(req.headers.authorization ?? '');
    if (state.requireAuth && !state.accessTokens.has((req.headers.authorization ?? '').replace(/^Bearer /, '')))
      return json(401, { code: 'unauthorized', title: 'Unauthorized' });
    if (req.method === 'GET' && path === '/ops/v1/vehicles') {
      // conditional, as the server's: the ETag changes exactly when the list does
      const body = JSON.stringify({ vehicles: state.registry });
      const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
      if (state.conditional && req.headers['if-none-match'] === etag) {
        state.notModified += 1;
        res.writeHead(304, { etag });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', ...(state.conditional ? { etag } : {}) });
      return res.end(body);
    }
    if (req.method === 'GET' && path === '/ops/v1/fleet/live') return json(200, { vehicles: state.live });
    return json(404, { title: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const actualPort = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
