/**
 * Who is calling: set on `request.principal` by the auth hook from the route's `config.auth`
 * (platform/http/route-config.ts). Customers and staff are separate account spaces with separate tokens.
 */
import type { StaffRole } from '../http/actor.js';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'customer'; customerId: string }
  | {
      kind: 'staff';
      staffId: string;
      role: Exclude<StaffRole, 'system'>;
      /** when the access token that proved it expires (epoch ms); long-lived streams end then */
      expiresAt?: number;
    };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}
