/** Schemas of the customer reservation routes (/v1/reservations). */
import { Type } from '@fastify/type-provider-typebox';
import { Id, Instant, oneOf } from './bookings.schema.js';

export const ReservationStatusSchema = oneOf(['held', 'converted', 'cancelled', 'expired'] as const);

export const CreateReservationBody = Type.Object(
  {
    vehicleId: Id,
    holdMinutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 240,
        description:
          'default: the free hold (RESERVATION_HOLD_MIN); at most RESERVATION_MAX_HOLD_MIN; minutes beyond the free hold cost the tariff’s fee',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Reservation = Type.Object({
  reservationId: Type.String(),
  vehicleId: Type.String(),
  status: ReservationStatusSchema,
  createdAt: Instant,
  expiresAt: Instant,
  holdMinutes: Type.Integer(),
  freeUntil: Instant,
  rentalId: Type.Union([Type.String(), Type.Null()], { description: 'the rental this reservation turned into' }),
});

export const ReservationCreatedSchema = Type.Object({
  ...Reservation.properties,
  freeHoldMinutes: Type.Integer(),
  currency: Type.String(),
  feePerMinuteAfterFreeHoldCents: Type.Integer(),
  maxFeeCents: Type.Integer({ description: 'the reservation fee if the whole hold is used (charged with the rental)' }),
});

export const ReservationList = Type.Object({
  status: Type.Optional(ReservationStatusSchema),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
});
