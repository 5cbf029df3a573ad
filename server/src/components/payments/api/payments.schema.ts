/** HTTP schemas of the payments routes (TypeBox: validation, static types and the OpenAPI document). */
import { Type } from '@fastify/type-provider-typebox';
import { OPERATION_KINDS, OPERATION_STATUSES, type OperationKind, type OperationStatus } from '../model.js';

const oneOf = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
const IsoTime = Type.String({ format: 'date-time' });
const Cents = (description: string) => Type.Integer({ minimum: 0, description });

export const PaymentMethodSchema = Type.Object({
  paymentMethodId: Type.String(),
  brand: Type.String(),
  last4: Type.String(),
  createdAt: IsoTime,
});

export const AddPaymentMethodBody = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'a token from the provider (sandbox: tok_sandbox_ok, tok_sandbox_decline, tok_sandbox_flaky)',
    }),
  },
  { additionalProperties: false },
);

export const PaymentMethodParams = Type.Object({ paymentMethodId: Type.String({ minLength: 1, maxLength: 100 }) });
export const PaymentMethodList = Type.Object({ paymentMethods: Type.Array(PaymentMethodSchema) });

export const RentalParams = Type.Object({ rentalId: Type.String({ minLength: 1, maxLength: 100 }) });

export const RefundBody = Type.Object(
  {
    amountCents: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      description: 'minor units of the payment currency; at most captured − refunded (− pending refunds)',
    }),
    reason: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S' }),
  },
  { additionalProperties: false },
);

const OperationStatusSchema = oneOf<OperationStatus>(OPERATION_STATUSES);
const OperationKindSchema = oneOf<OperationKind>(OPERATION_KINDS);

export const RefundSchema = Type.Object({
  refundId: Type.String(),
  rentalId: Type.String(),
  paymentId: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: OperationStatusSchema,
  reason: Type.Union([Type.String(), Type.Null()]),
});

export const OperationSchema = Type.Object({
  operationId: Type.String(),
  paymentId: Type.String(),
  kind: OperationKindSchema,
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: OperationStatusSchema,
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  providerRef: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoTime,
  completedAt: Type.Union([IsoTime, Type.Null()]),
  retries: Type.Integer({ description: 'how often staff put it back into the outbox after it failed' }),
});

/** An operation in the staff lists: with the rental and the customer its payment belongs to. */
export const StaffOperationSchema = Type.Object({ ...OperationSchema.properties, rentalId: Type.String(), customerId: Type.String() });
export const OperationParams = Type.Object({ operationId: Type.String({ minLength: 1, maxLength: 100 }) });
export const RetryBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S', description: 'why (recorded in the audit)' }) },
  { additionalProperties: false },
);
export const RetryResultSchema = Type.Object({
  operation: StaffOperationSchema,
  retried: Type.Boolean({ description: 'false: it was not failed (already retried, or settled): nothing was done' }),
});

export const RentalPaymentsSchema = Type.Object({
  held: Cents('held by the hold'),
  captured: Cents('captured'),
  refunded: Cents('refunded'),
  currency: Type.String(),
  status: oneOf(['none', 'authorized', 'capture_pending', 'captured', 'voided', 'failed'] as const),
  paymentId: Type.Union([Type.String(), Type.Null()]),
  shortfall: Cents('price above the hold that could not be captured'),
  operations: Type.Array(OperationSchema),
});

export const OperationsQuery = Type.Object(
  {
    status: Type.Optional(OperationStatusSchema),
    kind: Type.Optional(OperationKindSchema),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);
export const OperationList = Type.Object({ operations: Type.Array(StaffOperationSchema) });

export const ReconciliationReportSchema = Type.Object({
  checked: Type.Integer(),
  inProgress: Type.Integer(),
  providerHolds: Type.Integer(),
  mismatches: Type.Array(Type.Object({ paymentId: Type.String(), problem: Type.String(), ours: Type.Unknown(), provider: Type.Unknown() })),
  startedAt: IsoTime,
  finishedAt: IsoTime,
});

export const ProviderHealthSchema = Type.Object({
  up: Type.Boolean(),
  consecutiveFailures: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastAnswerAt: Type.Union([IsoTime, Type.Null()]),
  lastProbeAt: Type.Union([IsoTime, Type.Null()]),
});

export const WebhookAck = Type.Object({ received: Type.Boolean(), eventId: Type.String(), outcome: Type.String() });
