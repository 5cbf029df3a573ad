/** The pure GBFS builders: units, orientation and ordering rules the schemas cannot check. */
import { describe, expect, it } from 'vitest';
import { counterClockwise, geofencingZones, pricingPlans, rfc3339, vehicleStatus, type FeedVehicleType } from './gbfs-documents.js';

const type: FeedVehicleType = {
  id: 'vw-id3',
  name: 'Volkswagen ID.3',
  make: 'Volkswagen',
  model: 'ID.3',
  propulsion: 'electric',
  maxRangeMeters: 420_000,
  tariff: {
    vehicleTypeId: 'vw-id3',
    currency: 'EUR',
    perMinuteDrivingCents: 29,
    perMinuteParkedCents: 9,
    includedKm: 200,
    perKmCents: 29,
    dailyCapCents: 7_900,
    freeHoldMinutes: 15,
    reservationFeePerMinuteCents: 9,
  },
};

describe('GBFS documents', () => {
  it('writes RFC 3339 times in UTC without fractions', () => {
    expect(rfc3339(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05Z');
  });

  it('turns clockwise rings counter-clockwise (RFC 7946) and closes open ones', () => {
    const cw = [
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 0],
      [0, 0],
    ];
    expect(counterClockwise(cw)).toEqual([...cw].reverse());
    const ccw = [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
      [0, 0],
    ];
    expect(counterClockwise(ccw)).toBe(ccw);
    const doc = geofencingZones([
      {
        id: 'op',
        name: 'Operating',
        kind: 'operating',
        polygon: [
          [0, 0],
          [0, 1],
          [1, 1],
          [1, 0],
        ],
      },
      {
        id: 'np',
        name: 'Airport',
        kind: 'no_parking',
        polygon: [
          [0.2, 0.2],
          [0.4, 0.2],
          [0.4, 0.4],
        ],
      },
    ]);
    const [first, second] = doc.geofencing_zones.features;
    // no-parking first: GBFS gives the first of overlapping zones precedence
    expect(first!.properties.rules[0]).toMatchObject({ ride_end_allowed: false, ride_start_allowed: true });
    expect(second!.properties.rules[0]).toMatchObject({ ride_end_allowed: true });
    expect(second!.geometry.coordinates[0]![0]).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
      [0, 0],
    ]);
    expect(first!.geometry.coordinates[0]![0]).toHaveLength(4);
    expect(doc.global_rules).toEqual([{ ride_start_allowed: false, ride_end_allowed: false, ride_through_allowed: true }]);
  });

  it('prices in currency units from integer cents, with what GBFS cannot express in the description', () => {
    const [plan] = pricingPlans([type]).plans;
    expect(plan).toMatchObject({
      plan_id: 'vw-id3-minute',
      currency: 'EUR',
      price: 0,
      per_min_pricing: [{ start: 0, rate: 0.29, interval: 1 }],
      per_km_pricing: [{ start: 200, rate: 0.29, interval: 1 }],
    });
    expect(plan!.description[0]!.text).toContain('79.00 EUR per 24 hours');
    expect(plan!.description[0]!.text).toContain('free for 15 minutes, then 0.09 EUR per minute');
    expect(pricingPlans([{ ...type, tariff: { ...type.tariff, perKmCents: 0 } }]).plans[0]).not.toHaveProperty('per_km_pricing');
  });

  it('lists vehicles under their public ids with energy as a 0–1 fraction', () => {
    const doc = vehicleStatus(
      [
        {
          vehicleId: 'veh-1',
          vehicleTypeId: 'vw-id3',
          lat: 52.1234567,
          lon: 13.7654321,
          energyPct: 57,
          rangeMeters: 239_400.4,
          reserved: true,
          disabled: false,
          lastReportedAt: Date.UTC(2025, 5, 1),
        },
        {
          vehicleId: 'veh-2',
          vehicleTypeId: 'vw-id3',
          lat: 52,
          lon: 13,
          energyPct: null,
          rangeMeters: 0,
          reserved: false,
          disabled: true,
          lastReportedAt: Date.UTC(2025, 5, 1),
        },
      ],
      (id) => `pub-${id.length}-${id.at(-1)}`,
    );
    expect(doc.vehicles[0]).toEqual({
      vehicle_id: 'pub-5-1',
      lat: 52.123457,
      lon: 13.765432,
      is_reserved: true,
      is_disabled: false,
      vehicle_type_id: 'vw-id3',
      last_reported: '2025-06-01T00:00:00Z',
      current_range_meters: 239_400,
      current_fuel_percent: 0.57,
      pricing_plan_id: 'vw-id3-minute',
    });
    expect(doc.vehicles[1]).not.toHaveProperty('current_fuel_percent');
    expect(doc.vehicles[1]!.is_disabled).toBe(true);
  });
});
