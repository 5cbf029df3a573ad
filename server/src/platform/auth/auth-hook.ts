/**
 * The deny-by-default auth hook. Every route under /v1, /ops/v1 and /sync/v1 must declare `config.auth`
 * (platform/http/route-config.ts); one without it answers 403 `route_not_permitted` whoever calls. Runs on
 * onRequest, before the body is read or validated, so anonymous callers cannot make the server parse anything.
 *
 *   'public'             → principal anonymous
 *   'customer'           → a valid customer access token (`Authorization: Bearer …`), else 401 `unauthorized`
 *   { capability }       → a valid staff access token, else 401; a role without that capability in the role
 *                          table (src/shared/permissions.ts) → 403 `forbidden`
 *
 * Routes outside those prefixes that declare no rule (health, readiness, metrics, GBFS, OpenAPI, the signed
 * payment webhook) are anonymous; one that declares a rule there gets it enforced like any other. The permission
 * matrix (permission-matrix.test.ts) fails for an operation with no rule that is not on its public list.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { can, isCapability, rolesWith } from '../../../../src/shared/permissions.js';
import { problem, sendProblem } from '../http/problem.js';
import type { RouteAuth } from '../http/route-config.js';
import type { AccessTokens } from './access-tokens.js';
import { TooManyAttemptsError } from './auth-service.js';
import type { Principal } from './principal.js';

export const PROTECTED_PREFIXES = ['/v1', '/ops/v1', '/sync/v1'] as const;

const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });
const REALM = 'Bearer realm="fleetdesk"';

export function isProtectedPath(url: string): boolean {
  return PROTECTED_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`));
}

export function installAuthHook(app: FastifyInstance, tokens: AccessTokens): void {
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request, reply) => {
    request.principal = ANONYMOUS;
    if (request.is404) return undefined;
    const route = request.routeOptions.url;
    if (route === undefined) return undefined;
    const auth = request.routeOptions.config.auth;
    // a rule declared outside the prefixes holds too (a staff route mounted elsewhere is not open by accident)
    if (auth === undefined && !isProtectedPath(route)) return undefined;
    if (auth === undefined || (typeof auth === 'object' && !isCapability((auth as { capability?: unknown }).capability)))
      return sendProblem(
        reply,
        problem(403, 'route_not_permitted', 'This route declares no access rule; it is closed to everyone', request.url),
      );
    return authorize(request, reply, auth, tokens);
  });
}

async function authorize(
  request: FastifyRequest,
  reply: FastifyReply,
  auth: RouteAuth,
  tokens: AccessTokens,
): Promise<FastifyReply | undefined> {
  if (auth === 'public') return undefined;
  const token = bearerToken(request);
  if (token === undefined) return unauthorized(request, reply, token);
  if (auth === 'customer') {
    const principal = await tokens.verify(token, 'customer');
    if (!principal) return unauthorized(request, reply, token);
    request.principal = principal;
    return undefined;
  }
  const principal = await tokens.verify(token, 'staff');
  if (!principal) return unauthorized(request, reply, token);
  request.principal = principal;
  if (!can(principal.role, auth.capability)) {
    const roles = rolesWith(auth.capability);
    return sendProblem(
      reply,
      problem(
        403,
        'forbidden',
        `This action (${auth.capability}) needs one of the roles ${roles.join(', ')}; you are ${principal.role}`,
        request.url,
      ),
    );
  }
  return undefined;
}

/** The token of `Authorization: Bearer <token>`; '' for a malformed header, undefined for none. */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return match ? match[1]! : '';
}

function unauthorized(request: FastifyRequest, reply: FastifyReply, token: string | undefined): FastifyReply {
  // RFC 6750 §3: no error code when no credentials were sent; invalid_token when they were wrong.
  reply.header('www-authenticate', token === undefined ? REALM : `${REALM}, error="invalid_token"`);
  const detail =
    token === undefined
      ? 'Sign in: this route needs an access token (Authorization: Bearer …)'
      : 'The access token is missing, malformed, expired or not valid for this API';
  return sendProblem(reply, problem(401, 'unauthorized', detail, request.url));
}

/** Runs a login; a 429 answer carries Retry-After (RFC 9110 §10.2.3). */
export async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TooManyAttemptsError) reply.header('retry-after', String(err.retryAfterS));
    throw err;
  }
}
