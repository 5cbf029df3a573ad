/** HTTP schemas of the rental routes (customer /v1 and staff /ops/v1): validation, static types and OpenAPI. */
import { Type } from '@fastify/type-provider-typebox';
import { END_BLOCKER_CODES } from '../domain/rentals.js';
import { START_FAILURES } from '../../../../../src/shared/start-failures.js';

const oneOf = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' });
const IsoTime = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([IsoTime, Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const RentalStatus = oneOf(['active', 'ended'] as const);
const Cents = Type.Integer({ description: 'integer minor units of `currency`' });

export const RentalIdParams = Type.Object({ id: Id });

// One object with exactly one of the two ids (not a union: Fastify's Ajv strips additional properties while it
// tries each branch of an anyOf, which would erase the id of the second branch).
export const StartRentalBody = Type.Object(
  { reservationId: Type.Optional(Id), bookingId: Type.Optional(Id) },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: 'exactly one of: your held reservation, or your booking (startable from 15 minutes before it starts)',
  },
);

export const RentalStartedResponse = Type.Object({
  rentalId: Type.String(),
  status: Type.Literal('active'),
  vehicleId: Type.String(),
  startedAt: IsoTime,
  returnBy: Type.Union([IsoTime, Type.Null()], { description: 'the car must be back by then (its next booking); null = open-ended' }),
  unlock: Type.Object({ commandId: Type.String(), status: Type.String() }),
  payment: Type.Object({ paymentId: Type.String(), holdCents: Cents, currency: Type.String() }),
});

const Position = Type.Object({ odometerKm: NullableNumber, lat: NullableNumber, lon: NullableNumber });

const rentalFields = {
  rentalId: Type.String(),
  status: RentalStatus,
  customerId: Type.String(),
  vehicleId: Type.String(),
  source: Type.Union([Type.Object({ kind: oneOf(['reservation', 'booking'] as const), id: Type.String() }), Type.Null()]),
  startedAt: IsoTime,
  endedAt: NullableIso,
  returnBy: NullableIso,
  overran: Type.Boolean({ description: 'ended after returnBy' }),
  start: Position,
  end: Type.Union([Position, Type.Null()]),
  totalCents: Type.Union([Cents, Type.Null()]),
  currency: NullableString,
  unlockCommandId: NullableString,
  lockCommandId: NullableString,
};
export const RentalSchema = Type.Object(rentalFields);
export const StaffRentalSchema = Type.Object({
  ...rentalFields,
  paymentId: NullableString,
  endedBy: NullableString,
  endReason: NullableString,
});

const PriceLineSchema = Type.Object({
  code: oneOf(['driving', 'parked', 'distance', 'reservation_fee', 'daily_cap'] as const),
  description: Type.String(),
  quantity: Type.Number(),
  unit: oneOf(['minute', 'km', 'day'] as const),
  unitCents: Cents,
  amountCents: Type.Integer({ description: 'negative for the daily-cap discount' }),
});

const PaymentStatus = oneOf(['none', 'authorized', 'capture_pending', 'captured', 'voided', 'failed'] as const);

export const ReceiptSchema = Type.Object({
  rentalId: Type.String(),
  vehicleId: Type.String(),
  startedAt: IsoTime,
  endedAt: IsoTime,
  overran: Type.Boolean(),
  usage: Type.Object({
    durationMinutes: Type.Number(),
    drivingMinutes: Type.Number(),
    parkedMinutes: Type.Number(),
    distanceKm: Type.Number(),
    reservationMinutes: Type.Number(),
  }),
  lines: Type.Array(PriceLineSchema),
  subtotalCents: Cents,
  totalCents: Cents,
  currency: Type.String(),
  payment: Type.Union([
    Type.Object({ status: PaymentStatus, heldCents: Cents, capturedCents: Cents, refundedCents: Cents, currency: Type.String() }),
    Type.Null({ description: 'the payment summary could not be read just now' }),
  ]),
});

const TariffSchema = Type.Object({
  vehicleTypeId: Type.String(),
  currency: Type.String(),
  perMinuteDrivingCents: Cents,
  perMinuteParkedCents: Cents,
  includedKm: Type.Number(),
  perKmCents: Cents,
  dailyCapCents: Cents,
  freeHoldMinutes: Type.Number(),
  reservationFeePerMinuteCents: Cents,
});

export const PriceSchema = Type.Object({
  currency: Type.String(),
  lines: Type.Array(PriceLineSchema),
  subtotalCents: Cents,
  totalCents: Cents,
  tariff: TariffSchema,
  usage: Type.Object({
    startedAt: Type.Number(),
    endedAt: Type.Number(),
    drivingMinutes: Type.Number(),
    parkedMinutes: Type.Number(),
    durationMinutes: Type.Number(),
    distanceKm: Type.Number(),
    reservationMinutes: Type.Number(),
    samples: Type.Integer(),
    distanceSource: Type.String(),
  }),
});

const BlockerSchema = Type.Object({ code: oneOf(END_BLOCKER_CODES), message: Type.String() });

export const RentalEndedResponse = Type.Object({
  rental: RentalSchema,
  price: PriceSchema,
  receipt: ReceiptSchema,
  lock: Type.Object({
    commandId: NullableString,
    status: Type.String({ description: 'the lock command when the answer was sent: succeeded = the car confirmed it is locked' }),
    acknowledged: Type.Boolean(),
  }),
  overriddenBlockers: Type.Array(BlockerSchema),
});

export const RentalEndBlockedProblem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Literal(409),
  code: Type.String(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  blockers: Type.Array(BlockerSchema),
});

