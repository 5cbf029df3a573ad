/** Pricing: every rule of domain/pricing.ts, with figures worked out by hand. */
import { describe, expect, it } from 'vitest';
import type { RentalUsage, Tariff } from '../model.js';
import { estimateHoldCents, estimateWindow, priceRental, rentalDays, reservationFeeCents } from './pricing.js';
import { deriveVehicleType, slugify } from './vehicle-types.js';

const TARIFF: Tariff = {
  vehicleTypeId: 'volkswagen-id-3-electric',
  currency: 'EUR',
  perMinuteDrivingCents: 29,
  perMinuteParkedCents: 9,
  includedKm: 200,
  perKmCents: 29,
  dailyCapCents: 7_900,
  freeHoldMinutes: 15,
  reservationFeePerMinuteCents: 9,
};
const T0 = Date.UTC(2025, 5, 1, 10, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

function usage(u: Partial<RentalUsage>): RentalUsage {
  return { startedAt: T0, endedAt: T0 + 30 * MIN, drivingMinutes: 0, parkedMinutes: 0, distanceKm: 0, reservationMinutes: 0, ...u };
}
const line = (p: ReturnType<typeof priceRental>, code: string) => p.lines.find((l) => l.code === code);

describe('priceRental', () => {
  it('charges driving and parked minutes at their rates', () => {
    const p = priceRental(TARIFF, usage({ drivingMinutes: 20, parkedMinutes: 10, distanceKm: 12.4 }));
    expect(line(p, 'driving')).toMatchObject({ quantity: 20, unit: 'minute', unitCents: 29, amountCents: 580 });
    expect(line(p, 'parked')).toMatchObject({ quantity: 10, unitCents: 9, amountCents: 90 });
    expect(p.lines.map((l) => l.code)).toEqual(['driving', 'parked']);
    expect(p).toMatchObject({ currency: 'EUR', subtotalCents: 670, totalCents: 670 });
    expect(p.tariff).toEqual(TARIFF);
  });

  it('bills per started minute: the total is rounded up, driving rounded up, parked gets the rest', () => {
    // 10.2 + 4.9 = 15.1 → 16 billed: 11 driving + 5 parked
    expect(priceRental(TARIFF, usage({ drivingMinutes: 10.2, parkedMinutes: 4.9 })).lines.map((l) => l.quantity)).toEqual([11, 5]);
    // 10.5 + 4.4 = 14.9 → 15 billed: 11 driving + 4 parked (never more than the started minutes)
    const p = priceRental(TARIFF, usage({ drivingMinutes: 10.5, parkedMinutes: 4.4 }));
    expect(p.lines.map((l) => l.quantity)).toEqual([11, 4]);
    expect(p.totalCents).toBe(11 * 29 + 4 * 9);
    // float noise does not bill an extra minute
    expect(priceRental(TARIFF, usage({ drivingMinutes: 15.0000000001 })).lines[0]!.quantity).toBe(15);
  });

  it('charges each started km beyond the allowance of 200 km per started 24 h', () => {
    expect(line(priceRental(TARIFF, usage({ drivingMinutes: 60, distanceKm: 200 })), 'distance')).toBeUndefined();
    const over = priceRental(TARIFF, usage({ drivingMinutes: 60, distanceKm: 212.3 }));
    expect(line(over, 'distance')).toMatchObject({ quantity: 13, unit: 'km', unitCents: 29, amountCents: 377 });
    expect(over.totalCents).toBe(60 * 29 + 377);
    // a 30-hour rental has two days: 400 km included
    const twoDays = usage({ endedAt: T0 + 30 * HOUR, drivingMinutes: 300, parkedMinutes: 1500, distanceKm: 410 });
    expect(line(priceRental(TARIFF, twoDays), 'distance')).toMatchObject({ quantity: 10, amountCents: 290 });
  });

  it('caps the minute charges at the daily cap per started 24 h (distance is not capped)', () => {
    // 6 h driving = 360 × 29 = 10,440 > 7,900 → −2,540
    const p = priceRental(TARIFF, usage({ endedAt: T0 + 6 * HOUR, drivingMinutes: 360, distanceKm: 250 }));
    expect(line(p, 'daily_cap')).toMatchObject({ quantity: 1, unit: 'day', unitCents: 7_900, amountCents: -2_540 });
    expect(line(p, 'distance')).toMatchObject({ quantity: 50, amountCents: 1_450 });
    expect(p.subtotalCents).toBe(10_440 + 1_450);
    expect(p.totalCents).toBe(7_900 + 1_450);
    // 25 h: two started days → cap 15,800; 1500 min × 9 (parked) = 13,500 stays under it
    const long = priceRental(TARIFF, usage({ endedAt: T0 + 25 * HOUR, parkedMinutes: 1_500 }));
    expect(line(long, 'daily_cap')).toBeUndefined();
    expect(long.totalCents).toBe(13_500);
    // 49 h of driving: 3 days × 79 €
    const longer = priceRental(TARIFF, usage({ endedAt: T0 + 49 * HOUR, drivingMinutes: 49 * 60 }));
    expect(line(longer, 'daily_cap')).toMatchObject({ quantity: 3, amountCents: 3 * 7_900 - 49 * 60 * 29 });
    expect(longer.totalCents).toBe(3 * 7_900);
  });

  it('a tariff without a cap (0) is never capped', () => {
    const p = priceRental({ ...TARIFF, dailyCapCents: 0 }, usage({ endedAt: T0 + 6 * HOUR, drivingMinutes: 360 }));
    expect(line(p, 'daily_cap')).toBeUndefined();
    expect(p.totalCents).toBe(10_440);
  });

  it('charges the reservation minutes beyond the free hold, per started minute', () => {
    expect(line(priceRental(TARIFF, usage({ drivingMinutes: 10, reservationMinutes: 15 })), 'reservation_fee')).toBeUndefined();
    const p = priceRental(TARIFF, usage({ drivingMinutes: 10, reservationMinutes: 27.2 }));
    expect(line(p, 'reservation_fee')).toMatchObject({ quantity: 13, unit: 'minute', unitCents: 9, amountCents: 117 });
    expect(p.totalCents).toBe(290 + 117);
    // the fee is not part of the capped minute charges
    const capped = priceRental(TARIFF, usage({ endedAt: T0 + 6 * HOUR, drivingMinutes: 360, reservationMinutes: 45 }));
    expect(capped.totalCents).toBe(7_900 + 30 * 9);
  });

  it('a zero-minute rental costs nothing; lines are integers; the tariff is copied, not shared', () => {
    const p = priceRental(TARIFF, usage({ endedAt: T0 }));
    expect(p.totalCents).toBe(0);
    expect(p.lines.every((l) => Number.isInteger(l.amountCents) && Number.isInteger(l.quantity))).toBe(true);
    p.tariff.perKmCents = 1;
    expect(TARIFF.perKmCents).toBe(29);
  });

  it('refuses impossible usage', () => {
    expect(() => priceRental(TARIFF, usage({ drivingMinutes: -1 }))).toThrow(RangeError);
    expect(() => priceRental(TARIFF, usage({ distanceKm: Number.NaN }))).toThrow(RangeError);
    expect(() => priceRental(TARIFF, usage({ endedAt: T0 - 1 }))).toThrow(RangeError);
  });
});

describe('helpers', () => {
  it('counts started days (at least one)', () => {
    expect(rentalDays(T0, T0)).toBe(1);
    expect(rentalDays(T0, T0 + 24 * HOUR)).toBe(1);
    expect(rentalDays(T0, T0 + 24 * HOUR + 1000)).toBe(2);
  });

  it('holds one daily cap at rental start, or two hours of driving without a cap', () => {
    expect(estimateHoldCents(TARIFF)).toBe(7_900);
    expect(estimateHoldCents({ ...TARIFF, dailyCapCents: 0 })).toBe(120 * 29);
  });

  it('estimates a booked window as all driving, capped', () => {
    expect(estimateWindow(TARIFF, T0, T0 + 2 * HOUR).totalCents).toBe(120 * 29);
    expect(estimateWindow(TARIFF, T0, T0 + 10 * HOUR).totalCents).toBe(7_900);
  });

  it('prices a reservation hold', () => {
    expect(reservationFeeCents(TARIFF, 15)).toBe(0);
    expect(reservationFeeCents(TARIFF, 60)).toBe(45 * 9);
  });
});

describe('vehicle types', () => {
  it('derives a slug id, propulsion, range and tariff class from the registry', () => {
    expect(deriveVehicleType({ make: 'Volkswagen', model: 'ID.3', energyType: 'electric' })).toMatchObject({
      id: 'volkswagen-id-3-electric',
      name: 'Volkswagen ID.3',
      propulsion: 'electric',
      maxRangeMeters: 420_000,
      tariff: {
        vehicleTypeId: 'volkswagen-id-3-electric',
        perMinuteDrivingCents: 29,
        dailyCapCents: 7_900,
        freeHoldMinutes: 15,
        currency: 'EUR',
      },
    });
    expect(deriveVehicleType({ make: 'Fiat', model: '500', energyType: 'fuel' }, 20)).toMatchObject({
      id: 'fiat-500-combustion',
      propulsion: 'combustion',
      maxRangeMeters: 550_000,
      tariff: { perMinuteDrivingCents: 26, dailyCapCents: 6_900, freeHoldMinutes: 20 },
    });
    expect(deriveVehicleType({ make: 'Test', model: 'Electric', energyType: 'electric' })).toMatchObject({
      maxRangeMeters: 300_000,
      tariff: { perMinuteDrivingCents: 29 },
    });
    expect(slugify(' Škoda  Enyaq iV/80 ')).toBe('skoda-enyaq-iv-80');
  });
});
