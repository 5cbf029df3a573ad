/**
 * A local, file-based tile source for offline sites: a directory laid out as `{z}/{x}/{y}.png` (what tile
 * downloaders and `gdal2tiles --xyz` write) served by the browser console under `/tiles/` on its own origin, so
 * the CSP needs nothing beyond 'self'. Only numeric z/x/y paths are served: nothing else of the directory is
 * reachable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveStatic } from './static-files.js';

/** The template the renderer gets when the console serves a tile directory. */
export const LOCAL_TILE_TEMPLATE = '/tiles/{z}/{x}/{y}.png';

const TILE_PATH = /^\/tiles(\/\d{1,2}\/\d{1,8}\/\d{1,8}\.png)(?:\?.*)?$/;

/** `/z/x/y.png` of a `/tiles/z/x/y.png` path (a query allowed), or null: the only paths of a tile directory served. */
export function tileFileOf(path: string): string | null {
  return TILE_PATH.exec(path)?.[1] ?? null;
}

/** Handles `/tiles/…` requests (true when it did): a tile from `dir`, or 404 for anything that is not a tile path. */
export function handleTileRequest(dir: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): boolean {
  const url = req.url ?? '';
  if (!url.startsWith('/tiles/')) return false;
  const tile = tileFileOf(url);
  if (!tile) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    res.end('not a tile');
    return true;
  }
  // serveStatic checks the method, and the resolved path against the directory once more
  const tileReq = Object.assign(Object.create(req) as IncomingMessage, { url: tile });
  void serveStatic(dir, tileReq, res, headers).catch(() => {
    if (!res.headersSent) res.writeHead(500, headers);
    res.end();
  });
  return true;
}
