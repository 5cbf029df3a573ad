/**
 * Staff: a vehicle's reservations, bookings and rentals (any staff; customer names for support/admin only), and
 * extending or cancelling a booking (support/admin, audited with a reason).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { requestActor, requestActorWith } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { StaffBookings } from '../domain/bookings-staff.js';
import { IdParams, Problem } from './bookings.schema.js';
import { CancelBody, ExtendBody, StaffAllocation, StaffBookingList } from './staff-bookings.schema.js';

const tags = ['staff: bookings'];

export function staffBookingRoutes(staff: StaffBookings): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/bookings',
      {
        config: { auth: staffCan('booking.read') },
        schema: {
          tags,
          summary: 'Reservations, bookings and rentals (of a vehicle, of a customer), newest first',
          querystring: StaffBookingList,
          response: { 200: Type.Object({ bookings: Type.Array(StaffAllocation) }) },
        },
      },
      async (request) => ({ bookings: await staff.list(request.query, requestActor(request)) }),
    );
    app.get(
      '/bookings/:id',
      {
        config: { auth: staffCan('booking.read') },
        schema: { tags, summary: 'One reservation, booking or rental', params: IdParams, response: { 200: StaffAllocation, 404: Problem } },
      },
      async (request) => staff.get(request.params.id, requestActor(request)),
    );
    app.post(
      '/bookings/:id/extend',
      {
        config: { auth: staffCan('booking.change'), idempotent: true },
        schema: {
          tags,
          summary: 'Move a booking’s end later (409 when the car is taken then)',
          params: IdParams,
          body: ExtendBody,
          response: { 200: StaffAllocation, 400: Problem, 404: Problem, 409: Problem },
        },
      },
      async (request) =>
        staff.extend(request.params.id, request.body.endsAt, request.body.reason, requestActorWith(request, 'booking.change')),
    );
    app.post(
      '/bookings/:id/cancel',
      {
        config: { auth: staffCan('booking.change'), idempotent: true },
        schema: {
          tags,
          summary: 'Cancel a reservation or booking on the customer’s behalf',
          params: IdParams,
          body: CancelBody,
          response: { 200: StaffAllocation, 404: Problem, 409: Problem },
        },
      },
      async (request) => staff.cancel(request.params.id, request.body.reason, requestActorWith(request, 'booking.change')),
    );
  };
}
