import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  CONSOLE_WS_PATH,
  type AccessToken,
  type AppInfo,
  type AuthState,
  type ConnectionState,
  type ConsoleServerMessage,
  type DesktopError,
  type FleetCounts,
  type FleetFrame,
  type FleetSnapshot,
} from '../../shared/desktop-api.js';
import { deviceTopic } from '../../shared/device-protocol.js';
import { decodeFleetFrame, FLEET_FRAME_FORMAT } from '../../shared/fleet-frame-codec.js';
import { silentLogger } from '../log.js';
import { startTestBroker, type TestBroker } from '../testing/aedes-broker.js';
import { startFakeServer, type FakeServer } from '../testing/fake-server.js';
import { telemetry, vehicleInfo, vehicleLive, waitFor } from '../testing/fixtures.js';
import { startBrowserConsole, type BrowserConsole } from './host.js';

let dir: string;
let broker: TestBroker;
let server: FakeServer;
let console_: BrowserConsole;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetdesk-console-'));
  const rendererDir = join(dir, 'renderer');
  await mkdir(join(rendererDir, 'assets'), { recursive: true });
  await writeFile(
    join(rendererDir, 'index.html'),
    '<!doctype html><title>Fleetdesk</title><script type="module" src="./assets/app.js"></script>',
  );
  await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log("app")');
  await writeFile(join(rendererDir, 'assets', 'app.css'), 'body{}');
  await writeFile(join(dir, 'secret.txt'), 'TOP SECRET');

  broker = await startTestBroker();
  server = await startFakeServer();
  server.registry = [vehicleInfo('car-1'), vehicleInfo('car-2')];
  server.live = [vehicleLive('car-1', 5), vehicleLive('car-2', 5, { speedKph: 40 })];
  server.requireAuth = true;
  server.accounts.set('dana@ops.example', { password: 'pw-dana', staff: { id: 'staff-dana', name: 'Dana', role: 'dispatcher' } });
  console_ = await startBrowserConsole({
    config: {
      mqttUrl: broker.url,
      serverUrl: server.url,
      logger: silentLogger(),
      staffCredentials: { email: 'dana@ops.example', password: 'pw-dana' },
      tileUrl: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png',
      version: '9.9.9',
    },
    port: 0,
    rendererDir,
    logger: silentLogger(),
  });
  origin = `http://127.0.0.1:${console_.port}`;
});

