import { describe, expect, it } from 'vitest';
import type { UsageSample } from '../model.js';
import { measureUsage } from './rentals-usage.js';

const T0 = 1_750_000_000_000;
const MIN = 60_000;
const sample = (atMs: number, driving: boolean, odometerKm = 100, speedKph = driving ? 30 : 0): UsageSample => ({
  at: T0 + atMs,
  ignition: driving,
  speedKph,
  odometerKm,
});

describe('measureUsage', () => {
  it('splits the window into driving and parked time by the state each sample holds until the next', () => {
    // parked 0–2 min, driving 2–12 min, parked 12–20 min
    const samples = [
      sample(0, false),
      sample(2 * MIN, true),
      ...Array.from({ length: 10 }, (_, i) => sample((3 + i) * MIN, i < 9)),
      sample(15 * MIN, false),
    ];
    const u = measureUsage({
      startedAt: T0,
      endedAt: T0 + 20 * MIN,
      samples,
      startOdometerKm: 100,
      endOdometerKm: 112.5,
      reservationMinutes: 4,
    });
    expect(u.drivingMinutes).toBeCloseTo(10, 6);
    expect(u.parkedMinutes).toBeCloseTo(10, 6);
    expect(u.durationMinutes).toBe(20);
    expect(u.distanceKm).toBe(12.5);
    expect(u.distanceSource).toBe('odometer');
    expect(u.reservationMinutes).toBe(4);
    expect(u.samples).toBe(13);
  });

  it('counts speed above zero as driving even with the ignition reported off', () => {
    const samples = [{ at: T0, ignition: false, speedKph: 20, odometerKm: 1 }, sample(MIN, false)];
    const u = measureUsage({
      startedAt: T0,
      endedAt: T0 + 2 * MIN,
      samples,
      startOdometerKm: null,
      endOdometerKm: null,
      reservationMinutes: 0,
    });
    expect(u.drivingMinutes).toBeCloseTo(1, 6);
    expect(u.parkedMinutes).toBeCloseTo(1, 6);
  });

  it('does not bill a silent device as driving for the whole silence', () => {
    // one driving sample, then nothing for 30 minutes: at most maxSampleHoldMs counts as driving
    const u = measureUsage({
      startedAt: T0,
      endedAt: T0 + 30 * MIN,
      samples: [sample(0, true)],
      startOdometerKm: 5,
      endOdometerKm: 6,
      reservationMinutes: 0,
      maxSampleHoldMs: 2 * MIN,
    });
    expect(u.drivingMinutes).toBeCloseTo(2, 6);
    expect(u.parkedMinutes).toBeCloseTo(28, 6);
  });

  it('treats the time before the first sample as parked and ignores samples outside the window, in any order', () => {
    const samples = [sample(9 * MIN, true), sample(-5 * MIN, true), sample(5 * MIN, true), sample(11 * MIN, true)];
    const u = measureUsage({
      startedAt: T0,
      endedAt: T0 + 10 * MIN,
      samples,
      startOdometerKm: 1,
      endOdometerKm: 1,
      reservationMinutes: 0,
      maxSampleHoldMs: 10 * MIN,
    });
    // driving from 5 to 10 min (5→9, 9→end)
    expect(u.drivingMinutes).toBeCloseTo(5, 6);
    expect(u.parkedMinutes).toBeCloseTo(5, 6);
    expect(u.samples).toBe(2);
  });

  it('falls back to the odometer spread of the samples, and never reports a negative distance', () => {
    const samples = [sample(0, true, 50), sample(MIN, true, 53.25), sample(2 * MIN, false, 53.25)];
    expect(
      measureUsage({ startedAt: T0, endedAt: T0 + 3 * MIN, samples, startOdometerKm: null, endOdometerKm: null, reservationMinutes: 0 }),
    ).toMatchObject({
      distanceKm: 3.25,
      distanceSource: 'samples',
    });
    // a replaced unit restarted its odometer: 0, not a negative distance (nor a credit)
    expect(
      measureUsage({ startedAt: T0, endedAt: T0 + MIN, samples: [], startOdometerKm: 900, endOdometerKm: 3, reservationMinutes: 0 })
        .distanceKm,
    ).toBe(0);
    expect(
      measureUsage({ startedAt: T0, endedAt: T0 + MIN, samples: [], startOdometerKm: null, endOdometerKm: 3, reservationMinutes: 0 }),
    ).toMatchObject({
      distanceKm: 0,
      distanceSource: 'none',
    });
  });

  it('keeps driving + parked equal to the duration, also for a rental of a few seconds', () => {
    const u = measureUsage({
      startedAt: T0,
      endedAt: T0 + 4_000,
      samples: [sample(500, true), sample(3_500, false)],
      startOdometerKm: 10,
      endOdometerKm: 10.4,
      reservationMinutes: 0,
    });
    expect(u.drivingMs).toBe(3_000);
    expect(u.drivingMinutes + u.parkedMinutes).toBeCloseTo(u.durationMinutes, 9);
    expect(u.distanceKm).toBe(0.4);
  });
});
