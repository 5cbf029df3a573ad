import { describe, expect, it } from 'vitest';
import type { TrackPoint } from '../../../../shared/track.js';
import { positionAt, segments } from './replay-store';

const p = (at: number, lon: number): TrackPoint => ({ at, lat: 52, lon, speedKph: 30, ignition: true });
const track = { points: [p(0, 13), p(10, 14), p(20, 15), p(100, 16), p(110, 17)], gaps: [{ from: 20, to: 100 }] };

describe('replay geometry', () => {
  it('breaks the path where the car was offline', () => {
    expect(segments(track).map((s) => s.map((x) => x.at))).toEqual([
      [0, 10, 20],
      [100, 110],
    ]);
    expect(segments({ points: track.points, gaps: [] })).toHaveLength(1);
    expect(segments({ points: [], gaps: [] })).toEqual([]);
  });

  it('places the car on the line in proportion to time, holding still across a gap', () => {
    expect(positionAt(track, 5)).toMatchObject({ at: 5, lon: 13.5 });
    expect(positionAt(track, 10)).toMatchObject({ lon: 14 });
    expect(positionAt(track, 60)).toMatchObject({ lon: 15 });
    expect(positionAt(track, 105)).toMatchObject({ lon: 16.5 });
    expect(positionAt(track, -5)).toMatchObject({ at: 0, lon: 13 });
    expect(positionAt(track, 500)).toMatchObject({ at: 110, lon: 17 });
    expect(positionAt({ points: [], gaps: [] }, 5)).toBeUndefined();
  });
});
