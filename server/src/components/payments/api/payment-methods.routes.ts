/**
 * Customer routes (under /v1): the signed-in customer's payment methods. A method of another customer answers
 * 404, never 403 (its existence is not revealed). Adding a method calls the provider (tokenize); listing and
 * removing do not.
 */
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';
import type { PaymentsService } from '../domain/payments-service.js';
import { AddPaymentMethodBody, PaymentMethodList, PaymentMethodParams, PaymentMethodSchema } from './payments.schema.js';

const TAGS = ['payments'];

export function paymentMethodRoutes(service: PaymentsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Strict (this plugin only): the default validator would coerce `{"token": 42}` into "42".
    app.setValidatorCompiler(TypeBoxValidatorCompiler);

    app.post(
      '/me/payment-methods',
      {
        config: { auth: 'customer' },
        schema: {
          tags: TAGS,
          summary: 'Add a payment method from a provider token',
          body: AddPaymentMethodBody,
          response: { 201: PaymentMethodSchema },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        const method = await service.addPaymentMethod(customerOf(request), request.body.token, typeof key === 'string' ? key : undefined);
        return reply.code(201).send(method);
      },
    );

    app.get(
      '/me/payment-methods',
      {
        config: { auth: 'customer' },
        schema: { tags: TAGS, summary: 'My payment methods, newest (the default) first', response: { 200: PaymentMethodList } },
      },
      async (request) => ({ paymentMethods: await service.listPaymentMethods(customerOf(request)) }),
    );

    app.delete(
      '/me/payment-methods/:paymentMethodId',
      { config: { auth: 'customer' }, schema: { tags: TAGS, summary: 'Remove a payment method', params: PaymentMethodParams } },
      async (request, reply) => {
        await service.removePaymentMethod(customerOf(request), request.params.paymentMethodId);
        return reply.code(204).send();
      },
    );
  };
}

function customerOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind !== 'customer') throw new AppError('unauthorized', 'Sign in as a customer.', { status: 401 });
  return principal.customerId;
}
