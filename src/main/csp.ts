/**
 * The renderer's Content-Security-Policy, built in one place for both hosts (Electron window, browser console)
 * so they cannot drift. Inline styles are allowed because AG Grid and Leaflet set element styles; scripts are
 * 'self' only (no inline, no eval). The tile host is the only foreign source: in img-src, and in connect-src
 * because the map fetches tiles to keep the operating area's in Cache Storage (shown from `blob:` URLs).
 */

/** The img-src source for a `{z}/{x}/{y}` tile template (`{s}` subdomains become a wildcard); null for none. */
export function tileSource(tileUrl: string): string | null {
  if (!tileUrl) return null;
  const hostPattern = /^(https?):\/\/([^/?#]+)/i.exec(tileUrl);
  if (!hostPattern) return null;
  const scheme = hostPattern[1]!.toLowerCase();
  // '{s}.tile.example.org' → '*.tile.example.org'; any other placeholder in the host is unsupported here.
  const host = hostPattern[2]!.replace(/^\{[a-z]+\}\./i, '*.');
  if (/[{}\s;,'"]/.test(host)) return null;
  return `${scheme}://${host}`;
}

/** The origin of an http(s) URL, or null. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

export interface CspOptions {
  tileUrl: string;
  /** extra connect-src sources besides 'self' (the companion server origin, the console's WebSocket) */
  connect?: readonly (string | null | undefined)[];
}

export function buildContentSecurityPolicy(options: CspOptions): string {
  const tiles = tileSource(options.tileUrl);
  const connect = [...(options.connect ?? []), tiles].filter((s): s is string => !!s);
  return [
    "default-src 'self'",
    `img-src 'self' data: blob:${tiles ? ` ${tiles}` : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    `connect-src 'self'${connect.length ? ` ${[...new Set(connect)].join(' ')}` : ''}`,
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The `<meta>` policy in src/renderer/index.html: the fallback for a page loaded without our header (the header is
 * on every answer of both hosts; where both apply the browser enforces both). Every directive is the header's,
 * except the two that name hosts only known at run time — the tile server and the companion server — which allow
 * their schemes instead; `frame-ancestors` is left out (a `<meta>` policy cannot carry it). A test keeps
 * index.html equal to this.
 */
export function buildMetaFallbackPolicy(): string {
  return buildContentSecurityPolicy({ tileUrl: '', connect: ['ws:', 'wss:', 'http:', 'https:'] })
    .split('; ')
    .filter((d) => !d.startsWith('frame-ancestors'))
    .map((d) => (d.startsWith('img-src') ? `${d} http: https:` : d))
    .join('; ');
}
