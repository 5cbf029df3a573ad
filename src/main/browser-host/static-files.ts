/**
 * Serves the built renderer from one directory: GET/HEAD only, known content types, no directory listing, and
 * no way out of the directory (any '..' segment, encoded or not, backslashes and NULs are refused before the
 * filesystem is touched; the resolved path is checked against the root as a second line).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export type StaticResolution = { ok: true; file: string } | { ok: false; status: 400 | 403 | 404 };

/** Maps a request path to a file under root, or says why not. Pure: no filesystem access. */
export function resolveStaticPath(root: string, rawUrl: string): StaticResolution {
  const rawPath = rawUrl.split(/[?#]/, 1)[0] ?? '';
  if (!rawPath.startsWith('/')) return { ok: false, status: 400 };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 403 };
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403 };
  // Dotfiles (.env, .git) are never part of a build output worth serving.
  if (segments.some((s) => s.startsWith('.'))) return { ok: false, status: 404 };
  const relative = decoded === '/' ? 'index.html' : decoded.slice(1);
  const rootAbs = resolve(root);
  const file = resolve(rootAbs, relative);
  if (file !== rootAbs && !file.startsWith(rootAbs + sep)) return { ok: false, status: 403 };
  return { ok: true, file };
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, headers, 'method not allowed', { allow: 'GET, HEAD' });
    return;
  }
  const resolved = resolveStaticPath(root, req.url ?? '/');
  if (!resolved.ok) {
    send(res, resolved.status, headers, resolved.status === 404 ? 'not found' : resolved.status === 403 ? 'forbidden' : 'bad request');
    return;
  }
  const st = await stat(resolved.file).catch(() => null);
  if (!st || !st.isFile()) {
    const isIndex = resolved.file === resolve(root, 'index.html');
    if (isIndex) send(res, 503, headers, 'renderer not built: run `npx electron-vite build` first');
    else send(res, 404, headers, 'not found');
    return;
  }
  const isHtml = extname(resolved.file).toLowerCase() === '.html';
  res.writeHead(200, {
    ...headers,
    'content-type': contentTypeOf(resolved.file),
    'content-length': String(st.size),
    // Hashed assets could be cached forever, but this is a local console: always revalidate, never stale.
    'cache-control': isHtml ? 'no-store' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(resolved.file);
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    ...extra,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}
