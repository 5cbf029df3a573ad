import { describe, expect, it } from 'vitest';
import { TILE_FRESH_MS, TileCache, intersects, tileBounds, type Bounds, type TileCacheDeps } from './tile-cache';

/** Cache Storage's behaviour for what TileCache uses (match/put/keys/delete), in memory: Node has no Cache Storage. */
class MemoryCache {
  readonly entries = new Map<string, Response>();
  async match(url: string) {
    return this.entries.get(url)?.clone();
  }
  async put(url: string, res: Response) {
    this.entries.set(url, res);
  }
  async keys() {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
  async delete(req: Request) {
    return this.entries.delete(req.url);
  }
}

const AREA: Bounds = [
  [52.45, 13.3],
  [52.56, 13.5],
];
// z 14 tiles: one inside the area, one far away
const inside = { z: 14, x: 8800, y: 5373 };
const outside = { z: 14, x: 100, y: 100 };

function setup(network: 'up' | 'down' | 404 = 'up') {
  const cache = new MemoryCache();
  let clock = 1_000_000;
  const fetched: string[] = [];
  const deps: TileCacheDeps = {
    caches: { open: async () => cache as unknown as Cache },
    fetch: async (url) => {
      fetched.push(url);
      if (state.network === 'down') throw new TypeError('Failed to fetch');
      if (state.network === 404) return new Response('nope', { status: 404 });
      return new Response(new Blob([`tile ${url}`], { type: 'image/png' }));
    },
    now: () => clock,
  };
  const state = { network, tick: (ms: number) => (clock += ms) };
  return { tiles: new TileCache(deps, AREA), cache, fetched, state };
}
const text = async (got: { blob: Blob } | undefined) => (got ? await got.blob.text() : undefined);
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('tile geometry', () => {
  it('tile bounds and the area test', () => {
    const [[s, w], [n, e]] = tileBounds(inside);
    expect(s).toBeLessThan(n);
    expect(w).toBeLessThan(e);
    expect(intersects(tileBounds(inside), AREA)).toBe(true);
    expect(intersects(tileBounds(outside), AREA)).toBe(false);
    expect(intersects(tileBounds({ z: 0, x: 0, y: 0 }), AREA)).toBe(true); // the world holds the area
  });
});

describe('TileCache', () => {
  it('keeps a tile of the area seen once and serves it without the network, also when the server is down', async () => {
    const { tiles, cache, fetched, state } = setup();
    const got = await tiles.load('https://t/14/8800/5373.png', inside);
    expect(got?.source).toBe('network');
    await settle();
    expect(cache.entries.size).toBe(1);
    state.network = 'down';
    const again = await tiles.load('https://t/14/8800/5373.png', inside);
    expect(again?.source).toBe('cache');
    expect(await text(again)).toBe('tile https://t/14/8800/5373.png');
    expect(fetched).toHaveLength(1);
  });

  it('a stale tile: the network first, the cached copy when it fails', async () => {
    const { tiles, fetched, state } = setup();
    await tiles.load('https://t/a.png', inside);
    await settle();
    state.tick(TILE_FRESH_MS + 1);
    expect((await tiles.load('https://t/a.png', inside))?.source).toBe('network');
    expect(fetched).toHaveLength(2);
    await settle();
    state.tick(TILE_FRESH_MS + 1);
    state.network = 'down';
    expect((await tiles.load('https://t/a.png', inside))?.source).toBe('cache-fallback');
    state.network = 404;
    expect((await tiles.load('https://t/a.png', inside))?.source).toBe('cache-fallback');
  });

  it('never stores tiles outside the area; unreachable and uncached → undefined (the image tries by itself); HTTP errors reject', async () => {
    const { tiles, cache, state } = setup();
    expect(await tiles.load('https://t/far.png', outside)).toBeUndefined();
    expect(cache.entries.size).toBe(0);
    state.network = 'down';
    expect(await tiles.load('https://t/b.png', inside)).toBeUndefined();
    state.network = 404;
    await expect(tiles.load('https://t/c.png', inside)).rejects.toThrow('tile HTTP 404');
    expect(cache.entries.size).toBe(0);
  });

  it('without Cache Storage every tile loads directly', async () => {
    const tiles = new TileCache({ caches: undefined, fetch: () => Promise.reject(new Error('unused')), now: () => 0 }, AREA);
    expect(await tiles.load('https://t/a.png', inside)).toBeUndefined();
  });
});
