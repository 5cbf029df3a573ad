/**
 * Who is making a staff request. Staff authentication (accounts, roles, tokens) arrives with the companion
 * server issue; until then the staff API trusts two headers on its loopback-bound port, so that every audit entry
 * and command already records an actor and a role. The one place to replace when authentication lands.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../src/shared/errors.js';

export type StaffRole = 'dispatcher' | 'support' | 'admin' | 'system';
const ROLES: readonly StaffRole[] = ['dispatcher', 'support', 'admin', 'system'];

export interface Actor {
  id: string;
  role: StaffRole;
}

/** The server itself (timers, sweepers, automatic resolutions). */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

const ACTOR_ID = /^[A-Za-z0-9_.@-]{1,100}$/;

/** `x-fleetdesk-actor` (default `staff`) and `x-fleetdesk-role` (default `dispatcher`); bad values → 400. */
export function requestActor(request: FastifyRequest): Actor {
  const rawId = request.headers['x-fleetdesk-actor'];
  const rawRole = request.headers['x-fleetdesk-role'];
  const id = typeof rawId === 'string' && rawId !== '' ? rawId : 'staff';
  const role = typeof rawRole === 'string' && rawRole !== '' ? rawRole : 'dispatcher';
  if (!ACTOR_ID.test(id)) throw new AppError('bad_actor', 'x-fleetdesk-actor must be 1–100 characters of A–Z a–z 0–9 _ . @ -', { status: 400 });
  if (!(ROLES as readonly string[]).includes(role) || role === 'system') {
    throw new AppError('bad_role', `x-fleetdesk-role must be one of dispatcher, support, admin`, { status: 400 });
  }
  return { id, role: role as StaffRole };
}
