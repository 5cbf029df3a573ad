/** Request and response schemas of the customers routes (validation, types and the OpenAPI document). */
import { Type } from '@fastify/type-provider-typebox';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../platform/auth/index.js';

const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const LicenceStatusSchema = oneOf(['none', 'pending', 'verified', 'rejected', 'expired'] as const);
export const CustomerStatusSchema = oneOf(['active', 'blocked'] as const);
export const CustomerIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const SignUpBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' }),
    password: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    phone: Type.String({ minLength: 5, maxLength: 30, pattern: '^\\+?[0-9][0-9 ()./-]{3,28}[0-9]$' }),
  },
  { additionalProperties: false },
);
export const SignUpResponse = Type.Object(
  {
    status: Type.Literal('confirmation_sent'),
    detail: Type.String(),
  },
  { description: 'The same answer for every well-formed sign-up, whether or not the address already has an account' },
);
export const VerifyEmailBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    token: Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$', description: 'the confirmation code from the mail' }),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }) },
  { additionalProperties: false },
);
export const LicenceBody = Type.Object(
  {
    number: Type.String({ minLength: 4, maxLength: 40, description: 'as printed; spaces are ignored' }),
    country: Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2 of the issuing country' }),
    expiresOn: Type.String({ minLength: 10, maxLength: 10, pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' }),
  },
  { additionalProperties: false },
);
export const LicenceAccepted = Type.Object({ status: oneOf(['pending', 'expired'] as const) });

export const OwnLicenceSchema = Type.Object({
  status: LicenceStatusSchema,
  numberLast4: Nullable(Type.String()),
  country: Nullable(Type.String()),
  expiresOn: Nullable(Type.String({ description: 'YYYY-MM-DD' })),
  checkedAt: Nullable(Type.String({ format: 'date-time' })),
  reason: Nullable(Type.String()),
});
export const MeResponse = Type.Object({
  customerId: Type.String(),
  email: Type.String(),
  name: Type.String(),
  phone: Type.String(),
  status: CustomerStatusSchema,
  createdAt: Type.String({ format: 'date-time' }),
  licence: OwnLicenceSchema,
});

const StaffLicenceSchema = Type.Object({
  status: LicenceStatusSchema,
  number: Nullable(Type.String()),
  country: Nullable(Type.String()),
  expiresOn: Nullable(Type.String()),
  checkedAt: Nullable(Type.String({ format: 'date-time' })),
  reason: Nullable(Type.String()),
});
export const StaffCustomerSchema = Type.Object({
  customerId: Type.String(),
  email: Type.String(),
  name: Type.String(),
  phone: Type.String(),
  status: CustomerStatusSchema,
  blockedReason: Nullable(Type.String()),
  licence: StaffLicenceSchema,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const CustomerDetailSchema = Type.Intersect([
  StaffCustomerSchema,
  Type.Object({
    rentals: Type.Array(Type.Unknown(), { description: 'newest first (at most 20)' }),
    rentalsAvailable: Type.Boolean({ description: 'false when rentals could not be read just now' }),
    notes: Type.Array(Type.Unknown(), { description: 'staff notes about this customer, newest first' }),
  }),
]);
export const CustomerSearchQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'substring of name, email, phone or licence number (case-insensitive); empty: the newest',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'default 50' })),
  },
  { additionalProperties: false },
);
export const ReasonBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
