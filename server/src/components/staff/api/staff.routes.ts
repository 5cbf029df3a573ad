/**
 * Staff identity routes under /ops/v1: login/refresh/logout (public: they are how one gets a token), the
 * signed-in member (`GET /me`), and account management (admin only, audited).
 */
import { Type, TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { withRetryAfter } from '../../../platform/auth/index.js';
import { registerSessionRoutes, SessionSchema } from '../../../platform/auth/session-routes.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../platform/auth/password.js';
import { requestActor } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { StaffAccounts } from '../domain/staff-accounts.js';

const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Role = oneOf(['dispatcher', 'support', 'admin'] as const);
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
const NewPassword = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });
const StaffId = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,100}$' });

const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }) },
  { additionalProperties: false },
);
const StaffSummary = Type.Object({ id: Type.String(), name: Type.String(), role: Role });
const DirectoryEntry = Type.Object({ ...StaffSummary.properties, active: Type.Boolean() });
const StaffAccountSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
const NewStaffBody = Type.Object(
  { id: Type.Optional(StaffId), email: Email, name: Type.String({ minLength: 1, maxLength: 200 }), role: Role, password: NewPassword },
  { additionalProperties: false },
);
const StaffPatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    role: Type.Optional(Role),
    active: Type.Optional(Type.Boolean()),
    password: Type.Optional(NewPassword),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ADMIN = staffCan('staff.manage');
const tags = ['staff identity'];

export function staffRoutes(accounts: StaffAccounts): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Strict bodies: no type coercion, unknown fields are errors.
    app.setValidatorCompiler(TypeBoxValidatorCompiler);
    app.post(
      '/auth/login',
      {
        config: { auth: 'public', abuseLimit: 'staff-login' },
        schema: {
          tags,
          summary: 'Staff login',
          body: LoginBody,
          response: { 200: Type.Intersect([SessionSchema, Type.Object({ staff: StaffSummary })]) },
        },
      },
      async (request, reply) =>
        withRetryAfter(reply, () => accounts.login(request.body.email, request.body.password, request.ip)).then((s) =>
          reply.header('cache-control', 'no-store').send(s),
        ),
    );
    registerSessionRoutes(app, tags, accounts);
    app.get(
      '/me',
      {
        config: { auth: staffCan('fleet.read') },
        schema: { tags, summary: 'The signed-in staff member', response: { 200: StaffAccountSchema } },
      },
      async (request) => accounts.get(requestActor(request).id),
    );

    app.get(
      '/staff/directory',
      {
        config: { auth: staffCan('staff.directory') },
        schema: {
          tags,
          summary: 'Colleagues: id, name, role and whether the account is active (names for past actions; assign only active ones)',
          response: { 200: Type.Object({ staff: Type.Array(DirectoryEntry) }) },
        },
      },
      async (_request, reply) => reply.header('cache-control', 'no-store').send({ staff: await accounts.directory() }),
    );
    app.get(
      '/staff',
      {
        config: { auth: ADMIN },
        schema: { tags, summary: 'Staff accounts', response: { 200: Type.Object({ staff: Type.Array(StaffAccountSchema) }) } },
      },
      async () => ({ staff: await accounts.list() }),
    );
    app.post(
      '/staff',
      {
        config: { auth: ADMIN },
        schema: { tags, summary: 'Create a staff account (audited)', body: NewStaffBody, response: { 201: StaffAccountSchema } },
      },
      async (request, reply) => reply.code(201).send(await accounts.create(request.body, requestActor(request))),
    );
    app.patch(
      '/staff/:id',
      {
        config: { auth: ADMIN },
        schema: {
          tags,
          summary: 'Change or deactivate a staff account (audited; ends its sessions)',
          params: Type.Object({ id: StaffId }),
          body: StaffPatchBody,
          response: { 200: StaffAccountSchema },
        },
      },
      async (request) => accounts.update(request.params.id, request.body, requestActor(request)),
    );
    app.post(
      '/staff/:id/password-reset',
      {
        config: { auth: ADMIN },
        schema: {
          tags,
          summary: 'Give a colleague a new random password, shown once (audited; ends their sessions)',
          params: Type.Object({ id: StaffId }),
          response: {
            200: Type.Object({
              account: StaffAccountSchema,
              temporaryPassword: Type.String({ description: 'shown this once: hand it over, the colleague changes it' }),
            }),
          },
        },
      },
      async (request, reply) =>
        reply.header('cache-control', 'no-store').send(await accounts.resetPassword(request.params.id, requestActor(request))),
    );
  };
}