afterAll(async () => {
  await console_?.stop();
  await server?.close();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Raw HTTP GET (no URL normalisation, unlike fetch), to send traversal paths as-is. */
function rawGet(
  path: string,
  port = console_.port,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Connects and resolves with the socket, or with the HTTP status of a rejected upgrade. */
function connect(query: string, headers: { origin?: string } = { origin: '' }): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${console_.port}${CONSOLE_WS_PATH}${query}`,
      headers.origin === undefined ? {} : { origin: headers.origin || origin },
    );
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

class Client {
  private nextId = 1;
  readonly messages: ConsoleServerMessage[] = [];
  /** fleet frames that came as bytes */
  binaryFrames = 0;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return void this.messages.push(JSON.parse(String(data)) as ConsoleServerMessage);
      this.binaryFrames++;
      this.messages.push({ kind: 'event', event: 'fleet:frame', payload: decodeFleetFrame(new Uint8Array(data as Buffer)) });
    });
  }
  async invoke<T>(channel: string, args: unknown[] = []): Promise<{ ok: true; result: T } | { ok: false; error: DesktopError }> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ kind: 'invoke', id, channel, args }));
    await waitFor(() => this.messages.some((m) => m.kind === 'result' && m.id === id), `result ${id}`);
    const m = this.messages.find((m) => m.kind === 'result' && m.id === id)!;
    return m as never;
  }
  frames(): FleetFrame[] {
    return this.messages.flatMap((m) => (m.kind === 'event' && m.event === 'fleet:frame' ? [m.payload as FleetFrame] : []));
  }
}

describe('browser console', () => {
  it('prints a URL with the token in the fragment', () => {
    expect(console_.url).toBe(`${origin}/#token=${console_.token}`);
    expect(console_.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a missing or wrong token with 401 and a foreign or missing Origin with 403', async () => {
    expect(await connect('')).toBe(401);
    expect(await connect('?token=')).toBe(401);
    expect(await connect(`?token=${'0'.repeat(64)}`)).toBe(401);
    expect(await connect(`?token=${console_.token.slice(0, 10)}`)).toBe(401);
    expect(await connect(`?token=${console_.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await connect(`?token=${console_.token}`, { origin: 'http://localhost:1' })).toBe(403);
    expect(await connect(`?token=${console_.token}`, {})).toBe(403);
  });

  it('with the right token: app:getInfo, fleet:getSnapshot, fleet:getCounts, pushed frames', async () => {
    const ws = await connect(`?token=${console_.token}`);
    expect(ws).toBeInstanceOf(WebSocket);
    const client = new Client(ws as WebSocket);
    try {
      const info = await client.invoke<AppInfo>('app:getInfo');
      expect(info).toEqual({
        kind: 'result',
        id: 1,
        ok: true,
        result: {
          name: 'Fleetdesk',
          version: '9.9.9',
          host: 'browser',
          serverUrl: server.url,
          tileUrl: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png',
          tileAttribution: '',
          syncUrl: origin,
        },
      });

      // the server seed and registry land in the snapshot
      let snap: FleetSnapshot | null = null;
      await waitFor(() => (server.hits.get('/ops/v1/fleet/live') ?? 0) > 0, 'seed fetched');
      for (let i = 0; i < 50 && (snap?.vehicles.length ?? 0) < 2; i += 1) {
        const r = await client.invoke<FleetSnapshot>('fleet:getSnapshot');
        if (r.ok) snap = r.result;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(snap!.vehicles.map((v) => v.id).sort()).toEqual(['car-1', 'car-2']);
      expect(snap!.registry.map((v) => v.id).sort()).toEqual(['car-1', 'car-2']);

      // live telemetry is pushed as frames
      for (let i = 0; i < 200; i += 1) {
        const r = await client.invoke<ConnectionState>('connection:getState');
        if (r.ok && r.result.broker.status === 'connected') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // a renderer that reads frames as bytes says so on connecting (the app's own bridge does)
      const binary = new Client((await connect(`?token=${console_.token}&frames=${FLEET_FRAME_FORMAT}`)) as WebSocket);
      const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      try {
        await pub.publishAsync(deviceTopic('car-1', 'telemetry'), JSON.stringify(telemetry(6, { lat: 52.55 })));
        await waitFor(() => client.frames().some((f) => f.upserts.some((v) => v.id === 'car-1' && v.seq === 6)), 'frame with car-1 seq 6');
        await waitFor(() => binary.frames().some((f) => f.upserts.some((v) => v.id === 'car-1' && v.seq === 6)), 'bytes with car-1 seq 6');
        expect(binary.binaryFrames).toBe(binary.frames().length);
        expect(client.binaryFrames).toBe(0);
        const withSix = (c: Client) => c.frames().find((f) => f.upserts.some((v) => v.id === 'car-1' && v.seq === 6));
        expect(withSix(binary)).toEqual(withSix(client)); // the same frame, either way
        const frame = client.frames().find((f) => f.upserts.some((v) => v.id === 'car-1' && v.seq === 6))!;
        expect(frame.seq).toBeGreaterThan(0);
        expect(frame.upserts.find((v) => v.id === 'car-1')).toMatchObject({ lat: 52.55, online: true });
        // frame seqs only grow
        const seqs = client.frames().map((f) => f.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      } finally {
        await pub.endAsync(true);
        binary.ws.close();
      }

      const counts = await client.invoke<FleetCounts>('fleet:getCounts');
      expect(counts.ok && counts.result).toMatchObject({ total: 2, byState: { moving: 2, parked: 0, offline: 0 } }); // car-1 now drives at 30 km/h

      // the staff session lives in the host: the page gets its state and short-lived access tokens only
      const auth = await client.invoke<AuthState>('auth:getState');
      expect(auth).toMatchObject({
        ok: true,
        result: { status: 'signed_in', autoSignIn: true, operator: { id: 'staff-dana', role: 'dispatcher' } },
      });
      const token = await client.invoke<AccessToken>('auth:getAccessToken');
      expect(token.ok && server.accessTokens.get(token.result.token)).toBe('staff-dana');
      expect(JSON.stringify(client.messages)).not.toMatch(/rt-staff-dana|pw-dana/);
      const wrong = await client.invoke('auth:signIn', ['dana@ops.example', 'nope']);
      expect(wrong).toMatchObject({ ok: false, error: { code: 'invalid_credentials' } });
    } finally {
      (ws as WebSocket).close();
    }
  });

  it('survives bad JSON, unknown channels, bad args and oversized messages', async () => {
    const ws = (await connect(`?token=${console_.token}`)) as WebSocket;
    const client = new Client(ws);
    ws.send('{not json');
    ws.send('null');
    ws.send(JSON.stringify({ kind: 'invoke', id: 'x', channel: 'app:getInfo', args: [] }));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const unknown = await client.invoke('fs:readFile', ['/etc/passwd']);
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown_channel' } });
    const proto = await client.invoke('__proto__');
    expect(proto).toMatchObject({ ok: false, error: { code: 'unknown_channel' } });
    const badArgs = await client.invoke('app:getInfo', 'nope' as never);
    expect(badArgs).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const ok = await client.invoke<AppInfo>('app:getInfo');
    expect(ok.ok).toBe(true);

    // an oversized message closes that socket (1009) but not the console
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(70 * 1024));
    expect(await closed).toBe(1009);
    const again = (await connect(`?token=${console_.token}`)) as WebSocket;
    const info = await new Client(again).invoke<AppInfo>('app:getInfo');
    expect(info.ok).toBe(true);
    again.close();
  });

  it('serves the renderer with CSP and content types', async () => {
    const index = await rawGet('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body).toContain('<title>Fleetdesk</title>');
    const csp = String(index.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${console_.port} ${server.url} https://*.tiles.example.org;`);
    expect(csp).toContain("img-src 'self' data: blob: https://*.tiles.example.org;");
    expect(csp).not.toContain('unsafe-eval');
    expect(index.headers['x-content-type-options']).toBe('nosniff');

    const js = await rawGet('/assets/app.js?v=1');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toBe(csp);
    expect((await rawGet('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await rawGet('/assets/missing.js')).status).toBe(404);
    expect((await rawGet('/assets')).status).toBe(404); // directories are not listed
  });

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/assets/%252e%252e/%252e%252e/secret.txt',
    '/index.html%00.js',
    '/.%2e/secret.txt',
  ])('refuses path traversal %s', async (path) => {
    const res = await rawGet(path);
    expect([400, 403, 404]).toContain(res.status);
    expect(res.body).not.toContain('TOP SECRET');
  });

  it('proxies /sync/v1/* and staff API reads to the server (same origin for the renderer), never the sign-in routes', async () => {
    const before = server.hits.get('/sync/v1/vehicles/pull') ?? 0;
    const r = await rawGet('/sync/v1/vehicles/pull?limit=1');
    expect(server.hits.get('/sync/v1/vehicles/pull')).toBe(before + 1); // reached the (fake) server
    expect(r.status).toBe(401); // the fake server's answer (no token sent here), passed through
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(server.hits.get('/ops/v1/alerts') ?? 0).toBe(0);
    await rawGet('/ops/v1/alerts');
    expect(server.hits.get('/ops/v1/alerts') ?? 0).toBe(1); // staff API reads are proxied
    expect((await rawGet('/ops/v1/auth/refresh')).status).toBe(403);
    expect(server.hits.get('/ops/v1/auth/refresh') ?? 0).toBe(0);
    expect((await rawGet('/gbfs/v3/gbfs.json')).status).toBe(404); // anything else: static files only
  });

  it('answers a non-WebSocket path upgrade with 404 and other methods with 405', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${console_.port}/elsewhere?token=${console_.token}`, { origin });
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    ws.terminate();
    expect(status).toBe(404);
    const res = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: console_.port, path: '/', method: 'POST' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(res).toBe(405);
  });
});

describe('browser console lifecycle', () => {
  it('stop() closes clients and frees the port', async () => {
    const c = await startBrowserConsole({
      config: { mqttUrl: 'mqtt://127.0.0.1:1', serverUrl: 'http://127.0.0.1:1', logger: silentLogger() },
      port: 0,
      rendererDir: dir,
      logger: silentLogger(),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}${CONSOLE_WS_PATH}?token=${c.token}`, { origin: `http://127.0.0.1:${c.port}` });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await c.stop();
    expect(await closed).toBe(1001);
    await expect(rawGetPort(c.port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

function rawGetPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('browser console with a local tile directory (offline sites)', () => {
  it('serves {z}/{x}/{y}.png tiles on its own origin and nothing else of the directory; the renderer gets /tiles/…', async () => {
    const tiles = join(dir, 'tiles');
    await mkdir(join(tiles, '14', '8800'), { recursive: true });
    await writeFile(join(tiles, '14', '8800', '5370.png'), 'PNGDATA');
    await writeFile(join(tiles, 'secret.txt'), 'TOP SECRET');
    const local = await startBrowserConsole({
      config: {
        mqttUrl: broker.url,
        serverUrl: server.url,
        logger: silentLogger(),
        tileDir: tiles,
        tileUrl: 'https://tile.example.org/{z}/{x}/{y}.png',
      },
      port: 0,
      rendererDir: join(dir, 'renderer'),
      logger: silentLogger(),
    });
    try {
      const tile = await rawGet('/tiles/14/8800/5370.png', local.port);
      expect(tile.status).toBe(200);
      expect(tile.headers['content-type']).toBe('image/png');
      expect(tile.body).toBe('PNGDATA');
      for (const path of ['/tiles/secret.txt', '/tiles/14/8800/../../secret.txt', '/tiles/14/8800/5371.png', '/tiles/%2e%2e/secret.txt'])
        expect((await rawGet(path, local.port)).status, path).toBe(404);
      const info = (await local.services.handlers['app:getInfo']()) as { tileUrl: string };
      expect(info.tileUrl).toBe('/tiles/{z}/{x}/{y}.png');
      // the tile directory wins over a tile server: nothing foreign in the CSP
      const csp = String((await rawGet('/', local.port)).headers['content-security-policy']);
      expect(csp).not.toContain('tile.example.org');
    } finally {
      await local.stop();
    }
  });
});
