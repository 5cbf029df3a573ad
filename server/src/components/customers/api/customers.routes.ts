/**
 * The customer API's identity routes under /v1: sign-up, login/refresh/logout (public: they are how one gets a
 * token), the customer's own profile and driver licence. A customer only ever reaches their own record: the id
 * comes from the access token, never from the URL.
 */
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { withRetryAfter } from '../../../platform/auth/index.js';
import { registerSessionRoutes, SessionSchema } from '../../../platform/auth/session-routes.js';
import { AppError } from '../../../../../src/shared/errors.js';
import type { FastifyRequest } from 'fastify';
import type { CustomerAccounts } from '../domain/customer-accounts.js';
import { LicenceAccepted, LicenceBody, LoginBody, MeResponse, SignUpBody, SignUpResponse, VerifyEmailBody } from './customers.schema.js';

const tags = ['customer account'];

export function customerId(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind !== 'customer') throw new AppError('unauthorized', 'This route needs a signed-in customer', { status: 401 });
  return principal.customerId;
}

export function customerRoutes(accounts: CustomerAccounts): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Strict bodies: a number is not a password, an unknown field is an error (not silently dropped).
    app.setValidatorCompiler(TypeBoxValidatorCompiler);
    app.post(
      '/auth/signup',
      {
        config: { auth: 'public', abuseLimit: 'signup' },
        schema: {
          tags,
          summary: 'Start a customer account: a confirmation code goes to the address (202, the same answer whether or not it is taken)',
          body: SignUpBody,
          response: { 202: SignUpResponse },
        },
      },
      async (request, reply) => reply.code(202).send(await accounts.signUp(request.body)),
    );
    app.post(
      '/auth/verify-email',
      {
        // counted like sign-ins: per client IP and per address
        config: { auth: 'public', abuseLimit: 'login' },
        schema: {
          tags,
          summary: 'Finish signing up with the mailed confirmation code: the account is created and signed in',
          body: VerifyEmailBody,
          response: { 200: SessionSchema },
        },
      },
      async (request, reply) => {
        const session = await accounts.verifyEmail(request.body.email, request.body.token);
        return reply.header('cache-control', 'no-store').send(session);
      },
    );
    app.post(
      '/auth/login',
      {
        config: { auth: 'public', abuseLimit: 'login' },
        schema: { tags, summary: 'Log in (rate-limited per email and per client)', body: LoginBody, response: { 200: SessionSchema } },
      },
      async (request, reply) => {
        const session = await withRetryAfter(reply, () => accounts.login(request.body.email, request.body.password, request.ip));
        return reply.header('cache-control', 'no-store').send(session);
      },
    );
    registerSessionRoutes(app, tags, accounts);

    app.get(
      '/me',
      { config: { auth: 'customer' }, schema: { tags, summary: 'My account, status and driver licence', response: { 200: MeResponse } } },
      async (request) => {
        const me = await accounts.profile(customerId(request));
        const { number, ...licence } = me.licence;
        return {
          customerId: me.id,
          email: me.email,
          name: me.name,
          phone: me.phone,
          status: me.status,
          createdAt: me.createdAt,
          licence: {
            status: licence.status,
            numberLast4: number === null ? null : number.slice(-4),
            country: licence.country,
            expiresOn: licence.expiresOn,
            checkedAt: licence.checkedAt,
            reason: licence.reason,
          },
        };
      },
    );
    app.put(
      '/me/driver-licence',
      {
        config: { auth: 'customer', abuseLimit: 'licence' },
        schema: {
          tags,
          summary: 'Submit my driver licence (checked by the licence provider; status in GET /v1/me)',
          body: LicenceBody,
          response: { 202: LicenceAccepted },
        },
      },
      async (request, reply) => reply.code(202).send(await accounts.submitLicence(customerId(request), request.body)),
    );
  };
}
