/** Customer reservations: POST/GET /v1/reservations, GET/DELETE /v1/reservations/{id} (own reservations only). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { Reservations } from '../domain/reservations.js';
import { IdParams, Problem } from './bookings.schema.js';
import { customerIdOf } from './customer-principal.js';
import { CreateReservationBody, Reservation, ReservationCreatedSchema, ReservationList } from './reservations.schema.js';

const tags = ['reservations'];

export function reservationRoutes(reservations: Reservations, prefix: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/reservations',
      {
        config: { auth: 'customer', idempotent: true, abuseLimit: 'claims' },
        schema: {
          tags,
          summary: 'Reserve a car now (free hold, optionally longer for a fee)',
          body: CreateReservationBody,
          response: { 201: ReservationCreatedSchema, 400: Problem, 403: Problem, 404: Problem, 409: Problem },
        },
      },
      async (request, reply) => {
        const created = await reservations.create(customerIdOf(request), request.body);
        return reply
          .code(201)
          .header('location', `${prefix}/reservations/${encodeURIComponent(created.reservationId)}`)
          .send(created);
      },
    );
    app.get(
      '/reservations',
      {
        config: { auth: 'customer' },
        schema: {
          tags,
          summary: 'My reservations, newest first',
          querystring: ReservationList,
          response: { 200: Type.Object({ reservations: Type.Array(Reservation) }) },
        },
      },
      async (request) => ({ reservations: await reservations.list(customerIdOf(request), request.query) }),
    );
    app.get(
      '/reservations/:id',
      {
        config: { auth: 'customer' },
        schema: { tags, summary: 'One of my reservations', params: IdParams, response: { 200: Reservation, 404: Problem } },
      },
      async (request) => reservations.get(customerIdOf(request), request.params.id),
    );
    app.delete(
      '/reservations/:id',
      {
        config: { auth: 'customer' },
        schema: {
          tags,
          summary: 'Cancel my reservation (again: the same answer)',
          params: IdParams,
          response: { 200: Reservation, 404: Problem, 409: Problem },
        },
      },
      async (request) => reservations.cancel(customerIdOf(request), request.params.id),
    );
  };
}
