/**
 * Screen-space grid clustering: vehicles whose screen points fall in the same cell (anchored to world pixels,
 * so clusters do not jump while panning) become one cluster at their mean position. O(visible vehicles),
 * no index to maintain between frames — cheap enough to redo every frame at 20,000 vehicles.
 */
export interface ScreenCluster {
  x: number;
  y: number;
  count: number;
  /** members per state code (see STATE_ORDER in vehicle-points.ts) */
  byState: number[];
  /** when count === 1: the vehicle's index in VehiclePoints */
  single: number;
}

export interface ClusterInput {
  /** visible vehicles: screen x/y and point index, `n` entries used */
  xs: Float32Array;
  ys: Float32Array;
  idx: Int32Array;
  n: number;
  /** state code per point index, in [0, stateCount) */
  state: Uint8Array;
  stateCount: number;
  /** world pixel of screen (0,0), so cells are anchored to the world */
  originX: number;
  originY: number;
  width: number;
  height: number;
  cellPx: number;
}

/** Drawn radius of a cluster of `count` vehicles (CSS px): grows with the log of the count, capped. */
export function clusterRadius(count: number): number {
  return Math.min(26, 11 + 4 * Math.log10(count));
}

export function clusterOnScreen(input: ClusterInput): ScreenCluster[] {
  const { xs, ys, idx, n, state, stateCount, originX, originY, width, height, cellPx } = input;
  // cells that intersect the padded viewport, numbered from the world-anchored cell at screen (-cellPx, -cellPx)
  const firstCol = Math.floor((originX - cellPx) / cellPx);
  const firstRow = Math.floor((originY - cellPx) / cellPx);
  const cols = Math.ceil((width + 2 * cellPx) / cellPx) + 2;
  const rows = Math.ceil((height + 2 * cellPx) / cellPx) + 2;
  const slot = new Int32Array(cols * rows).fill(-1);
  const out: ScreenCluster[] = [];
  for (let k = 0; k < n; k++) {
    const x = xs[k]!;
    const y = ys[k]!;
    const col = Math.floor((x + originX) / cellPx) - firstCol;
    const row = Math.floor((y + originY) / cellPx) - firstRow;
    if (col < 0 || row < 0 || col >= cols || row >= rows) continue;
    const cell = row * cols + col;
    let c = slot[cell]!;
    const i = idx[k]!;
    if (c < 0) {
      c = out.length;
      slot[cell] = c;
      out.push({ x: 0, y: 0, count: 0, byState: new Array<number>(stateCount).fill(0), single: i });
    }
    const cl = out[c]!;
    cl.x += x;
    cl.y += y;
    cl.count++;
    cl.byState[state[i]!] = (cl.byState[state[i]!] ?? 0) + 1;
  }
  for (const cl of out) {
    cl.x /= cl.count;
    cl.y /= cl.count;
  }
  return mergeOverlapping(out);
}

/**
 * Neighbouring cells' centroids can lie close to their shared border, and their circles then overlap. Fold
 * each cluster into a bigger one it would overlap (biggest first). O(k²) over clusters, which number in the
 * hundreds at most (one per cell on screen).
 */
function mergeOverlapping(clusters: ScreenCluster[]): ScreenCluster[] {
  const sorted = clusters.sort((a, b) => b.count - a.count);
  const kept: ScreenCluster[] = [];
  for (const c of sorted) {
    const rc = c.count === 1 ? 4 : clusterRadius(c.count);
    let into: ScreenCluster | undefined;
    for (const k of kept) {
      if (k.count === 1) continue;
      const reach = clusterRadius(k.count) + rc + 2;
      if ((k.x - c.x) ** 2 + (k.y - c.y) ** 2 < reach * reach) {
        into = k;
        break;
      }
    }
    if (!into) {
      kept.push(c);
      continue;
    }
    // Keep the bigger cluster's position (merging would move it onto yet other neighbours); add the members.
    into.count += c.count;
    for (let s = 0; s < c.byState.length; s++) into.byState[s] = (into.byState[s] ?? 0) + c.byState[s]!;
  }
  return kept;
}
