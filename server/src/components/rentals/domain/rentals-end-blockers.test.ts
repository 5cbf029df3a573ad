import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../../src/shared/service-area.js';
import type { LatestVehicleState } from '../model.js';
import { insidePolygon, judgeEndBlockers } from './rentals-end-blockers.js';

const zone = { id: DEFAULT_SERVICE_AREA.id, polygon: DEFAULT_SERVICE_AREA.polygon };
const NOW = 1_750_000_000_000;
const parked: LatestVehicleState = {
  lat: 52.515,
  lon: 13.405,
  speedKph: 0,
  ignition: false,
  doorsClosed: true,
  locked: false,
  odometerKm: 1234,
  telemetryAt: NOW - 5_000,
};
const codes = (state: LatestVehicleState | null, now = NOW) => judgeEndBlockers(state, [zone], now, 120_000).map((b) => b.code);

describe('judgeEndBlockers', () => {
  it('allows a parked car inside the zone with doors closed, ignition off and fresh telemetry', () => {
    expect(codes(parked)).toEqual([]);
  });

  it('lists every blocker at once, each with a message the customer can act on', () => {
    const blockers = judgeEndBlockers({ ...parked, lat: 52.6, doorsClosed: false, ignition: true, speedKph: 40 }, [zone], NOW, 120_000);
    expect(blockers.map((b) => b.code)).toEqual(['outside_operating_zone', 'doors_open', 'ignition_on', 'vehicle_moving']);
    for (const b of blockers) expect(b.message.length).toBeGreaterThan(10);
  });

  it('refuses without telemetry, or with telemetry older than the limit', () => {
    expect(codes(null)).toEqual(['no_fresh_telemetry']);
    expect(codes({ ...parked, telemetryAt: NOW - 121_000 })).toEqual(['no_fresh_telemetry']);
    expect(codes({ ...parked, telemetryAt: NOW - 119_000 })).toEqual([]);
  });

  it('tolerates GPS speed jitter of a parked car', () => {
    expect(codes({ ...parked, speedKph: 2 })).toEqual([]);
  });

  it('accepts any of several operating zones', () => {
    const far = {
      id: 'far',
      polygon: [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ] as Array<[number, number]>,
    };
    expect(judgeEndBlockers({ ...parked, lat: 0.5, lon: 0.5 }, [zone, far], NOW, 120_000)).toEqual([]);
  });
});

describe('insidePolygon', () => {
  const square: Array<[number, number]> = [
    [0, 0],
    [2, 0],
    [2, 2],
    [0, 2],
    [0, 0],
  ];
  it('answers inside, outside and on the edge (inside)', () => {
    expect(insidePolygon(square, 1, 1)).toBe(true);
    expect(insidePolygon(square, 3, 1)).toBe(false);
    expect(insidePolygon(square, 0, 1)).toBe(true);
    expect(insidePolygon(square, 2, 2)).toBe(true);
  });
  it('knows the demo service area', () => {
    expect(insidePolygon(DEFAULT_SERVICE_AREA.polygon, DEFAULT_SERVICE_AREA.center.lat, DEFAULT_SERVICE_AREA.center.lon)).toBe(true);
    expect(insidePolygon(DEFAULT_SERVICE_AREA.polygon, 52.49, 13.34)).toBe(false); // the cut-off south-west corner of the bounds
  });
  it('rejects degenerate rings and non-finite points', () => {
    expect(
      insidePolygon(
        [
          [0, 0],
          [1, 1],
        ],
        0.5,
        0.5,
      ),
    ).toBe(false);
    expect(insidePolygon(square, Number.NaN, 1)).toBe(false);
  });
});
