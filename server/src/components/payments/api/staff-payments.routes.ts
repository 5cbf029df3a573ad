/**
 * Staff routes (under /ops/v1): a rental's money, refunds (support/admin, idempotent, audited, executed through
 * the outbox), failed operations and their retry (support/admin, idempotent, audited), reconciliation (admin) and
 * the provider's health. Only the refund request
 * and reconciliation reach the provider's side; every read is the database's.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestActorWith } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { PaymentsService } from '../domain/payments-service.js';
import type { ProviderHealthView } from '../domain/provider-health.js';
import type { ReconciliationReport } from '../domain/reconciliation.js';
import {
  OperationList,
  OperationParams,
  OperationsQuery,
  ProviderHealthSchema,
  ReconciliationReportSchema,
  RefundBody,
  RefundSchema,
  RentalParams,
  RentalPaymentsSchema,
  RetryBody,
  RetryResultSchema,
  StaffOperationSchema,
} from './payments.schema.js';

const TAGS = ['payments (staff)'];

export interface StaffPaymentsDeps {
  service: PaymentsService;
  reconcile(): Promise<ReconciliationReport>;
  providerHealth(): ProviderHealthView;
}

export function staffPaymentRoutes(deps: StaffPaymentsDeps, prefix: string): FastifyPluginAsyncTypebox {
  const { service } = deps;
  return async (app) => {
    app.post(
      '/rentals/:rentalId/refunds',
      {
        config: { auth: staffCan('payment.refund'), idempotent: true },
        schema: {
          tags: TAGS,
          summary: 'Refund all or part of a rental (executed through the outbox; 202 with the refund’s status)',
          params: RentalParams,
          body: RefundBody,
          response: { 202: RefundSchema },
        },
      },
      async (request, reply) => {
        const actor = requestActorWith(request, 'payment.refund');
        const key = request.headers['idempotency-key'];
        const { refund } = await service.requestRefund({
          rentalId: request.params.rentalId,
          amountCents: request.body.amountCents,
          reason: request.body.reason,
          actor,
          requestKey: typeof key === 'string' ? key : undefined,
        });
        return reply
          .code(202)
          .header('location', `${prefix}/rentals/${encodeURIComponent(refund.rentalId)}/payments`)
          .send(refund);
      },
    );

    app.get(
      '/rentals/:rentalId/payments',
      {
        config: { auth: staffCan('payment.read') },
        schema: { tags: TAGS, summary: 'What happened to a rental’s money', params: RentalParams, response: { 200: RentalPaymentsSchema } },
      },
      async (request) => {
        requestActorWith(request, 'payment.read');
        return service.rentalPayments(request.params.rentalId);
      },
    );

    app.get(
      '/payments/operations',
      {
        config: { auth: staffCan('payment.read') },
        schema: {
          tags: TAGS,
          summary: 'Provider operations, newest change first (status=failed: what the outbox gave up on)',
          querystring: OperationsQuery,
          response: { 200: OperationList },
        },
      },
      async (request) => {
        requestActorWith(request, 'payment.read');
        return { operations: await service.listOperations(request.query) };
      },
    );

    app.get(
      '/payments/operations/:operationId',
      {
        config: { auth: staffCan('payment.read') },
        schema: {
          tags: TAGS,
          summary: 'One provider operation (e.g. to follow a retry)',
          params: OperationParams,
          response: { 200: StaffOperationSchema },
        },
      },
      async (request) => {
        requestActorWith(request, 'payment.read');
        return service.getOperation(request.params.operationId);
      },
    );

    app.post(
      '/payments/operations/:operationId/retry',
      {
        config: { auth: staffCan('payment.retry'), idempotent: true },
        schema: {
          tags: TAGS,
          summary:
            'Put a failed capture, void or refund back into the outbox under its own idempotency key (202; an operation that is not failed is answered as it is)',
          params: OperationParams,
          body: RetryBody,
          response: { 202: RetryResultSchema },
        },
      },
      async (request, reply) => {
        const actor = requestActorWith(request, 'payment.retry');
        const result = await service.retryOperation({ operationId: request.params.operationId, reason: request.body.reason, actor });
        return reply
          .code(202)
          .header('location', `${prefix}/payments/operations/${encodeURIComponent(result.operation.operationId)}`)
          .send(result);
      },
    );

    app.post(
      '/payments/reconciliation',
      {
        config: { auth: staffCan('payment.reconcile') },
        schema: { tags: TAGS, summary: 'Compare our ledger with the provider’s now', response: { 200: ReconciliationReportSchema } },
      },
      async (request) => {
        requestActorWith(request, 'payment.reconcile');
        return deps.reconcile();
      },
    );

    app.get(
      '/payments/provider',
      {
        config: { auth: staffCan('payment.health') },
        schema: { tags: TAGS, summary: 'Payment provider health as this instance sees it', response: { 200: ProviderHealthSchema } },
      },
      async () => deps.providerHealth(),
    );
  };
}
