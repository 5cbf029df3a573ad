/**
 * Staff routes (under /ops/v1): a rental's money, refunds (support/admin, idempotent, audited, executed through
 * the outbox), failed operations, reconciliation (admin) and the provider's health. Only the refund request
 * and reconciliation reach the provider's side; every read is the database's.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';
import { requestActor, type Actor } from '../../../platform/http/actor.js';
import { ANY_STAFF } from '../../../platform/http/route-config.js';
import type { PaymentsService } from '../domain/payments-service.js';
import type { ProviderHealthView } from '../domain/provider-health.js';
import type { ReconciliationReport } from '../domain/reconciliation.js';
import {
  OperationList,
  OperationsQuery,
  ProviderHealthSchema,
  ReconciliationReportSchema,
  RefundBody,
  RefundSchema,
  RentalParams,
  RentalPaymentsSchema,
} from './payments.schema.js';

const TAGS = ['payments (staff)'];
const MONEY_ROLES = ['support', 'admin'] as const;

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
        config: { auth: { staff: MONEY_ROLES }, idempotent: true },
        schema: {
          tags: TAGS,
          summary: 'Refund all or part of a rental (executed through the outbox; 202 with the refund’s status)',
          params: RentalParams,
          body: RefundBody,
          response: { 202: RefundSchema },
        },
      },
      async (request, reply) => {
        const actor = staffWith(request, MONEY_ROLES);
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
        config: { auth: { staff: MONEY_ROLES } },
        schema: { tags: TAGS, summary: 'What happened to a rental’s money', params: RentalParams, response: { 200: RentalPaymentsSchema } },
      },
      async (request) => {
        staffWith(request, MONEY_ROLES);
        return service.rentalPayments(request.params.rentalId);
      },
    );

    app.get(
      '/payments/operations',
      {
        config: { auth: { staff: MONEY_ROLES } },
        schema: {
          tags: TAGS,
          summary: 'Provider operations, newest change first (status=failed: what the outbox gave up on)',
          querystring: OperationsQuery,
          response: { 200: OperationList },
        },
      },
      async (request) => {
        staffWith(request, MONEY_ROLES);
        return { operations: await service.listOperations(request.query) };
      },
    );

    app.post(
      '/payments/reconciliation',
      {
        config: { auth: { staff: ['admin'] } },
        schema: { tags: TAGS, summary: 'Compare our ledger with the provider’s now', response: { 200: ReconciliationReportSchema } },
      },
      async (request) => {
        staffWith(request, ['admin']);
        return deps.reconcile();
      },
    );

    app.get(
      '/payments/provider',
      {
        config: { auth: ANY_STAFF },
        schema: { tags: TAGS, summary: 'Payment provider health as this instance sees it', response: { 200: ProviderHealthSchema } },
      },
      async () => deps.providerHealth(),
    );
  };
}

/** The auth hook enforces the route's roles; checked here too so a mis-declared route cannot move money. */
function staffWith(request: FastifyRequest, roles: readonly string[]): Actor {
  const actor = requestActor(request);
  if (!roles.includes(actor.role))
    throw new AppError('forbidden', `This action needs one of the roles ${roles.join(', ')}.`, { status: 403 });
  return actor;
}
