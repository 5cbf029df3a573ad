/**
 * Per-route declarations read by platform hooks (Fastify `config`), so a route says what it needs in one place:
 *
 *   app.post('/reservations', { config: { auth: 'customer', idempotent: true }, schema: {...} }, handler)
 *
 * - `auth` (required on every route under /v1, /ops/v1 and /sync/v1: deny by default — a route without it
 *   answers 403): `'public'`, `'customer'` (a signed-in, unblocked customer), or `staffCan(capability)`: a staff
 *   member whose role has that capability in the role table (src/shared/permissions.ts) — routes name what they
 *   do, never roles, so the staff API, the sync paths and the desk read the same table.
 *   The auth hook (platform/auth) sets `request.principal` before the handler runs.
 * - `idempotent: true`: the `Idempotency-Key` header is honoured with Stripe's semantics (platform/http/idempotency.ts):
 *   same key + same body → the first response replayed; same key + other body → 422; still in flight → 409.
 * - `abuseLimit`: the abuse limit the route counts against, per client IP and per account (signup, login,
 *   staff-login, claims, licence; platform/http/abuse-limits.ts): over it, 429 + Retry-After.
 */
import { OPERATOR_ROLES } from '../../../../src/shared/operator-role.js';
import type { Capability } from '../../../../src/shared/permissions.js';
import type { AbuseLimitName } from './abuse-limits.js';

export type RouteAuth = 'public' | 'customer' | { capability: Capability };

/** A staff route's rule: the roles that have `capability` (src/shared/permissions.ts). */
export const staffCan = (capability: Capability): RouteAuth => ({ capability });

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    idempotent?: boolean;
    abuseLimit?: AbuseLimitName;
  }
}

export const STAFF_ROLES = OPERATOR_ROLES;
