/**
 * Usage measurement of a rental: how many minutes the car was driven and parked, and how far it went, from the
 * telemetry samples stored in the rental window and the odometer at start and end. Pure: the samples come from
 * the telemetry history (receive times, the server's clock — device clocks drift), the result goes to pricing.
 *
 * Rules (customer-friendly where the data is uncertain):
 * - minutes are measured, not rounded (pricing bills per started minute): driving + parked = the duration;
 * - a sample counts as driving when the ignition is on or the speed is above zero; its state holds until the
 *   next sample, but a driving sample covers at most `maxSampleHoldMs` (a silent device is not billed as driving
 *   for the whole silence); the time before the first sample of the window and any uncovered time is parked;
 * - distance is the odometer delta (end − start); when either odometer is unknown, the spread of the odometer in
 *   the samples; never negative (a replaced telematics unit may restart its odometer).
 */

import type { RentalUsage } from '../../pricing/index.js';
import type { UsageSample } from '../model.js';

export interface MeasureUsageInput {
  startedAt: number;
  endedAt: number;
  /** samples in any order; those outside [startedAt, endedAt] are ignored */
  samples: readonly UsageSample[];
  startOdometerKm: number | null;
  endOdometerKm: number | null;
  /** minutes the reservation held the car before the rental started (0 for a booking) */
  reservationMinutes: number;
  /** a driving sample covers at most this long (default 2 min: the heartbeat timeout's order of magnitude) */
  maxSampleHoldMs?: number;
}

/** The pricing domain's RentalUsage, plus what the receipt and the staff view explain it with. */
export interface MeasuredUsage extends RentalUsage {
  /** fractional minutes here (pricing rounds per started minute) */
  drivingMinutes: number;
  /** the duration in minutes (= drivingMinutes + parkedMinutes) */
  durationMinutes: number;
  drivingMs: number;
  /** samples that fell inside the window */
  samples: number;
  /** how the distance was obtained */
  distanceSource: 'odometer' | 'samples' | 'none';
}

export const DEFAULT_MAX_SAMPLE_HOLD_MS = 120_000;
const MINUTE_MS = 60_000;

export function isDriving(sample: Pick<UsageSample, 'speedKph' | 'ignition'>): boolean {
  return sample.ignition || sample.speedKph > 0;
}

export function measureUsage(input: MeasureUsageInput): MeasuredUsage {
  const { startedAt } = input;
  const endedAt = Math.max(input.endedAt, startedAt);
  const maxHold = input.maxSampleHoldMs ?? DEFAULT_MAX_SAMPLE_HOLD_MS;
  const inWindow = input.samples.filter((s) => s.at >= startedAt && s.at <= endedAt && Number.isFinite(s.at)).sort((a, b) => a.at - b.at);

  let drivingMs = 0;
  for (let i = 0; i < inWindow.length; i++) {
    const s = inWindow[i]!;
    if (!isDriving(s)) continue;
    const next = i + 1 < inWindow.length ? inWindow[i + 1]!.at : endedAt;
    drivingMs += Math.max(0, Math.min(next, endedAt, s.at + maxHold) - s.at);
  }

  const durationMs = endedAt - startedAt;
  drivingMs = Math.min(drivingMs, durationMs);
  const { distanceKm, distanceSource } = measureDistance(input.startOdometerKm, input.endOdometerKm, inWindow);

  return {
    startedAt,
    endedAt,
    drivingMinutes: drivingMs / MINUTE_MS,
    parkedMinutes: (durationMs - drivingMs) / MINUTE_MS,
    distanceKm,
    reservationMinutes: Math.max(0, input.reservationMinutes),
    durationMinutes: durationMs / MINUTE_MS,
    drivingMs,
    samples: inWindow.length,
    distanceSource,
  };
}

function measureDistance(
  start: number | null,
  end: number | null,
  samples: readonly UsageSample[],
): { distanceKm: number; distanceSource: MeasuredUsage['distanceSource'] } {
  const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);
  if (finite(start) && finite(end)) return { distanceKm: roundKm(Math.max(0, end - start)), distanceSource: 'odometer' };
  const readings = samples.map((s) => s.odometerKm).filter((v) => Number.isFinite(v));
  if (finite(start)) readings.push(start);
  if (finite(end)) readings.push(end);
  if (readings.length < 2) return { distanceKm: 0, distanceSource: 'none' };
  return { distanceKm: roundKm(Math.max(...readings) - Math.min(...readings)), distanceSource: 'samples' };
}

/** Metre precision: odometers report fractions of a km; floating-point noise must not reach the price. */
function roundKm(km: number): number {
  return Math.round(km * 1000) / 1000;
}
