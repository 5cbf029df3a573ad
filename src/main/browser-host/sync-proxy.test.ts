import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { waitFor } from '../testing/fixtures.js';
import { createSyncProxy, type SyncProxy } from './sync-proxy.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The upstream: a real node:http server that records requests and can hold SSE streams open. */
let upstream: Server;
let upstreamUrl: string;
const seen: Seen[] = [];
const streams = new Set<ServerResponse>();
let streamClosed = 0;

let front: Server;
let frontPort: number;
let proxy: SyncProxy;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function startFront(serverUrl: string, maxBodyBytes = 1000): Promise<void> {
  proxy = createSyncProxy({
    serverUrl,
    origin: () => `http://127.0.0.1:${frontPort}`,
    allowedHosts: () => [`127.0.0.1:${frontPort}`, `localhost:${frontPort}`],
    maxBodyBytes,
    logger: silentLogger(),
  });
  front = createServer((req, res) => {
    if (proxy.handle(req, res, { 'x-content-type-options': 'nosniff' })) return;
    res.writeHead(404);
    res.end('static');
  });
  frontPort = await listen(front);
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.includes('/stream')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'set-cookie': 'x=1' });
        res.write(`data: ${JSON.stringify({ documents: [], checkpoint: { seq: 0 } })}\n\n`);
        streams.add(res);
        res.on('close', () => {
          streams.delete(res);
          streamClosed += 1;
        });
        return;
      }
      const payload = JSON.stringify({ echo: req.url, body });
      res.writeHead(req.method === 'POST' ? 200 : 200, { 'content-type': 'application/json', 'set-cookie': 'y=2', 'x-internal': 'secret' });
      res.end(payload);
    });
  });
  const port = await listen(upstream);
  upstreamUrl = `http://127.0.0.1:${port}/base`;
});

afterEach(async () => {
  proxy?.close();
  if (front) await close(front);
  seen.length = 0;
});

afterAll(async () => {
  await close(upstream);
});

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function send(opts: {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  chunked?: boolean;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const req = request({ host: '127.0.0.1', port: frontPort, method: opts.method ?? 'GET', path: opts.path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        // several writes without content-length → chunked transfer encoding
        const buf = Buffer.from(opts.body);
        for (let i = 0; i < buf.length; i += 256) req.write(buf.subarray(i, i + 256));
      } else req.write(opts.body);
    }
    req.end();
  });
}

