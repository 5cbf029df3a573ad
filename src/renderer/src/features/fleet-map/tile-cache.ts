/**
 * The operating area's map tiles, kept for offline use in the renderer's Cache Storage: a tile of the area seen
 * once is served from the cache (fresh for a week; after that the network is asked first and the cached copy is
 * the fallback), so a desk that loses its internet connection still shows streets where the fleet drives. Tiles
 * outside the area are never stored. The cache holds at most MAX_TILES tiles (oldest dropped first).
 *
 * Fetching a tile needs the tile server to allow CORS (OpenStreetMap's and most tile servers do) and the CSP to
 * list the tile host in connect-src and blob: in img-src (src/main/csp.ts). When a tile cannot be fetched (no
 * CORS, no Cache Storage), `load` answers undefined and the image is loaded directly, uncached.
 */
export const TILE_CACHE_NAME = 'fleetdesk-tiles-v1';
export const TILE_FRESH_MS = 7 * 24 * 3_600_000;
export const MAX_TILES = 20_000;
const TRIM_EVERY = 200;
const STORED_AT = 'x-fleetdesk-stored-at';

export interface TileCoords {
  x: number;
  y: number;
  z: number;
}

/** [[south, west], [north, east]] in degrees */
export type Bounds = [[number, number], [number, number]];

/** where the tile came from: the network, the cache (fresh), or the cache because the network failed */
export type TileSource = 'network' | 'cache' | 'cache-fallback';

export interface TileCacheDeps {
  /** undefined where Cache Storage is not available (not a secure context) */
  caches: Pick<CacheStorage, 'open'> | undefined;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  now: () => number;
}

/** The tile's bounds in degrees (Web Mercator, XYZ scheme). */
export function tileBounds({ x, y, z }: TileCoords): Bounds {
  const n = 2 ** z;
  const lon = (i: number) => (i / n) * 360 - 180;
  const lat = (j: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * j) / n))) * 180) / Math.PI;
  return [
    [lat(y + 1), lon(x)],
    [lat(y), lon(x + 1)],
  ];
}

export function intersects(a: Bounds, b: Bounds): boolean {
  return a[0][0] <= b[1][0] && b[0][0] <= a[1][0] && a[0][1] <= b[1][1] && b[0][1] <= a[1][1];
}

export class TileCache {
  private puts = 0;

  constructor(
    private readonly deps: TileCacheDeps,
    /** the operating area (padded by the caller as wanted) */
    private readonly area: Bounds,
  ) {}

  inArea(c: TileCoords): boolean {
    return intersects(tileBounds(c), this.area);
  }

  /** The tile as a blob and where it came from; undefined = load it directly (uncached). Rejects on an HTTP error with no cached copy. */
  async load(url: string, coords: TileCoords): Promise<{ blob: Blob; source: TileSource } | undefined> {
    const cache = this.deps.caches && this.inArea(coords) ? await this.deps.caches.open(TILE_CACHE_NAME).catch(() => undefined) : undefined;
    if (!cache) return undefined;
    const hit = await cache.match(url).catch(() => undefined);
    if (hit && this.deps.now() - Number(hit.headers.get(STORED_AT) ?? 0) < TILE_FRESH_MS)
      return { blob: await hit.blob(), source: 'cache' };
    let res: Response;
    try {
      res = await this.deps.fetch(url, { mode: 'cors', credentials: 'omit' });
    } catch {
      // unreachable, or no CORS: the cached copy if any, else let the image try by itself
      return hit ? { blob: await hit.blob(), source: 'cache-fallback' } : undefined;
    }
    if (!res.ok) {
      if (hit) return { blob: await hit.blob(), source: 'cache-fallback' };
      throw new Error(`tile HTTP ${res.status}`);
    }
    const blob = await res.blob();
    void this.store(cache, url, blob);
    return { blob, source: 'network' };
  }

  private async store(cache: Cache, url: string, blob: Blob): Promise<void> {
    try {
      const headers = { 'content-type': blob.type || 'image/png', [STORED_AT]: String(this.deps.now()) };
      await cache.put(url, new Response(blob, { headers }));
      if (++this.puts % TRIM_EVERY === 0) {
        const keys = await cache.keys();
        for (const k of keys.slice(0, Math.max(0, keys.length - MAX_TILES))) await cache.delete(k);
      }
    } catch {
      // quota or a closed cache: the tile is shown anyway, only not kept
    }
  }
}
