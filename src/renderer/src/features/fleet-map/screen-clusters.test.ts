import { describe, expect, it } from 'vitest';
import { clusterOnScreen } from './screen-clusters';

function input(points: Array<[number, number, number]>) {
  const n = points.length;
  return {
    xs: Float32Array.from(points.map((p) => p[0])),
    ys: Float32Array.from(points.map((p) => p[1])),
    idx: Int32Array.from(points.map((_, i) => i)),
    n,
    state: Uint8Array.from(points.map((p) => p[2])),
    stateCount: 6,
    originX: 0,
    originY: 0,
    width: 800,
    height: 600,
    cellPx: 64,
  };
}

describe('clusterOnScreen', () => {
  it('keeps every vehicle exactly once and counts states', () => {
    const pts: Array<[number, number, number]> = [];
    for (let i = 0; i < 500; i++) pts.push([(i * 37) % 800, (i * 53) % 600, i % 6]);
    const clusters = clusterOnScreen(input(pts));
    expect(clusters.reduce((s, c) => s + c.count, 0)).toBe(500);
    expect(clusters.reduce((s, c) => s + c.byState.reduce((a, b) => a + b, 0), 0)).toBe(500);
    // every state keeps its members through merging (an alarm car inside a cluster is never lost)
    for (let st = 0; st < 6; st++) expect(clusters.reduce((s, c) => s + c.byState[st]!, 0)).toBe(pts.filter((p) => p[2] === st).length);
  });

  it('leaves an isolated vehicle single, pointing at its index', () => {
    const clusters = clusterOnScreen(
      input([
        [10, 10, 2],
        [400, 300, 1],
        [402, 302, 1],
      ]),
    );
    const single = clusters.find((c) => c.count === 1);
    expect(single?.single).toBe(0);
    expect(clusters.find((c) => c.count === 2)?.byState).toEqual([0, 2, 0, 0, 0, 0]);
  });
});