describe('browser console sync proxy', () => {
  it('forwards GET under /sync/v1 with its query to the server base path, only the allowed headers both ways', async () => {
    await startFront(upstreamUrl);
    const r = await send({
      path: '/sync/v1/vehicles/pull?checkpoint=%7B%22seq%22%3A3%7D&limit=10',
      headers: {
        'x-fleetdesk-actor': 'anna',
        'x-fleetdesk-role': 'support',
        accept: 'application/json',
        cookie: 'session=abc',
        authorization: 'Bearer short-lived',
        'x-forwarded-for': '10.0.0.1',
        'x-other': '1',
      },
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ echo: '/base/sync/v1/vehicles/pull?checkpoint=%7B%22seq%22%3A3%7D&limit=10', body: '' });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.headers['x-internal']).toBeUndefined();
    const h = seen[0]!.headers;
    expect(seen[0]!.method).toBe('GET');
    expect(h['authorization']).toBe('Bearer short-lived');
    expect(h['accept']).toBe('application/json');
    for (const name of ['cookie', 'x-fleetdesk-actor', 'x-fleetdesk-role', 'x-forwarded-for', 'x-other', 'origin'])
      expect(h[name]).toBeUndefined();
  });

  it('forwards a POST body (plain and chunked) and refuses one over the cap with 413, forwarding nothing', async () => {
    await startFront(upstreamUrl, 1000);
    const body = JSON.stringify([{ newDocumentState: { id: 't1', note: 'x'.repeat(500) } }]);
    const plain = await send({ method: 'POST', path: '/sync/v1/tasks/push', headers: { 'content-type': 'application/json' }, body });
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body).body).toBe(body);
    const chunked = await send({
      method: 'POST',
      path: '/sync/v1/tasks/push',
      headers: { 'content-type': 'application/json' },
      body,
      chunked: true,
    });
    expect(JSON.parse(chunked.body).body).toBe(body);
    expect(seen.at(-1)!.headers['content-type']).toBe('application/json');
    seen.length = 0;

    const big = 'x'.repeat(5000);
    const declared = await send({
      method: 'POST',
      path: '/sync/v1/tasks/push',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(declared.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(declared.body)).toMatchObject({ status: 413 });
    const streamed = await send({
      method: 'POST',
      path: '/sync/v1/tasks/push',
      headers: { 'content-type': 'application/json' },
      body: big,
      chunked: true,
    });
    expect(streamed.status).toBe(413);
    expect(seen.filter((s) => s.body.length > 1000)).toEqual([]);
  });

  it('proxies only GET/POST under /sync/v1, refuses dot segments and encoded tricks, foreign origins and hosts', async () => {
    await startFront(upstreamUrl);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await send({ method, path: '/sync/v1/tasks/push' });
      expect(r.status, method).toBe(405);
      expect(r.headers['allow']).toBe('GET, POST');
    }
    // the staff API: reads only, never the sign-in routes (the host holds the credentials)
    expect((await send({ path: '/ops/v1/customers?q=anna', headers: { authorization: 'Bearer t' } })).status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/base/ops/v1/customers?q=anna', method: 'GET' });
    for (const method of ['POST', 'PATCH', 'DELETE'])
      expect((await send({ method, path: '/ops/v1/alerts/a1/acknowledge' })).status, method).toBe(405);
    // …but for the actions the page sends itself: cancelling a command, ending a rental — exactly those paths
    expect((await send({ method: 'POST', path: '/ops/v1/commands/cmd-00000001/cancel', body: '{"reason":"x"}' })).status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/base/ops/v1/commands/cmd-00000001/cancel', method: 'POST' });
    expect((await send({ method: 'POST', path: '/ops/v1/rentals/rental-1/end', body: '{"reason":"x"}' })).status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/base/ops/v1/rentals/rental-1/end', method: 'POST' });
    for (const path of [
      '/ops/v1/rentals/rental-1/end/x',
      '/ops/v1/rentals/rental-1/refunds',
      '/ops/v1/rentals/a.b/end',
      '/ops/v1/commands/cmd-00000001/cancel/x',
      '/ops/v1/commands/a.b/cancel',
      '/ops/v1/commands/cmd-00000001',
      '/ops/v1/commands/x/cancel',
    ])
      expect((await send({ method: 'POST', path, body: '{}' })).status, path).toBe(405);
    // the admins' settings: a new tariff version, a zone created, edited (PATCH) and retired; nothing around them
    for (const [method, path] of [
      ['POST', '/ops/v1/tariffs/vw-id-3-electric/versions'],
      ['POST', '/ops/v1/tariffs/vw-id-3-electric/versions/tv_1/withdraw'],
      ['POST', '/ops/v1/zones'],
      ['PATCH', '/ops/v1/zones/forecourt'],
      ['POST', '/ops/v1/zones/forecourt/retire'],
    ] as const) {
      expect((await send({ method, path, body: '{}' })).status, `${method} ${path}`).toBe(200);
      expect(seen.at(-1)).toMatchObject({ url: `/base${path}`, method });
    }
    for (const [method, path] of [
      ['PATCH', '/ops/v1/zones'],
      ['POST', '/ops/v1/zones/forecourt'],
      ['DELETE', '/ops/v1/zones/forecourt'],
      ['PATCH', '/ops/v1/zones/forecourt/retire'],
      ['POST', '/ops/v1/tariffs/x/versions/tv_1'],
    ] as const) {
      expect((await send({ method, path })).status, `${method} ${path}`).toBe(405);
    }
    expect((await send({ method: 'DELETE', path: '/ops/v1/zones/forecourt' })).headers['allow']).toBe('GET, PATCH');
    // the back office's online actions: a payment retry, reconciliation, staff accounts (PATCH only on an account),
    // the registry and device administration, each with its own method only
    for (const [method, path] of [
      ['POST', '/ops/v1/payments/operations/pop_0123abcd/retry'],
      ['POST', '/ops/v1/payments/reconciliation'],
      ['POST', '/ops/v1/staff'],
      ['POST', '/ops/v1/staff/staff-1.a@b/password-reset'],
      ['PATCH', '/ops/v1/staff/staff-1'],
      ['POST', '/ops/v1/vehicles'],
      ['POST', '/ops/v1/vehicles/import?dryRun=true'],
      ['PATCH', '/ops/v1/vehicles/veh-00001'],
      ['POST', '/ops/v1/devices/credentials'],
      ['POST', '/ops/v1/devices/revoke'],
    ] as const) {
      expect((await send({ method, path, body: '{}' })).status, `${method} ${path}`).toBe(200);
      expect(seen.at(-1), path).toMatchObject({ url: `/base${path}`, method });
    }
    for (const [method, path] of [
      ['PATCH', '/ops/v1/staff'],
      ['PATCH', '/ops/v1/payments/operations/pop_1/retry'],
      ['POST', '/ops/v1/staff/staff-1'],
      ['POST', '/ops/v1/payments/operations/pop_1/retry/x'],
      ['PATCH', '/ops/v1/vehicles'],
      ['POST', '/ops/v1/vehicles/veh-00001'],
      ['PATCH', '/ops/v1/vehicles/a/b'],
      ['POST', '/ops/v1/devices/credentials/x'],
    ] as const) {
      expect((await send({ method, path, body: '{}' })).status, `${method} ${path}`).toBe(405);
    }
    for (const path of ['/ops/v1/auth/login', '/ops/v1/auth/refresh', '/ops/v1/AUTH/refresh', '/ops/v1/auth']) {
      expect((await send({ path })).status, path).toBe(403);
    }
    seen.length = 0;
    // outside the prefixes: not the proxy's business (the static server answers)
    for (const path of ['/ops/v10/alerts', '/ops', '/sync/v10/x', '/sync', '/Sync/v1/tasks/pull']) {
      const r = await send({ path });
      expect(r.body, path).toBe('static');
    }
    for (const path of [
      '/sync/v1/../ops/v1/alerts',
      '/sync/v1/%2e%2e/ops/v1/alerts',
      '/sync/v1/tasks%2f..%2f..%2fops',
      '/sync/v1/./tasks/pull',
      '/sync/v1/x\\..\\y',
    ]) {
      const r = await send({ path });
      expect(r.status, path).toBe(400);
      expect(r.headers['content-type']).toBe('application/problem+json');
    }
    expect((await send({ path: '/sync/v1/tasks/pull', headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await send({ path: '/sync/v1/tasks/pull', headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await send({ path: '/sync/v1/tasks/pull', headers: { host: 'attacker.example:80' } })).status).toBe(403);
    // own origin, or none (non-browser clients), pass
    expect((await send({ path: '/sync/v1/tasks/pull', headers: { origin: `http://127.0.0.1:${frontPort}` } })).status).toBe(200);
    expect((await send({ path: '/sync/v1/tasks/pull', headers: { host: `localhost:${frontPort}` } })).status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/base/sync/v1/tasks/pull', '/base/sync/v1/tasks/pull']);
  });

  it('streams SSE unbuffered, keeps it open, and closes the server side when the browser goes away', async () => {
    await startFront(upstreamUrl);
    const received: string[] = [];
    let status = 0;
    let contentType: string | undefined;
    let ended = false;
    const before = streamClosed;
    const req = request(
      { host: '127.0.0.1', port: frontPort, path: '/sync/v1/alerts/stream', headers: { accept: 'text/event-stream' } },
      (res) => {
        status = res.statusCode ?? 0;
        contentType = res.headers['content-type'];
        res.setEncoding('utf8');
        res.on('data', (c: string) => received.push(c));
        res.on('end', () => (ended = true));
        res.on('error', () => undefined);
      },
    );
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => received.join('').includes('"seq":0'), 'first event');
    expect(status).toBe(200);
    expect(contentType).toBe('text/event-stream');
    expect(streams.size).toBe(1);
    // later events arrive one by one while the response stays open
    await new Promise((r) => setTimeout(r, 150));
    const s = [...streams][0]!;
    s.write('data: "RESYNC"\n\n');
    await waitFor(() => received.join('').includes('RESYNC'), 'RESYNC event');
    s.write(`data: ${JSON.stringify({ documents: [{ id: 'a1' }], checkpoint: { seq: 7 } })}\n\n`);
    await waitFor(() => received.join('').includes('"seq":7'), 'second event');
    expect(ended).toBe(false);
    // the browser closes the stream → the server's response is closed too
    req.destroy();
    await waitFor(() => streamClosed === before + 1, 'upstream stream closed');
    expect(streams.size).toBe(0);
  });

  it('ends the browser stream when the server dies mid-stream, and close() aborts open streams', async () => {
    await startFront(upstreamUrl);
    const open = (): { done: () => boolean; data: () => string } => {
      let finished = false;
      let data = '';
      const req = request({ host: '127.0.0.1', port: frontPort, path: '/sync/v1/alerts/stream' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => (finished = true));
        res.on('error', () => (finished = true));
        res.on('close', () => (finished = true));
      });
      req.on('error', () => (finished = true));
      req.end();
      return { done: () => finished, data: () => data };
    };
    const a = open();
    await waitFor(() => a.data().includes('seq') && streams.size === 1, 'stream a open');
    [...streams][0]!.socket?.destroy(); // the server process "dies"
    await waitFor(() => a.done(), 'browser side ended');

    const b = open();
    await waitFor(() => b.data().includes('seq') && streams.size === 1, 'stream b open');
    proxy.close();
    await waitFor(() => streams.size === 0, 'upstream stream aborted by close()');
    // after close(), new requests are refused
    expect((await send({ path: '/sync/v1/tasks/pull' })).status).toBe(503);
  });

  it('answers 502 problem+json when the server is down', async () => {
    const dead = createServer();
    const port = await listen(dead);
    await close(dead);
    await startFront(`http://127.0.0.1:${port}`);
    const get = await send({ path: '/sync/v1/vehicles/pull?limit=1' });
    expect(get.status).toBe(502);
    expect(get.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(get.body)).toMatchObject({ status: 502, title: 'Bad Gateway' });
    const post = await send({ method: 'POST', path: '/sync/v1/tasks/push', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(post.status).toBe(502);
    const stream = await send({ path: '/sync/v1/alerts/stream' });
    expect(stream.status).toBe(502);
  });
});
