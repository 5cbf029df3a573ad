/**
 * `GET /ops/v1/vehicles/{vehicleId}/track?from=&to=&maxPoints=` — a car's track for replay (any staff): at most
 * `maxPoints` points (default 2,000), stops and offline gaps. `from` after `to`, a range over 7 days, a bad instant
 * or `maxPoints` → 400 problem; unknown vehicle → 404.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VEHICLE_ID_PATTERN } from '../../../../../src/shared/device-protocol.js';
import { TRACK_DEFAULT_POINTS, TRACK_MAX_POINTS, TRACK_MIN_POINTS, TrackSchema } from '../../../../../src/shared/track.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { TrackService } from '../domain/track.js';

const Instant = Type.String({ minLength: 1, maxLength: 40, description: 'epoch ms or ISO 8601 date-time with a zone (inclusive)' });

const TrackQuerySchema = Type.Object(
  {
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    maxPoints: Type.Integer({ minimum: TRACK_MIN_POINTS, maximum: TRACK_MAX_POINTS, default: TRACK_DEFAULT_POINTS }),
  },
  { additionalProperties: false },
);

export function trackRoutes(service: TrackService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/vehicles/:vehicleId/track',
      {
        config: { auth: staffCan('vehicle.track') },
        schema: {
          tags: ['track'],
          summary: "A vehicle's track from its telemetry history, thinned to maxPoints, with stops and offline gaps",
          params: Type.Object({ vehicleId: Type.String({ pattern: VEHICLE_ID_PATTERN }) }),
          querystring: TrackQuerySchema,
          response: { 200: TrackSchema },
        },
      },
      async (request) => service.read({ vehicleId: request.params.vehicleId, ...request.query }),
    );
  };
}
