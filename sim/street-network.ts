/**
 * A synthetic street network over a service area: a rotated, irregular Manhattan grid (blocks of 150–250 m,
 * intersections jittered a little), every few streets a 50 km/h main street, the rest 30 km/h zones, plus a
 * few diagonal arterials cutting across the blocks — roughly what Berlin's inner city looks like from above.
 *
 * Every intersection lies inside the area's operating polygon (with a margin) and its bounds, and every street
 * is sampled to lie inside too, so a vehicle that only ever drives along streets can never leave the area.
 * Built once per simulation; deterministic for a given area and seed.
 */
import type { ServiceArea } from '../src/shared/service-area.js';
import { LocalProjection, distanceToRing, headingOf, insideBounds, pointInPolygon, type Point } from './geo.js';
import { createRng, uniform, type Rng } from './prng.js';

export type StreetKind = 'residential' | 'main' | 'arterial';

export interface StreetNode extends Point {
  /** indices into `edges` of the streets meeting here */
  readonly edges: number[];
}

export interface StreetEdge {
  readonly a: number;
  readonly b: number;
  readonly lengthM: number;
  readonly kind: StreetKind;
  readonly speedLimitKph: number;
  /** heading when driving a → b; b → a is the opposite */
  readonly headingAB: number;
}

export interface StreetNetwork {
  readonly area: ServiceArea;
  readonly projection: LocalProjection;
  readonly nodes: readonly StreetNode[];
  readonly edges: readonly StreetEdge[];
}

export interface StreetGridOptions {
  seed?: number;
  minBlockM?: number;
  maxBlockM?: number;
  /** keep intersections at least this far from the operating-zone outline */
  marginM?: number;
  /** share of grid street segments left out (dead ends, pedestrian zones, parks) */
  missingShare?: number;
  arterials?: number;
}

const SPEED_LIMIT_KPH: Record<StreetKind, number> = { residential: 30, main: 50, arterial: 50 };

export function buildStreetNetwork(area: ServiceArea, options: StreetGridOptions = {}): StreetNetwork {
  const rng = createRng(options.seed ?? 0x5eed);
  const minBlock = options.minBlockM ?? 150;
  const maxBlock = options.maxBlockM ?? 250;
  const margin = options.marginM ?? 40;
  const missingShare = options.missingShare ?? 0.05;
  const arterialCount = options.arterials ?? 4;

  const projection = new LocalProjection(area.center);
  const ring = area.polygon.map(([lon, lat]) => projection.toPoint({ lat, lon }));
  const usable = (p: Point): boolean =>
    pointInPolygon(p, ring) && distanceToRing(p, ring) >= margin && insideBounds(projection.toLatLon(p.x, p.y), area.bounds);

  // Grid axes rotated by 8–20°: u along the "east-west" streets, v along the "north-south" ones.
  const theta = (uniform(rng, 8, 20) * Math.PI) / 180;
  const ux = Math.cos(theta);
  const uy = -Math.sin(theta);
  const vx = Math.sin(theta);
  const vy = Math.cos(theta);
  const us = ring.map((p) => p.x * ux + p.y * uy);
  const vs = ring.map((p) => p.x * vx + p.y * vy);
  const uLines = irregularLines(rng, Math.min(...us), Math.max(...us), minBlock, maxBlock);
  const vLines = irregularLines(rng, Math.min(...vs), Math.max(...vs), minBlock, maxBlock);

  // Candidate intersections (i, j) → node index, jittered so streets are not ruler-straight.
  const jitter = Math.min(15, minBlock / 8);
  const grid = new Map<string, number>();
  const points: Point[] = [];
  const key = (i: number, j: number): string => `${i},${j}`;
  for (let i = 0; i < uLines.length; i++) {
    for (let j = 0; j < vLines.length; j++) {
      const u = uLines[i]! + uniform(rng, -jitter, jitter);
      const v = vLines[j]! + uniform(rng, -jitter, jitter);
      const p = { x: u * ux + v * vx, y: u * uy + v * vy };
      if (!usable(p)) continue;
      grid.set(key(i, j), points.length);
      points.push(p);
    }
  }

  const edgeSet = new Map<string, { a: number; b: number; kind: StreetKind }>();
  const addEdge = (a: number, b: number, kind: StreetKind): void => {
    const k = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (edgeSet.has(k) || !segmentUsable(points[a]!, points[b]!, usable)) return;
    edgeSet.set(k, { a, b, kind });
  };

  const mainEvery = 4;
  const uOffset = Math.floor(rng() * mainEvery);
  const vOffset = Math.floor(rng() * mainEvery);
  for (let i = 0; i < uLines.length; i++) {
    for (let j = 0; j < vLines.length; j++) {
      const here = grid.get(key(i, j));
      if (here === undefined) continue;
      // Along u: a street of the v-line j; along v: a street of the u-line i.
      const right = grid.get(key(i + 1, j));
      if (right !== undefined) {
        const kind: StreetKind = j % mainEvery === vOffset ? 'main' : 'residential';
        if (kind === 'main' || rng() >= missingShare) addEdge(here, right, kind);
      }
      const up = grid.get(key(i, j + 1));
      if (up !== undefined) {
        const kind: StreetKind = i % mainEvery === uOffset ? 'main' : 'residential';
        if (kind === 'main' || rng() >= missingShare) addEdge(here, up, kind);
      }
    }
  }

  // Diagonal arterials through intersections, in both diagonal directions, spread across the area.
  for (let n = 0; n < arterialCount; n++) {
    const di = 1;
    const dj = n % 2 === 0 ? 1 : -1;
    const ci = Math.floor(uLines.length * uniform(rng, 0.3, 0.7));
    const cj = Math.floor(vLines.length * uniform(rng, 0.3, 0.7));
    // Walk back to the first intersection of this diagonal, then forward across the area.
    let i = ci;
    let j = cj;
    while (i - di >= 0 && j - dj >= 0 && j - dj < vLines.length) {
      i -= di;
      j -= dj;
    }
    let prev: number | undefined;
    for (; i < uLines.length && j >= 0 && j < vLines.length; i += di, j += dj) {
      const node = grid.get(key(i, j));
      if (node !== undefined && prev !== undefined) addEdge(prev, node, 'arterial');
      prev = node;
    }
  }

  return finalize(area, projection, points, [...edgeSet.values()]);
}

