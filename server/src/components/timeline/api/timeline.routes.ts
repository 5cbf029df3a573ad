/**
 * `GET /ops/v1/vehicles/{vehicleId}/timeline?from=&to=&kinds=&limit=&before=` — one car's evidence timeline,
 * newest first, cursor paging (any staff; customer names only for support/admin). Bad range, kinds or cursor →
 * 400 problem; unknown vehicle → 404.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VEHICLE_ID_PATTERN } from '../../../../../src/shared/device-protocol.js';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import { TIMELINE_KINDS, TimelinePageSchema } from '../../../../../src/shared/timeline.js';
import { requestActor } from '../../../platform/http/actor.js';
import type { TimelineService } from '../domain/timeline.js';
import { staffCan } from '../../../platform/http/route-config.js';

const Instant = Type.String({ minLength: 1, maxLength: 40, description: 'epoch ms or ISO 8601 date-time (inclusive)' });

const TimelineQuerySchema = Type.Object(
  {
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    kinds: Type.Optional(
      Type.String({ maxLength: 300, description: `comma-separated, any of: ${TIMELINE_KINDS.join(', ')} (default all)` }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    before: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: '`nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);

export function timelineRoutes(service: TimelineService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/vehicles/:vehicleId/timeline',
      {
        config: { auth: staffCan('vehicle.timeline') },
        schema: {
          tags: ['timeline'],
          summary: "A vehicle's evidence timeline: telemetry milestones, commands, claims, alerts, tasks, notes, payments, staff actions",
          params: Type.Object({ vehicleId: Type.String({ pattern: VEHICLE_ID_PATTERN }) }),
          querystring: TimelineQuerySchema,
          response: { 200: TimelinePageSchema },
        },
      },
      async (request) => {
        const actor = requestActor(request);
        return service.page({ vehicleId: request.params.vehicleId, ...request.query }, actor.role as OperatorRole);
      },
    );
  };
}
