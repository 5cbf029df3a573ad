/**
 * Test support: a tiny node:http double of the companion server's two ops endpoints the desktop reads
 * (our own contract: GET /ops/v1/vehicles, GET /ops/v1/fleet/live). Can be taken down and brought back.
 */
import { createServer, type Server } from 'node:http';
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
  close(): Promise<void>;
}

export async function startFakeServer(port = 0): Promise<FakeServer> {
  const state: Omit<FakeServer, 'url' | 'close'> = { registry: [], live: [], hits: new Map(), failWith: null };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.failWith !== null) return json(state.failWith, { type: 'about:blank', title: 'failing on purpose' });
    if (req.method === 'GET' && path === '/ops/v1/vehicles') return json(200, { vehicles: state.registry });
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
