/**
 * The one place the bookings routes learn which customer is calling: `request.principal`, set by the auth hook
 * (platform/auth/auth-hook.ts) for routes declared `config: { auth: 'customer' }`. Anything else is refused.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';

export function customerIdOf(request: FastifyRequest): string {
  const principal = (request as { principal?: FastifyRequest['principal'] | null }).principal;
  if (principal?.kind === 'customer') return principal.customerId;
  throw new AppError('unauthorized', 'Sign in as a customer', { status: 401 });
}
