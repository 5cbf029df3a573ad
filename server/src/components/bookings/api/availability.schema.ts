/** Schemas of the public availability search (/v1/vehicles/available) and vehicle types (/v1/vehicle-types). */
import { Type } from '@fastify/type-provider-typebox';
import { Instant, oneOf } from './bookings.schema.js';

export const MAX_RADIUS_M = 50_000;
export const MAX_RESULTS = 100;

export const AvailabilityQuery = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lon: Type.Number({ minimum: -180, maximum: 180 }),
  radiusM: Type.Integer({ minimum: 1, maximum: MAX_RADIUS_M, default: 1_000 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_RESULTS, default: 20 }),
});

const Propulsion = oneOf(['combustion', 'electric'] as const);

export const AvailableVehicle = Type.Object({
  vehicleId: Type.String(),
  vehicleTypeId: Type.String(),
  make: Type.String(),
  model: Type.String(),
  propulsion: Propulsion,
  lat: Type.Number(),
  lon: Type.Number(),
  distanceM: Type.Integer(),
  energyPct: Type.Union([Type.Number(), Type.Null()], { description: 'fuel (combustion) or battery (electric) level, 0–100' }),
  rangeMeters: Type.Integer(),
  lastReportedAt: Instant,
});

export const AvailabilityResult = Type.Object({
  asOf: Instant,
  vehicles: Type.Array(AvailableVehicle),
});

export const VehicleTypesResult = Type.Object({
  vehicleTypes: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      make: Type.String(),
      model: Type.String(),
      propulsion: Propulsion,
      maxRangeMeters: Type.Integer(),
      tariff: Type.Object({
        currency: Type.String(),
        perMinuteDrivingCents: Type.Integer(),
        perMinuteParkedCents: Type.Integer(),
        includedKm: Type.Integer({ description: 'per started 24 h' }),
        perKmCents: Type.Integer(),
        dailyCapCents: Type.Integer({ description: 'time charges per started 24 h at most' }),
        freeHoldMinutes: Type.Integer(),
        reservationFeePerMinuteCents: Type.Integer(),
      }),
    }),
  ),
});
