/** Schemas of the customer booking routes (/v1/bookings) and what the reservation/staff schemas share. */
import { Type } from '@fastify/type-provider-typebox';

export const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });

export const Id = Type.String({ minLength: 1, maxLength: 100 });
export const Instant = Type.String({ format: 'date-time', maxLength: 40, description: 'ISO-8601 date-time with a time zone' });
export const NullableInstant = Type.Union([Instant, Type.Null()]);
export const IdParams = Type.Object({ id: Id });

/** RFC 9457 problem details (what every error answers). */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { description: 'application/problem+json' },
);

export const PriceLineSchema = Type.Object({
  code: oneOf(['driving', 'parked', 'distance', 'reservation_fee', 'daily_cap'] as const),
  description: Type.String(),
  quantity: Type.Number(),
  unit: oneOf(['minute', 'km', 'day'] as const),
  unitCents: Type.Integer(),
  amountCents: Type.Integer({ description: 'negative for the daily-cap discount' }),
});

export const BookingStatusSchema = oneOf(['confirmed', 'converted', 'cancelled', 'expired'] as const);

export const CreateBookingBody = Type.Object(
  {
    vehicleId: Id,
    startsAt: Instant,
    endsAt: Instant,
  },
  { additionalProperties: false },
);

export const Booking = Type.Object({
  bookingId: Type.String(),
  vehicleId: Type.String(),
  status: BookingStatusSchema,
  startsAt: Instant,
  endsAt: Instant,
  createdAt: Instant,
  rentalId: Type.Union([Type.String(), Type.Null()], { description: 'the rental this booking turned into' }),
  cancelReason: Type.Union([Type.String(), Type.Null()]),
});

export const BookingCreatedSchema = Type.Object({
  ...Booking.properties,
  estimate: Type.Object({
    currency: Type.String(),
    amountCents: Type.Integer(),
    basis: Type.String(),
    lines: Type.Array(PriceLineSchema),
  }),
});

export const BookingList = Type.Object({
  status: Type.Optional(BookingStatusSchema),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
});
