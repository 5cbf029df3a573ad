/**
 * The `app://fleetdesk/…` protocol handler that serves the built renderer (Electron's `protocol.handle`): files
 * only from the renderer's own folder — any '..' segment after decoding, a backslash or a NUL is refused — with
 * the Content-Security-Policy header on every answer, `nosniff`, and GET/HEAD only. Plain Node
 * (Request → Response), so it is tested without Electron.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { DESKTOP_APP_HOST, DESKTOP_APP_SCHEME } from '../../shared/desktop-origin.js';
import { contentTypeOf, resolveStaticPath } from '../browser-host/static-files.js';
import { tileFileOf } from '../browser-host/tile-files.js';

/**
 * The file an `app://` URL names inside `root`, or why not: `forbidden` (a way out of the folder: '..' after
 * decoding, backslashes, NUL), `not_found` (another host or scheme, a dotfile), `bad_request`. `/` is `index.html`.
 * The browser console's static server resolves its paths with the same rules (resolveStaticPath).
 */
export function appFileFor(root: string, url: string): { file: string } | { refused: 'forbidden' | 'not_found' | 'bad_request' } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { refused: 'not_found' };
  }
  if (u.protocol !== `${DESKTOP_APP_SCHEME}:` || u.host !== DESKTOP_APP_HOST) return { refused: 'not_found' };
  const resolved = resolveStaticPath(root, u.pathname);
  if (resolved.ok) return { file: resolved.file };
  return { refused: resolved.status === 403 ? 'forbidden' : resolved.status === 404 ? 'not_found' : 'bad_request' };
}

export type ReadFile = (path: string) => Promise<Uint8Array>;

/**
 * `protocol.handle('app', …)`'s handler for the renderer folder `root`, every answer carrying `csp`. With `tileDir`
 * (FLEETDESK_TILE_DIR, an offline site's `{z}/{x}/{y}.png` folder) `app://fleetdesk/tiles/z/x/y.png` is served from
 * it, as the browser console does (tile-files.ts): only numeric tile paths, nothing else of the folder.
 */
export function createAppProtocolHandler(
  root: string,
  csp: string,
  readFile: ReadFile = fsReadFile,
  tileDir?: string,
): (request: Request) => Promise<Response> {
  const headers = (extra: Record<string, string>) => ({
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
    ...extra,
  });
  const refuse = (status: number, text: string) =>
    new Response(text, { status, headers: headers({ 'content-type': 'text/plain; charset=utf-8' }) });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'method not allowed');
    const tilePath = tilesPathOf(request.url);
    const target =
      tilePath === null
        ? appFileFor(root, request.url)
        : tileDir && tileFileOf(tilePath)
          ? appFileFor(tileDir, `${DESKTOP_APP_SCHEME}://${DESKTOP_APP_HOST}${tileFileOf(tilePath)!}`)
          : ({ refused: 'not_found' } as const);
    if ('refused' in target)
      return target.refused === 'forbidden'
        ? refuse(403, 'forbidden')
        : target.refused === 'bad_request'
          ? refuse(400, 'bad request')
          : refuse(404, 'not found');
    let body: Uint8Array;
    try {
      body = await readFile(target.file);
    } catch {
      return refuse(404, 'not found');
    }
    return new Response(request.method === 'HEAD' ? null : new Blob([body as Uint8Array<ArrayBuffer>]), {
      status: 200,
      headers: headers({ 'content-type': contentTypeOf(target.file) }),
    });
  };
}

/** The `/tiles/…` path (with its query) of an app:// URL of ours, or null for any other URL. */
function tilesPathOf(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== `${DESKTOP_APP_SCHEME}:` || u.host !== DESKTOP_APP_HOST || !u.pathname.startsWith('/tiles/')) return null;
    return `${u.pathname}${u.search}`;
  } catch {
    return null;
  }
}
