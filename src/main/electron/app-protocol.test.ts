/** The app:// handler on a real folder: the renderer's files with the CSP, nothing outside the folder, GET/HEAD only. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFileFor, createAppProtocolHandler } from './app-protocol.js';

const CSP = "default-src 'self'; script-src 'self'";
let base: string;
let root: string;
let handle: (request: Request) => Promise<Response>;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'fleetdesk-app-protocol-'));
  root = join(base, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Fleetdesk</title>');
  await writeFile(join(root, 'assets', 'main.js'), 'console.log(1)');
  // beside the renderer folder: what a traversal would be after
  await writeFile(join(base, 'secret.txt'), 'session vault');
  await writeFile(join(base, 'renderer-evil.txt'), 'a sibling whose name starts like the folder');
  handle = createAppProtocolHandler(root, CSP);
});
afterAll(() => rm(base, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => handle(new Request(url, { method }));

describe('app:// protocol handler', () => {
  it('serves index.html for / and the assets, with their type, the CSP and nosniff', async () => {
    for (const [url, type, text] of [
      ['app://fleetdesk/', 'text/html', 'Fleetdesk'],
      ['app://fleetdesk/index.html#/vehicles', 'text/html', 'Fleetdesk'],
      ['app://fleetdesk/assets/main.js?v=1', 'text/javascript', 'console.log'],
    ] as const) {
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toBe(CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toContain(text);
    }
  });

  it('refuses every way out of the folder with 403, and never reads the file', async () => {
    // what only decoding reveals: an encoded slash or backslash after '..', a NUL
    for (const path of [
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/..%2frenderer-evil.txt',
      '/index.html%00.png',
    ]) {
      const res = await get(`app://fleetdesk${path}`);
      expect(res.status, path).toBe(403);
      expect(await res.text()).not.toContain('vault');
      expect(res.headers.get('content-security-policy')).toBe(CSP);
    }
    // plain and encoded dot segments are folded by URL parsing itself: they stay inside the folder (here: no such file)
    for (const path of ['/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2E%2E/%2e%2e/secret.txt']) {
      expect(appFileFor(root, `app://fleetdesk${path}`), path).toEqual({ file: join(root, 'secret.txt') });
      expect((await get(`app://fleetdesk${path}`)).status, path).toBe(404);
    }
    expect((await get('app://fleetdesk/%E0%A4%A')).status).toBe(400);
    expect((await get('app://fleetdesk/.env')).status).toBe(404);
  });

  it('answers 404 for another host, a missing file or a folder; 405 for anything but GET and HEAD', async () => {
    expect((await get('app://elsewhere/index.html')).status).toBe(404);
    expect((await get('app://fleetdesk/missing.js')).status).toBe(404);
    expect((await get('app://fleetdesk/assets')).status).toBe(404);
    expect((await get('app://fleetdesk/index.html', 'POST')).status).toBe(405);
    const head = await get('app://fleetdesk/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves a local tile folder under /tiles/ (numeric tile paths only), and nothing there without one', async () => {
    const tiles = join(base, 'tiles');
    await mkdir(join(tiles, '14', '8800'), { recursive: true });
    await writeFile(join(tiles, '14', '8800', '5373.png'), 'PNG tile');
    await writeFile(join(tiles, 'notes.txt'), 'not a tile');
    const withTiles = createAppProtocolHandler(root, CSP, undefined, tiles);
    const tile = await withTiles(new Request('app://fleetdesk/tiles/14/8800/5373.png?v=2'));
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toContain('image/png');
    expect(tile.headers.get('content-security-policy')).toBe(CSP);
    expect(await tile.text()).toBe('PNG tile');
    for (const url of [
      'app://fleetdesk/tiles/notes.txt',
      'app://fleetdesk/tiles/14/8800/9999.png',
      'app://fleetdesk/tiles/%2e%2e/secret.txt',
      'app://fleetdesk/tiles/14/../../secret.txt',
      'app://elsewhere/tiles/14/8800/5373.png',
    ])
      expect((await withTiles(new Request(url))).status, url).toBe(404);
    // the renderer's own files are still served beside the tiles
    expect((await withTiles(new Request('app://fleetdesk/index.html'))).status).toBe(200);
    // no tile folder configured: /tiles/ is nothing
    expect((await get('app://fleetdesk/tiles/14/8800/5373.png')).status).toBe(404);
  });
});
