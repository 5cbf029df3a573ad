/**
 * Staff routes on customers under /ops/v1 — support agents and admins only (dispatchers handle the fleet and
 * get no personal data): search, the customer 360 detail, block/unblock with a reason (audited).
 */
import { Type, TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestActor } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { CustomerSupport } from '../domain/customer-support.js';
import { CustomerDetailSchema, CustomerIdParams, CustomerSearchQuery, ReasonBody, StaffCustomerSchema } from './customers.schema.js';

const tags = ['customers (staff)'];

export function customerStaffRoutes(support: CustomerSupport): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Strict bodies (no coercion of 7 into "7", no silent stripping); query strings are still converted.
    app.setValidatorCompiler(TypeBoxValidatorCompiler);
    app.get(
      '/customers',
      {
        config: { auth: staffCan('customer.read') },
        schema: {
          tags,
          summary: 'Search customers by name, email, phone or licence number',
          querystring: CustomerSearchQuery,
          response: { 200: Type.Object({ customers: Type.Array(StaffCustomerSchema) }) },
        },
      },
      async (request) => ({ customers: await support.search(request.query.q ?? '', request.query.limit ?? 50) }),
    );
    app.get(
      '/customers/:id',
      {
        config: { auth: staffCan('customer.read') },
        schema: {
          tags,
          summary: 'Customer 360: profile, licence, rentals, notes',
          params: CustomerIdParams,
          response: { 200: CustomerDetailSchema },
        },
      },
      async (request) => support.detail(request.params.id),
    );
    app.post(
      '/customers/:id/block',
      {
        config: { auth: staffCan('customer.block') },
        schema: {
          tags,
          summary: 'Block a customer (audited)',
          params: CustomerIdParams,
          body: ReasonBody,
          response: { 200: StaffCustomerSchema },
        },
      },
      async (request) => support.block(request.params.id, request.body.reason, requestActor(request)),
    );
    app.post(
      '/customers/:id/unblock',
      {
        config: { auth: staffCan('customer.block') },
        schema: {
          tags,
          summary: 'Unblock a customer (audited)',
          params: CustomerIdParams,
          body: ReasonBody,
          response: { 200: StaffCustomerSchema },
        },
      },
      async (request) => support.unblock(request.params.id, request.body.reason, requestActor(request)),
    );
  };
}
