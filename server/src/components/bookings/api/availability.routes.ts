/**
 * Public: GET /v1/vehicles/available (cars near a point, nearest first) and GET /v1/vehicle-types (types and
 * tariffs). Public like the GBFS feed, which publishes the same positions: an app shows cars before sign-in.
 * Answered from memory (availability index); the handler does no I/O.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';
import type { VehicleTypeWithTariff } from '../../pricing/index.js';
import type { AvailabilityService } from '../domain/availability-service.js';
import { AvailabilityQuery, AvailabilityResult, VehicleTypesResult } from './availability.schema.js';
import { Problem } from './bookings.schema.js';

export function availabilityRoutes(
  availability: AvailabilityService,
  vehicleTypes: () => Promise<VehicleTypeWithTariff[]>,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/vehicles/available',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['availability'],
          summary: 'Available cars near a point, nearest first (free now: not reserved, booked soon, rented, offline or in maintenance)',
          querystring: AvailabilityQuery,
          response: { 200: AvailabilityResult, 400: Problem },
        },
      },
      async (request, reply) => {
        const { lat, lon, radiusM, limit } = request.query;
        // the validator lets ±Infinity ("1e400") through its minimum/maximum
        if (!Number.isFinite(lat) || !Number.isFinite(lon))
          throw new AppError('validation', 'lat and lon must be finite numbers', { status: 400 });
        const hits = availability.search(lat, lon, radiusM, limit);
        // The hot path: each car's JSON is prepared when the car changes (same fields as the response schema).
        let body = `{"asOf":"${new Date(availability.asOf).toISOString()}","vehicles":[`;
        for (let i = 0; i < hits.length; i++) {
          const { entry, distanceM } = hits[i]!;
          body += `${i === 0 ? '' : ','}${entry.json},"distanceM":${Math.round(distanceM)}}`;
        }
        // a string with a JSON content type is sent as is (no second serialization); the schema above documents it
        return (reply as FastifyReply).type('application/json; charset=utf-8').send(`${body}]}`);
      },
    );
    app.get(
      '/vehicle-types',
      {
        config: { auth: 'public' },
        schema: { tags: ['availability'], summary: 'Vehicle types with their tariffs (EUR cents)', response: { 200: VehicleTypesResult } },
      },
      async () => ({ vehicleTypes: await vehicleTypes() }),
    );
  };
}
