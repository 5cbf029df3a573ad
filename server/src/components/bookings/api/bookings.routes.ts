/** Customer bookings: POST/GET /v1/bookings, GET/DELETE /v1/bookings/{id} (own bookings only). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { Bookings } from '../domain/bookings.js';
import { Booking, BookingCreatedSchema, BookingList, CreateBookingBody, IdParams, Problem } from './bookings.schema.js';
import { customerIdOf } from './customer-principal.js';

const tags = ['bookings'];

export function bookingRoutes(bookings: Bookings, prefix: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/bookings',
      {
        config: { auth: 'customer', idempotent: true, abuseLimit: 'claims' },
        schema: {
          tags,
          summary: 'Book a car for a time window (15 min – 7 days, up to 90 days ahead)',
          body: CreateBookingBody,
          response: { 201: BookingCreatedSchema, 400: Problem, 403: Problem, 404: Problem, 409: Problem },
        },
      },
      async (request, reply) => {
        const created = await bookings.create(customerIdOf(request), request.body);
        return reply
          .code(201)
          .header('location', `${prefix}/bookings/${encodeURIComponent(created.bookingId)}`)
          .send(created);
      },
    );
    app.get(
      '/bookings',
      {
        config: { auth: 'customer' },
        schema: {
          tags,
          summary: 'My bookings, newest first',
          querystring: BookingList,
          response: { 200: Type.Object({ bookings: Type.Array(Booking) }) },
        },
      },
      async (request) => ({ bookings: await bookings.list(customerIdOf(request), request.query) }),
    );
    app.get(
      '/bookings/:id',
      {
        config: { auth: 'customer' },
        schema: { tags, summary: 'One of my bookings', params: IdParams, response: { 200: Booking, 404: Problem } },
      },
      async (request) => bookings.get(customerIdOf(request), request.params.id),
    );
    app.delete(
      '/bookings/:id',
      {
        config: { auth: 'customer' },
        schema: {
          tags,
          summary: 'Cancel my booking (again: the same answer)',
          params: IdParams,
          response: { 200: Booking, 404: Problem, 409: Problem },
        },
      },
      async (request) => bookings.cancel(customerIdOf(request), request.params.id),
    );
  };
}