export const RentalDetailResponse = Type.Object({ rental: RentalSchema, receipt: Type.Union([ReceiptSchema, Type.Null()]) });

export const CustomerRentalsQuery = Type.Object({
  status: Type.Optional(RentalStatus),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
export const RentalListResponse = Type.Object({ rentals: Type.Array(RentalSchema) });

export const DamageReportSchema = Type.Object({
  reportId: Type.String(),
  rentalId: Type.String(),
  text: Type.String(),
  photos: Type.Array(Type.Object({ index: Type.Integer(), contentType: Type.String(), bytes: Type.Integer(), sha256: Type.String() })),
  createdAt: IsoTime,
});

// ------------------------------------------------------------------------------------------------ staff

export const StaffEndBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S', description: 'why support ends it (audited)' }),
    overrideBlockers: Type.Optional(
      Type.Boolean({ description: 'end even though the car is outside the zone / doors open / ...; audited with the blockers overridden' }),
    ),
  },
  { additionalProperties: false },
);

export const StaffRentalsQuery = Type.Object({
  customerId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  vehicleId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  status: Type.Optional(RentalStatus),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});
export const StaffRentalListResponse = Type.Object({ rentals: Type.Array(StaffRentalSchema) });

export const StaffRentalEndedResponse = Type.Object({ ...RentalEndedResponse.properties, rental: StaffRentalSchema });

/** A start of a reservation or booking that failed (the reservation kept, the hold voided). */
export const StartAttemptSchema = Type.Object({
  sourceId: Type.String({ description: 'the reservation or booking' }),
  attemptId: Type.String({ description: 'the rental id the attempt would have had (its hold and unlock command carry it)' }),
  at: Type.Number({ description: 'epoch ms' }),
  failure: oneOf(START_FAILURES),
  detail: Type.Union([Type.String(), Type.Null()], {
    description: 'in words where there is more: the provider’s decline reason, the car’s reason for a refused unlock',
  }),
  unlockCommandId: Type.Union([Type.String(), Type.Null()]),
  paymentId: Type.Union([Type.String(), Type.Null()]),
});

export const StaffStartAttemptsQuery = Type.Object({
  customerId: Type.String({ minLength: 1, maxLength: 100 }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
export const StaffStartAttemptsResponse = Type.Object({
  startAttempts: Type.Array(
    Type.Object({
      ...StartAttemptSchema.properties,
      sourceKind: oneOf(['reservation', 'booking'] as const),
      vehicleId: Type.String(),
    }),
  ),
});

export const StaffRentalDetailResponse = Type.Object({
  rental: StaffRentalSchema,
  price: Type.Union([PriceSchema, Type.Null()]),
  receipt: Type.Union([ReceiptSchema, Type.Null()]),
  payments: Type.Union([
    Type.Object({
      held: Cents,
      captured: Cents,
      refunded: Cents,
      currency: Type.String(),
      status: PaymentStatus,
      operations: Type.Array(Type.Unknown()),
    }),
    Type.Null(),
  ]),
  evidence: Type.Object({
    commands: Type.Array(
      Type.Object(
        {
          commandId: Type.String(),
          type: Type.String(),
          status: Type.String(),
          reason: Type.String(),
          issuedBy: Type.String(),
          createdAt: Type.Number(),
          finishedAt: Type.Union([Type.Number(), Type.Null()]),
          lastResultReason: NullableString,
          transitions: Type.Array(Type.Object({ from: NullableString, to: Type.String(), at: Type.Number(), detail: NullableString })),
        },
        { additionalProperties: true },
      ),
    ),
    damageReports: Type.Array(DamageReportSchema),
    endAttempts: Type.Array(
      Type.Object({
        at: Type.Number({ description: 'epoch ms' }),
        byKind: oneOf(['customer', 'staff'] as const),
        byId: Type.String({ description: 'the customer’s or the staff member’s id' }),
        // as stored then (a code retired since still reads)
        blockers: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
      }),
      { description: 'ends refused by their blockers, oldest first (the first 50)' },
    ),
    startAttempts: Type.Array(StartAttemptSchema, {
      description: 'starts of its reservation or booking that failed before this one succeeded, oldest first (the first 50)',
    }),
    audit: Type.Array(
      Type.Object({
        id: Type.Number(),
        at: Type.Number(),
        actor: Type.String(),
        role: Type.String(),
        action: Type.String(),
        reason: NullableString,
        before: Type.Unknown(),
        after: Type.Unknown(),
      }),
    ),
  }),
});

export const DamagePhotoParams = Type.Object({
  id: Id,
  reportId: Id,
  n: Type.Integer({ minimum: 1, maximum: 99, description: 'the photo’s index in the report, from 1' }),
});

export const RentalEndCheckResponse = Type.Object({
  rentalId: Type.String(),
  status: RentalStatus,
  checkedAt: IsoTime,
  telemetryAt: Type.Union([IsoTime, Type.Null()], { description: 'the car’s latest telemetry the check was judged on' }),
  blockers: Type.Array(BlockerSchema, { description: 'what stops an end now; empty: it may end (always empty once ended)' }),
});