function irregularLines(rng: Rng, min: number, max: number, minBlock: number, maxBlock: number): number[] {
  const lines: number[] = [];
  for (let x = min + uniform(rng, 0, maxBlock); x < max; x += uniform(rng, minBlock, maxBlock)) lines.push(x);
  return lines;
}

function segmentUsable(a: Point, b: Point, usable: (p: Point) => boolean): boolean {
  const samples = Math.max(2, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 25));
  for (let s = 1; s < samples; s++) {
    const t = s / samples;
    if (!usable({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t })) return false;
  }
  return true;
}

/** Keeps the largest connected component (so every street is reachable from every other) and indexes it. */
function finalize(
  area: ServiceArea,
  projection: LocalProjection,
  points: Point[],
  rawEdges: Array<{ a: number; b: number; kind: StreetKind }>,
): StreetNetwork {
  const adjacency: number[][] = points.map(() => []);
  for (const e of rawEdges) {
    adjacency[e.a]!.push(e.b);
    adjacency[e.b]!.push(e.a);
  }
  const component = new Int32Array(points.length).fill(-1);
  let best = -1;
  let bestSize = 0;
  for (let start = 0, c = 0; start < points.length; start++) {
    if (component[start] !== -1 || adjacency[start]!.length === 0) continue;
    let size = 0;
    const stack = [start];
    component[start] = c;
    while (stack.length > 0) {
      const n = stack.pop()!;
      size++;
      for (const m of adjacency[n]!) {
        if (component[m] === -1) {
          component[m] = c;
          stack.push(m);
        }
      }
    }
    if (size > bestSize) {
      best = c;
      bestSize = size;
    }
    c++;
  }
  if (bestSize < 2) throw new Error(`service area ${area.id} is too small for a street grid`);

  const newIndex = new Int32Array(points.length).fill(-1);
  const nodes: StreetNode[] = [];
  points.forEach((p, i) => {
    if (component[i] !== best) return;
    newIndex[i] = nodes.length;
    nodes.push({ x: p.x, y: p.y, edges: [] });
  });
  const edges: StreetEdge[] = [];
  for (const e of rawEdges) {
    const a = newIndex[e.a]!;
    const b = newIndex[e.b]!;
    if (a < 0 || b < 0) continue;
    const pa = nodes[a]!;
    const pb = nodes[b]!;
    nodes[a]!.edges.push(edges.length);
    nodes[b]!.edges.push(edges.length);
    edges.push({
      a,
      b,
      lengthM: Math.hypot(pb.x - pa.x, pb.y - pa.y),
      kind: e.kind,
      speedLimitKph: SPEED_LIMIT_KPH[e.kind],
      headingAB: headingOf(pb.x - pa.x, pb.y - pa.y),
    });
  }
  return { area, projection, nodes, edges };
}

/** The node at the other end of `edge` from `node`. */
export function otherEnd(edge: StreetEdge, node: number): number {
  return edge.a === node ? edge.b : edge.a;
}
