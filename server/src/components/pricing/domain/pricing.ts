/**
 * Pricing: pure functions from a tariff and a rental's measured usage to a price breakdown in integer minor units
 * (cents) of the tariff's currency. The tariff lookup (vehicle → its type's tariff) is `loadTariff` in vehicle-types.ts.
 *
 * Rules (all amounts integers; every line is quantity × unit price, so a receipt can be checked by hand):
 * - minutes are billed per started minute: the rental's minutes (driving + parked) are rounded up to a whole
 *   number; driving minutes are rounded up (never above that total) and parked minutes get the rest;
 * - `includedKm` is an allowance per started 24 h of the rental (`days`); each started km beyond it costs `perKmCents`;
 * - the daily cap applies to the minute charges (driving + parked): at most `dailyCapCents` × `days`; the excess
 *   is shown as a negative `daily_cap` line. Distance and the reservation fee are never capped;
 * - reservation fee: the minutes the reservation held the car beyond the free hold (`freeHoldMinutes`), per
 *   started minute, at `reservationFeePerMinuteCents` — charged with the rental it turned into;
 * - subtotalCents = the sum of the positive lines, totalCents = subtotal + the cap line.
 */
import type { PriceBreakdown, PriceLine, RentalUsage, Tariff } from '../model.js';

const DAY_MS = 86_400_000;
/** Float noise (e.g. 15.000000001 minutes from ms arithmetic) must not bill a whole extra unit. */
const EPSILON = 1e-6;

const startedUnits = (x: number): number => Math.max(0, Math.ceil(x - EPSILON));

function checkUsage(u: RentalUsage): void {
  for (const [name, v] of Object.entries(u) as Array<[keyof RentalUsage, number]>) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`usage.${name} must be a finite number`);
    if (name !== 'startedAt' && name !== 'endedAt' && v < 0) throw new RangeError(`usage.${name} must not be negative`);
  }
  if (u.endedAt < u.startedAt) throw new RangeError('usage.endedAt is before usage.startedAt');
}

/** Started 24-hour periods of a rental (at least 1). */
export function rentalDays(startedAt: number, endedAt: number): number {
  return Math.max(1, startedUnits((endedAt - startedAt) / DAY_MS));
}

const eur = (cents: number, currency: string): string => `${(cents / 100).toFixed(2)} ${currency}`;

export function priceRental(tariff: Tariff, usage: RentalUsage): PriceBreakdown {
  checkUsage(usage);
  const c = tariff.currency;
  const days = rentalDays(usage.startedAt, usage.endedAt);
  const totalMinutes = startedUnits(usage.drivingMinutes + usage.parkedMinutes);
  const drivingMinutes = Math.min(totalMinutes, startedUnits(usage.drivingMinutes));
  const parkedMinutes = totalMinutes - drivingMinutes;
  const lines: PriceLine[] = [
    {
      code: 'driving',
      description: `Driving, ${drivingMinutes} min × ${eur(tariff.perMinuteDrivingCents, c)}`,
      quantity: drivingMinutes,
      unit: 'minute',
      unitCents: tariff.perMinuteDrivingCents,
      amountCents: drivingMinutes * tariff.perMinuteDrivingCents,
    },
    {
      code: 'parked',
      description: `Parked, ${parkedMinutes} min × ${eur(tariff.perMinuteParkedCents, c)}`,
      quantity: parkedMinutes,
      unit: 'minute',
      unitCents: tariff.perMinuteParkedCents,
      amountCents: parkedMinutes * tariff.perMinuteParkedCents,
    },
  ];
  const allowanceKm = tariff.includedKm * days;
  const extraKm = startedUnits(usage.distanceKm - allowanceKm);
  if (extraKm > 0) {
    lines.push({
      code: 'distance',
      description: `Distance beyond ${allowanceKm} km included, ${extraKm} km × ${eur(tariff.perKmCents, c)}`,
      quantity: extraKm,
      unit: 'km',
      unitCents: tariff.perKmCents,
      amountCents: extraKm * tariff.perKmCents,
    });
  }
  const feeMinutes = Math.max(0, startedUnits(usage.reservationMinutes) - tariff.freeHoldMinutes);
  if (feeMinutes > 0 && tariff.reservationFeePerMinuteCents > 0) {
    lines.push({
      code: 'reservation_fee',
      description: `Reservation beyond the free ${tariff.freeHoldMinutes} min, ${feeMinutes} min × ${eur(tariff.reservationFeePerMinuteCents, c)}`,
      quantity: feeMinutes,
      unit: 'minute',
      unitCents: tariff.reservationFeePerMinuteCents,
      amountCents: feeMinutes * tariff.reservationFeePerMinuteCents,
    });
  }
  const minuteCharges = lines[0]!.amountCents + lines[1]!.amountCents;
  const capCents = tariff.dailyCapCents * days;
  if (tariff.dailyCapCents > 0 && minuteCharges > capCents) {
    lines.push({
      code: 'daily_cap',
      description: `Daily cap: time charges limited to ${eur(tariff.dailyCapCents, c)} per started 24 h (${days} × ${eur(tariff.dailyCapCents, c)})`,
      quantity: days,
      unit: 'day',
      unitCents: tariff.dailyCapCents,
      amountCents: capCents - minuteCharges,
    });
  }
  const subtotalCents = lines.reduce((sum, l) => sum + Math.max(0, l.amountCents), 0);
  const totalCents = lines.reduce((sum, l) => sum + l.amountCents, 0);
  return { currency: c, lines, subtotalCents, totalCents, tariff: { ...tariff } };
}

/**
 * The payment hold placed at rental start: one day's cap (what a day of minutes can cost at most) — or, for a
 * tariff without a cap, two hours of driving. Distance beyond the allowance is charged on capture up to the hold
 * (and the rest as a separate charge by payments, if ever needed).
 */
export function estimateHoldCents(tariff: Tariff): number {
  return tariff.dailyCapCents > 0 ? tariff.dailyCapCents : 120 * tariff.perMinuteDrivingCents;
}

/**
 * What a booked window costs at most for its time: every minute driving, distance within the allowance, the daily
 * cap applied (shown with a booking; the real price follows the measured usage).
 */
export function estimateWindow(tariff: Tariff, startsAt: number, endsAt: number): PriceBreakdown {
  const minutes = Math.ceil((endsAt - startsAt) / 60_000 - EPSILON);
  return priceRental(tariff, {
    startedAt: startsAt,
    endedAt: endsAt,
    drivingMinutes: minutes,
    parkedMinutes: 0,
    distanceKm: 0,
    reservationMinutes: 0,
  });
}

/** The fee for holding a reservation `holdMinutes` long (0 within the free hold). */
export function reservationFeeCents(tariff: Tariff, holdMinutes: number): number {
  return Math.max(0, startedUnits(holdMinutes) - tariff.freeHoldMinutes) * tariff.reservationFeePerMinuteCents;
}
