/**
 * Who is making a staff request: the signed-in staff member the auth hook (platform/auth/auth-hook.ts) put on
 * `request.principal` from their access token. Audit entries and commands record this id and role.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../src/shared/errors.js';
import { can, rolesWith, type Capability } from '../../../../src/shared/permissions.js';

export type StaffRole = 'dispatcher' | 'support' | 'admin' | 'system';

export interface Actor {
  id: string;
  role: StaffRole;
}

/** The server itself (timers, sweepers, automatic resolutions). */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

/** The staff principal as an Actor; 403 when the request is not a staff member's (a route without a staff rule). */
export function requestActor(request: FastifyRequest): Actor {
  const principal = request.principal;
  if (principal?.kind !== 'staff') throw new AppError('forbidden', 'This action needs a signed-in staff member', { status: 403 });
  return { id: principal.staffId, role: principal.role };
}

/**
 * The staff actor, checked against the role table once more in the handler: the auth hook already enforces the
 * route's capability; this keeps the rule true where a handler moves money or personal data even if a route were
 * mis-declared.
 */
export function requestActorWith(request: FastifyRequest, capability: Capability): Actor {
  const actor = requestActor(request);
  if (!can(actor.role, capability))
    throw new AppError('forbidden', `This action (${capability}) needs one of the roles ${rolesWith(capability).join(', ')}`, {
      status: 403,
    });
  return actor;
}
