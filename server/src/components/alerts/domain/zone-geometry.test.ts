import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../../src/shared/service-area.js';
import { createZoneGeometry } from './zone-geometry.js';

const M_PER_DEG_LAT = 6_371_008.8 * (Math.PI / 180);
const lonMetres = (lat: number) => M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);

describe('zone geometry', () => {
  const zone = createZoneGeometry(DEFAULT_SERVICE_AREA);
  // West edge of the demo zone: lon 13.335 between lat 52.5 and 52.53.
  const lat = 52.515;
  const westOf = (m: number) => 13.335 - m / lonMetres(lat);

  it('gives the signed distance to the nearest edge in metres (outside > 0, inside < 0)', () => {
    for (const m of [-500, -100, -20, -1, 1, 20, 100, 500]) {
      expect(zone.signedDistanceM(lat, westOf(m))).toBeCloseTo(m, 0);
    }
    expect(zone.contains(lat, westOf(-5))).toBe(true);
    expect(zone.contains(lat, westOf(5))).toBe(false);
    expect(zone.contains(DEFAULT_SERVICE_AREA.center.lat, DEFAULT_SERVICE_AREA.center.lon)).toBe(true);
  });

  it('measures to a slanted edge and to a corner', () => {
    // south-west edge from (13.335, 52.5) to (13.36, 52.488): a point 200 m south of the corner is outside
    const south = zone.signedDistanceM(52.5 - 200 / M_PER_DEG_LAT, 13.335);
    expect(south).toBeGreaterThan(0);
    expect(south).toBeLessThanOrEqual(200);
    // far away: the bounding-box pre-check answers with a lower bound above the limit
    expect(zone.signedDistanceM(48.1, 11.5, 50)).toBeGreaterThan(50);
    expect(zone.signedDistanceM(48.1, 11.5)).toBeGreaterThan(300_000);
  });

  it('rejects degenerate or invalid polygons', () => {
    expect(() =>
      createZoneGeometry({
        id: 'x',
        polygon: [
          [0, 0],
          [1, 1],
          [0, 0],
        ],
      }),
    ).toThrow(/at least 3/);
    expect(() =>
      createZoneGeometry({
        id: 'x',
        polygon: [
          [0, 0],
          [1, 1],
          [200, 0],
        ],
      }),
    ).toThrow(/invalid point/);
  });
});
