import { describe, expect, it } from 'vitest';
import { checkZonePolygon } from './zones.js';

const ring = (...points: Array<[number, number]>) => [...points, points[0]!];
const codeOf = (polygon: unknown) => {
  const checked = checkZonePolygon(polygon);
  return checked.ok ? 'ok' : checked.code;
};

describe('checkZonePolygon', () => {
  it('accepts a closed ring, dropping repeated consecutive points, and measures its area', () => {
    const checked = checkZonePolygon(ring([13.4, 52.5], [13.41, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51]));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.ring).toHaveLength(5);
    // ≈ 680 m × 1,110 m at Berlin's latitude
    expect(checked.areaM2).toBeGreaterThan(700_000);
    expect(checked.areaM2).toBeLessThan(800_000);
  });

  it('names what is wrong', () => {
    expect(codeOf('not a polygon')).toBe('zone_polygon_malformed');
    expect(codeOf([[13.4, 52.5, 3]])).toBe('zone_polygon_malformed');
    expect(
      codeOf([
        [13.4, 52.5],
        [13.41, 52.5],
        [13.41, 52.51],
      ]),
    ).toBe('zone_ring_open');
    expect(codeOf(ring([13.4, 52.5], [13.41, 52.5]))).toBe('zone_too_few_points');
    expect(codeOf(ring([13.4, 52.5], [13.41, 52.5], [13.41, 91]))).toBe('zone_coordinates_out_of_range');
    expect(codeOf(ring([13.4, 52.5], [13.41, 52.51], [13.41, 52.5], [13.4, 52.51]))).toBe('zone_self_intersecting');
    // a corner touching another edge, and an edge folding back over its neighbour
    expect(codeOf(ring([0, 0], [0.01, 0], [0.005, 0.01], [0.005, 0], [0, 0.01]))).toBe('zone_self_intersecting');
    expect(codeOf(ring([0, 0], [0.02, 0], [0.01, 0], [0.01, 0.01]))).toBe('zone_self_intersecting');
    expect(codeOf(ring([13.4, 52.5], [13.40001, 52.5], [13.40001, 52.50001]))).toBe('zone_too_small');
    expect(codeOf(ring([5, 45], [15, 45], [15, 55], [5, 55]))).toBe('zone_too_large');
    const circle = Array.from({ length: 1200 }, (_, i): [number, number] => [13 + Math.cos(i / 191) * 0.1, 52 + Math.sin(i / 191) * 0.1]);
    expect(codeOf(ring(...circle))).toBe('zone_too_many_points');
  });
});
