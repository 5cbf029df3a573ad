/** Schemas of the staff routes on a vehicle's claims (/ops/v1/bookings). */
import { Type } from '@fastify/type-provider-typebox';
import { Id, Instant, NullableInstant, oneOf } from './bookings.schema.js';

const Kind = oneOf(['reservation', 'booking', 'rental'] as const);
const Status = oneOf(['held', 'confirmed', 'active', 'ended', 'converted', 'cancelled', 'expired'] as const);
const Reason = Type.String({ minLength: 1, maxLength: 2000 });

export const StaffBookingList = Type.Object({
  vehicleId: Type.Optional(Id),
  customerId: Type.Optional(Id),
  kind: Type.Optional(Kind),
  status: Type.Optional(Status),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});

export const ExtendBody = Type.Object({ endsAt: Instant, reason: Reason }, { additionalProperties: false });
export const CancelBody = Type.Object({ reason: Reason }, { additionalProperties: false });

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const StaffAllocation = Type.Object({
  id: Type.String(),
  kind: Kind,
  status: Status,
  vehicleId: Type.String(),
  customerId: Type.String(),
  customerName: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'support and admin only' })),
  periodStart: Instant,
  periodEnd: Type.Union([Instant, Type.Null()], { description: 'null: open-ended (an active rental with nothing booked after it)' }),
  startsAt: NullableInstant,
  endsAt: NullableInstant,
  startedAt: NullableInstant,
  endedAt: NullableInstant,
  returnBy: NullableInstant,
  sourceId: NullableString,
  rentalId: NullableString,
  cancelReason: NullableString,
  cancelledBy: NullableString,
  totalCents: Type.Union([Type.Integer(), Type.Null()]),
  currency: NullableString,
  createdAt: Instant,
  updatedAt: Instant,
  serverSeq: Type.Integer(),
});
