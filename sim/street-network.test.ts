import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA, type ServiceArea } from '../src/shared/service-area.js';
import { insideBounds, pointInPolygon } from './geo.js';
import { buildStreetNetwork, otherEnd } from './street-network.js';

describe('street network', () => {
  const network = buildStreetNetwork(DEFAULT_SERVICE_AREA, { seed: 1 });
  const ring = DEFAULT_SERVICE_AREA.polygon.map(([lon, lat]) => network.projection.toPoint({ lat, lon }));

  it('covers the inner city with a grid of 150–250 m blocks, main streets and a few diagonal arterials', () => {
    expect(network.nodes.length).toBeGreaterThan(500);
    const grid = network.edges.filter((e) => e.kind !== 'arterial');
    const arterials = network.edges.filter((e) => e.kind === 'arterial');
    const lengths = grid.map((e) => e.lengthM).sort((a, b) => a - b);
    const median = lengths[Math.floor(lengths.length / 2)]!;
    expect(median).toBeGreaterThan(150);
    expect(median).toBeLessThan(250);
    expect(lengths[0]!).toBeGreaterThan(100);
    expect(lengths[lengths.length - 1]!).toBeLessThan(300);
    expect(grid.some((e) => e.kind === 'main' && e.speedLimitKph === 50)).toBe(true);
    expect(grid.some((e) => e.kind === 'residential' && e.speedLimitKph === 30)).toBe(true);
    expect(arterials.length).toBeGreaterThan(20);
    // Grid streets run along two perpendicular directions (up to the intersections' jitter); arterials cut
    // across them at roughly 45°. Angles compared modulo 90°.
    const rad = Math.PI / 180;
    const axis =
      Math.atan2(sum(grid.map((e) => Math.sin(4 * e.headingAB * rad))), sum(grid.map((e) => Math.cos(4 * e.headingAB * rad)))) / 4 / rad;
    const offAxis = (h: number): number => Math.abs(((((h - axis) % 90) + 135) % 90) - 45);
    for (const e of grid) expect(offAxis(e.headingAB)).toBeLessThan(15);
    for (const e of arterials) expect(offAxis(e.headingAB)).toBeGreaterThan(20);
  });

  it('keeps every intersection and street inside the operating zone and its bounds', () => {
    for (const n of network.nodes) {
      expect(pointInPolygon(n, ring)).toBe(true);
      expect(insideBounds(network.projection.toLatLon(n.x, n.y), DEFAULT_SERVICE_AREA.bounds)).toBe(true);
    }
    for (const e of network.edges) {
      const a = network.nodes[e.a]!;
      const b = network.nodes[e.b]!;
      for (let t = 0; t <= 1; t += 0.1) expect(pointInPolygon({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }, ring)).toBe(true);
    }
  });

  it('is one connected network, so a vehicle can reach every street', () => {
    const seen = new Set<number>([0]);
    const stack = [0];
    while (stack.length > 0) {
      const n = stack.pop()!;
      for (const e of network.nodes[n]!.edges) {
        const m = otherEnd(network.edges[e]!, n);
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(m);
        }
      }
    }
    expect(seen.size).toBe(network.nodes.length);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const again = buildStreetNetwork(DEFAULT_SERVICE_AREA, { seed: 1 });
    const other = buildStreetNetwork(DEFAULT_SERVICE_AREA, { seed: 2 });
    expect(again.nodes).toEqual(network.nodes);
    expect(again.edges).toEqual(network.edges);
    expect(other.nodes.length === network.nodes.length && other.nodes[0]!.x === network.nodes[0]!.x).toBe(false);
  });

  it('works for another (small, non-convex) area and refuses one too small for streets', () => {
    const lShape: ServiceArea = {
      id: 'l-shape',
      name: 'L',
      center: { lat: 48.14, lon: 11.58 },
      bounds: [
        { lat: 48.13, lon: 11.56 },
        { lat: 48.15, lon: 11.6 },
      ],
      polygon: [
        [11.56, 48.13],
        [11.6, 48.13],
        [11.6, 48.137],
        [11.57, 48.137],
        [11.57, 48.15],
        [11.56, 48.15],
        [11.56, 48.13],
      ],
    };
    const small = buildStreetNetwork(lShape, { seed: 3 });
    const lRing = lShape.polygon.map(([lon, lat]) => small.projection.toPoint({ lat, lon }));
    expect(small.edges.length).toBeGreaterThan(10);
    for (const e of small.edges) {
      const a = small.nodes[e.a]!;
      const b = small.nodes[e.b]!;
      for (let t = 0; t <= 1; t += 0.05) expect(pointInPolygon({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }, lRing)).toBe(true);
    }
    const tiny: ServiceArea = {
      ...lShape,
      polygon: [
        [11.58, 48.14],
        [11.5801, 48.14],
        [11.5801, 48.1401],
        [11.58, 48.14],
      ],
    };
    expect(() => buildStreetNetwork(tiny)).toThrow(/too small/);
  });
});

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
