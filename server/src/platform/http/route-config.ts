/**
 * Per-route declarations read by platform hooks (Fastify `config`), so a route says what it needs in one place:
 *
 *   app.post('/reservations', { config: { auth: 'customer', idempotent: true }, schema: {...} }, handler)
 *
 * - `auth` (required on every route under /v1, /ops/v1 and /sync/v1: deny by default — a route without it
 *   answers 403): `'public'`, `'customer'` (a signed-in, unblocked customer), or `{ staff: [...roles] }`.
 *   The auth hook (platform/auth) sets `request.principal` before the handler runs.
 * - `idempotent: true`: the `Idempotency-Key` header is honoured with Stripe's semantics (platform/http/idempotency.ts):
 *   same key + same body → the first response replayed; same key + other body → 422; still in flight → 409.
 */
import type { StaffRole } from './actor.js';

export type RouteAuth = 'public' | 'customer' | { staff: readonly Exclude<StaffRole, 'system'>[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    idempotent?: boolean;
  }
}

export const STAFF_ROLES = ['dispatcher', 'support', 'admin'] as const;
/** Any signed-in staff member. */
export const ANY_STAFF: RouteAuth = { staff: STAFF_ROLES };
